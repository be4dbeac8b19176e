import { deflateRawSync, inflateRawSync } from 'node:zlib';
import {
  API_VERSION,
  type Action,
  type ApprovalEvidence,
  type Condition,
  PrivacyRequestStatus,
  type Regulation,
  type RequestPhase,
  type StatusError,
  type VendorTaskStatus,
} from '../../specs/index.ts';
import type { TaskRecord } from '../../state/journal.ts';
import { parseStatusYaml } from '../audit/status-yaml.ts';
import { canonical } from './canonical.ts';
import { stringifyStatusYaml } from './status-yaml-emit.ts';
import { dashboardRow, type DashboardRow } from './dashboard.ts';
import { isFinal } from './planner.ts';

export interface StatusInput {
  name: string;
  source?: string;
  now: number;
  previous?: PrivacyRequestStatus;
  /** Problems that make the manifest Invalid (located, without personal data). */
  problems?: StatusError[];
  request?: {
    action: Action;
    regulation: Regulation;
    receivedAt: string;
    dueAt: string;
    /** Undefined while a sealed subject is not opened: the previous reference is kept. */
    subjectRef?: string;
    /** The key epoch the subject is sealed to, when it is. */
    subjectEpoch?: string;
    vendors: string[];
  };
  /** The subject is sealed and cannot be opened now: every open vendor task waits on this error. */
  locked?: StatusError;
  approval?: ApprovalEvidence;
  tasks: Record<string, TaskRecord>;
  /** The manifest is gone from the repository. */
  withdrawn: boolean;
  degraded: Record<string, { code: string; message?: string }>;
  /**
   * Vendors the plan holds back for a lasting reason (never a time, which would change every
   * pass and make a commit of it): said in the Ready condition, read by the dashboard.
   */
  waits?: Record<string, 'SubjectBusy' | 'VendorUnavailable'>;
  /** An unapproved change on the branch would affect this request (it is not acted on). */
  pendingChange?: string;
}

const WAIT_TEXT = {
  SubjectBusy: 'another request of the same subject is under way there',
  VendorUnavailable: 'vendor disabled or unavailable',
} as const;

const CONDITION_ORDER = ['Approved', 'Ready', 'Overdue', 'Stalled', 'PendingChange'] as const;

/**
 * The status document of one request: a pure function of what the pass knows. Nothing
 * in it moves unless a fact moved — conditions keep `lastTransitionTime` while their
 * status holds — so a pass that learned nothing writes the same bytes.
 */
export function computeStatus(input: StatusInput): PrivacyRequestStatus {
  const prev = input.previous?.status;
  const nowIso = new Date(input.now).toISOString();
  const today = nowIso.slice(0, 10);
  const vendorNames = [...new Set([...(input.request?.vendors ?? []), ...Object.keys(input.tasks)])].sort();
  const vendors: Record<string, VendorTaskStatus> = {};
  for (const v of vendorNames) {
    const t = input.tasks[v];
    vendors[v] = t ? vendorStatus(t, input.degraded[v]) : waitingStatus(input.degraded[v]);
    if (input.locked && !(t && isFinal(t))) vendors[v] = { ...vendors[v]!, lastError: input.locked };
  }
  const phase = requestPhase(input, vendorNames);
  const final = phase === 'Completed' || phase === 'Failed';
  const completedAt = final ? latest(Object.values(input.tasks).map((t) => t.completedAt)) : undefined;
  const dueAt = input.request?.dueAt ?? prev?.dueAt;
  const stalled = Object.entries(vendors).filter(([, s]) => s.phase === 'Stalled');
  const overdue =
    dueAt !== undefined &&
    (final ? (completedAt ?? '').slice(0, 10) > dueAt : phase !== 'Invalid' && phase !== 'Withdrawn' && today > dueAt);

  const wanted: Array<Omit<Condition, 'lastTransitionTime'>> = [
    input.approval
      ? {
          type: 'Approved',
          status: input.approval.approved ? 'True' : 'False',
          reason: input.approval.approved ? 'Approved' : 'NotApproved',
          message: input.approval.reason,
        }
      : {
          type: 'Approved',
          status: 'Unknown',
          reason: phase === 'Invalid' ? 'Invalid' : 'NotEvaluated',
          message: 'approval not evaluated',
        },
    {
      type: 'Ready',
      status: phase === 'Completed' ? 'True' : 'False',
      reason: phase,
      message: readyMessage(phase, vendors, phase === 'Pending' || phase === 'InProgress' ? input.waits : undefined),
    },
    {
      type: 'Overdue',
      status: overdue ? 'True' : 'False',
      reason: overdue ? (final ? 'CompletedLate' : 'PastDue') : final ? 'CompletedOnTime' : 'WithinDeadline',
      message: dueAt ? `due ${dueAt}` : 'no due date (invalid request)',
    },
    input.locked
      ? {
          type: 'Stalled',
          status: 'True',
          reason: 'SubjectLocked',
          message: `${input.locked.code}: ${input.locked.message}`,
        }
      : {
          type: 'Stalled',
          status: stalled.length > 0 ? 'True' : 'False',
          reason: stalled.length > 0 ? 'TerminalError' : 'NoTerminalError',
          message:
            stalled.length > 0
              ? stalled.map(([v, s]) => `${v}: ${s.lastError?.code ?? 'error'}`).join('; ')
              : 'no vendor needs attention',
        },
  ];
  // Present only while there is one: the drift signal an operator alerts on.
  if (input.pendingChange !== undefined) {
    wanted.push({ type: 'PendingChange', status: 'True', reason: 'UnapprovedChange', message: input.pendingChange });
  }
  const conditions: Condition[] = CONDITION_ORDER.flatMap((type) => {
    const c = wanted.find((w) => w.type === type);
    if (!c) return [];
    const before = prev?.conditions.find((p) => p.type === type);
    return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime : nowIso };
  });

  return {
    apiVersion: API_VERSION,
    kind: 'PrivacyRequestStatus',
    metadata: { name: input.name },
    status: strip({
      phase,
      observedCommit: input.approval?.specCommit ?? prev?.observedCommit,
      source: input.source ?? prev?.source,
      action: input.request?.action ?? prev?.action,
      regulation: input.request?.regulation ?? prev?.regulation,
      receivedAt: input.request?.receivedAt ?? prev?.receivedAt,
      dueAt,
      subjectRef: input.request?.subjectRef ?? prev?.subjectRef,
      subjectEpoch: input.request ? input.request.subjectEpoch : prev?.subjectEpoch,
      approval: input.approval ?? prev?.approval,
      conditions,
      vendors,
      errors: input.problems && input.problems.length > 0 ? input.problems : undefined,
      completedAt,
    }),
  };
}

function requestPhase(input: StatusInput, vendorNames: string[]): RequestPhase {
  if (input.withdrawn) return 'Withdrawn';
  if (input.problems && input.problems.length > 0) return 'Invalid';
  if (!input.approval?.approved) return 'AwaitingApproval';
  const tasks = vendorNames.map((v) => input.tasks[v]);
  if (tasks.length > 0 && tasks.every((t) => t && isFinal(t))) {
    if (tasks.some((t) => t!.phase === 'Failed')) return 'Failed';
    // Completed claims every vendor's own confirmation; a Skipped or Cancelled task has none.
    return tasks.every((t) => t!.phase === 'Completed') ? 'Completed' : 'Withdrawn';
  }
  return tasks.some((t) => t && (t.phase !== 'Waiting' || t.submissions > 0)) ? 'InProgress' : 'Pending';
}

function vendorStatus(t: TaskRecord, degraded: { code: string; message?: string } | undefined): VendorTaskStatus {
  const lastError: StatusError | undefined =
    t.lastError ?? (degraded && !isFinal(t) ? { code: degraded.code, message: degradedMessage(degraded) } : undefined);
  return strip({
    phase: t.phase,
    step: t.step,
    jobIds: t.jobIds.length > 0 ? [...t.jobIds] : undefined,
    startedAt: t.startedAt,
    completedAt: t.completedAt,
    outcome: t.outcome,
    attempts: t.submissions,
    lastError,
    evidence: Object.keys(t.evidence).length > 0 ? sortRecord(t.evidence) : undefined,
  });
}

function waitingStatus(degraded: { code: string; message?: string } | undefined): VendorTaskStatus {
  return strip({
    phase: 'Waiting' as const,
    step: 'start',
    attempts: 0,
    lastError: degraded ? { code: degraded.code, message: degradedMessage(degraded) } : undefined,
  });
}

function degradedMessage(d: { message?: string }): string {
  return d.message ? `vendor degraded (${d.message}); the request waits` : 'vendor degraded; the request waits';
}

function readyMessage(
  phase: RequestPhase,
  vendors: Record<string, VendorTaskStatus>,
  waits: StatusInput['waits'],
): string {
  const all = Object.values(vendors);
  const done = all.filter((s) => s.phase === 'Completed' || s.phase === 'Skipped' || s.phase === 'Cancelled').length;
  const waiting = Object.entries(waits ?? {})
    .filter(([v]) => vendors[v] !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, why]) => `${v} (${WAIT_TEXT[why]})`);
  return `${phase}: ${done}/${all.length} vendors done${waiting.length > 0 ? `; waiting: ${waiting.join(', ')}` : ''}`;
}

function latest(values: Array<string | undefined>): string | undefined {
  return values
    .filter((v): v is string => v !== undefined)
    .sort()
    .at(-1);
}

function sortRecord(r: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Drops undefined fields so the YAML is the same whichever path built the object. */
function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function renderStatus(s: PrivacyRequestStatus): string {
  return (
    '# Written by the Lethe controller. Do not edit: changes are overwritten.\n' +
    stringifyStatusYaml(canonical(PrivacyRequestStatus, s))
  );
}

export function statusPath(name: string): string {
  return `status/${name}.yaml`;
}

/**
 * A typical status as the controller renders it: the dictionary kept status texts are
 * deflated against. Never stored (it lives as long as the process), so changing it changes
 * nothing on disk; the closer it is to real statuses, the smaller they pack (1.7 KB to
 * about 60 bytes for a status like this one).
 */
const STATUS_DICTIONARY = Buffer.from(`# Written by the Lethe controller. Do not edit: changes are overwritten.
apiVersion: lethe/v1
kind: PrivacyRequestStatus
metadata:
  name: 2026-01-0001
status:
  phase: Completed
  observedCommit: 0000000000000000000000000000000000000000
  source: requests/2026/01/2026-01-0001.yaml
  action: access
  regulation: ccpa
  receivedAt: 2026-01-01
  dueAt: 2026-02-01
  subjectRef: hmac-sha256:000000000000000000000000
  subjectEpoch: 2026-01
  errors:
    - code: UNKNOWN_FIELD
      message: unknown field
      file: requests/2026/01/2026-01-0001.yaml
      line: 1
      column: 1
  completedAt: 2026-01-01T00:00:00.000Z
  conditions:
    - type: PendingChange
      status: "True"
      reason: UnapprovedChange
      message: an unapproved change on the branch would affect this request
      lastTransitionTime: 2026-01-01T00:00:00.000Z
    - type: Stalled
      status: "True"
      reason: TerminalError
      message: "vendor: error"
  vendors:
    vendor:
      phase: Completed
      step: done
      jobIds:
        - "0"
      startedAt: 2026-01-01T00:00:00.000Z
      completedAt: 2026-01-01T00:00:00.000Z
      outcome: erased
      attempts: 1
      lastError:
        code: VENDOR_UNAVAILABLE
        message: vendor degraded; the request waits
      evidence:
        request: "0"
# Written by the Lethe controller. Do not edit: changes are overwritten.
apiVersion: lethe/v1
kind: PrivacyRequestStatus
metadata:
  name: 2026-01-0001
status:
  phase: Pending
  observedCommit: 0000000000000000000000000000000000000000
  source: requests/2026/01/2026-01-0001.yaml
  action: erasure
  regulation: gdpr
  receivedAt: 2026-01-01
  dueAt: 2026-02-01
  subjectRef: hmac-sha256:000000000000000000000000
  approval:
    approved: true
    mode: merge
    approvers:
      - name: Data Protection Officer
        email: dpo@example.com
    commit: 0000000000000000000000000000000000000000
    approvedAt: 2026-01-01T00:00:00.000Z
    specCommit: 0000000000000000000000000000000000000000
    reason: merged into main in 000000000000 by Data Protection Officer <dpo@example.com>
  conditions:
    - type: Approved
      status: "True"
      reason: Approved
      message: merged into main in 000000000000 by Data Protection Officer <dpo@example.com>
      lastTransitionTime: 2026-01-01T00:00:00.000Z
    - type: Ready
      status: "False"
      reason: Pending
      message: "Pending: 0/2 vendors done; waiting: vendor (vendor disabled or unavailable)"
      lastTransitionTime: 2026-01-01T00:00:00.000Z
    - type: Overdue
      status: "False"
      reason: WithinDeadline
      message: due 2026-02-01
      lastTransitionTime: 2026-01-01T00:00:00.000Z
    - type: Stalled
      status: "False"
      reason: NoTerminalError
      message: no vendor needs attention
      lastTransitionTime: 2026-01-01T00:00:00.000Z
  vendors:
    vendor:
      phase: Waiting
      step: start
      attempts: 0
`);

/**
 * A status as last committed or written, as the controller keeps it between passes: the
 * text git holds, deflated (to tell a changed status from a rewrite of the same bytes, and
 * to parse back when the request is recomputed), and the dashboard's row. Not the parsed
 * document: at 10,000 requests the parsed documents were 27 MB and the plain texts 19 MB,
 * for a next pass that reads only the few that change (all of them once a day).
 */
export interface StatusEntry {
  /** The text, deflated against STATUS_DICTIONARY, as a one-byte string (compact on the heap). */
  readonly packed: string;
  readonly row: DashboardRow;
}

export function statusEntry(text: string, doc: PrivacyRequestStatus): StatusEntry {
  return { packed: deflateRawSync(text, { dictionary: STATUS_DICTIONARY }).toString('latin1'), row: dashboardRow(doc) };
}

/** The text of a kept status, byte for byte as written. */
export function statusText(entry: StatusEntry): string {
  return inflateRawSync(Buffer.from(entry.packed, 'latin1'), { dictionary: STATUS_DICTIONARY }).toString('utf8');
}

/**
 * A status document from a text the controller rendered, or read and validated before: a
 * failure here is a bug, not bad input, so it throws.
 */
export function parseStatusText(text: string): PrivacyRequestStatus {
  return PrivacyRequestStatus.parse(parseStatusYaml(text));
}

/** The document of a kept status, parsed back from its text. */
export function statusDoc(entry: StatusEntry): PrivacyRequestStatus {
  return parseStatusText(statusText(entry));
}
