import type { Problem } from '../manifests/index.ts';
import { plural } from '../plural.ts';
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
  /** The vendors the request addresses. */
  vendors?: string[];
  plan?: RequestPlan;
}

/** A change to lethe.yaml or vendors/ in the change being planned: it acts only once approved. */
export interface ControlPlaneChange {
  path: string;
  /** git's status letter: A added, M modified, D deleted, R renamed. */
  status: string;
}

export interface PlanReport {
  head: string;
  at: string;
  plan: Plan;
  rows: PlanRow[];
  problems: Problem[];
  /** Present when the plan was made against a base (`lethe plan --base REF`, a pull request). */
  controlPlane?: ControlPlaneChange[];
  branch: string;
  /** The root of trust the approved tree was computed from. */
  root: string;
  /** Changes on the branch that were not approved (never acted on). */
  pending: PendingReport[];
}

type VendorNext = RequestPlan['vendors'][string];

const WAIT_WORDS: Record<string, string> = {
  AwaitingApproval: 'waits for approval',
  SubjectBusy: 'waits: another request of the same subject is under way there',
  VendorUnavailable: 'waits: vendor unavailable (credentials, degraded or disabled)',
  Scheduled: 'next check',
  Stalled: 'stalled: needs a person (lethe status --explain)',
  Final: 'done',
};

const NEXT_WORDS: Record<string, string> = {
  create: 'start',
  step: 'call',
  recover: 'ask the vendor about an interrupted call',
  cancel: 'cancel',
};

/** One vendor's next step in words a DPO reads: "start", "call submit", "next check 2026-12-01 10:00 UTC". */
function vendorNext(what: VendorNext): string {
  if ('wait' in what)
    return `${WAIT_WORDS[what.wait] ?? what.wait}${what.until ? ` ${what.until.slice(0, 16).replace('T', ' ')} UTC` : ''}`;
  return `${NEXT_WORDS[what.next] ?? what.next}${what.step ? ` ${what.step}` : ''}`;
}

function vendorCell(p: RequestPlan | undefined): string {
  if (!p) return '';
  return Object.entries(p.vendors)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([v, what]) => `${v}: ${vendorNext(what)}`)
    .join('; ');
}

/** The next step of a row: per vendor, or for a request nobody approved yet, what approval starts. */
function nextCell(row: PlanRow): string {
  const planned = vendorCell(row.plan);
  if (planned !== '' || row.approved) return planned;
  return (row.vendors ?? []).map((v) => `${v}: starts once approved`).join('; ');
}

/** A request with nothing left anywhere: a pull-request comment counts it instead of listing it. */
function isDone(row: PlanRow): boolean {
  const vendors = Object.values(row.plan?.vendors ?? {});
  return row.approved && vendors.length > 0 && vendors.every((v) => 'wait' in v && v.wait === 'Final');
}

function sortRows(rows: PlanRow[]): PlanRow[] {
  return [...rows].sort(
    (a, b) => (a.plan?.dueAt ?? '9999').localeCompare(b.plan?.dueAt ?? '9999') || a.name.localeCompare(b.name),
  );
}

export function planAsText(r: PlanReport): string {
  const lines = [
    `Plan for ${r.head.slice(0, 12)} at ${r.at}: ${plural(r.plan.actions.length, 'vendor action')}, nothing done yet.`,
  ];
  for (const a of r.plan.actions) {
    lines.push(
      `  ${a.kind.padEnd(8)} ${a.vendor.padEnd(14)} ${a.keys.map((k) => k.slice(0, k.lastIndexOf('/'))).join(', ')}${a.kind === 'step' ? ` (${a.step})` : ''}`,
    );
  }
  lines.push('', 'Requests, earliest due first:');
  for (const row of sortRows(r.rows)) {
    const p = row.plan;
    const risk = p?.atRisk ? '  AT RISK' : '';
    const head = `  ${row.name.padEnd(16)} ${row.action.padEnd(8)} ${row.regulation.padEnd(5)} due ${p?.dueAt ?? '?'} eta ${p?.eta ?? '-'}${risk}`;
    lines.push(
      head,
      `      ${row.approved ? vendorCell(p) || 'nothing to do' : `not approved: ${row.approvalReason}; ${nextCell(row)}`}`,
    );
  }
  if (r.controlPlane && r.controlPlane.length > 0) {
    lines.push('', 'Control-plane changes awaiting approval (they act only once approved):');
    for (const c of r.controlPlane) lines.push(`  ${c.status.charAt(0)} ${c.path}`);
  }
  const { misplaced, invalid } = splitProblems(r.problems);
  if (misplaced.length > 0) {
    lines.push('', 'Manifests Lethe does not read (nothing is done for them until they are moved):');
    for (const p of misplaced)
      lines.push(`  ${p.file}:${p.line}:${p.column} ${p.code} ${p.message}`, `      hint: ${p.hint}`);
  }
  if (invalid.length > 0) {
    lines.push('', 'Invalid manifests (recorded as Invalid, never sent to a vendor):');
    for (const p of invalid) lines.push(`  ${p.file}:${p.line}:${p.column} ${p.code} ${p.message}`);
  }
  if (r.pending.length > 0) {
    lines.push('', `Unapproved changes on ${r.branch} (not acted on; the approved versions stay in force):`);
    for (const p of r.pending) lines.push(`  ${pendingSentence(p)}`, `      not approved: ${p.reason}`);
  }
  lines.push('', `Root of trust: ${r.root}`);
  return lines.join('\n') + '\n';
}

/**
 * A manifest saved where Lethe does not read it is not Invalid (it gets no status): it is
 * shown apart, with the hint that says where to move it, so a pull request that files a
 * request in the wrong folder does not look like one with nothing to do.
 */
function splitProblems(problems: Problem[]): { misplaced: Problem[]; invalid: Problem[] } {
  return {
    misplaced: problems.filter((p) => p.code === 'MISPLACED_MANIFEST'),
    invalid: problems.filter((p) => p.code !== 'MISPLACED_MANIFEST'),
  };
}

/**
 * Markdown for a pull-request comment: what the change adds. Requests already final are a
 * count; every other request shows its next step per vendor, due date, ETA and approval;
 * changes to lethe.yaml or vendors/ are listed as awaiting approval.
 */
export function planAsMarkdown(r: PlanReport): string {
  const open = r.rows.filter((x) => !isDone(x));
  const done = r.rows.length - open.length;
  const atRisk = open.filter((x) => x.plan?.atRisk).length;
  const unapproved = open.filter((x) => !x.approved).length;
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const lines = [
    '### Lethe plan',
    '',
    `Commit \`${r.head.slice(0, 12)}\` · ${plural(open.length, 'open request')}${done > 0 ? ` (${done} already final, not shown)` : ''} · ${plural(r.plan.actions.length, 'vendor action')} · ${atRisk} at risk · ${unapproved} awaiting approval · ${plural(r.problems.length, 'problem')}`,
    '',
  ];
  if (open.length > 0) {
    lines.push(
      '| Request | Action | Due | ETA | Approved | Next, per vendor |',
      '|---|---|---|---|---|---|',
      ...sortRows(open).map(
        (x) =>
          `| ${x.name} | ${x.action} | ${x.plan?.dueAt ?? ''} | ${x.plan?.eta ?? ''}${x.plan?.atRisk ? ' ⚠️ at risk' : ''} | ${x.approved ? 'yes' : `no: ${esc(x.approvalReason)}`} | ${esc(nextCell(x))} |`,
      ),
    );
  } else {
    lines.push('No request has work left.');
  }
  if (r.controlPlane && r.controlPlane.length > 0) {
    const verbs: Record<string, string> = { A: 'added', M: 'modified', D: 'deleted', R: 'renamed' };
    lines.push(
      '',
      '**Control-plane changes awaiting approval** (they take effect only once approved under the policy in force):',
      '',
      ...r.controlPlane.map((c) => `- \`${c.path}\` ${verbs[c.status.charAt(0)] ?? c.status}`),
    );
  }
  const { misplaced, invalid } = splitProblems(r.problems);
  if (misplaced.length > 0) {
    lines.push(
      '',
      '**Manifests Lethe does not read** (nothing is done for them until they are moved):',
      '',
      ...misplaced.map((p) => `- \`${p.file}:${p.line}\` ${p.code} ${esc(p.message)}. ${esc(p.hint)}`),
    );
  }
  if (invalid.length > 0) {
    lines.push(
      '',
      '<details><summary>Problems</summary>',
      '',
      ...invalid.map((p) => `- \`${p.file}:${p.line}:${p.column}\` ${p.code} ${esc(p.message)}`),
      '',
      '</details>',
    );
  }
  if (r.pending.length > 0)
    lines.push('', ...renderPendingSection(r.branch, r.pending).map((l) => l.replace(/^## /, '#### ')));
  lines.push('', '_Nothing has been sent to any vendor. Lethe acts only on approved requests._');
  return lines.join('\n') + '\n';
}

export function planAsJson(r: PlanReport): string {
  return (
    JSON.stringify(
      {
        head: r.head,
        at: r.at,
        actions: r.plan.actions,
        changes: r.plan.changes,
        requests: sortRows(r.rows),
        problems: r.problems,
        controlPlane: r.controlPlane ?? [],
        root: r.root,
        pending: r.pending,
      },
      null,
      2,
    ) + '\n'
  );
}
