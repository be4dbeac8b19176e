import { defineErrors, LetheError } from '../errors/types.ts';
import type { HttpResponse } from './types.ts';

export const httpErrors = defineErrors({
  HTTP_TIMEOUT: {
    message: '{label}: no complete answer from {origin} within {timeoutMs} ms ({phase})',
    hint: 'The vendor is slow or unreachable. Lethe retries later; raise timeoutMs only if the vendor is known to be slow.',
  },
  HTTP_NETWORK: {
    message: '{label}: network error talking to {origin} ({reason})',
    hint: 'Check DNS, firewall and HTTPS_PROXY / NO_PROXY settings, and that the vendor base URL is right.',
  },
  HTTP_TLS: {
    message: '{label}: TLS handshake with {origin} failed ({reason})',
    hint: 'Fix the certificate chain, or add the CA with NODE_EXTRA_CA_CERTS. Only an API Proxy query can turn verification off (verify_ssl: "false"), and only for a service you trust.',
    terminal: true,
  },
  HTTP_RESPONSE_TOO_LARGE: {
    message: '{label}: answer from {origin} exceeds {maxBytes} bytes',
    hint: 'Raise maxResponseBytes for this call if the vendor legitimately sends large answers.',
    terminal: true,
  },
  HTTP_MALFORMED_BODY: {
    message: '{label}: answer (status {status}, {bytes} bytes) is not valid JSON',
    hint: 'The vendor answered something other than JSON, often an HTML error page from a proxy or gateway.',
  },
  HTTP_SCHEMA_MISMATCH: {
    message: '{label}: answer (status {status}) does not have the documented shape ({paths})',
    hint: 'The vendor answered JSON that is not what its documentation describes for this call (a wrong baseUrl, a proxy, or an API change). Lethe retries and never treats it as success; check the connection baseUrl.',
  },
  HTTP_DEADLINE_EXCEEDED: {
    message: '{label}: deadline passed before {origin} answered (after {attempts} attempts)',
    hint: 'The rate limit or the vendor is too slow for this deadline; the task is retried on a later pass.',
  },
  HTTP_CROSS_ORIGIN_CREDENTIAL: {
    message: '{label}: refused to send a credential to {origin}, which is not an origin of this connection',
    hint: "Credentials go only to the origins in the vendor file (baseUrl and the like). A vendor answer or redirect pointing elsewhere is not followed with them; check the vendor file and the vendor's answer.",
    terminal: true,
  },
  HTTP_INVALID_REQUEST: {
    message: '{label}: request cannot be sent ({problem})',
    hint: 'A driver or vendor configuration builds a malformed URL or header; check the connection settings.',
    terminal: true,
  },
  HTTP_ABORTED: {
    message: '{label}: call to {origin} aborted',
    hint: 'The controller is shutting down or the task was cancelled.',
  },
  HTTP_RATE_LIMITED: {
    message: '{label}: {origin} answered 429 Too Many Requests',
    hint: 'The vendor refused the call without processing it; Lethe waits for Retry-After. Lower rateLimits for this connection if it recurs.',
  },
  HTTP_UNAUTHORIZED: {
    message: '{label}: {origin} rejected the credentials (status {status})',
    hint: 'Check the credential reference of this vendor connection and whether the token was rotated.',
    terminal: true,
  },
  HTTP_SERVER_ERROR: {
    message: '{label}: {origin} answered status {status}',
    hint: 'A vendor-side failure; Lethe retries later.',
  },
  HTTP_UNEXPECTED_STATUS: {
    message: '{label}: {origin} answered unexpected status {status}',
    hint: 'The vendor rejected the call; see the vendor documentation for this status.',
    terminal: true,
  },
  RATE_LOG_UNREADABLE: {
    message: 'rate-limit log {path} cannot be read ({reason})',
    hint: 'Wait for the longest vendor rate window (e.g. one minute), then delete the file; Lethe recreates it.',
    terminal: true,
  },
  RATE_LOG_WRITE_FAILED: {
    message: 'rate-limit log {path} cannot be written ({reason}); calls are held back',
    hint: 'Check free space and permissions of the data directory.',
  },
  TEMPLATE_SYNTAX: {
    message: 'template {field}: {problem} at position {position}',
    hint: 'Use {name} for substitutions and {{ / }} for literal braces (DataGrail API Proxy syntax).',
    terminal: true,
  },
  TEMPLATE_UNKNOWN_PLACEHOLDER: {
    message: 'template {field}: unknown placeholder {placeholder}',
    hint: 'Available placeholders are listed in the error; literal braces are written {{ and }}.',
    terminal: true,
  },
  TEMPLATE_HEADER_INJECTION: {
    message: 'template {field}: value of {placeholder} contains a line break or NUL, which a header cannot carry',
    hint: 'The substituted value is invalid for a header; check the identifier or credential.',
    terminal: true,
  },
  CREDENTIAL_REF_INVALID: {
    message: 'credential reference is neither env:NAME nor file:PATH',
    hint: 'Write credentials as env:NAME or file:PATH, never inline.',
    terminal: true,
  },
  CREDENTIAL_ENV_FORBIDDEN: {
    message: "environment variable {name} is the controller's own setting (LETHE_*), not a vendor credential",
    hint: "A vendor file cannot read the controller's secrets (subject salt, webhook secret, ...). Give the vendor its own variable.",
    terminal: true,
  },
  CREDENTIAL_PATH_OUTSIDE: {
    message: 'credential file {path} is refused: {why} (secrets directory {dir})',
    hint: 'file: references resolve inside the secrets directory only (--secrets-dir, LETHE_SECRETS_DIR, $CREDENTIALS_DIRECTORY, else <data dir>/secrets): write file:NAME relative to it, and put the secret there (no "..", no symlink leading out).',
    terminal: true,
  },
  CREDENTIAL_ENV_MISSING: {
    message: 'environment variable {name} is not set',
    hint: "Export the variable in the controller's environment (systemd unit, container env, CI secret). Not terminal: the vendor is marked degraded, its requests wait, and the credential is read again every pass.",
  },
  CREDENTIAL_FILE_UNREADABLE: {
    message: 'credential file {path} cannot be read ({reason})',
    hint: "Check the file exists in the secrets directory (relative paths resolve against it) and that the controller's user can read it.",
  },
  CREDENTIAL_EMPTY: {
    message: 'credential {source} is empty',
    hint: 'Put the secret in the variable or file.',
  },
  CREDENTIAL_JSON_INVALID: {
    message: 'credential file {path} is not a JSON object with a string field {key}',
    hint: 'DataGrail-style secrets look like {"credentials": "<value>"}.',
  },
});

export type HttpErrorCode = keyof typeof httpErrors.table;

/**
 * An error of the HTTP layer. `maybeDelivered` is what crash-safety hangs on: false only
 * when no byte of any attempt was written to a socket (or the vendor refused it with 429),
 * so the vendor cannot have acted on it and an unsafe call may be sent again.
 */
export class HttpError extends LetheError {
  constructor(
    code: HttpErrorCode,
    message: string,
    maybeDelivered: boolean,
    readonly attempts: number,
    options: { retryAfterMs?: number } = {},
  ) {
    super(code, message, { terminal: httpErrors.terminal(code), ...options, maybeDelivered });
    this.name = 'HttpError';
  }
}

/**
 * For drivers: the error to throw when a vendor status is not one the driver expected.
 * The layer itself returns every status; turning one into an error is the driver's call.
 */
export function statusError(response: HttpResponse, label: string, origin: string): HttpError {
  const details = { label, origin, status: response.status };
  const s = response.status;
  const code: HttpErrorCode =
    s === 429
      ? 'HTTP_RATE_LIMITED'
      : s === 401 || s === 403
        ? 'HTTP_UNAUTHORIZED'
        : s >= 500
          ? 'HTTP_SERVER_ERROR'
          : 'HTTP_UNEXPECTED_STATUS';
  const retryAfterMs = response.retryAfterMs;
  return new HttpError(
    code,
    httpErrors.message(code, details),
    s !== 429,
    response.attempts,
    retryAfterMs === undefined ? {} : { retryAfterMs },
  );
}
