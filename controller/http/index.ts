export type { CallOptions, Clock, HttpResponse, LimiterKey, VendorHttp } from './types.ts';
export { HttpLayer, type HttpLayerOptions, type VendorHttpRequest } from './layer.ts';
export {
  createVendorHttp,
  type VendorHttpOptions,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
} from './vendor-http.ts';
export { httpErrors, HttpError, statusError, type HttpErrorCode } from './errors.ts';
export {
  RateLimiter,
  RateLimitWaitError,
  DEFAULT_MARGIN_MS,
  type RateLimiterOptions,
  type Slot,
  type AcquireOptions,
} from './rate-limiter.ts';
export { Dispatchers, type DispatcherOptions } from './dispatchers.ts';
export { DEFAULT_RETRY, RETRYABLE_STATUSES, isRetryable, type RetryPolicy } from './retry-policy.ts';
export { backoffDelayMs, parseRetryAfter } from './backoff.ts';
export { earliestAllowed, drainTimeMs } from './sliding-window.ts';
export { renderTemplate, renderRequest, bodyContext, type TemplateContext, type RequestTemplate } from './template.ts';
export { redact, redactHeaders, redactFields, isSensitiveHeader, REDACTED } from './redact.ts';
export { resolveCredential, credentialFingerprint, type ResolveOptions } from './credentials.ts';
export { systemClock } from './clock.ts';
