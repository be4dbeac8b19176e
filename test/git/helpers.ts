import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ApprovalPolicy } from '../../specs/lethe-config.ts';

// Every git process of these tests, the controller's included, ignores the user's configuration.
process.env.GIT_CONFIG_GLOBAL = '/dev/null';
process.env.GIT_CONFIG_NOSYSTEM = '1';

export interface Who {
  name: string;
  email: string;
}

export const alice: Who = { name: 'Alice Approver', email: 'alice@corp.example' };
export const bob: Who = { name: 'Bob Approver', email: 'bob@corp.example' };
export const rita: Who = { name: 'Rita Requester', email: 'rita@corp.example' };
export const mallory: Who = { name: 'Mallory', email: 'mallory@corp.example' };
export const lethe: Who = { name: 'Lethe', email: 'lethe@corp.example' };
export const github: Who = { name: 'GitHub', email: 'noreply@github.com' };

let clock = Date.parse('2026-01-01T00:00:00Z') / 1000;

/** Runs git as `author` (and `committer`, default the author) at the next deterministic minute. */
export function sh(
  cwd: string,
  args: string[],
  author: Who = rita,
  committer: Who = author,
  extraEnv: Record<string, string> = {},
): string {
  clock += 60;
  const date = `${clock} +0000`;
  return execFileSync('git', ['-c', 'commit.gpgsign=false', ...args], {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
      GIT_AUTHOR_DATE: date,
      GIT_COMMITTER_DATE: date,
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

const temps: string[] = [];
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lethe-git-test-'));
  temps.push(dir);
  return dir;
}
export function cleanup(): void {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function write(dir: string, path: string, content: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), content);
}

/** A repository on main with one initial commit by Alice. */
export function makeRepo(): string {
  const dir = tempDir();
  sh(dir, ['init', '-q', '-b', 'main']);
  write(dir, 'lethe.yaml', 'kind: LetheConfig\n');
  sh(dir, ['add', '.'], alice);
  sh(dir, ['commit', '-q', '-m', 'init'], alice);
  return dir;
}

export function commitFile(dir: string, path: string, content: string, who: Who, message = `edit ${path}`): string {
  write(dir, path, content);
  sh(dir, ['add', path], who);
  sh(dir, ['commit', '-q', '-m', message], who);
  return sh(dir, ['rev-parse', 'HEAD']);
}

/** A PR: `author` commits `path` on a new branch off main; main stays checked out. */
export function openPr(dir: string, branch: string, path: string, content: string, author: Who = rita): void {
  sh(dir, ['checkout', '-q', '-b', branch, 'main']);
  commitFile(dir, path, content, author, `request ${path}`);
  sh(dir, ['checkout', '-q', 'main']);
}

export function mergePr(
  dir: string,
  branch: string,
  merger: Who,
  committer: Who = merger,
  message = `Merge ${branch}`,
): string {
  sh(dir, ['merge', '-q', '--no-ff', '-m', message, branch], merger, committer);
  return sh(dir, ['rev-parse', 'HEAD']);
}

export function head(dir: string, ref = 'HEAD'): string {
  return sh(dir, ['rev-parse', ref]);
}

export function policy(overrides: Partial<ApprovalPolicy> = {}): ApprovalPolicy {
  return {
    mode: 'merge',
    protectedBranch: 'main',
    approvers: [alice, bob, { email: rita.email }],
    minApprovals: 1,
    requireSignedCommits: false,
    ...overrides,
  };
}

/** An ed25519 key pair as `lethe keygen` makes it: the directory holding it and the public key line. */
export function makeKey(comment = 'lethe-status'): { dir: string; pub: string } {
  const dir = tempDir();
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    comment,
    '-f',
    join(dir, 'lethe-status-signing-test'),
  ]);
  return { dir, pub: readFileSync(join(dir, 'lethe-status-signing-test.pub'), 'utf8').trim() };
}

/** A lethe.yaml listing `approvers`, with `extra` lines (indented under spec.approval) if given. */
export const config = (approvers: readonly Who[], extra = '') =>
  [
    'apiVersion: lethe/v1',
    'kind: LetheConfig',
    'metadata:',
    '  name: t',
    'spec:',
    '  approval:',
    '    approvers:',
    ...approvers.map((a) => `      - email: ${a.email}`),
    extra,
    '  identity:',
    `    name: ${lethe.name}`,
    `    email: ${lethe.email}`,
    '',
  ].join('\n');
