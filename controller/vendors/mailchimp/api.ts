import { createHash } from 'node:crypto';
import type { DriverContext } from '../../contracts/driver.ts';
import type { HttpResponse } from '../../contracts/http.ts';
import type { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import { mailchimpErrors } from './errors.ts';
import { ListAnswer, MemberAnswer, ProblemDetail } from './schema.ts';

type Ctx = DriverContext<'mailchimp'>;

/** "The MD5 hash of the lowercase version of the list member's email address." */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.toLowerCase()).digest('hex');
}

/** HTTP Basic with any user name and the API key as password (Mailchimp's "Authentication"). */
const headers = (ctx: Ctx) => ({
  authorization: `Basic ${Buffer.from(`lethe:${ctx.secrets.apiKey ?? ''}`).toString('base64')}`,
  accept: 'application/json',
});
const api = (ctx: Ctx) => `${ctx.spec.baseUrl.replace(/\/+$/, '')}/3.0/lists/${encodeURIComponent(ctx.spec.listId)}`;
const origin = (ctx: Ctx) => new URL(ctx.spec.baseUrl).origin;

/** What a body looks like, for messages (never the body itself: `detail` may quote the email). */
function bodyKind(res: HttpResponse): string {
  const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (res.body.length === 0) return 'an empty body';
  return type === '' ? 'an untyped body' : `a ${type} body`;
}

/** The problem+json error of Mailchimp's API, or undefined for anything else (an HTML page, a bare JSON). */
export function problemOf(res: HttpResponse): ProblemDetail | undefined {
  const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/problem+json') return undefined;
  try {
    const problem = res.parse(ProblemDetail);
    return problem.status === res.status ? problem : undefined;
  } catch {
    return undefined;
  }
}

/** A glossary title ("Resource Not Found", "Invalid Resource"), quoted only when it looks like one. */
const titleOf = (problem: ProblemDetail | undefined) =>
  problem && /^[A-Za-z ]{1,60}$/.test(problem.title) ? `"${problem.title}"` : 'no glossary title';

/**
 * The statuses every call maps the same way: 401/403 (the key, or the wrong data center)
 * degrade the connection, 429 waits, 5xx is the HTTP layer's server error, a 404/405 that
 * is not the API's problem+json is a route that does not exist at this baseUrl. Other 4xx
 * are refusals. All of them prove the vendor did not act. Undefined for what the caller
 * reads itself (2xx, and the API's own 404).
 */
export function refusal(ctx: Ctx, res: HttpResponse, call: string): LetheError | undefined {
  const status = res.status;
  if (status === 401 || status === 403)
    return mailchimpErrors.error(
      'MAILCHIMP_UNAUTHORIZED',
      { call, status },
      { scope: 'vendor', maybeDelivered: false },
    );
  if (status === 429) {
    const retry = res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs };
    return mailchimpErrors.error('MAILCHIMP_RATE_LIMITED', { call }, { maybeDelivered: false, ...retry });
  }
  if (status >= 500) return statusError(res, call, origin(ctx));
  const problem = problemOf(res);
  if ((status === 404 || status === 405) && !problem) {
    return mailchimpErrors.error(
      'MAILCHIMP_ENDPOINT_NOT_FOUND',
      { call, status, body: bodyKind(res) },
      { maybeDelivered: false },
    );
  }
  if (status === 404) return undefined;
  if (status >= 400)
    return mailchimpErrors.error(
      'MAILCHIMP_REJECTED',
      { call, status, title: titleOf(problem) },
      { maybeDelivered: false },
    );
  return undefined;
}

/** A member as the lookup found it: present (with the raw answer, for an access export) or absent. */
export type Lookup = { present: true; status: string; raw: unknown } | { present: false };

/**
 * `GET /3.0/lists/{list_id}/members/{subscriber_hash}`. 200 with this member's id and list
 * is "present"; a problem+json 404 is "absent" ("If the call returns a 404 response, the
 * subscriber isn't on your list", Manage Subscribers guide), which the caller trusts only
 * once the audience itself is known to exist ({@link confirmList}).
 */
export async function lookupMember(ctx: Ctx, email: string): Promise<Lookup> {
  const call = 'the member lookup';
  const hash = subscriberHash(email);
  const res = await ctx.http.request({
    method: 'GET',
    url: `${api(ctx)}/members/${hash}`,
    headers: headers(ctx),
    safe: true,
    label: 'mailchimp.member',
  });
  const refused = refusal(ctx, res, call);
  if (refused) throw refused;
  if (res.status === 404) return { present: false };
  if (res.status !== 200)
    throw mailchimpErrors.error('MAILCHIMP_UNEXPECTED_ANSWER', { call, status: res.status }, { maybeDelivered: false });
  const member = res.parse(MemberAnswer);
  if (member.id !== hash || member.list_id !== ctx.spec.listId) {
    throw mailchimpErrors.error(
      'MAILCHIMP_ANSWER_MISMATCH',
      { call, what: member.id !== hash ? 'member' : 'audience' },
      { maybeDelivered: false },
    );
  }
  return { present: true, status: member.status, raw: res.json() };
}

/**
 * `GET /3.0/lists/{list_id}`: 200 with this id proves the audience exists, so that a
 * member 404 means "not on the list" and not "no such list". A problem+json 404 is
 * MAILCHIMP_LIST_NOT_FOUND, scoped to the connection.
 */
export async function confirmList(ctx: Ctx): Promise<void> {
  const call = 'the audience lookup';
  const res = await ctx.http.request({
    method: 'GET',
    url: api(ctx),
    headers: headers(ctx),
    safe: true,
    label: 'mailchimp.list',
  });
  const refused = refusal(ctx, res, call);
  if (refused) throw refused;
  if (res.status === 404)
    throw mailchimpErrors.error(
      'MAILCHIMP_LIST_NOT_FOUND',
      { listId: ctx.spec.listId, status: 404 },
      { scope: 'vendor', maybeDelivered: false },
    );
  if (res.status !== 200)
    throw mailchimpErrors.error('MAILCHIMP_UNEXPECTED_ANSWER', { call, status: res.status }, { maybeDelivered: false });
  if (res.parse(ListAnswer).id !== ctx.spec.listId)
    throw mailchimpErrors.error('MAILCHIMP_ANSWER_MISMATCH', { call, what: 'audience' }, { maybeDelivered: false });
}

/**
 * `POST /3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent`. Only
 * 204 ("Empty Response") proves the delete: `deleted`. A problem+json 404 is `absent` (the
 * caller looks the member up to know why). Anything else throws; a status that does not
 * prove a refusal leaves the journaled intent open (the caller's `recover` asks again).
 */
export async function deletePermanent(ctx: Ctx, email: string): Promise<'deleted' | 'absent'> {
  const call = 'the permanent delete';
  const res = await ctx.http.request({
    method: 'POST',
    url: `${api(ctx)}/members/${subscriberHash(email)}/actions/delete-permanent`,
    headers: headers(ctx),
    safe: false,
    label: 'mailchimp.delete-permanent',
  });
  const refused = refusal(ctx, res, call);
  if (refused) throw refused;
  if (res.status === 204) return 'deleted';
  if (res.status === 404) return 'absent';
  throw mailchimpErrors.error('MAILCHIMP_UNEXPECTED_ANSWER', { call, status: res.status }, { maybeDelivered: true });
}
