import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { gitErrors } from './errors.ts';

export interface Identity {
  name: string;
  email: string;
}

export interface GitRunOptions {
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Exit codes that are answers rather than failures (e.g. 1 for `merge-base --is-ancestor`). */
  okCodes?: number[];
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Settings that a user's or system's git config could otherwise change under the controller:
 * signature display would corrupt parsed log output, quoting would mangle paths, and signing
 * would prompt for a passphrase in a service.
 */
const FIXED_CONFIG = [
  '-c',
  'core.quotePath=false',
  '-c',
  'log.showSignature=false',
  '-c',
  'commit.gpgSign=false',
  '-c',
  'i18n.logOutputEncoding=UTF-8',
  '-c',
  'color.ui=never',
];

/**
 * glibc hands memory back to the kernel whenever more than 128 KB is free at the top of
 * the heap, and zlib allocates and frees about 256 KB per object written: `git
 * fast-import` of 10,000 status files made 40,000 brk calls and took 13 s (0.2 s with
 * this), most of a cold first pass (test/bench/curve.ts). A git process is short-lived,
 * so it keeps freed memory up to 64 MB instead. Setting the trim threshold alone also turns
 * off glibc's adaptive mmap threshold, so every allocation over 128 KB became its own
 * mmap/munmap: the audit's log and cat-file walk went from 3.8 s to 12.8 s at 10,000
 * requests. Allocations under 32 MB therefore stay on the heap too. Appended to the
 * caller's own tunables; ignored by a git not built on glibc.
 */
export const MALLOC_TUNABLE = 'glibc.malloc.trim_threshold=67108864:glibc.malloc.mmap_threshold=33554432';

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = process.env.GLIBC_TUNABLES;
  return {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
    GLIBC_TUNABLES: inherited ? `${inherited}:${MALLOC_TUNABLE}` : MALLOC_TUNABLE,
    ...extra,
  };
}

/** Runs git in `cwd`. The error message carries the subcommand and git's stderr, never stdin. */
export function runGit(cwd: string, args: string[], options: GitRunOptions = {}): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...FIXED_CONFIG, ...args], {
      cwd,
      env: gitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (cause) =>
      reject(gitErrors.error('GIT_FAILED', { command: args[0] ?? '', reason: 'it could not start' }, { cause })),
    );
    child.on('close', (code) => {
      const result = { code: code ?? 128, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') };
      if (result.code === 0 || options.okCodes?.includes(result.code)) resolve(result);
      else
        reject(
          gitErrors.error('GIT_FAILED', {
            command: args[0] ?? '',
            reason: `exit ${result.code}: ${result.stderr.trim()}`,
          }),
        );
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all input; close reports it
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Starts git with the same fixed settings as runGit, for a caller that streams: a long walk
 * parsed while git still writes it, a `cat-file --batch` fed while that walk runs.
 */
export function spawnGit(cwd: string, args: string[]): ChildProcessWithoutNullStreams {
  return spawn('git', [...FIXED_CONFIG, ...args], {
    cwd,
    env: gitEnv(),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/**
 * Runs git and hands its stdout to `onText` as UTF-8 text while it arrives, so a long
 * output (a whole history) is parsed while git still computes it, and never held whole.
 */
export function streamGit(cwd: string, args: string[], onText: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', [...FIXED_CONFIG, ...args], {
      cwd,
      env: gitEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const decoder = new StringDecoder('utf8');
    const err: Buffer[] = [];
    let failed: unknown;
    child.stdout.on('data', (chunk: Buffer) => {
      if (failed !== undefined) return;
      try {
        onText(decoder.write(chunk));
      } catch (e) {
        failed = e;
        child.kill();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (cause) =>
      reject(gitErrors.error('GIT_FAILED', { command: args[0] ?? '', reason: 'it could not start' }, { cause })),
    );
    child.on('close', (code) => {
      if (failed !== undefined) return reject(failed);
      if (code !== 0)
        return reject(
          gitErrors.error('GIT_FAILED', {
            command: args[0] ?? '',
            reason: `exit ${code ?? 128}: ${Buffer.concat(err).toString('utf8').trim()}`,
          }),
        );
      try {
        onText(decoder.end());
        resolve();
      } catch (e) {
        reject(e);
      }
    });
  });
}

/** Runs git and returns stdout as text without the trailing newline. */
export async function git(cwd: string, args: string[], options?: GitRunOptions): Promise<string> {
  const { stdout } = await runGit(cwd, args, options);
  return stdout.toString('utf8').replace(/\n$/, '');
}

/** Environment that makes `identity` both author and committer (CI has no global identity). */
export function identityEnv(identity: Identity): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  };
}

/** Resolves when `child` exits 0; rejects with GIT_FAILED (git's stderr, never stdin) otherwise. */
export function exitedOk(child: ChildProcessWithoutNullStreams, command: string): Promise<void> {
  const err: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', (cause) =>
      reject(gitErrors.error('GIT_FAILED', { command, reason: 'it could not start' }, { cause })),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          gitErrors.error('GIT_FAILED', {
            command,
            reason: `exit ${code ?? 128}: ${Buffer.concat(err).toString('utf8').trim()}`,
          }),
        );
    });
  });
}
