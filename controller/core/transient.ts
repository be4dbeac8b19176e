import { LetheError } from '../errors/types.ts';

/** How long a task keeps retrying transient failures before it stops for an operator. */
export const DEFAULT_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;

/**
 * Codes that say "not now", never "not ever": a vendor 5xx, a reset, a timeout, a 429, an
 * answer cut short or not in its documented shape (a proxy's error page, a truncated body).
 * The vendor can answer differently a moment later, so none of them may settle a task.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  'HTTP_SERVER_ERROR',
  'HTTP_NETWORK',
  'HTTP_TIMEOUT',
  'HTTP_DEADLINE_EXCEEDED',
  'HTTP_RATE_LIMITED',
  'HTTP_MALFORMED_BODY',
  'HTTP_SCHEMA_MISMATCH',
  'HTTP_ABORTED',
  'RATE_LOG_WRITE_FAILED',
]);

/**
 * Whether an error is transient, whatever a driver made of it: a LetheError marked
 * `transient`, one with a transient code, or one caused (at any depth) by such an error.
 * Drivers wrap HTTP errors in their own codes; passing the HTTP error as `cause` keeps
 * the classification, so a driver cannot turn a passing fault into a final one by accident.
 */
export function isTransient(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    if (e instanceof LetheError) {
      if (e.options.transient !== undefined) return e.options.transient;
      if (TRANSIENT_CODES.has(e.code)) return true;
    }
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
