import type { Action } from '../../specs/index.ts';
import { taskKey, type TaskRecord } from '../../state/journal.ts';

/** A valid request currently in the repository, as the planner sees it: no personal data. */
export interface PlanRequest {
  name: string;
  action: Action;
  dueAt: string;
  receivedAt: string;
  /** Salted hashes of the subject's emails: two requests sharing one are the same subject. */
  subjectKeys: string[];
  vendors: string[];
  /**
   * `vendors: all`: the vendors at the time the request ran. Once all its tasks are final, a
   * vendor added to the repository later gets no task for it (that takes a new request).
   */
  vendorsFromAll?: boolean;
  approved: boolean;
  /** Hash of the spec: a Stalled task is requeued when it changes. */
  fingerprint: string;
  /**
   * Catalogue code when the subject is sealed and cannot be opened now (its epoch key is
   * missing): every task of the request waits, nothing is dropped, and it resumes as soon
   * as the key is back.
   */
  locked?: string;
}

export interface PlanVendor {
  name: string;
  /** False when disabled or degraded: its tasks wait, nothing is dropped. */
  available: boolean;
  /** Hash of the connection's config: a Stalled task is requeued when it changes. */
  fingerprint: string;
  batch?: { step: string; max: number };
  canCancel: boolean;
  /** Milliseconds the vendor's limiter needs for `calls` more calls, from now. */
  drainMs(calls: number): number;
}

export interface PlanInput {
  now: number;
  requests: PlanRequest[];
  tasks: TaskRecord[];
  /** Task keys named by an intent that has no recorded answer. */
  openIntents: ReadonlySet<string>;
  vendors: ReadonlyMap<string, PlanVendor>;
  /** Calls a task that has not started is expected to need (used for ETAs only). */
  callsPerTask?: number;
  /** A request whose ETA falls within this many days of its due date is at risk (lethe.yaml atRiskDays). */
  atRiskDays?: number;
}

export type PlannedAction =
  /** Resolve an intent left open by a crash: ask the vendor, never resubmit blindly. */
  | { kind: 'recover'; vendor: string; keys: string[]; dueAt: string }
  /** Withdrawn request with work under way at a vendor that can cancel it. */
  | { kind: 'cancel'; vendor: string; keys: string[]; dueAt: string }
  /** Advance task(s) one step; several keys = one batched call. */
  | { kind: 'step'; vendor: string; keys: string[]; dueAt: string; step: string };

/** State changes that need no vendor call; the executor applies them before the actions. */
export type PlannedChange =
  | { kind: 'create'; key: string; request: string; vendor: string; action: Action }
  /** Withdrawn before any call reached the vendor: nothing to undo. */
  | { kind: 'skip'; key: string; reason: 'Withdrawn' }
  /** A Stalled task whose spec or vendor config changed gets a fresh start. */
  | { kind: 'requeue'; key: string }
  /** Work under way for a request that is gone: look at it now (cancel while there is time). */
  | { kind: 'withdraw'; key: string };

export type WaitReason =
  | 'AwaitingApproval'
  | 'SubjectBusy'
  | 'SubjectLocked'
  | 'VendorUnavailable'
  | 'Scheduled'
  | 'Stalled'
  | 'Final';

export interface RequestPlan {
  name: string;
  dueAt: string;
  /** Estimated completion of the calls Lethe still has to make (vendor-side processing excluded). */
  eta: string;
  atRisk: boolean;
  /** Per vendor: the next thing that happens, or why nothing happens. */
  vendors: Record<
    string,
    { next: 'recover' | 'cancel' | 'step' | 'create'; step?: string } | { wait: WaitReason; until?: string }
  >;
}

export interface Plan {
  changes: PlannedChange[];
  actions: PlannedAction[];
  requests: RequestPlan[];
}

const FINAL = new Set<TaskRecord['phase']>(['Completed', 'Failed', 'Cancelled', 'Skipped']);
/** An access request finishes before an erasure of the same subject starts at a vendor. */
const ACTION_ORDER: Record<Action, number> = { access: 0, optout: 1, erasure: 2 };

export function isFinal(task: Pick<TaskRecord, 'phase'>): boolean {
  return FINAL.has(task.phase);
}

function holdsSubject(task: TaskRecord): boolean {
  return !isFinal(task) && (task.phase === 'InProgress' || task.phase === 'Stalled' || task.submissions > 0);
}

function byUrgency(a: { dueAt: string; name: string }, b: { dueAt: string; name: string }): number {
  return a.dueAt < b.dueAt ? -1 : a.dueAt > b.dueAt ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * The pure heart of a pass: from what the repository wants and what the journal knows,
 * what to do now and in which order. No IO, no clock but `input.now`.
 */
export function plan(input: PlanInput): Plan {
  const { now, vendors, openIntents } = input;
  const callsPerTask = input.callsPerTask ?? 3;
  const requests = new Map(input.requests.map((r) => [r.name, r]));
  const tasks = new Map(input.tasks.map((t) => [taskKey(t.request, t.vendor), t]));
  const changes: PlannedChange[] = [];

  // Tasks as they will be once the no-call changes are applied.
  const effective = new Map<string, TaskRecord>(tasks);
  const byRequest = tasksByRequest(input.tasks);
  for (const r of input.requests) {
    if (!r.approved) continue;
    const own = byRequest.get(r.name) ?? [];
    const finished = r.vendorsFromAll === true && own.length > 0 && own.every(isFinal);
    for (const v of r.vendors) {
      const key = taskKey(r.name, v);
      const existing = tasks.get(key);
      if (!existing) {
        if (finished) continue;
        changes.push({ kind: 'create', key, request: r.name, vendor: v, action: r.action });
        effective.set(key, seedTask(r.name, v, r.action));
      }
    }
  }
  // A Stalled task rests until what it stalled under changes: its request's spec (an
  // operator's answer is written there), its connection, or its withdrawal. Nothing else
  // makes it due again, so a stall can never turn into a loop of passes.
  for (const [key, t] of tasks) {
    if (t.phase !== 'Stalled') continue;
    const r = requests.get(t.request);
    if (r && r.vendors.includes(t.vendor) && !r.approved) continue;
    if (t.stalledOn === stallFingerprint(r, vendors.get(t.vendor))) continue;
    changes.push({ kind: 'requeue', key });
    effective.set(key, {
      ...t,
      phase: t.submissions > 0 ? 'InProgress' : 'Waiting',
      attempts: 0,
      nextCheckAt: undefined,
      stalledOn: undefined,
      failingSince: undefined,
    });
  }
  for (const [key, t] of effective) {
    const r = requests.get(t.request);
    const stillWanted = r !== undefined && r.vendors.includes(t.vendor);
    if (stillWanted || isFinal(t) || t.phase === 'Stalled') continue;
    if (!holdsSubject(t) && !openIntents.has(key)) {
      changes.push({ kind: 'skip', key, reason: 'Withdrawn' });
      effective.set(key, { ...t, phase: 'Skipped', outcome: 'Withdrawn' });
    } else if (!t.withdrawn) {
      changes.push({ kind: 'withdraw', key });
      effective.set(key, { ...t, withdrawn: true, nextCheckAt: undefined });
    }
  }

  // One holder per (vendor, subject): the task already under way, else the most urgent.
  const holder = new Map<string, string>();
  const groups = new Map<string, string[]>();
  for (const [key, t] of effective) {
    if (isFinal(t)) continue;
    const r = requests.get(t.request);
    for (const s of r?.subjectKeys ?? []) {
      const g = `${t.vendor}\u0000${s}`;
      if (holdsSubject(t) && !holder.has(g)) holder.set(g, key);
      const members = groups.get(g);
      if (members) members.push(key);
      else groups.set(g, [key]);
    }
  }
  for (const [g, keys] of groups) {
    if (holder.has(g)) continue;
    const first = [...keys].sort((a, b) => {
      const ra = requests.get(effective.get(a)!.request)!;
      const rb = requests.get(effective.get(b)!.request)!;
      return (
        ACTION_ORDER[ra.action] - ACTION_ORDER[rb.action] ||
        byUrgency(ra, rb) ||
        (ra.receivedAt < rb.receivedAt ? -1 : 1)
      );
    })[0]!;
    holder.set(g, first);
  }
  const mayProceed = (key: string, t: TaskRecord): boolean => {
    const r = requests.get(t.request);
    return (r?.subjectKeys ?? []).every((s) => holder.get(`${t.vendor}\u0000${s}`) === key);
  };

  const requestPlans = new Map<string, RequestPlan>();
  const today = isoDay(now);
  for (const r of [...input.requests].sort(byUrgency)) {
    requestPlans.set(r.name, { name: r.name, dueAt: r.dueAt, eta: today, atRisk: false, vendors: {} });
  }

  const actions: PlannedAction[] = [];
  const batches = new Map<string, { vendor: string; step: string; keys: string[]; dueAt: string }>();
  const isCreated = new Set(changes.filter((c) => c.kind === 'create').map((c) => c.key));
  const ordered = [...effective.entries()].sort(([ka, a], [kb, b]) =>
    byUrgency(
      { dueAt: requests.get(a.request)?.dueAt ?? '0000', name: ka },
      { dueAt: requests.get(b.request)?.dueAt ?? '0000', name: kb },
    ),
  );
  for (const [key, t] of ordered) {
    const r = requests.get(t.request);
    const rp = r ? requestPlans.get(r.name) : undefined;
    const note = (v: RequestPlan['vendors'][string]) => {
      if (rp && r?.vendors.includes(t.vendor)) rp.vendors[t.vendor] = v;
    };
    const dueAt = r?.dueAt ?? '0000-00-00';
    const vendor = vendors.get(t.vendor);
    if (isFinal(t)) {
      note({ wait: 'Final' });
      continue;
    }
    if (r && !r.approved && r.vendors.includes(t.vendor)) {
      note({ wait: 'AwaitingApproval' });
      continue;
    }
    if (t.phase === 'Stalled') {
      note({ wait: 'Stalled' });
      continue;
    }
    if (!vendor?.available) {
      note({ wait: 'VendorUnavailable' });
      continue;
    }
    if (r?.locked) {
      note({ wait: 'SubjectLocked' });
      continue;
    }
    // A recovery that failed transiently waits for its backoff like any other step.
    if (openIntents.has(key) && t.nextCheckAt !== undefined && t.nextCheckAt > now) {
      note({ wait: 'Scheduled', until: new Date(t.nextCheckAt).toISOString() });
      continue;
    }
    if (openIntents.has(key)) {
      if (!actions.some((a) => a.kind === 'recover' && a.keys.includes(key))) {
        actions.push({ kind: 'recover', vendor: t.vendor, keys: [key], dueAt });
      }
      note({ next: 'recover' });
      continue;
    }
    const withdrawn = !r || !r.vendors.includes(t.vendor);
    if (withdrawn) {
      if ((t.nextCheckAt ?? 0) > now) continue;
      if (vendor.canCancel) actions.push({ kind: 'cancel', vendor: t.vendor, keys: [key], dueAt });
      else actions.push({ kind: 'step', vendor: t.vendor, keys: [key], dueAt, step: t.step });
      continue;
    }
    if (!mayProceed(key, t)) {
      note({ wait: 'SubjectBusy' });
      continue;
    }
    if (t.nextCheckAt !== undefined && t.nextCheckAt > now) {
      note({ wait: 'Scheduled', until: new Date(t.nextCheckAt).toISOString() });
      continue;
    }
    note(isCreated.has(key) ? { next: 'create' } : { next: 'step', step: t.step });
    if (vendor.batch && vendor.batch.step === t.step) {
      const groupKey = `${t.vendor}\u0000${t.action}`;
      let b = batches.get(groupKey);
      if (!b || b.keys.length >= vendor.batch.max) {
        b = { vendor: t.vendor, step: t.step, keys: [], dueAt };
        batches.set(groupKey, b);
        actions.push({ kind: 'step', vendor: t.vendor, keys: b.keys, dueAt, step: t.step });
      }
      b.keys.push(key);
      continue;
    }
    actions.push({ kind: 'step', vendor: t.vendor, keys: [key], dueAt, step: t.step });
  }

  // Recovery and cancellation first: they settle what is already at the vendors.
  const rank = { recover: 0, cancel: 1, step: 2 } as const;
  actions.sort(
    (a, b) =>
      rank[a.kind] - rank[b.kind] ||
      byUrgency({ dueAt: a.dueAt, name: a.keys[0]! }, { dueAt: b.dueAt, name: b.keys[0]! }),
  );

  estimate(input, requests, effective, requestPlans, callsPerTask);
  return { changes, actions, requests: [...requestPlans.values()] };
}

/** ETA per request: the calls ahead of it at each vendor, drained at the vendor's limits. */
function estimate(
  input: PlanInput,
  requests: Map<string, PlanRequest>,
  effective: Map<string, TaskRecord>,
  requestPlans: Map<string, RequestPlan>,
  callsPerTask: number,
): void {
  const perVendor = new Map<string, Array<{ request: PlanRequest; calls: number; notBefore: number }>>();
  for (const t of effective.values()) {
    const r = requests.get(t.request);
    if (!r || !r.approved || isFinal(t)) continue;
    const calls = t.step === 'start' && t.submissions === 0 ? callsPerTask : 1;
    const list = perVendor.get(t.vendor) ?? [];
    list.push({ request: r, calls, notBefore: t.nextCheckAt ?? input.now });
    perVendor.set(t.vendor, list);
  }
  for (const [vendorName, list] of perVendor) {
    const vendor = input.vendors.get(vendorName);
    list.sort((a, b) => byUrgency(a.request, b.request));
    let ahead = 0;
    for (const item of list) {
      ahead += item.calls;
      const rp = requestPlans.get(item.request.name);
      if (!rp) continue;
      const done = Math.max(item.notBefore, input.now + (vendor ? vendor.drainMs(ahead) : 0));
      const eta = isoDay(done);
      if (eta > rp.eta) rp.eta = eta;
    }
  }
  const margin = (input.atRiskDays ?? 0) * 86_400_000;
  // Thousands of requests share a few due dates: each date's last safe day is worked out once.
  const lastSafeDay = new Map<string, string>();
  for (const rp of requestPlans.values()) {
    let safe = lastSafeDay.get(rp.dueAt);
    if (safe === undefined) {
      safe = isoDay(Date.parse(`${rp.dueAt}T00:00:00Z`) - margin);
      lastSafeDay.set(rp.dueAt, safe);
    }
    rp.atRisk = rp.eta > safe;
  }
}

/** Tasks grouped by the request they belong to, in the order given. */
export function tasksByRequest(tasks: Iterable<TaskRecord>): Map<string, TaskRecord[]> {
  const byRequest = new Map<string, TaskRecord[]>();
  for (const t of tasks) {
    const list = byRequest.get(t.request);
    if (list) list.push(t);
    else byRequest.set(t.request, [t]);
  }
  return byRequest;
}

export function seedTask(request: string, vendor: string, action: Action): TaskRecord {
  return {
    request,
    vendor,
    action,
    phase: 'Waiting',
    step: 'start',
    data: {},
    submissions: 0,
    attempts: 0,
    jobIds: [],
    evidence: {},
  };
}

export function stallFingerprint(
  r: Pick<PlanRequest, 'fingerprint'> | undefined,
  v: Pick<PlanVendor, 'fingerprint'> | undefined,
): string {
  return `${r?.fingerprint ?? ''}:${v?.fingerprint ?? ''}`;
}
