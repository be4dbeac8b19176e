import type { PrivacyRequestStatus, RequestPhase } from '../../specs/index.ts';
import { lookup } from '../errors/catalogue.ts';
import type { Problem } from '../manifests/index.ts';
import type { PendingReport } from './pending.ts';

const DONE = new Set(['Completed', 'Skipped', 'Cancelled']);

const condition = (s: PrivacyRequestStatus, type: string) => s.status.conditions.find((c) => c.type === type);
const isTrue = (s: PrivacyRequestStatus, type: string) => condition(s, type)?.status === 'True';
const stalledVendors = (s: PrivacyRequestStatus) =>
  Object.entries(s.status.vendors).filter(([, v]) => v.phase === 'Stalled');

/** What needs a person most: Invalid and Stalled first, then overdue, then by due date. */
function urgency(s: PrivacyRequestStatus): number {
  if (s.status.phase === 'Invalid') return 0;
  if (isTrue(s, 'Stalled') || stalledVendors(s).length > 0) return 1;
  if (isTrue(s, 'Overdue') && s.status.phase !== 'Completed' && s.status.phase !== 'Failed') return 2;
  return 3;
}

/** Invalid and Stalled first, then overdue, then by due date: the order a DPO reads them in. */
export function sortForDisplay(statuses: PrivacyRequestStatus[]): PrivacyRequestStatus[] {
  return [...statuses].sort(
    (a, b) =>
      urgency(a) - urgency(b) ||
      Number(isTrue(b, 'Overdue')) - Number(isTrue(a, 'Overdue')) ||
      (a.status.dueAt ?? '9999').localeCompare(b.status.dueAt ?? '9999') ||
      a.metadata.name.localeCompare(b.metadata.name),
  );
}

export function vendorProgress(s: PrivacyRequestStatus): string {
  const v = Object.values(s.status.vendors);
  return `${v.filter((x) => DONE.has(x.phase)).length}/${v.length}`;
}

/** What the dashboard says about the record itself, above the table. */
export interface RecordNotes {
  /** Fingerprint of the key that signs status commits; undefined: they are unsigned. */
  signedBy?: string;
}

/** The first line of the HistoryRewritten alarm, also how a later pass knows it is already raised. */
export const HISTORY_REWRITTEN_BANNER = '> **HistoryRewritten**: ';

export function signingNote(notes: RecordNotes): string {
  return notes.signedBy
    ? `Status commits are signed by the controller key ${notes.signedBy}; verify with \`lethe audit --all\`.`
    : 'Status commits are **not signed** (no `spec.identity.signingKey` in lethe.yaml): `lethe audit` cannot prove them.';
}

function firstSentence(text: string): string {
  const cut = text.search(/\.(\s|$)/);
  return cut < 0 ? text : text.slice(0, cut + 1);
}

/**
 * Why a request is where it is, in one line: the first error of an Invalid request, the
 * code and fix of a Stalled vendor, who merged and why it did not count, what an approved
 * request waits for. Built from the status file alone (no personal data is in it).
 */
export function statusReason(s: PrivacyRequestStatus): string {
  const st = s.status;
  if (st.phase === 'Invalid') {
    const e = st.errors?.[0];
    if (!e) return 'invalid manifest';
    const where = e.file ? `${e.file}${e.line ? `:${e.line}:${e.column ?? 1}` : ''} ` : '';
    const more = (st.errors?.length ?? 0) > 1 ? ` (+${st.errors!.length - 1} more)` : '';
    return `${where}${e.code}: ${e.message}${more}`;
  }
  const stalled = stalledVendors(s);
  if (stalled.length > 0) {
    const [vendor, v] = stalled[0]!;
    const code = v.lastError?.code ?? 'error';
    const hint = lookup(code)?.hint;
    return `stalled at ${vendor}: ${code}${hint ? ` — ${firstSentence(hint)}` : ''}${stalled.length > 1 ? ` (+${stalled.length - 1} more)` : ''}`;
  }
  if (st.phase === 'AwaitingApproval')
    return `awaiting approval: ${st.approval?.reason ?? condition(s, 'Approved')?.message ?? 'not approved yet'}`;
  if (st.phase === 'Failed') {
    const failed = Object.entries(st.vendors).filter(([, v]) => v.phase === 'Failed');
    return (
      failed.map(([vendor, v]) => `failed at ${vendor}${v.lastError ? `: ${v.lastError.code}` : ''}`).join('; ') ||
      'failed'
    );
  }
  if (st.phase === 'Pending' || st.phase === 'InProgress') {
    const waits: string[] = [];
    for (const [vendor, v] of Object.entries(st.vendors)) {
      if (DONE.has(v.phase) || v.phase === 'Failed') continue;
      if (v.lastError && v.phase === 'Waiting') waits.push(`${vendor}: ${v.lastError.message}`);
      else if (v.lastError) waits.push(`${vendor}: retrying after ${v.lastError.code}`);
    }
    const ready = condition(s, 'Ready')?.message ?? '';
    const planned = ready.includes('; waiting: ') ? ready.slice(ready.indexOf('; waiting: ') + 11) : '';
    if (planned) waits.push(planned);
    if (waits.length > 0) return `waiting: ${waits.join('; ')}`;
  }
  if (isTrue(s, 'Overdue') && st.phase !== 'Completed') return `past due ${st.dueAt ?? ''}`.trim();
  return '';
}

/** One table cell: pipes escaped, long reasons cut so the table stays readable. */
function cell(text: string, max = 160): string {
  const one = text.replace(/\s+/g, ' ').replace(/\|/g, '\\|');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Rows of the unapproved-changes table: a push of thousands of files must not bloat the dashboard. */
const MAX_PENDING_ROWS = 200;

/** The dashboard line `lethe status` reads the root of trust from. */
export const ROOT_LINE = 'Root of trust: ';

/**
 * The drift section: changes on the branch that were not approved. Paths, commits, git
 * identities and field names only, never values (a request's values are personal data).
 */
export function renderPendingSection(branch: string, pending: PendingReport[]): string[] {
  if (pending.length === 0) return [];
  return [
    `## Unapproved changes on ${branch}`,
    '',
    'Not approved under the policy in force before them: Lethe does not act on these, and the approved versions stay in force until an approved change replaces them.',
    '',
    '| Path | Change | Commit | Author | Would change | Why not approved |',
    '|---|---|---|---|---|---|',
    ...pending
      .slice(0, MAX_PENDING_ROWS)
      .map(
        (p) =>
          `| ${cell(p.path)} | ${p.change} | ${p.commit ? p.commit.slice(0, 12) : ''} | ${p.author ? cell(`${p.author.name} <${p.author.email}>`) : ''} | ${cell(p.fields.join(', ') || (p.change === 'edit' ? 'formatting only' : `${p.change === 'add' ? 'adds' : 'removes'} ${p.kind} ${p.name}`))} | ${cell(p.reason)} |`,
      ),
    ...(pending.length > MAX_PENDING_ROWS
      ? [`| … and ${pending.length - MAX_PENDING_ROWS} more (lethe plan lists all) | | | | | |`]
      : []),
    '',
  ];
}

/**
 * Manifests saved where Lethe does not read them (MISPLACED_MANIFEST): without this section
 * a request filed in request/ would wait forever with no status to say why. Capped like the
 * other lists: anyone who can push could add thousands of such files.
 */
function renderMisplacedSection(misplaced: Problem[]): string[] {
  if (misplaced.length === 0) return [];
  return [
    '## Manifests Lethe does not read',
    '',
    'These files declare a manifest kind but lie outside the places Lethe reads (requests under requests/, vendors in vendors/, lethe.yaml at the top). Nothing is done for them until they are moved.',
    '',
    ...misplaced.slice(0, 50).map((p) => `- ${cell(`${p.file}:${p.line}`)}: ${cell(p.message)}. ${cell(p.hint, 400)}`),
    ...(misplaced.length > 50 ? [`- … and ${misplaced.length - 50} more (lethe validate lists all)`] : []),
    '',
  ];
}

/**
 * What the dashboard needs of one status: its sort keys, its phase and its table line. The
 * controller keeps this row per request instead of the parsed status (a few hundred bytes
 * against a few kilobytes of objects, for every request that exists).
 */
export interface DashboardRow {
  name: string;
  phase: RequestPhase;
  urgency: number;
  overdue: boolean;
  dueAt?: string;
  line: string;
}

export function dashboardRow(s: PrivacyRequestStatus): DashboardRow {
  const overdue = isTrue(s, 'Overdue');
  const stalled = isTrue(s, 'Stalled');
  const flags = [s.status.phase === 'Invalid' ? 'invalid' : '', stalled ? 'stalled' : '', overdue ? 'overdue' : '']
    .filter(Boolean)
    .join(', ');
  return {
    name: s.metadata.name,
    phase: s.status.phase,
    urgency: urgency(s),
    overdue,
    ...(s.status.dueAt !== undefined ? { dueAt: s.status.dueAt } : {}),
    line: flat(
      `| [${s.metadata.name}](${s.metadata.name}.yaml) | ${s.status.action ?? ''} | ${s.status.regulation ?? ''} | ${s.status.phase} | ${s.status.dueAt ?? ''} | ${vendorProgress(s)} | ${flags} | ${cell(statusReason(s))} |`,
    ),
  };
}

/**
 * A copy of `text` in one piece. A string built by concatenation and slicing is a tree that
 * keeps its parts and the strings they were sliced from: kept for every request, a row's
 * line cost about three times its length.
 */
function flat(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/** sortForDisplay's order, on rows. */
function compareRows(a: DashboardRow, b: DashboardRow): number {
  return (
    a.urgency - b.urgency ||
    Number(b.overdue) - Number(a.overdue) ||
    (a.dueAt ?? '9999').localeCompare(b.dueAt ?? '9999') ||
    a.name.localeCompare(b.name)
  );
}

/** status/README.md: a table that renders on any git host, with no timestamp to churn. */
export function renderDashboard(
  statuses: PrivacyRequestStatus[],
  extra?: DashboardExtra,
  notes: RecordNotes = {},
): string {
  return renderDashboardRows(statuses.map(dashboardRow), extra, notes);
}

export interface DashboardExtra {
  branch: string;
  root?: string;
  pending: PendingReport[];
  ignoredStatus: string[];
  misplaced?: Problem[];
}

/** renderDashboard from the rows the controller keeps (the same bytes). */
export function renderDashboardRows(
  statusRows: Iterable<DashboardRow>,
  extra: DashboardExtra = { branch: 'main', pending: [], ignoredStatus: [] },
  notes: RecordNotes = {},
): string {
  const sorted = [...statusRows].sort(compareRows);
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1);
  const summary = [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([p, n]) => `${p}: ${n}`)
    .join(' · ');
  return [
    '# Privacy requests',
    '',
    "Written by the Lethe controller from the request manifests and the vendors' answers. Do not edit.",
    '',
    signingNote(notes),
    '',
    summary || 'No requests.',
    '',
    ...(extra.root ? [`${ROOT_LINE}\`${extra.root}\``, ''] : []),
    '| Request | Action | Regulation | Phase | Due | Vendors done | Attention | Reason |',
    '|---|---|---|---|---|---|---|---|',
    ...sorted.map((r) => r.line),
    '',
    ...renderPendingSection(extra.branch, extra.pending),
    ...renderMisplacedSection(extra.misplaced ?? []),
    ...(extra.ignoredStatus.length > 0
      ? [
          '## Files under status/ not written by Lethe',
          '',
          'Ignored: the controller reads only status files its own commits wrote.',
          '',
          // Capped: anyone who can push could add thousands of files to bloat the dashboard.
          ...extra.ignoredStatus.slice(0, 50).map((p) => `- ${cell(p)}`),
          ...(extra.ignoredStatus.length > 50 ? [`- … and ${extra.ignoredStatus.length - 50} more`] : []),
          '',
        ]
      : []),
  ].join('\n');
}

/** The table `lethe status` and the demo print: what needs a person first, then by due date. */
export function renderStatusTable(statuses: PrivacyRequestStatus[]): string {
  const header = ['NAME', 'ACTION', 'PHASE', 'DUE', 'VENDORS', '', 'REASON'];
  const rows = sortForDisplay(statuses).map((s) => [
    s.metadata.name,
    s.status.action ?? '',
    s.status.phase,
    s.status.dueAt ?? '',
    vendorProgress(s),
    isTrue(s, 'Overdue') ? 'OVERDUE' : '',
    cell(statusReason(s), 100).replace(/\\\|/g, '|'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n') + '\n';
}

/**
 * The dashboard with the HistoryRewritten condition on top: the one commit the controller
 * still writes after finding its status history rewritten, and then nothing more.
 */
export function withHistoryRewritten(dashboard: string, branch: string, missing: string): string {
  const banner = `${HISTORY_REWRITTEN_BANNER}the last status commit this controller pushed (${missing}) is no longer on ${branch}: the status history was force-pushed or rewritten. The controller stopped writing status until an operator resolves it (docs/audit.md).`;
  return `${banner}\n\n${dashboard}`;
}

/** `lethe status --explain NAME`: everything the status file says about one request, with fixes. */
export function explainStatus(s: PrivacyRequestStatus): string {
  const st = s.status;
  const lines = [
    `${s.metadata.name}: ${st.phase}${st.action ? ` (${st.action}, ${st.regulation ?? '?'})` : ''}${st.dueAt ? `, due ${st.dueAt}` : ''}`,
  ];
  const reason = statusReason(s);
  if (reason) lines.push(`  why: ${reason}`);
  if (st.source) lines.push(`  file: ${st.source}`);
  if (st.approval) {
    const a = st.approval;
    lines.push(`  approval (${a.mode}): ${a.approved ? 'approved' : 'NOT approved'} — ${a.reason}`);
    if (a.approvers.length > 0)
      lines.push(`    approvers: ${a.approvers.map((p) => `${p.name} <${p.email}>`).join(', ')}`);
    if (a.commit)
      lines.push(
        `    approval commit ${a.commit.slice(0, 12)}${a.specCommit ? `, content from ${a.specCommit.slice(0, 12)}` : ''}`,
      );
  }
  for (const e of st.errors ?? []) {
    lines.push(`  error ${e.file ?? ''}${e.line ? `:${e.line}:${e.column ?? 1}` : ''} ${e.code}: ${e.message}`);
    const hint = lookup(e.code)?.hint;
    if (hint) lines.push(`    fix: ${hint}`);
  }
  for (const [vendor, v] of Object.entries(st.vendors).sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(
      `  ${vendor}: ${v.phase}, step ${v.step}${v.outcome ? `, outcome ${v.outcome}` : ''}, ${v.attempts} submission${v.attempts === 1 ? '' : 's'}${v.jobIds ? `, jobs ${v.jobIds.join(', ')}` : ''}`,
    );
    if (v.lastError) {
      lines.push(`    last error ${v.lastError.code}: ${v.lastError.message}`);
      const entry = lookup(v.lastError.code);
      if (entry)
        lines.push(
          `    fix: ${entry.hint}${entry.terminal ? ' (terminal: resumes when the request or the vendor connection changes)' : ''}`,
        );
    }
  }
  for (const c of st.conditions) {
    const entry = lookup(c.reason);
    lines.push(`  ${c.type}=${c.status} (${c.reason}, since ${c.lastTransitionTime}): ${c.message}`);
    const attention =
      (c.type === 'Approved' && c.status === 'False') ||
      ((c.type === 'Overdue' || c.type === 'Stalled') && c.status === 'True');
    if (entry && attention) lines.push(`    what to do: ${entry.hint}`);
  }
  return lines.join('\n') + '\n';
}
