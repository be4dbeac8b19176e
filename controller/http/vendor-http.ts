import type { z } from 'zod';
import type { Logger } from '../contracts/log.ts';
import { backoffDelayMs, parseRetryAfter } from './backoff.ts';
import { systemClock } from './clock.ts';
import type { Dispatchers } from './dispatchers.ts';
import { httpErrors, HttpError, type HttpErrorCode } from './errors.ts';
import { RateLimiter, RateLimitWaitError, type Slot } from './rate-limiter.ts';
import { redact, redactFields } from './redact.ts';
import { DEFAULT_RETRY, isRetryable, type RetryPolicy } from './retry-policy.ts';
import { windowLengthMs } from './sliding-window.ts';
import { attempt, type AttemptResult } from './transport.ts';
import type { CallOptions, Clock, HttpResponse, LimiterKey, VendorHttp } from './types.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** A Retry-After pauses the whole credential for at most this long (an hour covers daily-quota answers). */
const MAX_PAUSE_MS = 3_600_000;

export interface VendorHttpOptions {
  /** Connection name, for logs and errors. */
  vendor: string;
  /** The connection's limiter (shared by every VendorHttp of the credential)... */
  limiter?: RateLimiter;
  /** ...or the windows to build a private, unpersisted one from. */
  rate?: LimiterKey;
  /** Resolved credential values: redacted from every message the layer produces. */
  secrets: readonly string[];
  /**
   * The origins the connection is configured for. A call to any other origin (a URL taken
   * from a vendor answer, a redirect target a driver follows) may not carry a credential:
   * no auth-like header, no secret (plain or base64) in URL, headers or body.
   */
  origins?: readonly string[];
  /** false only where the vendor config says so (DataGrail verify_ssl "false"). */
  verifyTls?: boolean;
  dispatchers: Dispatchers;
  log?: Logger;
  clock?: Clock;
  random?: () => number;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

function encodeBody(body: unknown, headers: Record<string, string>): string | Buffer | undefined {
  if (body === undefined) return undefined;
  if (typeof body === 'string' || Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type'))
    headers['content-type'] = 'application/json';
  return JSON.stringify(body);
}

const AUTH_HEADER = /auth|token|key|secret|cookie|session|password/i;

function carriesCredential(
  href: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
  secrets: readonly string[],
): boolean {
  if (Object.keys(headers).some((h) => AUTH_HEADER.test(h))) return true;
  const text = [href, ...Object.values(headers), body === undefined ? '' : body.toString('utf8')].join('\n');
  return secrets.some((s) => s.length > 0 && (text.includes(s) || text.includes(Buffer.from(s).toString('base64'))));
}

export function createVendorHttp(options: VendorHttpOptions): VendorHttp {
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const secrets = options.secrets;
  const limiter = options.limiter ?? (options.rate && new RateLimiter({ ...options.rate, clock }));
  if (!limiter) throw new TypeError(`vendor ${options.vendor}: createVendorHttp needs a limiter or rate windows`);
  const shortestWindowMs = Math.min(...limiter.windows.map((w) => windowLengthMs(w, limiter.marginMs)));

  const log = (level: 'debug' | 'warn', msg: string, fields: Record<string, unknown>): void => {
    options.log?.[level](redact(msg, secrets), redactFields({ vendor: options.vendor, ...fields }, secrets));
  };

  return {
    async request(call: CallOptions): Promise<HttpResponse> {
      const label = call.label ?? `${options.vendor}.${call.method.toLowerCase()}`;
      let url: URL;
      try {
        url = new URL(call.url);
      } catch {
        // The URL itself is not quoted: it may carry an email in its query.
        throw new HttpError(
          'HTTP_INVALID_REQUEST',
          redact(httpErrors.message('HTTP_INVALID_REQUEST', { label, problem: 'invalid URL' }), secrets),
          false,
          0,
        );
      }
      const origin = url.origin;
      const headers = { ...call.headers };
      const body = encodeBody(call.body, headers);
      if (options.origins && !options.origins.includes(origin) && carriesCredential(url.href, headers, body, secrets)) {
        throw new HttpError(
          'HTTP_CROSS_ORIGIN_CREDENTIAL',
          redact(httpErrors.message('HTTP_CROSS_ORIGIN_CREDENTIAL', { label, origin }), secrets),
          false,
          0,
        );
      }
      const start = clock.now();
      const deadline = call.deadline ?? start + policy.maxTotalMs;
      const maxBytes = call.maxResponseBytes ?? options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
      const dispatcher = options.dispatchers.get(call.verifyTls ?? options.verifyTls ?? true);
      let delivered = false;
      let attempts = 0;

      const fail = (
        code: HttpErrorCode,
        details: Record<string, string | number>,
        extra: { retryAfterMs?: number } = {},
      ): HttpError =>
        new HttpError(
          code,
          redact(httpErrors.message(code, { label, origin, attempts, ...details }), secrets),
          delivered,
          attempts,
          extra,
        );
      const wait = async (ms: number): Promise<void> => {
        await clock.sleep(ms, call.signal);
        if (call.signal?.aborted) throw fail('HTTP_ABORTED', {});
      };

      for (;;) {
        attempts++;
        let slot: Slot;
        try {
          slot = await limiter.acquire({ priority: call.priority, signal: call.signal, deadline });
        } catch (err) {
          if (err instanceof RateLimitWaitError)
            throw fail(err.reason === 'deadline' ? 'HTTP_DEADLINE_EXCEEDED' : 'HTTP_ABORTED', {});
          // The rate log could not be written, so nothing was sent.
          throw new HttpError('RATE_LOG_WRITE_FAILED', redact((err as Error).message, secrets), delivered, attempts);
        }
        const remaining = deadline - clock.now();
        if (remaining <= 0 || call.signal?.aborted) {
          slot.release();
          throw fail(call.signal?.aborted ? 'HTTP_ABORTED' : 'HTTP_DEADLINE_EXCEEDED', {});
        }
        if (call.beforeSend) {
          try {
            await call.beforeSend();
          } catch (err) {
            slot.release();
            throw err;
          }
        }
        const perAttemptMs = call.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        const timeoutMs = Math.min(perAttemptMs, remaining);
        const began = clock.now();
        let result: AttemptResult;
        try {
          result = await attempt({
            dispatcher,
            method: call.method.toUpperCase(),
            url,
            headers,
            body,
            timeoutMs,
            maxResponseBytes: maxBytes,
            signal: call.signal,
            onSent: () => slot.sent(),
          });
        } finally {
          slot.release();
        }
        const now = clock.now();
        const fields = { label, method: call.method, origin, attempt: attempts, ms: now - began };

        call.onAttempt?.(result.kind === 'response' ? { status: result.status } : { failure: result.failure });
        if (result.kind === 'response') {
          const { status } = result;
          log('debug', 'http.answer', { ...fields, status });
          // A 429 was refused unprocessed; any other answer means the vendor saw the call.
          if (status !== 429) delivered = true;
          const retryAfterMs =
            status === 429 || status === 503
              ? parseRetryAfter(result.headers['retry-after'], now, MAX_PAUSE_MS)
              : undefined;
          if (status === 429) limiter.pause(now + (retryAfterMs ?? shortestWindowMs));
          const response = toResponse(result, attempts, retryAfterMs, label);
          if (
            !isRetryable({ kind: 'response', status }, call.safe, call.retryStatuses) ||
            attempts >= policy.maxAttempts
          )
            return response;
          if (retryAfterMs !== undefined && retryAfterMs > policy.retryAfterCapMs) return response;
          const delay = retryAfterMs ?? backoffDelayMs(attempts - 1, policy.baseDelayMs, policy.maxDelayMs, random);
          if (now + delay >= deadline) return response;
          log('warn', 'http.retry', { ...fields, status, delayMs: delay });
          await wait(delay);
          continue;
        }

        if (result.sent) delivered = true;
        log('debug', 'http.failure', { ...fields, failure: result.failure, reason: result.reason });
        const error = toError(result, { timeoutMs, cutByDeadline: remaining < perAttemptMs, maxBytes }, fail);
        if (!isRetryable(result, call.safe) || attempts >= policy.maxAttempts) throw error;
        const delay = backoffDelayMs(attempts - 1, policy.baseDelayMs, policy.maxDelayMs, random);
        if (now + delay >= deadline) throw error;
        log('warn', 'http.retry', { ...fields, failure: result.failure, delayMs: delay });
        await wait(delay);
      }
    },
  };
}

function toError(
  r: Extract<AttemptResult, { kind: 'error' }>,
  bounds: { timeoutMs: number; cutByDeadline: boolean; maxBytes: number },
  fail: (code: HttpErrorCode, details: Record<string, string | number>) => HttpError,
): HttpError {
  switch (r.failure) {
    case 'timeout':
      return bounds.cutByDeadline
        ? fail('HTTP_DEADLINE_EXCEEDED', {})
        : fail('HTTP_TIMEOUT', { timeoutMs: bounds.timeoutMs, phase: r.reason });
    case 'tls':
      return fail('HTTP_TLS', { reason: r.reason });
    case 'too-large':
      return fail('HTTP_RESPONSE_TOO_LARGE', { maxBytes: bounds.maxBytes });
    case 'aborted':
      return fail('HTTP_ABORTED', {});
    case 'invalid':
      return fail('HTTP_INVALID_REQUEST', { problem: 'a header name or value is invalid' });
    case 'network':
      return fail('HTTP_NETWORK', { reason: r.reason });
  }
}

function toResponse(
  r: Extract<AttemptResult, { kind: 'response' }>,
  attempts: number,
  retryAfterMs: number | undefined,
  label: string,
): HttpResponse {
  return httpResponse({
    status: r.status,
    headers: r.headers,
    body: r.body,
    attempts,
    label,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}

/** An answer as drivers see it; also what test doubles of VendorHttp return. */
export function httpResponse(init: {
  status: number;
  body: Buffer;
  label: string;
  headers?: Record<string, string>;
  attempts?: number;
  retryAfterMs?: number;
}): HttpResponse {
  const { status, body, label } = init;
  const attempts = init.attempts ?? 1;
  function json<T>(): T {
    try {
      return JSON.parse(body.toString('utf8')) as T;
    } catch {
      // Never the body itself: it may hold personal data.
      throw new HttpError(
        'HTTP_MALFORMED_BODY',
        httpErrors.message('HTTP_MALFORMED_BODY', { label, status, bytes: body.length }),
        true,
        attempts,
      );
    }
  }
  return {
    status,
    headers: init.headers ?? {},
    body,
    attempts,
    ...(init.retryAfterMs === undefined ? {} : { retryAfterMs: init.retryAfterMs }),
    text: () => body.toString('utf8'),
    json,
    parse<S extends z.ZodType>(schema: S): z.infer<S> {
      const result = schema.safeParse(json());
      if (result.success) return result.data;
      // Field paths only (array indexes folded): issue messages may quote the value.
      const paths = [
        ...new Set(
          result.error.issues.map(
            (i) => i.path.map((p) => (typeof p === 'number' ? '[]' : String(p))).join('.') || '(root)',
          ),
        ),
      ];
      throw new HttpError(
        'HTTP_SCHEMA_MISMATCH',
        httpErrors.message('HTTP_SCHEMA_MISMATCH', { label, status, paths: paths.slice(0, 5).join(', ') }),
        true,
        attempts,
      );
    },
  };
}
