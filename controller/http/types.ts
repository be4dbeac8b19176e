import type { RateWindow } from '../../specs/index.ts';

export type { CallOptions, HttpResponse, VendorHttp } from '../contracts/http.ts';

/** Injected time, so that limiter and retry logic can be tested without waiting. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (never rejecting) once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface LimiterKey {
  /** Vendor connection name plus a credential fingerprint: limits are per credential. */
  key: string;
  windows: RateWindow[];
}
