import type { LetheConfig, PrivacyRequestStatus } from '../../specs/index.ts';
import { ApprovedTreeCache } from '../git/approved-cache.ts';
import { ApprovedTree } from '../git/approved-tree.ts';
import { findSigner } from '../git/signing.ts';
import { execute, type FollowUpOptions } from './executor.ts';
import { isFinal, type Plan } from './planner.ts';
import { approveStep } from './pass/approve.ts';
import { dropFinished } from './pass/finished.ts';
import { PassMemory } from './pass/memory.ts';
import { planInputStep } from './pass/plan-input.ts';
import { recordStep, requestsToRecord } from './pass/record.ts';
import { sourceStep } from './pass/source.ts';
import { statusDoc } from './status.ts';
import type { PassReport, ReconcilerOptions, Recorded, Snapshot, StepDeps } from './pass/types.ts';

export type { DriverTable, PassReport, ReconcilerOptions, VendorWiring } from './pass/types.ts';
export type { FollowUpOptions } from './executor.ts';

/** How `lethe run` drives a pass (see Runner): none of it for `lethe plan` or a single pass. */
export interface PassOptions {
  /** Tasks due again soon are taken in this pass (executor.ts ExecuteOptions.followUp). */
  followUp?: FollowUpOptions;
}

/** The pass's record steps (checkpoints, then the last one) as one report. */
function merge(checkpoints: Recorded[], last: Recorded): Recorded {
  const all = [...checkpoints, last];
  const withCommit = all.filter((r) => r.commit !== undefined);
  const failed = [...all].reverse().find((r) => r.pushError !== undefined);
  return {
    ...(withCommit.length > 0 ? { commit: withCommit[withCommit.length - 1]!.commit } : {}),
    pushed: withCommit.length > 0 ? withCommit.every((r) => r.pushed) : last.pushed,
    ...(last.pushError
      ? { pushError: last.pushError }
      : failed && !last.pushed
        ? { pushError: failed.pushError! }
        : {}),
    changes: all.flatMap((r) => r.changes),
    ...(all.find((r) => r.historyRewritten)
      ? { historyRewritten: all.find((r) => r.historyRewritten)!.historyRewritten }
      : {}),
  };
}

/**
 * One reconcile pass, as ordered steps (pass/): source → approve → plan input → execute →
 * record. The Reconciler composes them and owns their memory between passes (PassMemory),
 * which makes the next pass cheap. Safe to run at any moment and as often as wanted: it is
 * level-triggered.
 */
export class Reconciler {
  private readonly memory: PassMemory;
  private readonly deps: StepDeps;

  constructor(o: ReconcilerOptions) {
    this.memory = new PassMemory(o.salt);
    // The walk made at start-up (app.ts) when there is one, else a new one cached in the data directory.
    const tree =
      o.approvedTree ??
      new ApprovedTree(o.source, o.trust, {
        cache: new ApprovedTreeCache(o.dataDir, o.source.branch, o.trust.records),
        log: o.log,
      });
    this.deps = { ...o, tree };
  }

  /**
   * `lethe plan`: everything up to the plan, with no vendor call and no write. Vendors
   * count as available even without credentials (a CI job commenting on a pull request
   * has none); `assumeApproved` shows what would happen once the pull request is merged.
   */
  async dryRun(options: { assumeApproved?: boolean } = {}): Promise<{ plan: Plan; snapshot: Snapshot }> {
    const snapshot = await this.snapshot(false);
    const { plan } = await planInputStep(this.deps, this.memory, snapshot, {
      planning: true,
      assumeApproved: options.assumeApproved,
    });
    return { plan, snapshot };
  }

  async pass(options: PassOptions = {}): Promise<PassReport> {
    const d = this.deps;
    const snapshot = await this.snapshot(true);
    await this.useSigningKey(snapshot.config);
    const checkpoints: Recorded[] = [];
    const { plan, vendors, requests } = await planInputStep(d, this.memory, snapshot);
    const started = d.now();
    const report = await execute(plan, {
      journal: d.journal,
      vendors,
      requests,
      now: d.now,
      log: d.log,
      dataDir: d.dataDir,
      backoffMs: d.backoffMs,
      deadline: started + (d.maxPassMs ?? 120_000),
      degradedRetryMs: d.degradedRetryMs ?? 60_000,
      retryWindowMs: snapshot.config.spec.retryWindowHours * 3_600_000,
      checkpointMs: d.checkpointMs,
      // Git keeps pace with the vendors: answers reach a status commit within seconds, even
      // in a long pass, so losing the data directory costs at most the last few of them.
      // The journal is flushed first: git never records what the journal could forget.
      checkpoint: async (unrecorded) => {
        this.memory.take(unrecorded, snapshot);
        await d.journal.flush();
        checkpoints.push(await this.recordSerially(snapshot));
      },
      fence: d.fence,
      ...(options.followUp ? { followUp: options.followUp } : {}),
    });
    for (const key of report.touched) snapshot.dirty.add(key.slice(0, key.lastIndexOf('/')));
    this.memory.lastPlan = plan;
    this.memory.take(report.unrecorded, snapshot);
    const recorded = merge(checkpoints, await this.recordSerially(snapshot));
    d.journal.setLastCommit(snapshot.head);
    await d.journal.flush();
    // Statuses committed: a finished request is kept without its manifest from here on.
    if (!recorded.historyRewritten) dropFinished(d, this.memory, snapshot);
    const progress = report.calls > 0 || report.touched.size > 0;
    return {
      head: snapshot.head,
      plan,
      ...recorded,
      calls: report.calls,
      problems: snapshot.model.problems,
      nextCheckAt: this.nextCheckAt(progress, report.cut),
      progress,
      unapprovedChanges: snapshot.pending.length,
      held: this.memory.held(),
    };
  }

  /** Steps 1 and 2, and what the record step must rewrite. */
  private async snapshot(forPass: boolean): Promise<Snapshot> {
    const sourced = await sourceStep(this.deps, this.memory, forPass);
    const approved = await approveStep(this.deps, this.memory, sourced);
    const dirty = requestsToRecord(this.deps, this.memory, sourced, approved);
    return {
      ...approved,
      head: sourced.head,
      model: sourced.model,
      config: sourced.config,
      dirty,
      recorded: new Set(),
      root: sourced.state.root,
    };
  }

  /**
   * Status commits are signed with the key lethe.yaml declares now (a rotation takes effect
   * on the pass after its approval). A declared key without its private half stops the pass:
   * writing unsigned then would look like forgery to every audit.
   */
  private async useSigningKey(config: LetheConfig): Promise<void> {
    const d = this.deps;
    const declared = config.spec.identity.signingKey;
    if (this.memory.signer && this.memory.signer.declared === declared) return;
    const signer =
      declared === undefined ? undefined : await findSigner(d.secretsDir ?? `${d.dataDir}/secrets`, declared);
    if (!signer) d.log.warn('status commits are not signed: lethe.yaml declares no spec.identity.signingKey');
    else d.log.info('signing status commits', { key: signer.publicKey.fingerprint });
    d.source.useSigner(signer);
    this.memory.signer = { declared, signer };
  }

  /**
   * When the next pass is due without an outside trigger: progress or rest. A task with a
   * future check time is due then; a degraded vendor at its retryAt. A task due already
   * (it waited for a subject, a slot, the end of a cut-short pass) makes the next pass due
   * at once only if this pass got somewhere: a pass that changed nothing would only repeat
   * itself. Stalled tasks are never due: they wait for a change in git. A loop, not
   * Math.min(...all): the spread fails beyond some 10^5 open tasks.
   */
  private nextCheckAt(progress: boolean, cut: boolean): number | undefined {
    const now = this.deps.now();
    let next: number | undefined;
    const due = (t: number | undefined) => {
      if (t === undefined || (t <= now && !progress && !cut)) return;
      const at = Math.max(t, now);
      if (next === undefined || at < next) next = at;
    };
    // A task of a degraded vendor is not due before its vendor is.
    const { degraded } = this.deps.journal.data;
    for (const t of Object.values(this.deps.journal.data.tasks)) {
      if (isFinal(t) || t.phase === 'Stalled') continue;
      const at = t.nextCheckAt ?? now;
      due(degraded[t.vendor] ? Math.max(at, degraded[t.vendor]!.retryAt) : at);
    }
    for (const d of Object.values(degraded)) due(d.retryAt);
    return next;
  }

  /** One record step at a time: a checkpoint and the pass's own record never interleave. */
  private recording: Promise<unknown> = Promise.resolve();

  private recordSerially(s: Snapshot): Promise<Recorded> {
    const next = this.recording.catch(() => undefined).then(() => recordStep(this.deps, this.memory, s));
    this.recording = next;
    return next;
  }

  /**
   * Longest time (ms) between a task change and the status commit that recorded it, over
   * this reconciler's life: the drain benchmark's "git lag" figure.
   */
  get maxStatusLagMs(): number {
    return this.memory.maxStatusLagMs;
  }

  /**
   * Resolves once no record step is running: its commit moves the branch before it is known
   * as the controller's own (lastOwnCommit), so a ref watcher waits for this first.
   */
  async recordsSettled(): Promise<void> {
    let seen: Promise<unknown> | undefined;
    while (seen !== this.recording) {
      seen = this.recording;
      await seen.catch(() => undefined);
    }
  }

  /** The controller's latest status commit, checkpoints included (a ref watcher ignores it). */
  get lastOwnCommit(): string | undefined {
    return this.memory.lastOwnCommit;
  }

  /** The approved lethe.yaml in force (the schedule of `lethe run` comes from it, never from an unapproved edit). */
  async config(): Promise<LetheConfig> {
    return (await this.deps.tree.at(await this.deps.source.sync())).config;
  }

  /** The statuses as last written or read (for `lethe status`). */
  currentStatuses(): PrivacyRequestStatus[] {
    return [...this.memory.statuses.values()].map(statusDoc);
  }
}
