import type { LetheConfigSpec, PrivacyRequestSpec } from '../specs/index.ts';

/** GDPR Art. 12(3) allows "two further months" when an extension is granted. */
const GDPR_DEFAULT_EXTENSION_MONTHS = 2;
/** CCPA §1798.130(a)(2): 45 calendar days, extendable once by 45 more. */
const CCPA_DAYS = 45;
const DAY_MS = 86_400_000;

type DeadlineSpec = Pick<PrivacyRequestSpec, 'regulation' | 'receivedAt' | 'extension'>;
type OtherRegulation = LetheConfigSpec['regulations']['other'];

function parseDate(date: string): { y: number; m: number; d: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) throw new RangeError(`not a YYYY-MM-DD date: ${date}`);
  return { y: Number(match[1]), m: Number(match[2]), d: Number(match[3]) };
}

function format(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function utcMs(date: string): number {
  const { y, m, d } = parseDate(date);
  return Date.UTC(y, m - 1, d);
}

/**
 * Calendar months, clamped to the end of the target month: the CJEU and the EDPB read
 * "one month" as the same day of the next month, or its last day when that day does not
 * exist (31 January -> 28/29 February).
 */
export function addMonths(date: string, months: number): string {
  const { y, m, d } = parseDate(date);
  const index = y * 12 + (m - 1) + months;
  const year = Math.floor(index / 12);
  const month = index % 12;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  return format(Date.UTC(year, month, Math.min(d, lastDay)));
}

export function addDays(date: string, days: number): string {
  return format(utcMs(date) + days * DAY_MS);
}

/** The legal due date (YYYY-MM-DD, inclusive: the request may still be answered on it). */
export function dueDate(spec: DeadlineSpec, other: OtherRegulation): string {
  const extended = spec.extension !== undefined;
  switch (spec.regulation) {
    case 'gdpr':
      return addMonths(spec.receivedAt, 1 + (extended ? (spec.extension?.months ?? GDPR_DEFAULT_EXTENSION_MONTHS) : 0));
    case 'ccpa':
      return addDays(spec.receivedAt, CCPA_DAYS * (extended ? 2 : 1));
    case 'other':
      return addDays(spec.receivedAt, other.days + (extended ? other.extensionDays : 0));
  }
}

/** Whole days from `now`'s UTC date to the due date: 0 on the due date, negative once overdue. */
export function daysUntil(due: string, now: Date): number {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return Math.round((utcMs(due) - today) / DAY_MS);
}

/** Overdue from the first UTC day after the due date. */
export function isOverdue(due: string, now: Date): boolean {
  return daysUntil(due, now) < 0;
}
