import type { RateWindow } from '../../specs/index.ts';

/** What a driver asks of the HTTP layer for one vendor call. */
export interface CallOptions {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A string is sent as is; any other value is sent as JSON with content-type application/json. */
  body?: unknown;
  /**
   * Whether the call may be repeated without effect at the vendor (GET, or a lookup).
   * Unsafe calls are retried only when the request provably never left this machine.
   */
  safe: boolean;
  /** Lower runs first when callers wait for the rate limiter: the due date in epoch ms. */
  priority?: number;
  /** Extra status codes to retry (safe calls only), e.g. DataGrail's fail_retry_response_codes. */
  retryStatuses?: number[];
  /** Status codes that are an answer, not an error (default: every status is returned). */
  timeoutMs?: number;
  /** Overall deadline (epoch ms) for the call including retries and limiter waits. */
  deadline?: number;
  maxResponseBytes?: number;
  signal?: AbortSignal;
  /** Short, non-personal label for logs and errors, e.g. `maestroqa.delete`. */
  label?: string;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  text(): string;
  /** Parses the body as JSON; a malformed body throws an HttpError with code HTTP_MALFORMED_BODY. */
  json<T = unknown>(): T;
}

/** A vendor call bound to one connection: its limiter, its secrets for redaction, its TLS setting. */
export interface VendorHttp {
  request(options: CallOptions): Promise<HttpResponse>;
}

export interface LimiterKey {
  /** Vendor connection name plus a credential fingerprint: limits are per credential. */
  key: string;
  windows: RateWindow[];
}
