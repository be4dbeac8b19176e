import type { z } from 'zod';

/** What a driver asks of the HTTP layer for one vendor call. */
export interface CallOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; any other value is sent as JSON with content-type application/json. */
  body?: unknown;
  /**
   * Whether the call may be repeated without effect at the vendor (GET, or a lookup).
   * Unsafe calls are retried only when the request provably never left this machine, or
   * when the vendor refused it with 429 (which by definition means it was not processed).
   */
  safe: boolean;
  /** Lower runs first when callers wait for the rate limiter: the due date in epoch ms. */
  priority?: number;
  /** Extra status codes to retry (safe calls only), e.g. DataGrail's fail_retry_response_codes. */
  retryStatuses?: number[];
  /**
   * Bound for one attempt (connect, headers and body), in ms. Every HTTP status is an
   * answer and is returned to the driver; only network failures throw.
   */
  timeoutMs?: number;
  /** Overall deadline (epoch ms) for the call including retries and limiter waits. */
  deadline?: number;
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /** Short, non-personal label for logs and errors, e.g. `maestroqa.delete`. */
  label?: string;
  /**
   * Awaited once the rate-limit slot is granted, right before the request's bytes go out
   * (each attempt). The controller journals its intent here: a crash while the call still
   * waits for the limiter then leaves no doubt that nothing was sent. A throw aborts the call.
   */
  beforeSend?: () => Promise<void>;
  /** Told the outcome of every attempt (an HTTP status, or why no answer came): metrics. */
  onAttempt?: (outcome: { status: number } | { failure: string }) => void;
  /** Overrides the connection's TLS setting for this call (DataGrail's per-query verify_ssl). */
  verifyTls?: boolean;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; a malformed body throws an HttpError with code HTTP_MALFORMED_BODY. */
  json<T = unknown>(): T;
  /**
   * Parses the body as JSON and validates it against a zod schema (the one way drivers read
   * vendor JSON). A malformed body throws HTTP_MALFORMED_BODY, a mismatch HTTP_SCHEMA_MISMATCH;
   * both are retryable and name only the label, status and the failing field paths, never values.
   */
  parse<S extends z.ZodType>(schema: S): z.infer<S>;
  /** Attempts made for this answer (1 when the first attempt was answered). */
  attempts: number;
  /** The server's Retry-After, in ms, when it sent one (429/503 answers). */
  retryAfterMs?: number;
}

/** A vendor call bound to one connection: its limiter, its secrets for redaction, its TLS setting. */
export interface VendorHttp {
  request(options: CallOptions): Promise<HttpResponse>;
}
