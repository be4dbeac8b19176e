import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { LetheError } from '../errors/types.ts';
import { coreErrors } from './errors.ts';
import { git, identityEnv, runGit, type Identity } from '../git/exec.ts';
import type { Logger } from '../contracts/log.ts';

/** Who holds a lease: enough for an operator to find the process, nothing personal. */
export interface Holder {
  id: string;
  host: string;
  pid: number;
}

export function newHolder(): Holder {
  return { id: `${hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`, host: hostname(), pid: process.pid };
}

const stoppedWaiting = () =>
  coreErrors.error('LEASE_HELD', { what: 'lease', holder: 'stopped while standing by for it' });

/** Whether a process of this host is alive (signal 0 probes without signalling). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const describeHolder = (h: { host: string; pid: number; since?: string }) =>
  `pid ${h.pid} on ${h.host}${h.since ? ` since ${h.since}` : ''}`;

/**
 * The data directory's lock (proper-lockfile: an atomic mkdir whose mtime the holder
 * refreshes). A lock whose holder stopped refreshing it is stale after `staleMs`; one whose
 * holder is a dead process of this host is taken over at once.
 */
export class DataDirLock {
  private release?: () => Promise<void>;
  private compromised?: Error;

  private constructor(
    private readonly dataDir: string,
    private readonly holder: Holder,
    private readonly staleMs: number,
  ) {}

  private get ownerPath(): string {
    return join(this.dataDir, 'controller.lock.owner');
  }

  static async open(dataDir: string, holder: Holder, staleMs = 20_000): Promise<DataDirLock> {
    return new DataDirLock(dataDir, holder, staleMs);
  }

  get held(): boolean {
    return this.release !== undefined && this.compromised === undefined;
  }

  /** Takes the lock, or returns who holds it. */
  async tryAcquire(
    onCompromised: (err: Error) => void,
  ): Promise<{ acquired: true } | { acquired: false; holder: string }> {
    const options = {
      lockfilePath: join(this.dataDir, 'controller.lock'),
      stale: this.staleMs,
      update: Math.floor(this.staleMs / 3),
      realpath: false,
      onCompromised: (err: Error) => {
        this.compromised = err;
        onCompromised(err);
      },
    };
    try {
      this.release = await lockfile.lock(this.dataDir, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const owner = await this.owner();
      if (owner && owner.host === this.holder.host && !alive(owner.pid)) {
        // Read twice, apart: a lock taken a moment ago may still show its predecessor's owner file.
        await sleep(300);
        const again = await this.owner();
        if (again && again.id === owner.id && !alive(owner.pid)) {
          await rm(options.lockfilePath, { recursive: true, force: true });
          return this.tryAcquire(onCompromised);
        }
      }
      return { acquired: false, holder: owner ? describeHolder(owner) : 'another process' };
    }
    this.compromised = undefined;
    await writeFile(this.ownerPath, JSON.stringify({ ...this.holder, since: new Date().toISOString() }) + '\n');
    return { acquired: true };
  }

  private async owner(): Promise<(Holder & { since?: string }) | undefined> {
    try {
      const o = JSON.parse(await readFile(this.ownerPath, 'utf8')) as Holder & { since?: string };
      return typeof o.pid === 'number' && typeof o.host === 'string' ? o : undefined;
    } catch {
      return undefined;
    }
  }

  async releaseLock(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    if (!release || this.compromised) return;
    await rm(this.ownerPath, { force: true });
    await release().catch(() => undefined);
  }
}

/** What the lease ref's commit message holds. */
export interface LeaseRecord {
  holder: string;
  host: string;
  pid: number;
  acquiredAt: string;
  renewedAt: string;
  expiresAt: string;
  durationSeconds: number;
}

export const LEASE_REF = 'refs/lethe/lease';
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * A lease recorded in the remote repository: the ref refs/lethe/lease points at a
 * parentless commit whose message is the LeaseRecord. Every change is a compare-and-swap
 * (`git push --force-with-lease=<ref>:<expected>`, checked by the server under its ref
 * lock), so of two controllers racing for it exactly one wins. A lease not renewed for its
 * duration is expired: a standby counts that from when it first saw the record unchanged
 * (its own clock), or from the record's expiresAt when that is already past.
 */
export class RemoteLease {
  /** The lease commit this holder last wrote (the expected value of the next swap). */
  private mine?: string;
  /** Local time of the last successful write: the holder acts only while it is recent. */
  renewedAt?: number;
  private observed?: { sha: string; since: number };

  constructor(
    private readonly dir: string,
    private readonly holder: Holder,
    readonly durationMs: number,
    private readonly identity: Identity,
    private readonly now: () => number = Date.now,
  ) {}

  private async remoteSha(): Promise<string | undefined> {
    const out = await git(this.dir, ['ls-remote', 'origin', LEASE_REF]);
    return out.split('\t')[0] || undefined;
  }

  /**
   * Fetches the lease and reads its record. The sha is the one fetched: the holder may have
   * renewed (or released) it since ls-remote, and the object ls-remote named may then never
   * reach this clone. Undefined when the ref vanished meanwhile: look again.
   */
  private async read(): Promise<{ sha: string; record?: LeaseRecord } | undefined> {
    const fetched = await git(this.dir, [
      'fetch',
      '--no-tags',
      '--quiet',
      'origin',
      `+${LEASE_REF}:refs/lethe/observed-lease`,
    ]).then(
      () => true,
      () => false,
    );
    if (!fetched) return undefined;
    const sha = await git(this.dir, ['rev-parse', '--verify', '-q', 'refs/lethe/observed-lease'], { okCodes: [1] });
    if (!sha) return undefined;
    const body = await git(this.dir, ['cat-file', 'commit', sha]);
    try {
      return { sha, record: JSON.parse(body.slice(body.indexOf('\n\n') + 2)) as LeaseRecord };
    } catch {
      return { sha };
    }
  }

  /** Compare-and-swap the ref from `expected` (undefined: must not exist) to a fresh record. */
  private async swap(expected: string | undefined, acquiredAt: string): Promise<boolean> {
    const now = this.now();
    const record: LeaseRecord = {
      holder: this.holder.id,
      host: this.holder.host,
      pid: this.holder.pid,
      acquiredAt,
      renewedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.durationMs).toISOString(),
      durationSeconds: Math.round(this.durationMs / 1000),
    };
    await git(this.dir, ['hash-object', '-t', 'tree', '-w', '--stdin']); // the empty tree, so the push can send it
    const commit = await git(this.dir, ['commit-tree', EMPTY_TREE, '-m', JSON.stringify(record)], {
      env: identityEnv(this.identity),
    });
    const push = await runGit(
      this.dir,
      [
        'push',
        '--porcelain',
        '--no-verify',
        `--force-with-lease=${LEASE_REF}:${expected ?? ''}`,
        'origin',
        `${commit}:${LEASE_REF}`,
      ],
      { okCodes: [1, 128] },
    );
    if (push.code !== 0) {
      const out = push.stdout.toString('utf8') + push.stderr;
      if (/\[rejected\]|stale info|\[remote rejected\]|non-fast-forward|fetch first/.test(out)) return false;
      throw coreErrors.error('LEASE_UNREACHABLE', {
        ref: LEASE_REF,
        reason: push.stderr.trim().split('\n')[0] ?? `git push exit ${push.code}`,
      });
    }
    this.mine = commit;
    this.acquiredAt = acquiredAt;
    this.renewedAt = now;
    return true;
  }

  private acquiredAt?: string;

  /** Takes the lease when it is free, expired or already ours; else says who holds it. */
  async tryAcquire(): Promise<{ acquired: true } | { acquired: false; holder: string; expiresAt?: string }> {
    const listed = await this.remoteSha();
    const acquiredAt = new Date(this.now()).toISOString();
    if (listed === undefined) return (await this.swap(undefined, acquiredAt)) ? { acquired: true } : this.tryAcquire();
    if (listed === this.mine)
      return (await this.swap(listed, this.acquiredAt ?? acquiredAt)) ? { acquired: true } : this.tryAcquire();
    const observed = await this.read();
    if (!observed) return this.tryAcquire();
    const { sha, record } = observed;
    const now = this.now();
    if (this.observed?.sha !== sha) this.observed = { sha, since: now };
    const expired =
      record === undefined ||
      Date.parse(record.expiresAt) <= now ||
      now - this.observed.since >= (record.durationSeconds * 1000 || this.durationMs) ||
      // A holder on this host whose process is gone will never renew.
      (record.host === this.holder.host && !alive(record.pid));
    if (expired && (await this.swap(sha, acquiredAt))) return { acquired: true };
    return {
      acquired: false,
      holder: record
        ? describeHolder({ host: record.host, pid: record.pid, since: record.acquiredAt })
        : 'an unreadable lease',
      expiresAt: record?.expiresAt,
    };
  }

  /** Renews the lease (CAS from the last record written); false when another holder took it. */
  async renew(): Promise<boolean> {
    if (this.mine === undefined) return false;
    return this.swap(this.mine, this.acquiredAt ?? new Date(this.now()).toISOString());
  }

  /** Deletes the ref if it is still ours, so a standby takes over at once. */
  async release(): Promise<void> {
    if (this.mine === undefined) return;
    await runGit(
      this.dir,
      ['push', '--porcelain', '--no-verify', `--force-with-lease=${LEASE_REF}:${this.mine}`, 'origin', `:${LEASE_REF}`],
      { okCodes: [1, 128] },
    );
    this.mine = undefined;
  }
}

export interface ControllerLeaseOptions {
  dataDir: string;
  /** The controller's clone, for --remote: the lease is then also recorded in the remote. */
  remoteDir?: string;
  identity: Identity;
  durationMs?: number;
  log: Logger;
  now?: () => number;
  holder?: Holder;
}

/**
 * The single-writer guarantee of `lethe run`: the data directory's lock and, for --remote,
 * the remote lease. Held before the first pass, renewed on a timer and before each pass;
 * `fence()` is called before every status push and every non-idempotent vendor call and
 * refuses (LEASE_LOST) unless the lease was confirmed recently enough that no standby can
 * have taken it.
 */
export class ControllerLease {
  readonly holder: Holder;
  private readonly lock: DataDirLock;
  private readonly remote?: RemoteLease;
  private lost?: LetheError;
  private timer?: NodeJS.Timeout;
  private renewing?: Promise<void>;
  readonly durationMs: number;
  private readonly now: () => number;
  /** Called once when the lease is lost (taken over, or the lock compromised). */
  onLost?: (err: LetheError) => void;

  private constructor(
    private readonly o: ControllerLeaseOptions,
    lock: DataDirLock,
  ) {
    this.holder = o.holder ?? newHolder();
    this.lock = lock;
    this.durationMs = o.durationMs ?? 60_000;
    this.now = o.now ?? Date.now;
    if (o.remoteDir) this.remote = new RemoteLease(o.remoteDir, this.holder, this.durationMs, o.identity, this.now);
  }

  static async open(o: ControllerLeaseOptions): Promise<ControllerLease> {
    const holder = o.holder ?? newHolder();
    return new ControllerLease({ ...o, holder }, await DataDirLock.open(o.dataDir, holder));
  }

  /** The data directory is still this controller's to write (its lock was not taken over). */
  get ownsDataDir(): boolean {
    return this.lock.held;
  }

  get held(): boolean {
    return (
      this.lost === undefined && this.lock.held && (this.remote === undefined || this.remote.renewedAt !== undefined)
    );
  }

  private markLost(err: LetheError): void {
    if (this.lost) return;
    this.lost = err;
    clearInterval(this.timer);
    this.o.log.error('lease lost: this controller stops acting', { code: err.code, reason: err.message });
    this.onLost?.(err);
  }

  /**
   * Takes the lock and the lease. Without `wait`, a held one is LEASE_HELD naming its
   * holder; with it, this controller stands by, logging once, and retries every `pollMs`.
   */
  async acquire(options: { wait?: boolean; pollMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    let announced = false;
    for (;;) {
      if (!this.lock.held) {
        const local = await this.lock.tryAcquire((err) =>
          this.markLost(
            coreErrors.error('LEASE_LOST', { reason: `the data directory lock was lost (${err.message})` }),
          ),
        );
        if (!local.acquired) {
          const err = coreErrors.error('LEASE_HELD', {
            what: `data directory ${this.o.dataDir}`,
            holder: local.holder,
          });
          if (!options.wait) throw err;
          if (!announced)
            this.o.log.warn('standing by: another controller holds the lease', { code: err.code, reason: err.message });
          announced = true;
          await this.pause(options);
          continue;
        }
      }
      if (!this.remote) break;
      let remote: Awaited<ReturnType<RemoteLease['tryAcquire']>>;
      try {
        remote = await this.remote.tryAcquire();
      } catch (err) {
        // A standby outlives an unreachable remote; a controller that would act cannot.
        if (!options.wait) {
          await this.lock.releaseLock();
          throw err;
        }
        this.o.log.warn('lease: the remote cannot be reached; retrying', {
          code: err instanceof LetheError ? err.code : 'LEASE_UNREACHABLE',
        });
        await this.pause(options);
        continue;
      }
      if (remote.acquired) break;
      const err = coreErrors.error('LEASE_HELD', {
        what: `remote lease ${LEASE_REF}`,
        holder: `${remote.holder}${remote.expiresAt ? `, expires ${remote.expiresAt} unless renewed` : ''}`,
      });
      if (!options.wait) {
        await this.lock.releaseLock();
        throw err;
      }
      if (!announced)
        this.o.log.warn('standing by: another controller holds the lease', { code: err.code, reason: err.message });
      announced = true;
      await this.pause(options);
    }
    if (announced) this.o.log.info('lease acquired: taking over', { holder: this.holder.id });
    if (this.remote) {
      const every = Math.max(1_000, Math.floor(this.durationMs / 3));
      this.timer = setInterval(() => void this.renew().catch(() => undefined), every);
      this.timer.unref();
    }
  }

  private async pause(options: { pollMs?: number; signal?: AbortSignal }): Promise<void> {
    if (options.signal?.aborted) throw stoppedWaiting();
    await sleep(options.pollMs ?? Math.min(5_000, Math.max(500, this.durationMs / 6)), undefined, {
      signal: options.signal,
    }).catch(() => undefined);
    if (options.signal?.aborted) throw stoppedWaiting();
  }

  /** Renews the remote lease (one at a time). A rejected swap means another holder took it. */
  async renew(): Promise<void> {
    if (this.lost) throw this.lost;
    if (!this.remote) return;
    this.renewing ??= (async () => {
      try {
        if (!(await this.remote!.renew()))
          this.markLost(
            coreErrors.error('LEASE_LOST', { reason: `another controller took the remote lease ${LEASE_REF}` }),
          );
      } catch (err) {
        // Unreachable remote: the lease still holds until it is too old (see fence).
        this.o.log.warn('lease renewal failed; retried', {
          code: err instanceof LetheError ? err.code : 'LEASE_UNREACHABLE',
        });
      } finally {
        this.renewing = undefined;
      }
    })();
    await this.renewing;
    if (this.lost) throw this.lost;
  }

  /**
   * The check before every status push and every non-idempotent vendor call. The lease
   * must have been confirmed within half its duration (renewing first when it is older):
   * a standby waits a whole duration, so the other half absorbs clock skew and the time
   * the call itself takes.
   */
  async fence(): Promise<void> {
    if (this.lost) throw this.lost;
    if (!this.lock.held) throw coreErrors.error('LEASE_LOST', { reason: 'the data directory lock is not held' });
    if (!this.remote) return;
    const fresh = () =>
      this.remote!.renewedAt !== undefined && this.now() - this.remote!.renewedAt < this.durationMs / 2;
    if (!fresh()) await this.renew();
    if (!fresh()) {
      this.markLost(
        coreErrors.error('LEASE_LOST', {
          reason: `the remote lease ${LEASE_REF} could not be renewed within half its duration`,
        }),
      );
      throw this.lost!;
    }
  }

  async release(): Promise<void> {
    clearInterval(this.timer);
    await this.renewing;
    if (!this.lost) await this.remote?.release().catch(() => undefined);
    await this.lock.releaseLock();
  }
}
