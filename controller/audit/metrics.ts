import type { AuditReport, RequestAudit } from './audit.ts';

/**
 * Yearly request metrics (CCPA regulations §7102 ask large businesses for these; GDPR's
 * accountability asks the same in spirit), from the audited status history alone: the same
 * clone and ref always give the same figures. A request counts in the year it was received.
 */
export interface MetricsRow {
  action: string;
  regulation: string;
  received: number;
  completedWhole: number;
  /** Failed at some vendors, completed at others. */
  completedPart: number;
  deniedOrFailed: number;
  withdrawn: number;
  open: number;
  /** Days from receivedAt to completion (whole or in part); null with no completed request. */
  meanDays: number | null;
  medianDays: number | null;
  completedLate: number;
  /** Requests counted here whose record `lethe audit` does not prove. */
  unproven: number;
}

export interface Metrics {
  year: number;
  ref: string;
  statusHead: string;
  rows: MetricsRow[];
}

const days = (from: string, to: string): number =>
  Math.round((Date.parse(to.slice(0, 10)) - Date.parse(from.slice(0, 10))) / 86_400_000);

function finalVendorPhases(q: RequestAudit): string[] {
  const last = new Map<string, string>();
  for (const s of q.status) for (const v of s.vendors) last.set(v.vendor, v.phase);
  return [...last.values()];
}

export function computeMetrics(report: AuditReport, year: number): Metrics {
  const groups = new Map<string, RequestAudit[]>();
  for (const q of report.requests) {
    if (!q.action || !q.regulation || !q.receivedAt?.startsWith(`${year}-`)) continue;
    for (const key of [`${q.action}\0${q.regulation}`, `${q.action}\0all`]) {
      const list = groups.get(key);
      if (list) list.push(q);
      else groups.set(key, [q]);
    }
  }
  const rows: MetricsRow[] = [];
  for (const [key, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const [action, regulation] = key.split('\0') as [string, string];
    const row: MetricsRow = {
      action,
      regulation,
      received: list.length,
      completedWhole: 0,
      completedPart: 0,
      deniedOrFailed: 0,
      withdrawn: 0,
      open: 0,
      meanDays: null,
      medianDays: null,
      completedLate: 0,
      unproven: 0,
    };
    const durations: number[] = [];
    for (const q of list) {
      if (q.verdict === 'Unproven') row.unproven++;
      const partly = q.phase === 'Failed' && finalVendorPhases(q).includes('Completed');
      if (q.phase === 'Completed' || partly) {
        if (q.phase === 'Completed') row.completedWhole++;
        else row.completedPart++;
        if (q.completedAt && q.receivedAt) durations.push(days(q.receivedAt, q.completedAt));
        if (q.late) row.completedLate++;
      } else if (q.phase === 'Failed' || q.phase === 'Invalid') row.deniedOrFailed++;
      else if (q.phase === 'Withdrawn') row.withdrawn++;
      else row.open++;
    }
    if (durations.length > 0) {
      durations.sort((a, b) => a - b);
      const mid = durations.length >> 1;
      row.meanDays = Math.round((durations.reduce((a, b) => a + b, 0) / durations.length) * 10) / 10;
      row.medianDays = durations.length % 2 === 1 ? durations[mid]! : (durations[mid - 1]! + durations[mid]!) / 2;
    }
    rows.push(row);
  }
  return { year, ref: report.ref, statusHead: report.statusHead, rows };
}

const COLUMNS: Array<[keyof MetricsRow, string]> = [
  ['action', 'Action'],
  ['regulation', 'Regulation'],
  ['received', 'Received'],
  ['completedWhole', 'Completed'],
  ['completedPart', 'Completed in part'],
  ['deniedOrFailed', 'Denied or failed'],
  ['withdrawn', 'Withdrawn'],
  ['open', 'Still open'],
  ['meanDays', 'Mean days'],
  ['medianDays', 'Median days'],
  ['completedLate', 'Completed after due date'],
  ['unproven', 'Records unproven'],
];

export function renderMetrics(m: Metrics, format: 'md' | 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(m, null, 2) + '\n';
  const cell = (v: MetricsRow[keyof MetricsRow]) => (v === null ? '' : String(v));
  if (format === 'csv')
    return (
      [COLUMNS.map(([k]) => k).join(','), ...m.rows.map((r) => COLUMNS.map(([k]) => cell(r[k])).join(','))].join('\n') +
      '\n'
    );
  return [
    `# Privacy request metrics ${m.year}`,
    '',
    `From the status history at ${m.ref} (${m.statusHead.slice(0, 12)}); requests counted in the year they were received. Days are calendar days from receipt to completion.`,
    '',
    `| ${COLUMNS.map(([, h]) => h).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...m.rows.map((r) => `| ${COLUMNS.map(([k]) => cell(r[k])).join(' | ')} |`),
    '',
  ].join('\n');
}
