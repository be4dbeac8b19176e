import type { Failure } from './transport.ts';

export interface RetryPolicy {
  /** Attempts per call, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /**
   * Longest Retry-After waited for inside one call. A longer one is not waited for here:
   * the answer goes back to the driver with `retryAfterMs`, and the limiter stays paused.
   */
  retryAfterCapMs: number;
  /** Bound on one call (limiter waits, attempts and backoff) when the caller sets no deadline. */
  maxTotalMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 10_000,
  retryAfterCapMs: 60_000,
  maxTotalMs: 120_000,
};

/** 501 and 505 are not here: a server that does not implement the call will not later. */
export const RETRYABLE_STATUSES: readonly number[] = [500, 502, 503, 504];

export type Outcome = { kind: 'response'; status: number } | { kind: 'error'; failure: Failure; sent: boolean };

/**
 * Whether an outcome may be retried. Unsafe calls are repeated only when the vendor cannot
 * have acted on them: nothing was sent, or it answered 429, which means "refused, not
 * processed" (RFC 6585 §4). That reading of 429 is an assumption about each vendor; the
 * seeds' vendors use 429 only for their rate limits.
 */
export function isRetryable(outcome: Outcome, safe: boolean, retryStatuses: readonly number[] = []): boolean {
  if (outcome.kind === 'response') {
    if (outcome.status === 429) return true;
    return safe && (RETRYABLE_STATUSES.includes(outcome.status) || retryStatuses.includes(outcome.status));
  }
  if (outcome.failure !== 'network' && outcome.failure !== 'timeout') return false;
  return safe || !outcome.sent;
}
