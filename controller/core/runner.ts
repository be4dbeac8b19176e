import { CronTime } from 'cron';
import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { isFinal } from './planner.ts';
import type { FollowUpOptions, PassReport } from './reconcile.ts';
import type { Controller } from './app.ts';
import type { Logger } from '../contracts/log.ts';
import { asCatalogued } from '../../state/files.ts';

export interface RunnerOptions {
  controller: Controller;
  log: Logger;
  /** Cron expression for remote fetches and vendor polling. */
  schedule: string;
  /** Watch the local repository's refs and run a pass when a commit lands. */
  watchRepo?: string;
  /** Stop once every approved request is final (or Stalled): for demos and CI jobs. */
  untilIdle?: boolean;
  maxPasses?: number;
  /** Never sleep longer than this between passes (ms). */
  maxSleepMs?: number;
  /** After a pass that failed as a whole (repository unreachable...), wait this long. */
  errorBackoffMs?: number;
  /** Least pause after a pass that made no progress, whatever its tasks say (default 1 s). */
  idleGapMs?: number;
  /**
   * A task due again within this long (a poll interval, a retry's backoff) is taken in the
   * same pass rather than after the pass records and the next one re-plans (default 30 s;
   * 0: never). A trigger, a stop or the next scheduled time ends the waiting at once.
   */
  followUpMs?: number;
  onPass?(report: PassReport, durationMs: number): void;
  onPassFailed?(err: unknown, durationMs: number): void;
  /** Before each pass (lease renewal): a throw ends `start()` with that error. */
  beforePass?(): Promise<void>;
  /** The controller's clock (epoch ms) and how many of its ms pass per real ms: tests run minutes in seconds. */
  now?(): number;
  timeScale?: number;
}

/**
 * `lethe run`: passes one at a time, started by the cron schedule, by a new commit in a
 * watched local repository, by a webhook or vendor callback (`trigger`), and at the
 * earliest time a vendor task asked to be looked at again. Triggers that arrive during a
 * pass are coalesced into one more pass.
 */
export class Runner {
  private pending = new Set<string>(['start']);
  private wake?: () => void;
  private stopping = false;
  private watcher?: FSWatcher;
  private lastOwnHead?: string;
  /** A pass's follow-up waits (see followUp): woken by a trigger or a stop. */
  private readonly passWaits = new Set<() => void>();
  passes = 0;

  constructor(private readonly o: RunnerOptions) {}

  trigger(reason: string): void {
    this.pending.add(reason);
    this.wake?.();
    this.wakePass();
  }

  stop(): void {
    this.stopping = true;
    this.wake?.();
    this.wakePass();
  }

  private wakePass(): void {
    for (const done of [...this.passWaits]) done();
  }

  async start(): Promise<void> {
    const { controller, log } = this.o;
    if (this.o.watchRepo) await this.watchRefs(this.o.watchRepo);
    const cron = new CronTime(this.o.schedule);
    try {
      while (!this.stopping) {
        const reasons = [...this.pending];
        this.pending.clear();
        let report: PassReport | undefined;
        await this.o.beforePass?.();
        const started = this.now();
        try {
          report = await controller.reconciler.pass({ followUp: this.followUp(cron) });
          this.passes++;
          this.lastOwnHead = report.commit;
          log.info('pass finished', {
            reasons,
            head: report.head.slice(0, 12),
            actions: report.plan.actions.length,
            calls: report.calls,
            commit: report.commit?.slice(0, 12),
            changed: report.changes.length,
          });
          this.o.onPass?.(report, this.now() - started);
        } catch (err) {
          // Catalogue messages name paths and operations, never personal data.
          const known = asCatalogued(err);
          log.error(
            'pass failed; retrying later',
            known ? { code: known.code, message: known.message } : { code: 'CONTROLLER_ERROR' },
          );
          this.o.onPassFailed?.(err, this.now() - started);
        }
        if (this.o.maxPasses !== undefined && this.passes >= this.o.maxPasses) break;
        if (report && this.o.untilIdle && this.idle()) break;
        const untilCron = cron.getTimeout() * (this.o.timeScale ?? 1);
        let untilTask = report?.nextCheckAt !== undefined ? Math.max(0, report.nextCheckAt - this.now()) : Infinity;
        // Progress or rest: a pass that neither called a vendor nor changed a task is never
        // followed at once by another one that no outside event asked for.
        if (report && !report.progress) untilTask = Math.max(untilTask, this.o.idleGapMs ?? 1_000);
        const sleep = report
          ? Math.min(untilCron, untilTask, this.o.maxSleepMs ?? Infinity)
          : (this.o.errorBackoffMs ?? 30_000);
        if (this.pending.size === 0 && !this.stopping) await this.sleep(sleep);
        if (this.pending.size === 0) this.pending.add(untilTask <= untilCron ? 'task due' : 'schedule');
      }
    } finally {
      await this.watcher?.close();
    }
  }

  /**
   * What a pass may wait for within itself: follow-ups due within followUpMs, until a
   * trigger, a stop or the next scheduled time (whatever the schedule brings, a fetch of a
   * remote branch, is never delayed by them).
   */
  private followUp(cron: CronTime): FollowUpOptions | undefined {
    const withinMs = this.o.followUpMs ?? 30_000;
    if (withinMs <= 0) return undefined;
    const scheduledAt = this.now() + cron.getTimeout() * (this.o.timeScale ?? 1);
    const wrapUp = () => this.stopping || this.pending.size > 0 || this.now() >= scheduledAt;
    return {
      withinMs,
      wrapUp,
      sleep: (ms, signal) => {
        if (wrapUp() || signal.aborted) return Promise.resolve();
        const real = Math.min(ms, scheduledAt - this.now()) / (this.o.timeScale ?? 1);
        return new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            this.passWaits.delete(done);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const timer = setTimeout(done, Math.min(Math.max(real, 0), 2_147_483_647));
          this.passWaits.add(done);
          signal.addEventListener('abort', done, { once: true });
        });
      },
    };
  }

  /**
   * Every approved request has reached a final phase or needs a person (Stalled), and the
   * pass recorded it. The pass's own work counts: with follow-ups one pass can create,
   * submit, poll and finish every task, and a pass after it would only repeat the record.
   */
  private idle(): boolean {
    const tasks = Object.values(this.o.controller.journal.data.tasks);
    return tasks.every((t) => isFinal(t) || t.phase === 'Stalled');
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  /** Sleeps `ms` of the controller's clock. */
  private sleep(ms: number): Promise<void> {
    ms /= this.o.timeScale ?? 1;
    return new Promise((resolve) => {
      // setTimeout's range is 2^31-1 ms; a longer wait is re-armed by the loop.
      const timer = setTimeout(done, Math.min(Math.max(ms, 0), 2_147_483_647));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** A commit moves a ref: watch refs, not the tree, so editing files never starts a pass. */
  private async watchRefs(repo: string): Promise<void> {
    const gitDir = join(repo, '.git');
    this.watcher = watch([join(gitDir, 'refs', 'heads'), join(gitDir, 'packed-refs'), join(gitDir, 'HEAD')], {
      ignoreInitial: true,
      awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
    });
    this.watcher.on('all', async () => {
      // The controller's own status commit moves the ref too: that must not start a pass
      // (nor end a pass's follow-ups). It is known as its own once its record step is over.
      await this.o.controller.reconciler.recordsSettled();
      const head = await this.o.controller.source.remoteHead().catch(() => undefined);
      if (head !== undefined && (head === this.lastOwnHead || head === this.o.controller.reconciler.lastOwnCommit))
        return;
      this.trigger('commit');
    });
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }
}
