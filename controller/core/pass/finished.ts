/**
 * Finished requests are kept without their manifest: memory follows what is open, not what
 * exists (a year of history is mostly finished requests). Once every task of a request is
 * final and its status is committed, the pass drops the parsed manifest (its subject, its
 * text) and keeps a FinishedRequest: what its status and plan entry are made from. The
 * manifest is read from git again, by blob, whenever it is needed whole:
 *
 * - before the model is checked again after a change that could alter a finished request's
 *   cross-checks (a connection or lethe.yaml changed: all of them; a request file of the
 *   same name changed: that one), so the model is what it would be with every file parsed;
 * - before the plan, for a request that has work again (a task not final): no driver ever
 *   sees a request without its subject.
 *
 * A restarted controller parses everything once and drops again at the end of its pass.
 */
import type { LetheConfig, RequestPhase } from '../../../specs/index.ts';
import { taskKey, type Journal } from '../../../state/journal.ts';
import { manifestKind, type FinishedEntry, type RequestEntry, type RepositoryModel } from '../../manifests/index.ts';
import { isFinal, type PlanRequest } from '../planner.ts';
import type { StatusInput } from '../status.ts';
import { subjectEpochs } from '../../subjects/sealed.ts';
import type { PassMemory } from './memory.ts';
import type { Snapshot, StepDeps } from './types.ts';

type Other = LetheConfig['spec']['regulations']['other'];

/** Request phases a committed status ends in. */
const DONE = new Set<RequestPhase>(['Completed', 'Failed', 'Withdrawn']);

/** What a request's status says of the request itself, whole or finished. */
export function requestFacts(m: PassMemory, entry: RequestEntry, other: Other): NonNullable<StatusInput['request']> {
  if (entry.finished) {
    const { action, regulation, receivedAt, dueAt, subjectRef, subjectEpoch } = entry.finished;
    return { action, regulation, receivedAt, dueAt, subjectRef, subjectEpoch, vendors: entry.vendors };
  }
  const spec = entry.request.spec;
  return {
    action: spec.action,
    regulation: spec.regulation,
    receivedAt: spec.receivedAt,
    dueAt: m.derive(spec, other).dueAt,
    subjectRef: m.subjectOf(spec)?.ref,
    subjectEpoch: subjectEpochs(spec.subject)[0],
    vendors: entry.vendors,
  };
}

/** Every vendor of the request has a task, and each is final: nothing is left to do. */
export function allTasksFinal(journal: Pick<Journal, 'task'>, name: string, vendors: readonly string[]): boolean {
  return (
    vendors.length > 0 &&
    vendors.every((v) => {
      const t = journal.task(taskKey(name, v));
      return t !== undefined && isFinal(t);
    })
  );
}

/** The plan entry of a finished request: its tasks are final, so no subject is needed. */
export function finishedPlanRequest(entry: FinishedEntry, approved: boolean): PlanRequest {
  const f = entry.finished;
  return {
    name: f.name,
    action: f.action,
    dueAt: f.dueAt,
    receivedAt: f.receivedAt,
    subjectKeys: [],
    vendors: entry.vendors,
    vendorsFromAll: f.vendorsFromAll,
    approved,
    fingerprint: f.fingerprint,
  };
}

/**
 * After the pass's last record step: drops the manifest of every request that is finished
 * and whose committed status says so (not due again, no failed commit waiting, no sealed
 * subject locked). Its model entry and desired file become a FinishedEntry, and nothing else
 * refers to the parsed manifest, so its subject and text are collected.
 */
export function dropFinished(d: StepDeps, m: PassMemory, s: Snapshot): void {
  const other = s.config.spec.regulations.other;
  // Only a request whose status this pass recomputed can have just finished: every way to
  // finish, or to be made whole again, goes through a record step. A quiet pass looks at none.
  for (const name of s.recorded) {
    const entry = s.model.requests.get(name);
    if (!entry || entry.finished) continue;
    const file = m.parsed.get(entry.path);
    if (
      file?.manifest === undefined ||
      s.dirty.has(name) ||
      m.unrecordedSince.has(name) ||
      m.locks.has(name) ||
      !DONE.has(m.statuses.get(name)?.row.phase ?? 'Pending') ||
      !allTasksFinal(d.journal, name, entry.vendors)
    )
      continue;
    const spec = entry.request.spec;
    const facts = requestFacts(m, entry, other);
    const finished: FinishedEntry = {
      path: entry.path,
      vendors: entry.vendors,
      finished: {
        name,
        blob: file.blob,
        action: facts.action,
        regulation: facts.regulation,
        receivedAt: facts.receivedAt,
        dueAt: facts.dueAt,
        fingerprint: m.derive(spec, other).fingerprint,
        vendorsFromAll: spec.vendors === 'all',
        ...(facts.subjectRef === undefined ? {} : { subjectRef: facts.subjectRef }),
        ...(facts.subjectEpoch === undefined ? {} : { subjectEpoch: facts.subjectEpoch }),
      },
    };
    s.model.requests.set(name, finished);
    m.parsed.set(entry.path, { blob: file.blob, finished });
  }
}

/**
 * Before the model is checked again: the finished requests whose cross-checks the change
 * could alter, to parse again ([path, blob]), and the rest, to carry into the model as they are.
 */
export function finishedToCarry(
  m: PassMemory,
  changedPaths: string[] | 'all',
): { again: [path: string, blob: string][]; carried: Map<string, FinishedEntry> } {
  const everything = changedPaths === 'all' || changedPaths.some((p) => manifestKind(p) !== 'PrivacyRequest');
  const changedNames = new Set(everything ? [] : changedPaths.flatMap((p) => m.parsed.get(p)?.manifest?.name ?? []));
  const again: [string, string][] = [];
  const carried = new Map<string, FinishedEntry>();
  for (const [path, file] of m.parsed) {
    if (!file.finished) continue;
    if (everything || changedNames.has(file.finished.finished.name)) again.push([path, file.blob]);
    else carried.set(file.finished.finished.name, file.finished);
  }
  return { again, carried };
}

/**
 * A finished request with a task that is not final again, once its manifest is parsed again
 * (parseBlobs): its model entry made whole, with the vendors the model resolved for it.
 */
export function wholeAgain(
  m: PassMemory,
  model: RepositoryModel,
  entry: FinishedEntry,
): Exclude<RequestEntry, FinishedEntry> {
  const manifest = m.parsed.get(entry.path)?.manifest;
  const request = manifest?.kind === 'PrivacyRequest' ? manifest.value : undefined;
  // The same blob parsed the same way was valid when the request was dropped.
  if (request === undefined) throw new Error(`${entry.path}: a finished request no longer parses from its blob`);
  const whole = { path: entry.path, vendors: entry.vendors, request };
  model.requests.set(entry.finished.name, whole);
  return whole;
}
