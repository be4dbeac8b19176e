import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Action, VendorSpec } from '../../specs/index.ts';
import type { Journal, TaskRecord } from '../../state/journal.ts';
import { LetheError } from '../errors/types.ts';
import type { CallOptions, VendorHttp } from '../http/types.ts';
import type { AnyDriver, DriverContext, OpenIntent, StepResult, TaskInput } from '../contracts/driver.ts';
import type { Logger } from '../contracts/log.ts';
import { coreErrors } from './errors.ts';
import { markDegraded } from './degraded.ts';
import { isFinal, seedTask, stallFingerprint, type Plan, type PlannedAction } from './planner.ts';
import { DEFAULT_RETRY_WINDOW_MS, isTransient } from './transient.ts';

/** A vendor connection ready to be driven in this pass. */
export interface VendorRuntime {
  name: string;
  driver: AnyDriver;
  spec: VendorSpec;
  http: VendorHttp;
  secrets: Record<string, string>;
  concurrency: number;
  /** Combined fingerprint a Stalled task records, so a config change requeues it. */
  fingerprint: string;
}

/** What a driver may know of a request. Held in memory only, never journaled. */
export interface RequestRuntime {
  name: string;
  action: Action;
  dueAt: string;
  justification: string;
  emails: string[];
  identifiers: Record<string, Record<string, string>>;
  approval: { approvers: string[]; commit: string };
  fingerprint: string;
  /** The vendors the request addresses now: a task at any other vendor is withdrawn. */
  vendors: string[];
}

export interface ExecuteOptions {
  journal: Journal;
  vendors: ReadonlyMap<string, VendorRuntime>;
  requests: ReadonlyMap<string, RequestRuntime>;
  now(): number;
  log: Logger;
  dataDir: string;
  /** Delay before the n-th retry of a failed step (n >= 1). */
  backoffMs(attempt: number): number;
  /** No new action starts after this instant; what is left runs next pass. */
  deadline: number;
  /** How long a degraded vendor rests before it is first tried again (then doubling, capped). */
  degradedRetryMs: number;
  /** Throws unless this controller still holds its lease: checked before every non-idempotent call. */
  fence?: () => Promise<void>;
  /** Bound on steps one task takes in one pass when a driver asks to continue at once. */
  maxStepsPerTask?: number;
  /** How long transient failures of one step are retried before the task stops for an operator. */
  retryWindowMs?: number;
  /**
   * Records the tasks touched so far in git (status commit) while the pass goes on, so a
   * long pass does not keep the vendors' answers out of git until its end. Looked at every
   * `checkpointMs` (default 5 s), never run twice at once, and only when a task changed since.
   */
  checkpoint?(unrecorded: Map<string, number>): Promise<void>;
  checkpointMs?: number;
  /**
   * Follow-ups: a task whose next check falls within `withinMs` (and before the deadline) is
   * taken again in this pass when it falls due, instead of waiting for the pass to end,
   * record and re-plan. The journal stays the only record of it: a pass that ends first
   * leaves the task with its nextCheckAt, and the next pass plans it as before. Without
   * this option a pass runs its planned actions only (`lethe plan`, tests with a fixed clock).
   */
  followUp?: FollowUpOptions;
}

export interface FollowUpOptions {
  /** Only checks due within this long (ms of the controller's clock) are waited for. */
  withinMs: number;
  /** Waits `ms` of the controller's clock; resolves early when the pass should wrap up or `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** True once something else wants a pass (a trigger, a stop): no more follow-ups are waited for. */
  wrapUp(): boolean;
}

export interface ExecuteReport {
  /** Tasks whose record changed: their requests need a fresh status. */
  touched: Set<string>;
  /**
   * Tasks changed since a record step last took them, with the time of the first change:
   * the record step removes what it commits (and measures the lag).
   */
  unrecorded: Map<string, number>;
  calls: number;
  /** The pass deadline left planned actions unstarted: the next pass takes them at once. */
  cut: boolean;
}

const RETRY_CAP_MS = 6 * 60 * 60 * 1000;

export async function execute(plan: Plan, opts: ExecuteOptions): Promise<ExecuteReport> {
  const report: ExecuteReport = { touched: new Set(), unrecorded: new Map(), calls: 0, cut: false };
  applyChanges(plan, opts, report);

  const byVendor = new Map<string, PlannedAction[]>();
  for (const a of plan.actions) {
    const list = byVendor.get(a.vendor);
    if (list) list.push(a);
    else byVendor.set(a.vendor, [a]);
  }
  const checkpoints = opts.checkpoint ? startCheckpoints(opts, report) : undefined;
  try {
    await Promise.all([...byVendor].map(([vendor, actions]) => runVendor(vendor, actions, opts, report)));
  } finally {
    await checkpoints?.stop();
  }
  await opts.journal.flush();
  return report;
}

/**
 * Runs `opts.checkpoint` on a timer while the pass works, whenever the journal changed
 * since the last one. A failed checkpoint (a push refused, git busy) is logged and the
 * next one tries again; the pass's own record step comes after the last one.
 */
function startCheckpoints(opts: ExecuteOptions, report: ExecuteReport): { stop(): Promise<void> } {
  const every = opts.checkpointMs ?? 5_000;
  let seen = opts.journal.revision;
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running || opts.journal.revision === seen) return;
    seen = opts.journal.revision;
    running = opts.checkpoint!(report.unrecorded)
      .catch((err: unknown) =>
        opts.log.warn('status checkpoint failed; the next one retries', { code: describe(err).code }),
      )
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, Math.max(50, every));
  timer.unref?.();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

function applyChanges(plan: Plan, opts: ExecuteOptions, report: ExecuteReport): void {
  const { journal } = opts;
  const nowIso = new Date(opts.now()).toISOString();
  for (const c of plan.changes) {
    if (c.kind === 'create') journal.putTask(seedTask(c.request, c.vendor, c.action));
    const t = journal.task(c.key);
    if (!t) continue;
    if (c.kind === 'skip')
      journal.putTask({ ...t, phase: 'Skipped', outcome: c.reason, completedAt: nowIso, withdrawn: true });
    if (c.kind === 'withdraw') journal.putTask({ ...t, withdrawn: true, nextCheckAt: undefined });
    if (c.kind === 'requeue') {
      journal.putTask({
        ...t,
        phase: t.submissions > 0 ? 'InProgress' : 'Waiting',
        attempts: 0,
        nextCheckAt: undefined,
        stalledOn: undefined,
        lastError: undefined,
        failingSince: undefined,
      });
      opts.log.info('stalled task requeued: its spec, connection or an operator answer changed', { task: c.key });
    }
    touch(report, c.key, opts);
  }
}

async function runVendor(
  vendor: string,
  actions: PlannedAction[],
  opts: ExecuteOptions,
  report: ExecuteReport,
): Promise<void> {
  const runtime = opts.vendors.get(vendor);
  if (!runtime) return;
  const ctxFor = (keys: string[], dueAt: string) => makeSession(runtime, keys, dueAt, opts, report);
  if (runtime.driver.healthCheck) {
    try {
      await runtime.driver.healthCheck(ctxFor([], '').ctx);
    } catch (err) {
      // A terminal, task-scoped answer (a configuration error such as a wrong URL) stalls
      // the tasks this pass would have advanced, so that they show the code; others wait.
      if (err instanceof LetheError && err.terminal && err.scope === 'task') {
        for (const a of actions)
          if (a.kind === 'step') for (const key of a.keys) noteError(key, err, opts, report, false);
      } else degrade(vendor, err, opts);
      return;
    }
  }
  const queue = new VendorQueue(runtime, actions, opts);
  let stopped = false;
  const worker = async () => {
    while (!stopped && opts.now() < opts.deadline) {
      const action = queue.take();
      if (action === 'done') break;
      if (action === 'wait') {
        await queue.waitForWork();
        continue;
      }
      queue.started();
      try {
        await runAction(action, runtime, ctxFor(action.keys, action.dueAt), opts, report);
        queue.followUp(action.keys);
      } catch (err) {
        if (err instanceof LetheError && err.scope === 'vendor') {
          degrade(vendor, err, opts);
          stopped = true;
          queue.close();
          for (const key of action.keys) noteError(key, err, opts, report, false);
        } else throw err;
      } finally {
        queue.finished();
      }
      // Lookups and polls can be repeated; an answered submission must reach the disk. The
      // worker does not wait for that write: the next submission's intent cannot be written
      // before it (writes run in order, each of the whole journal), and a failed write fails
      // the pass below.
      if (opts.journal.unsavedAnswers) {
        const saved = opts.journal.flush();
        saved.catch(() => undefined); // observed below, after the workers
        answersSaved.push(saved);
      }
    }
  };
  const answersSaved: Promise<void>[] = [];
  try {
    // With follow-ups, a short plan can grow: every worker is there for it.
    const workers = opts.followUp ? runtime.concurrency : Math.min(runtime.concurrency, actions.length);
    await Promise.all(Array.from({ length: workers }, worker));
  } finally {
    queue.close();
  }
  // A write of answers that failed fails the pass, as the journal's final flush would.
  for (const saved of await Promise.allSettled(answersSaved)) if (saved.status === 'rejected') throw saved.reason;
  if (!stopped && queue.unstarted) report.cut = true;
}

/**
 * One vendor's work in a pass: the planned actions in plan order, then (with
 * `opts.followUp`) the follow-ups, each task again once its nextCheckAt falls due. Workers
 * take from it until nothing is planned, nothing is waiting to fall due and no other worker
 * is running an action (its results may add a follow-up).
 */
class VendorQueue {
  private next = 0;
  private running = 0;
  /** Follow-ups by task key: when the task falls due. */
  private readonly due = new Map<string, number>();
  private closed = false;
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly runtime: VendorRuntime,
    private readonly actions: PlannedAction[],
    private readonly opts: ExecuteOptions,
  ) {}

  /** Planned actions never started (the deadline, or a degraded vendor). */
  get unstarted(): boolean {
    return this.next < this.actions.length;
  }

  /** The next action to run; 'wait' while follow-ups are not due yet or others run; 'done' at the end. */
  take(): PlannedAction | 'wait' | 'done' {
    if (this.closed) return 'done';
    if (this.next < this.actions.length) return this.actions[this.next++]!;
    if (this.opts.followUp?.wrapUp()) this.due.clear();
    const now = this.opts.now();
    const ready = [...this.due].filter(([, at]) => at <= now).map(([key]) => key);
    if (ready.length > 0) return this.followUpAction(ready);
    return this.due.size > 0 || this.running > 0 ? 'wait' : 'done';
  }

  /** The due follow-ups as one action: a batched step when the driver batches it, else the first task. */
  private followUpAction(ready: string[]): PlannedAction {
    const { journal, requests } = this.opts;
    const first = journal.task(ready[0]!)!;
    const batch = this.runtime.driver.batch;
    const keys =
      batch && batch.step === first.step && this.runtime.driver.stepBatch
        ? ready
            .filter((k) => {
              const t = journal.task(k)!;
              return t.step === first.step && t.action === first.action;
            })
            .slice(0, batch.max)
        : [ready[0]!];
    for (const key of keys) this.due.delete(key);
    const dueAt = requests.get(first.request)?.dueAt ?? '';
    return { kind: 'step', vendor: this.runtime.name, keys, dueAt, step: first.step };
  }

  /**
   * Tasks of a finished action that asked to be looked at again soon (a poll interval, a
   * retry's backoff) come back when due. Not a task with an open intent (the next pass
   * recovers it), nor one withdrawn or no longer wanted at this vendor (the planner decides
   * those), nor one due after the deadline or beyond the follow-up horizon.
   */
  followUp(keys: string[]): void {
    const f = this.opts.followUp;
    if (!f || this.closed || f.wrapUp()) return;
    const now = this.opts.now();
    for (const key of keys) {
      const t = this.opts.journal.task(key);
      if (!t || isFinal(t) || t.phase === 'Stalled' || t.withdrawn || t.nextCheckAt === undefined) continue;
      if (t.nextCheckAt - now > f.withinMs || t.nextCheckAt >= this.opts.deadline) continue;
      if (!this.opts.requests.get(t.request)?.vendors.includes(t.vendor)) continue;
      if (this.opts.journal.openIntentsFor(key).length > 0) continue;
      this.due.set(key, t.nextCheckAt);
    }
    this.wake();
  }

  started(): void {
    this.running++;
  }

  finished(): void {
    this.running--;
    this.wake();
  }

  /** No more work is handed out (a degraded vendor, the end of the pass); waiting workers return. */
  close(): void {
    this.closed = true;
    this.due.clear();
    this.wake();
  }

  /** Until the earliest follow-up falls due, another worker finishes an action, or the pass wraps up. */
  async waitForWork(): Promise<void> {
    const f = this.opts.followUp;
    const abort = new AbortController();
    const woken = new Promise<void>((resolve) => {
      const waker = () => {
        this.wakers.delete(waker);
        resolve();
      };
      this.wakers.add(waker);
      abort.signal.addEventListener('abort', waker, { once: true });
    });
    let earliest = Infinity;
    for (const at of this.due.values()) earliest = Math.min(earliest, at);
    const timed =
      f && earliest !== Infinity
        ? f.sleep(Math.max(0, Math.min(earliest, this.opts.deadline) - this.opts.now()), abort.signal)
        : undefined;
    await (timed ? Promise.race([woken, timed]) : woken);
    abort.abort();
  }

  private wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

async function runAction(
  action: PlannedAction,
  runtime: VendorRuntime,
  session: Session,
  opts: ExecuteOptions,
  report: ExecuteReport,
): Promise<void> {
  const driver = runtime.driver;
  const { ctx } = session;
  const inputs = action.keys.map((k) => taskInput(opts.journal.task(k)!, runtime, opts));
  if (action.kind === 'recover') {
    const key = action.keys[0]!;
    for (const [id, intent] of opts.journal.openIntentsFor(key)) {
      const open: OpenIntent = { name: intent.name, detail: intent.detail as OpenIntent['detail'], at: intent.at };
      const result = await guarded(key, opts, report, () =>
        driver.recover(ctx, taskInput(opts.journal.task(key)!, runtime, opts), open),
      );
      if (result === undefined) {
        // The vendor cannot tell whether it acted: the intent is resolved as "needs
        // operator". It stays for the driver to read once the operator answers (a change of
        // the request's spec requeues the task), but no pass plans anything for it until then.
        if (opts.journal.task(key)?.phase === 'Stalled' && !intent.needsOperator) {
          opts.journal.putIntent(id, { ...intent, needsOperator: true });
          await opts.journal.flush();
        }
        return;
      }
      apply(key, result, opts, report, runtime);
      session.settle();
      const remaining = intent.tasks.filter((k) => k !== key);
      if (remaining.length === 0) opts.journal.closeIntent(id);
      else opts.journal.putIntent(id, { ...intent, tasks: remaining });
    }
    return;
  }
  if (action.kind === 'cancel') {
    const key = action.keys[0]!;
    const result = await guarded(key, opts, report, () => driver.cancel!(ctx, inputs[0]!));
    if (result) {
      apply(key, result, opts, report, runtime);
      session.settle();
    }
    return;
  }
  let results: StepResult[] | undefined;
  if (action.keys.length > 1 && driver.stepBatch) {
    results = await guardedMany(action.keys, opts, report, () => driver.stepBatch!(ctx, inputs));
  } else {
    const r = await guarded(action.keys[0]!, opts, report, () => driver.step(ctx, inputs[0]!));
    results = r === undefined ? undefined : [r];
  }
  if (!results) return;
  // One answer is one moment: the tasks of a batch fall due together and go back to the
  // driver together, not split by the milliseconds it takes to record them one by one.
  const answeredAt = opts.now();
  action.keys.forEach((key, i) => apply(key, results![i]!, opts, report, runtime, answeredAt));
  session.settle();
  // A driver that can go on at once (e.g. lookup, then submit) does so in the same pass.
  for (const key of action.keys) await continueTask(key, runtime, opts, report);
}

async function continueTask(
  key: string,
  runtime: VendorRuntime,
  opts: ExecuteOptions,
  report: ExecuteReport,
): Promise<void> {
  const driver = runtime.driver;
  const max = opts.maxStepsPerTask ?? 12;
  for (let i = 0; i < max && opts.now() < opts.deadline; i++) {
    const t = opts.journal.task(key);
    if (!t || t.phase === 'Completed' || t.phase === 'Failed' || t.phase === 'Stalled' || t.nextCheckAt !== undefined)
      return;
    if (opts.journal.openIntentsFor(key).length > 0) return;
    const session = makeSession(runtime, [key], opts.requests.get(t.request)?.dueAt ?? '', opts, report);
    const r = await guarded(key, opts, report, () => driver.step(session.ctx, taskInput(t, runtime, opts)));
    if (r === undefined) return;
    apply(key, r, opts, report, runtime);
    session.settle();
  }
}

async function guarded(
  key: string,
  opts: ExecuteOptions,
  report: ExecuteReport,
  fn: () => Promise<StepResult>,
): Promise<StepResult | undefined> {
  const r = await guardedMany([key], opts, report, async () => [await fn()]);
  return r?.[0];
}

async function guardedMany(
  keys: string[],
  opts: ExecuteOptions,
  report: ExecuteReport,
  fn: () => Promise<StepResult[]>,
): Promise<StepResult[] | undefined> {
  try {
    const results = await fn();
    if (results.length !== keys.length) {
      throw coreErrors.error('DRIVER_CONTRACT', { results: results.length, tasks: keys.length });
    }
    return results;
  } catch (err) {
    if (err instanceof LetheError && err.scope === 'vendor') throw err;
    for (const key of keys) noteError(key, err, opts, report, true);
    return undefined;
  }
}

function noteError(
  key: string,
  err: unknown,
  opts: ExecuteOptions,
  report: ExecuteReport,
  countAttempt: boolean,
): void {
  const t = opts.journal.task(key);
  if (!t) return;
  const now = opts.now();
  const { code, message } = describe(err);
  touch(report, key, opts);
  const stall = (lastError: { code: string; message: string }) => {
    const r = opts.requests.get(t.request);
    const v = opts.vendors.get(t.vendor);
    opts.journal.putTask({
      ...t,
      phase: 'Stalled',
      lastError,
      stalledOn: stallFingerprint(r, v),
      nextCheckAt: undefined,
      failingSince: undefined,
    });
    // Once per state change: a task that stalls again the same way says nothing new.
    if (t.phase !== 'Stalled' || t.lastError?.code !== lastError.code)
      opts.log.warn('task stalled', { task: key, code: lastError.code });
  };
  // A transient fault never settles a task, whatever a driver made of it: only a run of
  // them lasting the whole retry window does, and then for an operator, not as final.
  if (err instanceof LetheError && err.terminal && !isTransient(err)) {
    stall({ code, message });
    return;
  }
  const failingSince = t.failingSince ?? now;
  const window = opts.retryWindowMs ?? DEFAULT_RETRY_WINDOW_MS;
  if (now - failingSince >= window) {
    stall({
      code: 'RETRY_WINDOW_EXHAUSTED',
      message: coreErrors.message('RETRY_WINDOW_EXHAUSTED', { code, hours: Math.round((now - failingSince) / 36e5) }),
    });
    return;
  }
  const attempts = countAttempt ? t.attempts + 1 : t.attempts;
  const delay =
    err instanceof LetheError && err.options.retryAfterMs !== undefined
      ? err.options.retryAfterMs
      : opts.backoffMs(Math.max(1, attempts));
  // The last try falls at the window's end, so a vendor back by then is not missed.
  const wait = Math.max(0, Math.min(delay, RETRY_CAP_MS, failingSince + window - now));
  opts.journal.putTask({ ...t, attempts, lastError: { code, message }, nextCheckAt: now + wait, failingSince });
  opts.log.warn('task step failed; will retry', { task: key, code, attempts, retryInMs: wait });
}

function touch(report: ExecuteReport, key: string, opts: ExecuteOptions): void {
  report.touched.add(key);
  if (!report.unrecorded.has(key)) report.unrecorded.set(key, opts.now());
}

/** Only catalogue errors carry their message: any other message could quote a vendor body. */
export function describe(err: unknown): { code: string; message: string } {
  if (err instanceof LetheError) return { code: err.code, message: err.message };
  return { code: 'DRIVER_ERROR', message: `unexpected ${err instanceof Error ? err.name : 'error'} in driver` };
}

function degrade(vendor: string, err: unknown, opts: ExecuteOptions): void {
  const { code, message } = describe(err);
  // Logged once per change of cause.
  const previous = markDegraded(opts.journal, vendor, { code }, opts.now(), opts.degradedRetryMs);
  if (previous?.code !== code) opts.log.warn('vendor degraded; its requests wait', { vendor, code, reason: message });
}

function apply(
  key: string,
  result: StepResult,
  opts: ExecuteOptions,
  report: ExecuteReport,
  runtime: VendorRuntime,
  nowMs = opts.now(),
): void {
  const t = opts.journal.task(key);
  if (!t) return;
  const now = new Date(nowMs).toISOString();
  const jobIds = [...new Set([...t.jobIds, ...(result.jobIds ?? [])])];
  const base: TaskRecord = {
    ...t,
    data: result.data ?? t.data,
    jobIds,
    submissions: result.submissions ?? t.submissions,
    attempts: 0,
    lastError: undefined,
    nextCheckAt: undefined,
    failingSince: undefined,
  };
  if ('evidence' in result && result.evidence) base.evidence = { ...t.evidence, ...result.evidence };
  let next: TaskRecord;
  if (result.kind === 'continue') {
    next = {
      ...base,
      phase: 'InProgress',
      step: result.step,
      startedAt: t.startedAt ?? now,
      nextCheckAt: result.checkAfterMs === undefined ? undefined : nowMs + result.checkAfterMs,
    };
  } else if (result.kind === 'completed') {
    next = {
      ...base,
      phase: result.outcome === 'Cancelled' ? 'Cancelled' : 'Completed',
      step: 'done',
      outcome: result.outcome,
      startedAt: t.startedAt ?? now,
      completedAt: now,
    };
  } else {
    next = {
      ...base,
      phase: 'Failed',
      step: 'done',
      lastError: { code: result.code, message: result.message },
      completedAt: now,
    };
  }
  opts.journal.putTask(next);
  touch(report, key, opts);
  if (next.phase !== t.phase)
    opts.log.info('task phase changed', {
      task: key,
      vendor: runtime.name,
      from: t.phase,
      to: next.phase,
      step: next.step,
    });
  const degraded = opts.journal.clearDegraded(runtime.name);
  if (degraded) {
    opts.log.info('vendor connection recovered', { vendor: runtime.name, code: degraded.code, since: degraded.since });
  }
}

function taskInput(t: TaskRecord, runtime: VendorRuntime, opts: ExecuteOptions): TaskInput {
  const wanted = opts.requests.get(t.request);
  const r = wanted?.vendors.includes(t.vendor) ? wanted : undefined;
  return {
    request: t.request,
    action: t.action,
    dueAt: r?.dueAt ?? '',
    justification: r?.justification ?? '',
    // Withdrawn (the request, or this vendor from it): drivers finish by job id alone.
    subject: { emails: r?.emails ?? [], identifiers: r?.identifiers[runtime.name] ?? {} },
    approval: r?.approval ?? { approvers: [], commit: '' },
    state: { step: t.step, data: t.data as TaskInput['state']['data'], submissions: t.submissions },
  };
}

/**
 * A driver context for one action, plus the intents the vendor answered during it. Those
 * are closed by `settle()`, right after the action's results are applied, so that no
 * journal write can ever show an answered intent gone while the task still has its old
 * state: a crash in between would otherwise resubmit.
 */
interface Session {
  ctx: DriverContext;
  settle(): void;
}

function makeSession(
  runtime: VendorRuntime,
  keys: string[],
  dueAt: string,
  opts: ExecuteOptions,
  report: ExecuteReport,
): Session {
  const priority = dueAt ? Date.parse(`${dueAt}T00:00:00Z`) : Number.MAX_SAFE_INTEGER;
  const answered: string[] = [];
  // The intent of the non-idempotent call being made, journaled by the HTTP layer once the
  // call holds its rate-limit slot (see CallOptions.beforeSend). A step's intents do not overlap.
  let journalIntent: (() => Promise<void>) | undefined;
  const http: VendorHttp = {
    request: (o: CallOptions) => {
      report.calls++;
      const intent = journalIntent;
      const { fence } = opts;
      // The lease is checked first: a controller that lost it neither journals nor sends.
      const beforeSend =
        o.safe || (!intent && !fence)
          ? undefined
          : async () => {
              await fence?.();
              await intent?.();
            };
      return runtime.http.request({ priority, ...o, ...(beforeSend ? { beforeSend } : {}) });
    },
  };
  const ctx: DriverContext = {
    vendor: runtime.name,
    spec: runtime.spec,
    http,
    secrets: runtime.secrets,
    now: () => new Date(opts.now()),
    log: opts.log,
    async intent<R>(name: string, detail: Record<string, unknown>, send: () => Promise<R>): Promise<R> {
      const id = randomUUID();
      let written = false;
      journalIntent = async () => {
        if (written) return;
        await opts.journal.openIntent(id, {
          tasks: keys,
          vendor: runtime.name,
          name,
          detail: detail as Record<string, never>,
          at: new Date(opts.now()).toISOString(),
        });
        written = true;
      };
      try {
        const r = await send();
        if (written) answered.push(id);
        return r;
      } catch (err) {
        // Only an error that proves the vendor did not act closes the intent; any other
        // leaves it open and the next pass asks the driver to recover.
        if (written && isProvablyUndelivered(err)) opts.journal.closeIntent(id);
        throw err;
      } finally {
        journalIntent = undefined;
      }
    },
    async exportDir(request: string) {
      const dir = join(opts.dataDir, 'exports', request, runtime.name);
      await mkdir(dir, { recursive: true });
      return dir;
    },
  };
  return {
    ctx,
    settle() {
      for (const id of answered.splice(0)) opts.journal.closeIntent(id);
    },
  };
}

function isProvablyUndelivered(err: unknown): boolean {
  return err instanceof LetheError && err.maybeDelivered === false;
}
