/**
 * Shared helpers of `npm run bench`: timing, results, and a fast builder of privacy
 * repositories with thousands of requests. The demo's createScratchRepo commits every
 * request separately (two git processes per file), which is right for a story and far too
 * slow for 10,000 files; here each group of files is one commit, with the same approval
 * history shape (requester on a branch, merge --no-ff by the DPO, outsider straight to main).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MALLOC_TUNABLE } from '../../controller/git/exec.ts';
import { createLogger } from '../../controller/log.ts';
import type { Logger } from '../../controller/contracts/log.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** How a benchmark's figure compares with its target. */
export type Comparison = '<=' | '>=';

export interface BenchResult {
  /** Short id: drain, noop, validate, commit, memory, latency... */
  name: string;
  /** What the figure is, e.g. "wall / lower bound". */
  figure: string;
  value: number;
  unit: string;
  target: number;
  cmp: Comparison;
  meets: boolean;
  /** Raw measurements behind the figure (ms, counts): printed and written to --json. */
  details: Record<string, number | string | boolean>;
  /** Why a figure misses or what it does not count. */
  note?: string;
}

export interface BenchContext {
  quick: boolean;
  /** Scratch directory removed at the end of the run. */
  tmp: string;
  log(line: string): void;
}

/** `valid: false` (a broken invariant, e.g. a rate-limit violation) misses whatever the figure. */
export function result(r: Omit<BenchResult, 'meets'> & { valid?: boolean }): BenchResult {
  const { valid, ...rest } = r;
  const meets = valid !== false && (r.cmp === '<=' ? r.value <= r.target : r.value >= r.target);
  return { ...rest, meets };
}

/** Milliseconds from a monotonic clock (process.hrtime.bigint), with sub-ms resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = nowMs();
  const value = await fn();
  return { ms: nowMs() - start, value };
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const round = (v: number, digits = 2): number => Math.round(v * 10 ** digits) / 10 ** digits;

/** A logger that keeps the last lines only, so a failing benchmark can show what happened. */
export function quietLogger(keep = 200): Logger & { secrets: string[]; tail(): string[] } {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'info',
    write: (line) => {
      lines.push(line);
      if (lines.length > keep) lines.shift();
    },
  });
  return Object.assign(logger, { tail: () => [...lines] });
}

export async function tempDir(parent: string, prefix: string): Promise<string> {
  await mkdir(parent, { recursive: true });
  return mkdtemp(join(parent, `${prefix}-`));
}

export async function newRunDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lethe-bench-'));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** The example repository's lethe.yaml: its approval policy names the DPO of PEOPLE. */
export async function letheConfigText(): Promise<string> {
  return readFile(join(ROOT, 'examples/privacy-repo/lethe.yaml'), 'utf8');
}

export const pad = (i: number, width = 5): string => String(i).padStart(width, '0');

/** The email of the sandbox's generated subject i (population.ts: bulk0001@example.com ...). */
export const bulkEmail = (i: number): string => `bulk${String(i).padStart(4, '0')}@example.com`;

export interface RequestOptions {
  name: string;
  emails: string[];
  vendors: string[];
  action?: 'erasure' | 'access' | 'optout';
  receivedAt?: string;
}

/** A PrivacyRequest manifest as a privacy engineer writes it. */
export function requestYaml(o: RequestOptions): string {
  return [
    'apiVersion: lethe/v1',
    'kind: PrivacyRequest',
    'metadata:',
    `  name: ${o.name}`,
    'spec:',
    `  action: ${o.action ?? 'erasure'}`,
    '  regulation: gdpr',
    `  receivedAt: ${o.receivedAt ?? new Date().toISOString().slice(0, 10)}`,
    '  subject:',
    `    emails: [${o.emails.join(', ')}]`,
    `  vendors: [${o.vendors.join(', ')}]`,
    `  justification: "Benchmark request ${o.name}, Art. 17 via support ticket"`,
    '',
  ].join('\n');
}

export const requestPath = (name: string): string => `requests/bench/${name}.yaml`;

/** N request manifests bench-00001... by path, subject i = bulk000i@example.com. */
export function bulkRequests(n: number, vendors: string[], first = 1): Map<string, string> {
  const files = new Map<string, string>();
  for (let i = first; i < first + n; i++) {
    const name = `bench-${pad(i)}`;
    files.set(requestPath(name), requestYaml({ name, emails: [bulkEmail(i)], vendors }));
  }
  return files;
}

export interface BenchRepoOptions {
  dir: string;
  /** vendors/<name>.yaml contents by name. */
  vendors: Record<string, string>;
  /** Proposed on a branch by the requester and merged by the DPO: approved. */
  approved?: Map<string, string>;
  /** Pushed straight to main by a non-approver: AwaitingApproval. */
  unapproved?: Map<string, string>;
  /** lethe.yaml (default: the example repository's). */
  config?: string;
}

async function writeAll(root: string, files: Map<string, string>): Promise<void> {
  const dirs = new Set([...files.keys()].map((p) => dirname(join(root, p))));
  for (const d of dirs) await mkdir(d, { recursive: true });
  // Bounded parallelism: 10,000 concurrent writes would exhaust file descriptors.
  const entries = [...files];
  for (let i = 0; i < entries.length; i += 256) {
    await Promise.all(entries.slice(i, i + 256).map(([p, text]) => writeFile(join(root, p), text)));
  }
}

/**
 * A local working copy on `main` (the shape `lethe run --repo DIR` reconciles), with the
 * history the approval gate reads: setup by the privacy lead, requests on a branch merged
 * --no-ff by the DPO, and unapproved requests committed straight to main by an outsider.
 */
export async function createBenchRepo(o: BenchRepoOptions): Promise<string> {
  const work = o.dir;
  await mkdir(work, { recursive: true });
  await gitAs(work, undefined, ['init', '-q', '-b', 'main']);
  const setup = new Map<string, string>([['lethe.yaml', o.config ?? (await letheConfigText())]]);
  for (const [name, text] of Object.entries(o.vendors)) setup.set(`vendors/${name}.yaml`, text);
  await writeAll(work, setup);
  await gitAs(work, PEOPLE.lead, ['add', '-A']);
  await gitAs(work, PEOPLE.lead, ['commit', '-q', '-m', 'Set up the privacy repository']);
  if (o.approved && o.approved.size > 0) {
    await gitAs(work, undefined, ['checkout', '-q', '-b', 'requests/bench', 'main']);
    await writeAll(work, o.approved);
    await gitAs(work, PEOPLE.requester, ['add', '-A']);
    await gitAs(work, PEOPLE.requester, ['commit', '-q', '-m', `Add ${o.approved.size} privacy requests`]);
    await gitAs(work, undefined, ['checkout', '-q', 'main']);
    await gitAs(work, PEOPLE.dpo, [
      'merge',
      '-q',
      '--no-ff',
      '-m',
      'Merge pull request #1 from requests/bench',
      'requests/bench',
    ]);
  }
  if (o.unapproved && o.unapproved.size > 0) {
    await writeAll(work, o.unapproved);
    await gitAs(work, PEOPLE.outsider, ['add', '-A']);
    await gitAs(work, PEOPLE.outsider, ['commit', '-q', '-m', `Add ${o.unapproved.size} privacy requests`]);
  }
  return work;
}

/**
 * The same repository and history as createBenchRepo (setup by the lead, the requests
 * committed on `requests/bench` by the requester and merged --no-ff into main by the DPO,
 * unapproved requests straight to main by an outsider), written by ONE `git fast-import`
 * fed as it goes: 50,000 requests in seconds, in one pack as every clone keeps it.
 * Nothing is checked out (as in the controller's own clone): the local mode only ever
 * touches status/ in the working tree.
 */
export async function createBenchRepoFast(o: BenchRepoOptions): Promise<string> {
  const work = o.dir;
  await mkdir(work, { recursive: true });
  await gitAs(work, undefined, ['init', '-q', '-b', 'main']);
  const git = spawn('git', ['fast-import', '--quiet', '--done'], {
    cwd: work,
    // The controller's own setting (controller/git/exec.ts): without it glibc returns zlib's
    // buffers to the kernel after every object, 100x slower on some machines.
    env: {
      ...process.env,
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_CONFIG_NOSYSTEM: '1',
      GLIBC_TUNABLES: MALLOC_TUNABLE,
    },
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let stderr = '';
  git.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = once(git, 'close');
  let chunk = '';
  // Buffered writes that respect backpressure: the input is never held whole in memory.
  const write = async (text: string): Promise<void> => {
    chunk += text;
    if (chunk.length < 1 << 20) return;
    const ok = git.stdin.write(chunk);
    chunk = '';
    if (!ok) await once(git.stdin, 'drain');
  };
  const data = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  let second = 1_700_000_000;
  const commit = async (
    ref: string,
    mark: number,
    person: { name: string; email: string },
    message: string,
    parents: number[],
    files: Iterable<[string, string | number]>,
  ): Promise<void> => {
    const who = `${person.name} <${person.email}> ${second++} +0000`;
    await write(`commit ${ref}\nmark :${mark}\nauthor ${who}\ncommitter ${who}\n${data(message)}`);
    if (parents[0] !== undefined) await write(`from :${parents[0]}\n`);
    for (const p of parents.slice(1)) await write(`merge :${p}\n`);
    for (const [path, content] of files)
      await write(
        typeof content === 'number' ? `M 100644 :${content} ${path}\n` : `M 100644 inline ${path}\n${data(content)}`,
      );
    await write('\n');
  };
  const setup = new Map<string, string>([['lethe.yaml', o.config ?? (await letheConfigText())]]);
  for (const [name, text] of Object.entries(o.vendors)) setup.set(`vendors/${name}.yaml`, text);
  await commit('refs/heads/main', 1, PEOPLE.lead, 'Set up the privacy repository', [], setup);
  let tip = 1;
  if (o.approved && o.approved.size > 0) {
    // Each request blob once (marks from 100), referenced by the branch commit; the merge
    // commit starts from main and names the same blobs, so its tree equals the branch's.
    const marks = new Map<string, number>();
    let next = 100;
    for (const [path, text] of o.approved) {
      marks.set(path, next);
      await write(`blob\nmark :${next++}\n${data(text)}`);
    }
    await commit(
      'refs/heads/requests/bench',
      2,
      PEOPLE.requester,
      `Add ${o.approved.size} privacy requests`,
      [1],
      marks,
    );
    await commit('refs/heads/main', 3, PEOPLE.dpo, 'Merge pull request #1 from requests/bench', [1, 2], marks);
    tip = 3;
  }
  if (o.unapproved && o.unapproved.size > 0)
    await commit(
      'refs/heads/main',
      4,
      PEOPLE.outsider,
      `Add ${o.unapproved.size} privacy requests`,
      [tip],
      o.unapproved,
    );
  await write('done\n');
  git.stdin.end(chunk);
  const [code] = (await exited) as [number | null];
  if (code !== 0) throw new Error(`git fast-import failed (exit ${code}): ${stderr.slice(-2000)}`);
  return work;
}

export interface VendorYamlOptions {
  baseUrl: string;
  rateLimits?: { limit: number; perSeconds: number }[];
  pollIntervalSeconds?: number;
  maxPollIntervalSeconds?: number;
  disabled?: boolean;
  concurrency?: number;
}

function limitsYaml(o: VendorYamlOptions): string[] {
  const lines: string[] = [];
  if (o.rateLimits) {
    lines.push('  rateLimits:');
    for (const w of o.rateLimits) lines.push(`    - { limit: ${w.limit}, perSeconds: ${w.perSeconds} }`);
  }
  if (o.disabled) lines.push('  disabled: true');
  if (o.concurrency) lines.push(`  concurrency: ${o.concurrency}`);
  return lines;
}

export function maestroqaYaml(o: VendorYamlOptions): string {
  return [
    'apiVersion: lethe/v1',
    'kind: VendorConnection',
    'metadata:',
    '  name: maestroqa',
    'spec:',
    '  type: maestroqa',
    `  baseUrl: ${o.baseUrl}`,
    ...(o.pollIntervalSeconds ? [`  pollIntervalSeconds: ${o.pollIntervalSeconds}`] : []),
    ...(o.maxPollIntervalSeconds ? [`  maxPollIntervalSeconds: ${o.maxPollIntervalSeconds}`] : []),
    ...limitsYaml(o),
    '  credentials:',
    '    apiToken: env:MAESTROQA_API_TOKEN',
    '',
  ].join('\n');
}

export function elasticpathYaml(o: VendorYamlOptions): string {
  return [
    'apiVersion: lethe/v1',
    'kind: VendorConnection',
    'metadata:',
    '  name: elasticpath',
    'spec:',
    '  type: elasticpath',
    `  baseUrl: ${o.baseUrl}`,
    '  region: euwest',
    '  environment: development',
    '  resourceType: customer',
    ...(o.pollIntervalSeconds ? [`  pollIntervalSeconds: ${o.pollIntervalSeconds}`] : []),
    ...limitsYaml(o),
    '  credentials:',
    '    clientId: env:ELASTICPATH_CLIENT_ID',
    '    clientSecret: env:ELASTICPATH_CLIENT_SECRET',
    '',
  ].join('\n');
}

/** Waits until `check` holds, polling; throws after `timeoutMs` (every wait is bounded). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function fmtMs(ms: number): string {
  return ms >= 10_000
    ? `${(ms / 1000).toFixed(1)} s`
    : ms >= 1000
      ? `${(ms / 1000).toFixed(2)} s`
      : `${ms.toFixed(1)} ms`;
}

/**
 * Runs `script` (a benchmark module) in its own node process and parses the JSON on the
 * last line it prints: a measurement of memory or of a cold start needs a fresh process.
 * Bounded: a stuck child is killed and the benchmark fails instead of hanging the run.
 */
export function runBenchChild<T>(
  script: string,
  args: string[],
  o: { timeoutMs: number; nodeArgs?: string[]; env?: NodeJS.ProcessEnv; label: string },
): Promise<T> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...(o.nodeArgs ?? []), '--import', 'tsx', script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: o.env ?? process.env,
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs);
    p.on('close', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`${o.label} child ${args[0]} failed (exit ${code}): ${err.slice(-2000)}`));
      }
    });
  });
}

/** This process's peak resident set so far (VmHWM, kept by the kernel); RSS now where there is no /proc. */
export function peakRssBytes(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}
