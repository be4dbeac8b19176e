import { LetheError } from '../../errors/types.ts';
import { HttpError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext, JsonValue } from '../../contracts/driver.ts';
import type { JsonObject } from './csv.ts';
import { apiProxyError, formatApiProxy, type ApiProxyCode } from './errors.ts';
import type { Query, Rendered } from './queries.ts';

type Ctx = DriverContext<'apiproxy'>;

/** DataGrail's job_timeout_seconds: one cumulative deadline for all queries of one type. */
export interface Budget {
  kind: string;
  seconds: number;
  deadline: number;
}

export function budget(ctx: Ctx, kind: string): Budget {
  const seconds = ctx.spec.jobTimeoutSeconds;
  return { kind, seconds, deadline: ctx.now().getTime() + seconds * 1000 };
}

/**
 * An answer that settles the task as Failed (a status the connection lists neither as
 * valid nor as retry). Thrown through the query loops, turned into a `failed` result.
 */
export class QueryFailed extends LetheError {
  constructor(label: string, status: number) {
    super('APIPROXY_UNEXPECTED_STATUS', formatApiProxy('APIPROXY_UNEXPECTED_STATUS', { label, status }), { terminal: true, maybeDelivered: true });
  }
}

/**
 * Sends one rendered query. Reads (test, identifiers, access) are `safe`: DataGrail's
 * contract makes them stateless retrievals, so the HTTP layer may retry them, including on
 * the query's fail_retry_response_codes. Deletes and opt-outs are not: their retry codes
 * come back to the driver (see apiproxy.ts).
 */
export async function send(ctx: Ctx, q: Query, r: Rendered, b: Budget, safe: boolean): Promise<HttpResponse> {
  try {
    return await ctx.http.request({
      method: r.method,
      url: r.url,
      headers: r.headers,
      ...(r.body === undefined ? {} : { body: r.body }),
      safe,
      ...(safe ? { retryStatuses: q.query.fail_retry_response_codes } : {}),
      deadline: b.deadline,
      verifyTls: q.query.verify_ssl === 'true',
      label: q.label,
    });
  } catch (err) {
    if (err instanceof HttpError && err.code === 'HTTP_DEADLINE_EXCEEDED') {
      throw apiProxyError('APIPROXY_JOB_TIMEOUT', { kind: b.kind, seconds: b.seconds, label: q.label, cause: err.code }, { maybeDelivered: err.maybeDelivered, cause: err });
    }
    throw err;
  }
}

/**
 * Status codes are the only signal (seed 002). Valid codes pass; retry codes and a 429
 * the layer could not absorb are transient; 401/403 degrade the connection; anything else
 * fails the task with the status.
 */
export function checkStatus(q: Query, res: HttpResponse): void {
  throwIfRefused(q, res);
  if (!q.query.valid_response_codes.includes(res.status)) throw new QueryFailed(q.label, res.status);
}

/**
 * The answers by which the vendor says it did not act (a retry code, 429, 401/403). A
 * write checks them inside its journaled intent, so the intent closes on them; any other
 * answer is settled with the step's result.
 */
export function throwIfRefused(q: Query, res: HttpResponse): void {
  const s = res.status;
  if (q.query.valid_response_codes.includes(s)) return;
  const details = { label: q.label, status: s };
  if (q.query.fail_retry_response_codes.includes(s) || s === 429) {
    throw apiProxyError('APIPROXY_RETRY_STATUS', details, { maybeDelivered: false, ...(res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs }) });
  }
  if (s === 401 || s === 403) throw apiProxyError('APIPROXY_UNAUTHORIZED', details, { scope: 'vendor', maybeDelivered: false });
}

/**
 * The objects of a valid answer. A valid status outside 2xx (a listed 404) and a 204 mean
 * "no such subject": no objects, body ignored. Any other answer must be a JSON array of
 * objects, else `code` (terminal). Messages never quote the body.
 */
export function objectsOf(q: Query, res: HttpResponse, code: ApiProxyCode): JsonObject[] {
  if (res.status < 200 || res.status > 299 || res.status === 204) return [];
  const bad = (problem: string) => apiProxyError(code, { label: q.label, status: res.status, problem });
  let parsed: JsonValue;
  try {
    parsed = res.json<JsonValue>();
  } catch {
    throw bad(`a body that is not JSON (${res.body.length} bytes)`);
  }
  if (!Array.isArray(parsed)) throw bad(`a JSON ${parsed === null ? 'null' : typeof parsed} instead of an array`);
  parsed.forEach((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw bad(`item ${i} that is not an object`);
  });
  return parsed as JsonObject[];
}

/** Values of `category` in an identifiers answer (strings or numbers; others are malformed). */
export function identifierValues(q: Query, res: HttpResponse, category: string): string[] {
  const out: string[] = [];
  for (const [i, item] of objectsOf(q, res, 'APIPROXY_IDENTIFIERS_MALFORMED').entries()) {
    const v = item[category];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string' && typeof v !== 'number') {
      throw apiProxyError('APIPROXY_IDENTIFIERS_MALFORMED', { label: q.label, status: res.status, problem: `item ${i} whose ${category} is not a string or number` });
    }
    if (!out.includes(String(v))) out.push(String(v));
  }
  return out;
}
