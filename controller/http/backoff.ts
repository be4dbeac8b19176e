/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff and
 * Jitter"): the delay is uniform in [0, min(cap, base * 2^retry)). Full jitter spreads
 * retries of many tasks that failed together, which equal-jitter schemes do not.
 *
 * `retry` counts from 0 (the first retry). `random` returns values in [0, 1).
 */
export function backoffDelayMs(retry: number, base: number, cap: number, random: () => number): number {
  if (!Number.isInteger(retry) || retry < 0) throw new RangeError('retry must be a non-negative integer');
  if (!(base >= 0) || !(cap >= 0)) throw new RangeError('base and cap must be non-negative');
  // 2^1024 is Infinity and 0 * Infinity is NaN: stop doubling long before that.
  const ceiling = Math.min(cap, base * 2 ** Math.min(retry, 52));
  const r = Math.min(Math.max(random(), 0), 1 - Number.EPSILON);
  return Math.floor(r * ceiling);
}

/**
 * Parses a Retry-After header: delta-seconds, or an HTTP date (RFC 9110 §10.2.3).
 * Returns ms to wait from `now`, clamped to [0, cap]; undefined when absent or invalid.
 * Fractional seconds are accepted although the RFC only allows integers: some APIs send them.
 */
export function parseRetryAfter(value: string | undefined, now: number, cap: number): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    // An HTTP date always names a weekday; this keeps Date.parse from accepting "5 min".
    if (!/^[A-Za-z]{3,9},? /.test(v)) return undefined;
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(Math.ceil(ms), 0), cap);
}
