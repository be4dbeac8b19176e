import { WEEKDAYS } from '../../../specs/index.ts';

/** When GDPR jobs may run, in UTC (spec.scheduleWindow after defaults). */
export interface ScheduleWindow {
  days: readonly (typeof WEEKDAYS)[number][];
  startHour: number;
  /** Exclusive; 24 = until midnight. */
  endHour: number;
  leadMinutes: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * A date must still be in the future when AnswerHub receives it (the limiter may hold the
 * call back), so a slot is never closer than this, whatever leadMinutes says.
 */
export const MIN_AHEAD_MS = 5_000;

/** `formatted` dates carry minutes only; a millisecond timestamp can use seconds. */
export function granularityMs(format: 'formatted' | 'timeStamp'): number {
  return format === 'formatted' ? MINUTE : 1_000;
}

/** JS getUTCDay() is 0 = Sunday; WEEKDAYS starts on Monday. */
function weekday(ms: number): (typeof WEEKDAYS)[number] {
  return WEEKDAYS[(new Date(ms).getUTCDay() + 6) % 7]!;
}

function inWindow(ms: number, w: ScheduleWindow): boolean {
  const minuteOfDay = Math.floor((ms % DAY) / MINUTE);
  return w.days.includes(weekday(ms)) && minuteOfDay >= w.startHour * 60 && minuteOfDay < w.endHour * 60;
}

/**
 * The earliest instant a job may be scheduled for: at least `leadMinutes` (and
 * MIN_AHEAD_MS) after `now`, not before `notBefore`, aligned to `stepMs`, and inside the
 * window (start hour inclusive, end hour exclusive, UTC weekdays). Pure.
 */
export function nextSlot(now: Date, w: ScheduleWindow, stepMs: number, notBefore?: Date): Date {
  const earliest = Math.max(
    now.getTime() + Math.max(w.leadMinutes * MINUTE, MIN_AHEAD_MS),
    notBefore?.getTime() ?? -Infinity,
  );
  const t0 = Math.ceil(earliest / stepMs) * stepMs;
  if (inWindow(t0, w)) return new Date(t0);
  // Otherwise the next window opening: today's if still ahead, else a following day's.
  const day0 = Math.floor(t0 / DAY) * DAY;
  for (let d = 0; d <= 7; d++) {
    const open = day0 + d * DAY + w.startHour * HOUR;
    if (open >= t0 && inWindow(open, w)) return new Date(open);
  }
  throw new RangeError('schedule window has no allowed day');
}

/** `MM/dd/yyyy HH:mm` in UTC, as the plugin's `formatted` date. */
export function formatDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

export function dateField(d: Date, format: 'formatted' | 'timeStamp'): { formatted: string } | { timeStamp: number } {
  return format === 'formatted' ? { formatted: formatDate(d) } : { timeStamp: d.getTime() };
}
