import type { LetheConfig, PrivacyRequestSpec, PrivacyRequestStatus } from '../../../specs/index.ts';
import type { TaskRecord } from '../../../state/journal.ts';
import { provenStatusFiles } from '../../audit/trust.ts';
import { LetheError } from '../../errors/types.ts';
import { decryptSubject, subjectEpochs } from '../../subjects/sealed.ts';
import { markDegraded } from '../degraded.ts';
import type { RequestRuntime, VendorRuntime } from '../executor.ts';
import { isFinal, plan as makePlan, tasksByRequest, type PlanRequest, type PlanVendor } from '../planner.ts';
import { rebuildTasks, reopenAfterFallback } from '../rebuild.ts';
import { statusDoc } from '../status.ts';
import { allTasksFinal, finishedPlanRequest, wholeAgain } from './finished.ts';
import { parseBlobs } from './source.ts';
import { hash, type OpenSubject, type PassMemory } from './memory.ts';
import type { Planned, PlanMode, Snapshot, StepDeps } from './types.ts';

/**
 * Step 3, plan input: the journal made whole (rebuilt from status/ when it is new, reopened
 * after a fallback), each vendor connection wired or degraded, each request's subject
 * opened when it has work ahead, and the pure planner run over all of it.
 */
export async function planInputStep(d: StepDeps, m: PassMemory, s: Snapshot, mode: PlanMode = {}): Promise<Planned> {
  const { journal } = d;
  // Also for `lethe plan` (its journal is never written back): a pull-request job has no
  // journal, and without what status/ records every finished request would plan as new work.
  if (journal.fresh && !m.rebuilt) {
    rebuildTasks(journal, await trustedStatuses(d, m, s.config), d.now());
    m.rebuilt = true;
  }
  if (journal.fellBack && !m.rebuilt && !mode.planning) {
    const reopened = reopenAfterFallback(journal, d.now());
    d.log.warn('unfinished tasks ask their vendor first: the newest journal generation was lost', { tasks: reopened });
    m.rebuilt = true;
  }
  const vendors = new Map<string, VendorRuntime>();
  const planVendors = new Map<string, PlanVendor>();
  const now = d.now();
  for (const [name, entry] of s.model.vendors) {
    const spec = entry.connection.spec;
    const driver = d.drivers[spec.type];
    const windows = spec.rateLimits ?? driver.defaultRateLimits(spec);
    const fingerprint = hash(spec);
    let secrets: Record<string, string> | undefined;
    try {
      secrets = await d.wiring.secrets(name, spec, driver);
    } catch (err) {
      // `lethe plan` runs where no credential is (a pull-request job): that is no outage.
      if (!mode.planning) credentialsMissing(d, name, err, now);
    }
    const degraded = journal.data.degraded[name];
    const available =
      (secrets !== undefined || mode.planning === true) && !spec.disabled && (!degraded || degraded.retryAt <= now);
    if (secrets && degraded?.code.startsWith('CREDENTIAL_')) {
      journal.clearDegraded(name);
      d.log.info('vendor connection recovered', { vendor: name, code: degraded.code, since: degraded.since });
    }
    if (secrets) {
      vendors.set(name, {
        name,
        driver,
        spec,
        http: d.wiring.http(name, spec, windows, secrets, driver),
        secrets,
        concurrency: spec.concurrency ?? 4,
        fingerprint,
      });
    }
    planVendors.set(name, {
      name,
      available,
      fingerprint,
      batch: driver.batch,
      canCancel: driver.cancel !== undefined,
      drainMs: d.wiring.drainEstimate(name, spec, windows, secrets ?? {}),
    });
  }

  const requests = new Map<string, RequestRuntime>();
  const planRequests: PlanRequest[] = [];
  const other = s.config.spec.regulations.other;
  // Grouped only when a request is not reused below: a quiet pass needs none of it.
  let tasksOf: Map<string, TaskRecord[]> | undefined;
  const ownTasks = (name: string): TaskRecord[] => {
    tasksOf ??= tasksByRequest(Object.values(journal.data.tasks));
    return tasksOf.get(name) ?? [];
  };
  for (const name of m.locks.keys()) if (!s.model.requests.has(name)) m.locks.delete(name);
  for (const [name, kept] of s.model.requests) {
    const approval = s.approvals.get(kept.path)!;
    const assumeApproved = mode.assumeApproved === true;
    let entry = kept;
    if (entry.finished) {
      if (allTasksFinal(journal, name, entry.vendors)) {
        planRequests.push(finishedPlanRequest(entry, approval.approved || assumeApproved));
        continue;
      }
      // Work again (a task reopened): the subject is read back before anything acts.
      await parseBlobs(d, m, [[entry.path, entry.finished.blob]]);
      entry = wholeAgain(m, s.model, entry);
    }
    const spec = entry.request.spec;
    const { dueAt: due, fingerprint } = m.derive(spec, other);
    // Most subjects are open already (plain, or opened in an earlier pass): no await for them.
    const known = m.locks.has(name) ? undefined : m.subjectOf(spec);
    // A quiet pass rebuilds nothing: the same model entry, evidence, open subject and due
    // date make the same runtime and plan entry (memory.ts RequestInputs).
    const built = known && m.requestInputs.get(entry);
    if (
      built &&
      built.approval === approval &&
      built.subject === known &&
      built.assumeApproved === assumeApproved &&
      built.dueAt === due &&
      built.fingerprint === fingerprint
    ) {
      requests.set(name, built.runtime);
      planRequests.push(built.planRequest);
      continue;
    }
    // A sealed subject is opened only for requests with work ahead (approved, or with open
    // tasks): a finished request needs no key, so it stays intact after its epoch is shredded.
    const own = ownTasks(name);
    const done = own.length > 0 && own.every(isFinal) && entry.vendors.every((v) => own.some((t) => t.vendor === v));
    const wanted = !done && (approval.approved || assumeApproved || own.some((t) => !isFinal(t)));
    const subject = known ?? (await openSubject(d, m, name, spec, wanted, s));
    const lock = m.locks.get(name);
    const runtime: RequestRuntime = {
      name,
      action: spec.action,
      dueAt: due,
      justification: spec.justification,
      // Never a sealed value: a request whose subject is not open gets nothing, and waits.
      emails: subject?.fields.emails ?? [],
      identifiers: subject?.fields.identifiers ?? {},
      approval: { approvers: approval.approvers.map((a) => `${a.name} <${a.email}>`), commit: approval.commit ?? '' },
      fingerprint,
      vendors: entry.vendors,
    };
    const planRequest: PlanRequest = {
      name,
      action: spec.action,
      dueAt: due,
      receivedAt: spec.receivedAt,
      subjectKeys: subject?.keys ?? [],
      vendors: entry.vendors,
      vendorsFromAll: spec.vendors === 'all',
      approved: approval.approved || assumeApproved,
      fingerprint,
      locked: lock?.code ?? (wanted && !subject ? 'SUBJECT_KEY_MISSING' : undefined),
    };
    requests.set(name, runtime);
    planRequests.push(planRequest);
    // Only an open, unlocked subject is kept: a locked one is tried again every pass.
    if (subject && !lock)
      m.requestInputs.set(entry, { approval, subject, assumeApproved, dueAt: due, fingerprint, runtime, planRequest });
  }
  const openIntents = new Set(Object.values(journal.data.intents).flatMap((i) => i.tasks));
  const plan = makePlan({
    now,
    requests: planRequests,
    tasks: Object.values(journal.data.tasks),
    openIntents,
    vendors: planVendors,
    atRiskDays: s.config.spec.atRiskDays,
  });
  return { plan, vendors, requests };
}

/**
 * The statuses a journal rebuild may believe. With a signing key declared, only those whose
 * current version carries the controller's signature on an unbroken chain: a forged status
 * could otherwise invent a vendor job (nothing erased) or claim a completion.
 */
async function trustedStatuses(d: StepDeps, m: PassMemory, config: LetheConfig): Promise<PrivacyRequestStatus[]> {
  const all = [...m.statuses.values()].map(statusDoc);
  const key = config.spec.identity.signingKey;
  const head = await d.source.statusHead();
  if (key === undefined || head === undefined) return all;
  const { proven, refused } = await provenStatusFiles(d.source.dir, head, key);
  for (const [name, why] of refused)
    d.log.warn('journal rebuild ignores an unproven status file', { request: name, why });
  return all.filter((doc) => proven.has(doc.metadata.name));
}

/**
 * A connection whose credentials cannot be resolved is degraded: its requests wait, it is
 * tried again on its own backoff (degradedRetryAt), and the log says so once per change of
 * cause, naming the missing variable or file (the catalogue message), never a value.
 */
function credentialsMissing(d: StepDeps, vendor: string, err: unknown, now: number): void {
  const code = err instanceof LetheError ? err.code : 'CREDENTIAL_UNREADABLE';
  // The message names the variable or file (never a value): the status tells the operator which one.
  const message = err instanceof LetheError ? err.message : undefined;
  const previous = markDegraded(d.journal, vendor, { code, ...(message ? { message } : {}) }, now, d.degradedRetryMs);
  if (previous?.code !== code) {
    const reason = err instanceof LetheError ? err.message : 'a vendor credential could not be resolved';
    d.log.warn('vendor connection degraded: credentials unavailable; its requests wait', { vendor, code, reason });
  }
}

/**
 * Opens a sealed subject with the controller's key of its epoch, when `wanted`. A failure
 * locks the request (its tasks wait, its status says why) and is tried again next pass:
 * a key restored from backup resumes the work without any other step. A lock that comes
 * or goes makes the request's status due for rewriting.
 */
async function openSubject(
  d: StepDeps,
  m: PassMemory,
  name: string,
  spec: PrivacyRequestSpec,
  wanted: boolean,
  s: Snapshot,
): Promise<OpenSubject | undefined> {
  const known = m.subjectOf(spec);
  const before = m.locks.get(name)?.code;
  if (!known && wanted) {
    try {
      const fields = await decryptSubject(name, spec.subject, d.subjectKeys ?? (async () => []));
      m.locks.delete(name);
      if (before !== undefined) s.dirty.add(name);
      return m.remember(spec.subject, fields);
    } catch (err) {
      if (!(err instanceof LetheError)) throw err;
      m.locks.set(name, err);
      if (before !== err.code) {
        d.log.warn('sealed subject cannot be opened; the request waits', {
          request: name,
          code: err.code,
          epoch: subjectEpochs(spec.subject).join(','),
        });
        s.dirty.add(name);
      }
      return undefined;
    }
  }
  m.locks.delete(name);
  if (before !== undefined) s.dirty.add(name);
  return known;
}
