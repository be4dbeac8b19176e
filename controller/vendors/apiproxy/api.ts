import { LetheError } from '../../errors/types.ts';
import { HttpError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import type { z } from 'zod';
import type { JsonObject } from './csv.ts';
import { AccessAnswer, identifiersAnswer } from './schema.ts';
import { apiProxyErrors, type ApiProxyCode } from './errors.ts';
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
 * valid nor as retry): APIPROXY_UNEXPECTED_STATUS, thrown through the query loops and
 * turned into a `failed` result ({@link isQueryFailure}).
 */
export function queryFailure(label: string, status: number): LetheError {
  return apiProxyErrors.error('APIPROXY_UNEXPECTED_STATUS', { label, status }, { maybeDelivered: true });
}

export function isQueryFailure(err: unknown): err is LetheError {
  return err instanceof LetheError && err.code === 'APIPROXY_UNEXPECTED_STATUS';
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
      // DataGrail bounds the job, not each call: one attempt may use all the time left of it.
      timeoutMs: Math.max(1, b.deadline - ctx.now().getTime()),
      verifyTls: q.query.verify_ssl === 'true',
      label: q.label,
    });
  } catch (err) {
    // An attempt may use all the time left, so its timeout is the job's timeout too.
    if (err instanceof HttpError && (err.code === 'HTTP_DEADLINE_EXCEEDED' || err.code === 'HTTP_TIMEOUT')) {
      throw apiProxyErrors.error(
        'APIPROXY_JOB_TIMEOUT',
        { kind: b.kind, seconds: b.seconds, label: q.label, cause: err.code },
        { maybeDelivered: err.maybeDelivered, cause: err },
      );
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
  if (!q.query.valid_response_codes.includes(res.status)) throw queryFailure(q.label, res.status);
}

/** A web page: what a web server or proxy answers for a URL that is not the API. */
export function isHtml(res: HttpResponse): boolean {
  if (/^\s*text\/html\b/i.test(res.headers['content-type'] ?? '')) return true;
  return /^\s*<(!doctype html|html)\b/i.test(res.body.subarray(0, 64).toString('utf8'));
}

/**
 * The answers by which the vendor says it did not act (a retry code, 429, 401/403). A
 * write checks them inside its journaled intent, so the intent closes on them; any other
 * answer is settled with the step's result.
 */
export function throwIfRefused(q: Query, res: HttpResponse): void {
  const s = res.status;
  const details = { label: q.label, status: s };
  if (q.query.valid_response_codes.includes(s)) {
    // Departure from DataGrail (status code only): a listed code on an HTML page is a web
    // server at a wrong URL, not the API saying "done" or "no such subject".
    if (isHtml(res)) throw apiProxyErrors.error('APIPROXY_ENDPOINT_NOT_FOUND', details, { maybeDelivered: false });
    return;
  }
  if (q.query.fail_retry_response_codes.includes(s) || s === 429) {
    throw apiProxyErrors.error('APIPROXY_RETRY_STATUS', details, {
      maybeDelivered: false,
      ...(res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs }),
    });
  }
  if (s === 401 || s === 403)
    throw apiProxyErrors.error('APIPROXY_UNAUTHORIZED', details, { scope: 'vendor', maybeDelivered: false });
  // Departure from DataGrail (only fail_retry_response_codes retry): a 5xx or 408 not listed
  // as valid is transient. The vendor may have acted, so a write's intent stays open.
  if (s >= 500 || s === 408)
    throw apiProxyErrors.error(
      'APIPROXY_SERVER_ERROR',
      details,
      res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs },
    );
  if (s === 404 || s === 405)
    throw apiProxyErrors.error('APIPROXY_ENDPOINT_NOT_FOUND', details, { maybeDelivered: false });
}

/**
 * Reads a body through its schema. A body that is not JSON (truncated, an HTML error page)
 * stays HTTP_MALFORMED_BODY, which is retried: a transient fault must not end the task.
 * Well-formed JSON of the wrong shape is the API breaking the contract: `code`, terminal.
 */
function parseAs<S extends z.ZodType>(q: Query, res: HttpResponse, schema: S, code: ApiProxyCode): z.infer<S> {
  try {
    return res.parse(schema);
  } catch (err) {
    if (err instanceof HttpError && err.code === 'HTTP_SCHEMA_MISMATCH') {
      throw apiProxyErrors.error(
        code,
        { label: q.label, status: res.status, problem: `JSON that is not an array of objects (${err.message})` },
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * The objects of a valid answer. A valid status outside 2xx (a listed 404: the connection's
 * documented "no such subject") and a 204 mean no objects, body ignored. Any other answer
 * must be a JSON array of objects. Messages never quote the body.
 */
export function objectsOf(q: Query, res: HttpResponse, code: ApiProxyCode): JsonObject[] {
  if (res.status < 200 || res.status > 299 || res.status === 204) return [];
  return parseAs(q, res, AccessAnswer, code);
}

/** Values of `category` in an identifiers answer (strings or numbers; others are malformed). */
export function identifierValues(q: Query, res: HttpResponse, category: string): string[] {
  if (res.status < 200 || res.status > 299 || res.status === 204) return [];
  const out: string[] = [];
  for (const item of parseAs(q, res, identifiersAnswer(category), 'APIPROXY_IDENTIFIERS_MALFORMED')) {
    const v = item[category];
    if (v === undefined || v === null || v === '') continue;
    if (!out.includes(String(v))) out.push(String(v));
  }
  return out;
}
