import type { PrivacyRequestStatus } from '../../specs/index.ts';

const DONE = new Set(['Completed', 'Skipped', 'Cancelled']);

/** Requests overdue first, then by due date: the order a DPO reads them in. */
export function sortForDisplay(statuses: PrivacyRequestStatus[]): PrivacyRequestStatus[] {
  const overdue = (s: PrivacyRequestStatus) => s.status.conditions.some((c) => c.type === 'Overdue' && c.status === 'True');
  return [...statuses].sort(
    (a, b) =>
      Number(overdue(b)) - Number(overdue(a)) ||
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

/** status/README.md: a table that renders on any git host, with no timestamp to churn. */
export function renderDashboard(statuses: PrivacyRequestStatus[], notes: RecordNotes = {}): string {
  const rows = sortForDisplay(statuses).map((s) => {
    const overdue = s.status.conditions.some((c) => c.type === 'Overdue' && c.status === 'True');
    const stalled = s.status.conditions.some((c) => c.type === 'Stalled' && c.status === 'True');
    const flags = [overdue ? 'overdue' : '', stalled ? 'stalled' : ''].filter(Boolean).join(', ');
    return `| [${s.metadata.name}](${s.metadata.name}.yaml) | ${s.status.action ?? ''} | ${s.status.regulation ?? ''} | ${s.status.phase} | ${s.status.dueAt ?? ''} | ${vendorProgress(s)} | ${flags} |`;
  });
  const counts = new Map<string, number>();
  for (const s of statuses) counts.set(s.status.phase, (counts.get(s.status.phase) ?? 0) + 1);
  const summary = [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([p, n]) => `${p}: ${n}`).join(' · ');
  return [
    '# Privacy requests',
    '',
    'Written by the Lethe controller from the request manifests and the vendors\' answers. Do not edit.',
    '',
    signingNote(notes),
    '',
    summary || 'No requests.',
    '',
    '| Request | Action | Regulation | Phase | Due | Vendors done | Attention |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

/** The table `lethe status` and the demo print: overdue first, then by due date. */
export function renderStatusTable(statuses: PrivacyRequestStatus[]): string {
  const header = ['NAME', 'ACTION', 'PHASE', 'DUE', 'VENDORS', ''];
  const rows = sortForDisplay(statuses).map((s) => [
    s.metadata.name,
    s.status.action ?? '',
    s.status.phase,
    s.status.dueAt ?? '',
    vendorProgress(s),
    s.status.conditions.some((c) => c.type === 'Overdue' && c.status === 'True') ? 'OVERDUE' : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
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
