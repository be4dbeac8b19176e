import { randomBytes, createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { LetheConfig } from '../../specs/index.ts';
import { Journal, taskKey } from '../../state/journal.ts';
import { LetheError } from '../errors/types.ts';
import { ApprovedTreeCache } from '../git/approved-cache.ts';
import { ApprovedTree } from '../git/approved-tree.ts';
import { GitHubReviewGate, octokitReviewApi, type GitHubReviewApi } from '../git/github-review.ts';
import { GitSource } from '../git/source.ts';
import { TrustRoot } from '../git/trust-root.ts';
import { credentialFingerprint, resolveCredential } from '../http/credentials.ts';
import { resolveSecretsDir } from '../secrets-dir.ts';
import { backoffDelayMs } from '../http/backoff.ts';
import { HttpLayer } from '../http/layer.ts';
import type { Logger } from '../contracts/log.ts';
import { isFinal } from './planner.ts';
import { ControllerLease } from './lease.ts';
import type { ControllerMetrics } from './metrics.ts';
import { Reconciler, type DriverTable } from './reconcile.ts';
import { HttpWiring } from './wiring.ts';
import { readEpochIdentities } from '../subjects/keys.ts';

export interface ControllerOptions {
  repo?: string;
  remote?: string;
  branch?: string;
  dataDir?: string;
  /** Push status commits (default: with --remote yes, with a local --repo no). */
  push?: boolean;
  drivers: DriverTable;
  env?: Readonly<Record<string, string | undefined>>;
  log: Logger & { secrets?: string[] };
  now?: () => number;
  maxPassMs?: number;
  degradedRetryMs?: number;
  /** Status checkpoint interval during a pass (ms, default 5 s). */
  checkpointMs?: number;
  /** `lethe plan`: nothing is written back to the journal on close. */
  readOnly?: boolean;
  /** Per-attempt timeout of vendor calls (the HTTP layer's default otherwise). */
  httpTimeoutMs?: number;
  /** Tests: how github-review mode reaches GitHub (default: @octokit/rest at approval.github.apiUrl). */
  githubApi?: (o: { repository: string; token: string; apiUrl: string }) => GitHubReviewApi;
  /** `--trust-root <sha>` (else LETHE_TRUST_ROOT): pins the root of trust. */
  trustRoot?: string;
  /**
   * `--secrets-dir DIR` (else LETHE_SECRETS_DIR, $CREDENTIALS_DIRECTORY, <data dir>/secrets):
   * file: credentials, the subject epoch keys and the status signing key are read from there only.
   */
  secretsDir?: string;
  /** Hold the single-writer lease (lease.ts) before anything in the data directory is read. */
  lease?: { wait?: boolean; durationMs?: number; signal?: AbortSignal };
  /** Vendor calls are counted here (lethe run's /metrics). */
  metrics?: ControllerMetrics;
}

/**
 * One review gate per GitHub repository, URL and token, kept across passes: its per-commit
 * decisions are the cache. The token is read at every pass that needs a decision, so a
 * rotated or newly set one is picked up; an unreadable token decides nothing (retried).
 */
function githubGates(
  env: Readonly<Record<string, string | undefined>>,
  make: ControllerOptions['githubApi'] = octokitReviewApi,
) {
  const gates = new Map<string, GitHubReviewGate>();
  return async (policy: LetheConfig['spec']['approval']): Promise<GitHubReviewGate | undefined> => {
    if (!policy.github) return undefined;
    const { repository, apiUrl, token: ref } = policy.github;
    let token: string;
    try {
      token = await resolveCredential(ref, env, (path) => readFile(path, 'utf8'));
    } catch (err) {
      const failing: GitHubReviewApi = {
        pullsForCommit: () => Promise.reject(err),
        reviews: () => Promise.reject(err),
        pullCommits: () => Promise.reject(err),
        blobAt: () => Promise.reject(err),
      };
      return new GitHubReviewGate(failing);
    }
    const key = `${repository} ${apiUrl} ${credentialFingerprint([token])}`;
    let gate = gates.get(key);
    if (!gate) {
      gate = new GitHubReviewGate(make({ repository, token, apiUrl }));
      gates.set(key, gate);
    }
    return gate;
  };
}

export interface Controller {
  reconciler: Reconciler;
  source: GitSource;
  journal: Journal;
  dataDir: string;
  /**
   * A vendor called back (`GET /callback/<path>`): the task the path names, as its driver
   * reads it, is looked at in the next pass instead of at its next poll. False when no
   * driver knows the path or the task is unknown or final.
   */
  callback(path: string): boolean;
  /** Where file: credential references resolve (see secrets-dir.ts). */
  secretsDir: string;
  lease?: ControllerLease;
  close(): Promise<void>;
}

/**
 * The data directory holds the journal, the rate log, the subject salt and exports: never
 * inside the repository. Order: --data, LETHE_DATA_DIR, lethe.yaml's dataDir, then a
 * per-repository folder under the user's state directory.
 */
export function defaultDataDir(o: Pick<ControllerOptions, 'repo' | 'remote' | 'env'>, configured?: string): string {
  const env = o.env ?? process.env;
  if (env.LETHE_DATA_DIR) return resolve(env.LETHE_DATA_DIR);
  if (configured) return resolve(configured);
  const id = o.repo ? resolve(o.repo) : (o.remote ?? '');
  const state = env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  return join(
    state,
    'lethe',
    `${basename(id).replace(/\.git$/, '') || 'repo'}-${createHash('sha256').update(id).digest('hex').slice(0, 8)}`,
  );
}

/**
 * The subject salt keys the hashes in status files. Production sets LETHE_SUBJECT_SALT
 * (the same on every controller of a repository); otherwise one is made once and kept
 * in the data directory, readable by the controller's user only.
 */
export async function subjectSalt(dataDir: string, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  if (env.LETHE_SUBJECT_SALT) return env.LETHE_SUBJECT_SALT;
  const path = join(dataDir, 'subject-salt');
  if (existsSync(path)) return (await readFile(path, 'utf8')).trim();
  const salt = randomBytes(32).toString('hex');
  await writeFile(path, salt + '\n', { mode: 0o600 });
  await chmod(path, 0o600);
  return salt;
}

/**
 * The APPROVED lethe.yaml (as of the root of trust and the approved changes since), for the
 * settings needed before the pass: an unapproved edit cannot move the data directory, the
 * controller's identity or where status is written.
 */
async function approvedConfig(tree: ApprovedTree, source: GitSource): Promise<LetheConfig | undefined> {
  const head = await source.sync();
  try {
    return (await tree.at(head)).config;
  } catch (err) {
    // A root the operator pinned wrongly, or one history lost, refuses the start itself.
    if (err instanceof LetheError && (err.code === 'TRUST_ROOT_NOT_ON_BRANCH' || err.code === 'TRUST_ROOT_LOST'))
      throw err;
    // No root of trust yet (or a broken one): the pass reports it with its code.
    return undefined;
  }
}

/** The first driver that claims a callback path names the task; polling stays the fallback when none does. */
export function wakeFromCallback(drivers: DriverTable, journal: Journal, path: string): boolean {
  for (const driver of Object.values(drivers)) {
    const target = driver.callbackTask?.(path);
    if (!target) continue;
    const task = journal.task(taskKey(target.request, target.vendor));
    if (!task || isFinal(task)) return false;
    journal.putTask({ ...task, nextCheckAt: undefined });
    return true;
  }
  return false;
}

/** Whether the controller has recorded work in this repository (status files in git). */
async function hasStatusFiles(source: GitSource): Promise<boolean> {
  const head = await source.statusHead();
  return head !== undefined && (await source.listFiles(head, (p) => /^status\/[^/]+\.yaml$/.test(p))).length > 0;
}

export async function openController(o: ControllerOptions): Promise<Controller> {
  const env = o.env ?? process.env;
  const branch = o.branch ?? 'main';
  const identity = { name: 'Lethe', email: 'lethe@localhost' };
  const bootstrapDir = o.dataDir ? resolve(o.dataDir) : defaultDataDir(o);
  await mkdir(bootstrapDir, { recursive: true });
  const probe = await GitSource.open({ repo: o.repo, remote: o.remote, branch, dataDir: bootstrapDir, identity });
  const pinned = o.trustRoot ?? (env.LETHE_TRUST_ROOT || undefined);
  // The walk made here (read-only, from the cache when there is one) is handed to the
  // reconciler below: a start reads the history once.
  const probeTree = new ApprovedTree(
    probe,
    new TrustRoot({ dataDir: bootstrapDir, branch, pinned, record: false, log: o.log }),
    {
      cache: new ApprovedTreeCache(bootstrapDir, branch, false),
      log: o.log,
    },
  );
  const config = await approvedConfig(probeTree, probe);
  const dataDir = o.dataDir ? resolve(o.dataDir) : o.repo ? defaultDataDir(o, config?.spec.dataDir) : bootstrapDir;
  await mkdir(dataDir, { recursive: true });
  const source = await GitSource.open({
    repo: o.repo,
    remote: o.remote,
    branch: o.branch ?? config?.spec.approval.protectedBranch ?? branch,
    dataDir,
    identity: config?.spec.identity ?? identity,
    statusBranch: config?.spec.statusBranch,
    push: o.push,
  });
  const now = o.now ?? Date.now;
  let lease: ControllerLease | undefined;
  if (o.lease) {
    lease = await ControllerLease.open({
      dataDir,
      // Whoever pushes status to origin (--remote, or a CI job's checkout with --push) also holds the lease there.
      remoteDir: source.mode === 'remote' || o.push === true ? source.dir : undefined,
      identity: config?.spec.identity ?? identity,
      durationMs: o.lease.durationMs,
      log: o.log,
    });
    await lease.acquire({ wait: o.lease.wait, signal: o.lease.signal });
  }
  const journal = await Journal.open(join(dataDir, 'journal.json'), { log: o.log, now, readOnly: o.readOnly });
  const layer = await HttpLayer.open({
    rateLogPath: o.readOnly ? undefined : join(dataDir, 'rate-log.json'),
    workedBefore: !o.readOnly && (!journal.fresh || (await hasStatusFiles(source))),
    log: o.log,
    ...(o.httpTimeoutMs === undefined ? {} : { timeoutMs: o.httpTimeoutMs }),
  });
  const secretsDir = resolveSecretsDir({ flag: o.secretsDir, env, dataDir });
  const wiring = new HttpWiring(layer, env, secretsDir, (s) => o.log.secrets?.push(s), undefined, o.metrics);
  const trust = new TrustRoot({ dataDir, branch: source.branch, pinned, record: !o.readOnly, log: o.log });
  const reconciler = new Reconciler({
    source,
    trust,
    // Same repository (always, unless the approved lethe.yaml moved the data directory of a clone): continue the walk.
    approvedTree: (source.dir === probe.dir ? probeTree : new ApprovedTree(source, trust)).handOver(trust, {
      cache: new ApprovedTreeCache(dataDir, source.branch, !o.readOnly),
      log: o.log,
    }),
    journal,
    drivers: o.drivers,
    wiring,
    dataDir,
    secretsDir,
    salt: await subjectSalt(dataDir, env),
    subjectKeys: (epoch) => readEpochIdentities(secretsDir, epoch),
    now,
    log: o.log,
    backoffMs: (attempt) => backoffDelayMs(attempt, 2_000, 15 * 60_000, Math.random),
    maxPassMs: o.maxPassMs,
    degradedRetryMs: o.degradedRetryMs,
    githubGate: githubGates(env, o.githubApi),
    checkpointMs: o.checkpointMs,
    fence: lease && (() => lease.fence()),
  });
  return {
    reconciler,
    source,
    journal,
    dataDir,
    callback: (path) => wakeFromCallback(o.drivers, journal, path),
    secretsDir,
    lease,
    async close() {
      // A controller whose data directory lock was taken over must not write over the new holder's journal.
      if (!o.readOnly && (lease === undefined || lease.ownsDataDir)) await journal.flush();
      await layer.close();
      await lease?.release();
    },
  };
}
