import type { DegradedEntry, Journal } from '../../state/journal.ts';

/** A degraded connection is first retried this long after it failed... */
export const DEGRADED_RETRY_START_MS = 60_000;
/** ...then after twice as long each time, up to this. */
export const DEGRADED_RETRY_CAP_MS = 30 * 60_000;

/**
 * When a connection degraded since `since` is next tried: at since + start, then after
 * doubling intervals (start, 2·start, 4·start ... capped), the first such point after
 * `now`. Derived from `since` alone, so it needs no counter in the journal and a restart
 * keeps the backoff instead of hammering a vendor whose token expired.
 */
export function degradedRetryAt(
  since: number,
  now: number,
  startMs = DEGRADED_RETRY_START_MS,
  capMs = DEGRADED_RETRY_CAP_MS,
): number {
  if (startMs <= 0) return now;
  let at = since + startMs;
  let interval = startMs;
  while (at <= now) {
    interval = Math.min(interval * 2, capMs);
    // Once the interval is capped the points are evenly spaced: jump there directly.
    if (interval === capMs && at + capMs <= now) at += Math.ceil((now - at) / capMs) * capMs;
    else at += interval;
  }
  return at;
}

/**
 * Marks `vendor` degraded with `cause`, keeping the `since` of an outage already under way
 * (its backoff continues from there), and returns the previous entry, if any.
 */
export function markDegraded(
  journal: Journal,
  vendor: string,
  cause: Pick<DegradedEntry, 'code' | 'message'>,
  now: number,
  retryStartMs?: number,
): DegradedEntry | undefined {
  const previous = journal.data.degraded[vendor];
  const since = previous?.since ?? new Date(now).toISOString();
  journal.setDegraded(vendor, { ...cause, since, retryAt: degradedRetryAt(Date.parse(since), now, retryStartMs) });
  return previous;
}
