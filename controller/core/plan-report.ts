import type { Problem } from '../manifests/index.ts';
import { renderPendingSection } from './dashboard.ts';
import { pendingSentence, type PendingReport } from './pending.ts';
import type { Plan, RequestPlan } from './planner.ts';

/** What `lethe plan` shows for one request, beyond the planner's own view. */
export interface PlanRow {
  name: string;
  action: string;
  regulation: string;
  approved: boolean;
  approvalReason: string;
  plan?: RequestPlan;
}

export interface PlanReport {
  head: string;
  at: string;
  plan: Plan;
  rows: PlanRow[];
  problems: Problem[];
  branch: string;
  /** The root of trust the approved tree was computed from. */
  root: string;
  /** Changes on the branch that were not approved (never acted on). */
  pending: PendingReport[];
}

function vendorCell(p: RequestPlan | undefined): string {
  if (!p) return '';
  return Object.entries(p.vendors)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, what]) => ('wait' in what ? `${v}: wait ${what.wait}${what.until ? ` until ${what.until}` : ''}` : `${v}: ${what.next}${what.step ? ` ${what.step}` : ''}`))
    .join('; ');
}

function sortRows(rows: PlanRow[]): PlanRow[] {
  return [...rows].sort((a, b) => (a.plan?.dueAt ?? '9999').localeCompare(b.plan?.dueAt ?? '9999') || a.name.localeCompare(b.name));
}

export function planAsText(r: PlanReport): string {
  const lines = [`Plan for ${r.head.slice(0, 12)} at ${r.at}: ${r.plan.actions.length} vendor actions, nothing done yet.`];
  for (const a of r.plan.actions) {
    lines.push(`  ${a.kind.padEnd(8)} ${a.vendor.padEnd(14)} ${a.keys.map((k) => k.slice(0, k.lastIndexOf('/'))).join(', ')}${a.kind === 'step' ? ` (${a.step})` : ''}`);
  }
  lines.push('', 'Requests, earliest due first:');
  for (const row of sortRows(r.rows)) {
    const p = row.plan;
    const risk = p?.atRisk ? '  AT RISK' : '';
    const head = `  ${row.name.padEnd(16)} ${row.action.padEnd(8)} ${row.regulation.padEnd(5)} due ${p?.dueAt ?? '?'} eta ${p?.eta ?? '-'}${risk}`;
    lines.push(head, `      ${row.approved ? vendorCell(p) || 'nothing to do' : `not approved: ${row.approvalReason}`}`);
  }
  if (r.problems.length > 0) {
    lines.push('', 'Invalid manifests (recorded as Invalid, never sent to a vendor):');
    for (const p of r.problems) lines.push(`  ${p.file}:${p.line}:${p.column} ${p.code} ${p.message}`);
  }
  if (r.pending.length > 0) {
    lines.push('', `Unapproved changes on ${r.branch} (not acted on; the approved versions stay in force):`);
    for (const p of r.pending) lines.push(`  ${pendingSentence(p)}`, `      not approved: ${p.reason}`);
  }
  lines.push('', `Root of trust: ${r.root}`);
  return lines.join('\n') + '\n';
}

/** Markdown for a pull-request comment: a summary line, then one table row per request. */
export function planAsMarkdown(r: PlanReport): string {
  const atRisk = r.rows.filter((x) => x.plan?.atRisk).length;
  const unapproved = r.rows.filter((x) => !x.approved).length;
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const lines = [
    '### Lethe plan',
    '',
    `Commit \`${r.head.slice(0, 12)}\` · ${r.rows.length} requests · ${r.plan.actions.length} vendor actions · ${atRisk} at risk · ${unapproved} awaiting approval · ${r.problems.length} problems`,
    '',
    '| Request | Action | Due | ETA | Approved | Next at each vendor |',
    '|---|---|---|---|---|---|',
    ...sortRows(r.rows).map(
      (x) =>
        `| ${x.name} | ${x.action} | ${x.plan?.dueAt ?? ''} | ${x.plan?.eta ?? ''}${x.plan?.atRisk ? ' ⚠️' : ''} | ${x.approved ? 'yes' : 'no'} | ${esc(x.approved ? vendorCell(x.plan) : x.approvalReason)} |`,
    ),
  ];
  if (r.problems.length > 0) {
    lines.push('', '<details><summary>Problems</summary>', '', ...r.problems.map((p) => `- \`${p.file}:${p.line}:${p.column}\` ${p.code} ${esc(p.message)}`), '', '</details>');
  }
  if (r.pending.length > 0) lines.push('', ...renderPendingSection(r.branch, r.pending).map((l) => l.replace(/^## /, '#### ')));
  lines.push('', '_Nothing has been sent to any vendor. Lethe acts only on requests approved by merge._');
  return lines.join('\n') + '\n';
}

export function planAsJson(r: PlanReport): string {
  return JSON.stringify({ head: r.head, at: r.at, actions: r.plan.actions, changes: r.plan.changes, requests: sortRows(r.rows), problems: r.problems, root: r.root, pending: r.pending }, null, 2) + '\n';
}
