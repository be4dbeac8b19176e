/**
 * Everything the HTTP layer says (errors, log lines) passes through here, so that a secret
 * or a subject's email cannot reach status files, logs or commit messages even when a
 * message was built carelessly.
 */

export const REDACTED = '[redacted]';

/** Headers whose values are credentials whatever the vendor calls them. */
const SENSITIVE_HEADER =
  /^(authorization|proxy-authorization|cookie|set-cookie|apitoken)$|token|secret|key|auth|passw/i;

// Unicode letters and most of what RFC 5322 allows unquoted, plus the percent-encoded
// forms an email takes in a URL (`%40` for `@`). `/ = ? & { } |` are left out on purpose:
// with them a whole URL or JSON body would be swallowed into one match.
const EMAIL = /[\p{L}\p{N}!#$%'*+^_`~.-]+(?:@|%40)[\p{L}\p{N}%-]+(?:\.[\p{L}\p{N}%-]+)+/giu;

/** Secrets shorter than this are not searched for: they would shred every message and protect nothing. */
const MIN_SECRET_LENGTH = 4;

function forms(secret: string): string[] {
  // A secret can appear raw, URL-encoded (query strings) or JSON-escaped (bodies).
  return [secret, encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
}

export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  const needles = secrets
    .filter((s) => s.length >= MIN_SECRET_LENGTH)
    .flatMap(forms)
    // Longest first, so that a secret containing another is removed whole.
    .sort((a, b) => b.length - a.length);
  for (const needle of needles) out = out.split(needle).join(REDACTED);
  return out.replace(EMAIL, REDACTED);
}

export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADER.test(name);
}

/** A copy of `headers` fit for a log line. */
export function redactHeaders(
  headers: Record<string, string>,
  secrets: readonly string[] = [],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = isSensitiveHeader(name) ? REDACTED : redact(value, secrets);
  }
  return out;
}

/** Log fields with every string (at any depth) redacted. */
export function redactFields(
  fields: Record<string, unknown>,
  secrets: readonly string[] = [],
): Record<string, unknown> {
  const walk = (value: unknown): unknown => {
    if (typeof value === 'string') return redact(value, secrets);
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    return value;
  };
  return walk(fields) as Record<string, unknown>;
}
