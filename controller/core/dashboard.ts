import type { PrivacyRequestStatus } from '../../specs/index.ts';
import type { PendingReport } from './pending.ts';

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

/** Rows of the unapproved-changes table: a push of thousands of files must not bloat the dashboard. */
const MAX_PENDING_ROWS = 200;

/** The dashboard line `lethe status` reads the root of trust from. */
export const ROOT_LINE = 'Root of trust: ';

const cell = (v: string): string => v.replace(/\|/g, '\\|').replace(/\n/g, ' ');

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
    ...pending.slice(0, MAX_PENDING_ROWS).map(
      (p) =>
        `| ${cell(p.path)} | ${p.change} | ${p.commit ? p.commit.slice(0, 12) : ''} | ${p.author ? cell(`${p.author.name} <${p.author.email}>`) : ''} | ${cell(p.fields.join(', ') || (p.change === 'edit' ? 'formatting only' : `${p.change === 'add' ? 'adds' : 'removes'} ${p.kind} ${p.name}`))} | ${cell(p.reason)} |`,
    ),
    ...(pending.length > MAX_PENDING_ROWS ? [`| … and ${pending.length - MAX_PENDING_ROWS} more (lethe plan lists all) | | | | | |`] : []),
    '',
  ];
}

/** status/README.md: a table that renders on any git host, with no timestamp to churn. */
export function renderDashboard(
  statuses: PrivacyRequestStatus[],
  extra: { branch: string; root?: string; pending: PendingReport[]; ignoredStatus: string[] } = { branch: 'main', pending: [], ignoredStatus: [] },
): string {
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
    summary || 'No requests.',
    '',
    ...(extra.root ? [`${ROOT_LINE}\`${extra.root}\``, ''] : []),
    '| Request | Action | Regulation | Phase | Due | Vendors done | Attention |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...renderPendingSection(extra.branch, extra.pending),
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
