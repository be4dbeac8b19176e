import type { RateWindow } from '../../specs/index.ts';

/**
 * Exact sliding windows over a call log. A call at time t is allowed iff, for every window,
 * fewer than `limit` logged calls lie in (t - length, t]. Unlike fixed buckets, no
 * boundary lets a double burst through.
 *
 * `length` is perSeconds * 1000 plus a safety margin: the limit must hold at the vendor,
 * whose clock ticks at its own granularity and sees our calls after a variable latency.
 * The margin absorbs that jitter (it is not a guarantee against jitter larger than it).
 */
export interface WindowLog {
  /** Send times of logged calls, ascending. */
  sent: readonly number[];
  /** Calls granted but not known to be sent: they count as sent at any time from now on. */
  open: number;
  /** No call before this time (the vendor answered 429 with Retry-After). */
  pausedUntil: number;
}

export function windowLengthMs(window: RateWindow, marginMs: number): number {
  return window.perSeconds * 1000 + marginMs;
}

/**
 * The earliest time >= now at which one more call is allowed; Infinity while open calls
 * alone fill a window (the answer changes when one of them is sent or released).
 *
 * For one window with m = limit - 1 - open free places, entries in (t - L, t] must number
 * at most m; entries are all <= now <= t, so t must satisfy sent[k-1-m] <= t - L. Each
 * window's condition is monotone in t, so the answer is the maximum over windows.
 */
export function earliestAllowed(windows: readonly RateWindow[], log: WindowLog, now: number, marginMs: number): number {
  let t = Math.max(now, log.pausedUntil);
  const k = log.sent.length;
  for (const w of windows) {
    const m = w.limit - 1 - log.open;
    if (m < 0) return Infinity;
    if (k > m) t = Math.max(t, log.sent[k - 1 - m]! + windowLengthMs(w, marginMs));
  }
  return t;
}

/**
 * For k = 1..n: the time from `now` until the k-th of n further calls may be sent, if each
 * is sent as soon as allowed. Open calls are taken as sent now (their real send time can
 * only be later, so this is a lower bound exactly when calls are still in flight).
 * O(n * windows): one simulation serves every queue position.
 */
export function drainSchedule(
  windows: readonly RateWindow[],
  log: WindowLog,
  n: number,
  now: number,
  marginMs: number,
): number[] {
  const sent = [...log.sent, ...Array<number>(log.open).fill(now)];
  const sim: WindowLog = { sent, open: 0, pausedUntil: log.pausedUntil };
  const offsets: number[] = [];
  let t = now;
  for (let i = 0; i < n; i++) {
    t = earliestAllowed(windows, sim, t, marginMs);
    sent.push(t);
    offsets.push(t - now);
  }
  return offsets;
}

/** Time from `now` until the n-th of n further calls may be sent (see drainSchedule). */
export function drainTimeMs(
  windows: readonly RateWindow[],
  log: WindowLog,
  n: number,
  now: number,
  marginMs: number,
): number {
  return n <= 0 ? 0 : drainSchedule(windows, log, n, now, marginMs)[n - 1]!;
}

/** Drops entries that no window can see any more (keeps the log small). */
export function prune(sent: number[], windows: readonly RateWindow[], now: number, marginMs: number): number[] {
  const horizon = now - longestWindowMs(windows, marginMs);
  let i = 0;
  while (i < sent.length && sent[i]! <= horizon) i++;
  return i === 0 ? sent : sent.slice(i);
}

export function longestWindowMs(windows: readonly RateWindow[], marginMs: number): number {
  return Math.max(0, ...windows.map((w) => windowLengthMs(w, marginMs)));
}

/** Inserts keeping ascending order (sends are confirmed slightly out of grant order). */
export function insertSorted(sent: number[], t: number): void {
  let i = sent.length;
  while (i > 0 && sent[i - 1]! > t) i--;
  sent.splice(i, 0, t);
}
