import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ResourceName, type StatusError } from '../../../specs/index.ts';
import type { TaskRecord } from '../../../state/journal.ts';
import type { WrittenBlob } from '../../git/plumbing.ts';
import type { GitSource, HistoryRewritten } from '../../git/source.ts';
import { nameFromPath } from '../../manifests/index.ts';
import { commitMessage, type PhaseChange } from '../commit-message.ts';
import { HISTORY_REWRITTEN_BANNER, renderDashboardRows, withHistoryRewritten } from '../dashboard.ts';
import type { RequestPlan } from '../planner.ts';
import {
  computeStatus,
  renderStatus,
  parseStatusText,
  statusEntry,
  statusPath,
  statusText,
  type StatusEntry,
  type StatusInput,
} from '../status.ts';
import { requestFacts } from './finished.ts';
import { nameOf, type PassMemory } from './memory.ts';
import type { Approved, Recorded, Snapshot, Sourced, StepDeps } from './types.ts';

/** Statuses computed and rendered between two turns of the event loop (see recordStep). */
const STATUSES_PER_TURN = 20;

/**
 * The requests whose status the record step must recompute: those whose manifest changed;
 * every one on the first pass of a day or after a change of lethe.yaml or a vendor (due
 * dates and vendor lists move with them); those whose pending change or tasks changed;
 * those without a status yet; and those whose last status commit failed.
 */
export function requestsToRecord(d: StepDeps, m: PassMemory, s: Sourced, a: Approved): Set<string> {
  const dirty = new Set<string>();
  const { changedPaths, model } = s;
  const today = new Date(d.now()).toISOString().slice(0, 10);
  const everything =
    changedPaths === 'all' ||
    m.lastDay !== today ||
    changedPaths.some((p) => p === 'lethe.yaml' || p.startsWith('vendors/'));
  m.lastDay = today;
  if (everything) {
    for (const name of model.requests.keys()) dirty.add(name);
    for (const [path, inv] of model.invalidRequests) dirty.add(inv.name ?? nameFromPath(path));
    for (const name of m.statuses.keys()) dirty.add(name);
  } else {
    for (const path of changedPaths) {
      dirty.add(nameOf(m.parsed.get(path)) ?? nameFromPath(path));
    }
  }
  const byRequest = a.pendingByRequest;
  for (const name of new Set([...byRequest.keys(), ...m.lastPending.keys()])) {
    if (byRequest.get(name) !== m.lastPending.get(name)) dirty.add(name);
  }
  m.lastPending = byRequest;
  for (const key of Object.keys(d.journal.data.tasks)) {
    const name = key.slice(0, key.lastIndexOf('/'));
    if (everything || !m.statuses.has(name)) dirty.add(name);
  }
  // Statuses whose commit failed last time are written again.
  for (const name of m.unrecordedSince.keys()) dirty.add(name);
  return dirty;
}

/**
 * Step 5, record: the statuses that changed, the dashboard, and one commit for all of them.
 * A failed commit puts the statuses as last committed back and leaves their requests due.
 */
export async function recordStep(d: StepDeps, m: PassMemory, s: Snapshot): Promise<Recorded> {
  const { journal } = d;
  const rewritten = await d.source.historyRewritten();
  if (rewritten)
    return { ...(await raiseHistoryRewritten(d, rewritten, s.head)), changes: [], historyRewritten: rewritten };
  const now = d.now();
  const tasksByRequest = new Map<string, Record<string, TaskRecord>>();
  for (const t of Object.values(journal.data.tasks)) {
    const byVendor = tasksByRequest.get(t.request) ?? {};
    byVendor[t.vendor] = t;
    tasksByRequest.set(t.request, byVendor);
  }
  // By name once: a find per request made this step quadratic (50,000 requests: seconds).
  const lastPlanOf = new Map<string, RequestPlan>();
  for (const r of m.lastPlan?.requests ?? []) if (!lastPlanOf.has(r.name)) lastPlanOf.set(r.name, r);
  const invalidByName = new Map<string, { path: string; problems: StatusError[] }>();
  for (const [path, inv] of s.model.invalidRequests) {
    const name = inv.name ?? nameFromPath(path);
    if (!ResourceName.safeParse(name).success || s.model.requests.has(name)) continue;
    invalidByName.set(name, {
      path,
      problems: inv.problems.map((p) => ({
        code: p.code,
        message: p.message,
        file: p.file,
        line: p.line,
        column: p.column,
      })),
    });
  }

  const files = new Map<string, WrittenBlob>();
  const changes: PhaseChange[] = [];
  const before = new Map<string, StatusEntry | undefined>();
  const recordedNames = [...s.dirty].sort();
  // Not committed after all: the statuses as last committed come back, and these requests
  // stay due for the next record step (of this pass, or of the next: see requestsToRecord).
  const putBack = () => {
    for (const name of recordedNames) {
      s.dirty.add(name);
      if (!m.unrecordedSince.has(name)) m.unrecordedSince.set(name, now);
    }
    for (const [name, entry] of before) {
      if (entry) m.statuses.set(name, entry);
      else m.statuses.delete(name);
    }
  };
  // Each changed status goes to git as it is rendered (one fast-import for the step, on the
  // other core): no text is held until the commit, 17 MB at 10,000 new statuses.
  const blobs = d.source.blobWriter();
  const failed = async (err: unknown): Promise<never> => {
    await blobs.close().catch(() => undefined);
    putBack();
    throw err;
  };
  try {
    let computed = 0;
    for (const name of recordedNames) {
      // A checkpoint runs while vendor calls go on in this process: hundreds of statuses in one
      // go would hold the event loop for a few hundred ms and delay sends past their slot.
      if (++computed % STATUSES_PER_TURN === 0) await yieldToLoop();
      // Names come from manifests, the journal and status/: only a resource name becomes a path.
      if (!ResourceName.safeParse(name).success) continue;
      const entry = s.model.requests.get(name);
      const invalid = invalidByName.get(name);
      const tasks = tasksByRequest.get(name) ?? {};
      const previous = m.statuses.get(name);
      const previousText = previous && statusText(previous);
      if (!entry && !invalid && !previous && Object.keys(tasks).length === 0) continue;
      const path = entry?.path ?? invalid?.path;
      const lock = entry ? m.locks.get(name) : undefined;
      const doc = computeStatus({
        name,
        source: path,
        now,
        previous: previousText === undefined ? undefined : parseStatusText(previousText),
        problems: invalid?.problems,
        request: entry && requestFacts(m, entry, s.config.spec.regulations.other),
        locked: lock ? { code: lock.code, message: lock.message } : undefined,
        approval: path ? s.approvals.get(path) : undefined,
        tasks,
        withdrawn: !entry && !invalid,
        pendingChange: s.pendingByRequest.get(name),
        degraded: journal.data.degraded,
        waits: lastingWaits(lastPlanOf.get(name)),
      });
      const text = renderStatus(doc);
      if (previousText === text) continue;
      before.set(name, previous);
      files.set(statusPath(name), { blob: await blobs.add(text) });
      // Overwritten by the controller: from now on the file is its own.
      m.ignoredStatus = m.ignoredStatus.filter((p) => p !== statusPath(name));
      changes.push({ name, from: previous?.row.phase, to: doc.status.phase });
      m.statuses.set(name, statusEntry(text, doc));
    }
  } catch (err) {
    return failed(err);
  }
  s.dirty.clear();
  for (const name of recordedNames) s.recorded.add(name);
  const settle = (committed: boolean) => {
    const at = d.now();
    for (const name of recordedNames) {
      const since = m.unrecordedSince.get(name);
      if (since !== undefined && committed) m.maxStatusLagMs = Math.max(m.maxStatusLagMs, at - since);
      m.unrecordedSince.delete(name);
    }
  };
  // The dashboard depends on the statuses and on the head (pending changes): a quiet pass renders nothing.
  if (files.size === 0 && m.dashboardHead === s.head) {
    settle(false);
    return { pushed: false, changes };
  }
  const dashboard = renderDashboardRows(
    [...m.statuses.values()].map((v) => v.row),
    {
      branch: d.source.branch,
      root: s.root,
      pending: s.pending,
      ignoredStatus: m.ignoredStatus,
      misplaced: s.model.problems.filter((p) => p.code === 'MISPLACED_MANIFEST'),
    },
    { signedBy: d.source.signing?.publicKey.fingerprint },
  );
  if (files.size === 0 && dashboard === m.dashboard) {
    m.dashboardHead = s.head;
    settle(false);
    return { pushed: false, changes };
  }
  let result: Awaited<ReturnType<GitSource['writeStatus']>>;
  try {
    files.set('status/README.md', { blob: await blobs.add(dashboard) });
    await blobs.close();
    await d.fence?.();
    result = await d.source.writeStatus(files, commitMessage(changes, s.head));
  } catch (err) {
    return failed(err);
  }
  m.dashboardHead = s.head;
  m.dashboard = dashboard;
  settle(result.commit !== undefined);
  if (result.commit) m.lastOwnCommit = result.commit;
  if (result.commit)
    d.log.info('status committed', { commit: result.commit, requests: changes.length, pushed: result.pushed });
  if (result.pushError) d.log.warn('status push failed; retried next pass', { code: result.pushError.code });
  return { commit: result.commit, pushed: result.pushed, pushError: result.pushError, changes };
}

/**
 * The status branch lost the controller's last status commit. Building on that history
 * would bless it, so the controller writes one signed commit that puts the
 * HistoryRewritten condition on the dashboard and names the missing commit as its
 * predecessor (the audit then shows the break), and writes nothing more.
 */
async function raiseHistoryRewritten(
  d: StepDeps,
  rewritten: HistoryRewritten,
  observed: string,
): Promise<Omit<Recorded, 'changes'>> {
  const { source, log } = d;
  log.error('status history rewritten: status writing stopped', {
    code: 'STATUS_HISTORY_REWRITTEN',
    branch: rewritten.branch,
    missing: rewritten.missing,
  });
  const head = await source.statusHead();
  const current = head ? ((await source.readFiles(head, ['status/README.md'])).get('status/README.md') ?? '') : '';
  if (current.startsWith(HISTORY_REWRITTEN_BANNER)) return { pushed: false };
  const message = [
    'lethe: status history rewritten; status writing stopped',
    '',
    `The last status commit this controller pushed, ${rewritten.missing}, is no longer on ${rewritten.branch}.`,
    '',
    `Lethe-History-Rewritten: ${rewritten.missing}`,
    `Lethe-Observed-Commit: ${observed}`,
    '',
  ].join('\n');
  const result = await source.writeStatus(
    new Map([['status/README.md', withHistoryRewritten(current, rewritten.branch, rewritten.missing)]]),
    message,
    {
      previous: rewritten.missing,
      remember: false,
    },
  );
  return { commit: result.commit, pushed: result.pushed, pushError: result.pushError };
}

/** The plan's lasting reasons a request waits at a vendor (see StatusInput.waits). */
function lastingWaits(p: RequestPlan | undefined): StatusInput['waits'] {
  const out: NonNullable<StatusInput['waits']> = {};
  for (const [vendor, what] of Object.entries(p?.vendors ?? {})) {
    if ('wait' in what && (what.wait === 'SubjectBusy' || what.wait === 'VendorUnavailable')) out[vendor] = what.wait;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
