import type { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { maestroQaErrors } from './errors.ts';
import { CheckAnswer, DEEP_STATUSES, DeletionAnswer, type DeepStatusWord } from './schema.ts';

type Ctx = DriverContext<'maestroqa'>;

export type DeleteAnswer = { id: string; confirmed: boolean };
export type DeepStatus = 'pending' | 'completed' | 'errored' | 'not found';

const headers = (ctx: Ctx) => ({ apitoken: ctx.secrets.apiToken ?? '' });
const origin = (ctx: Ctx) => new URL(ctx.spec.baseUrl).origin;

export function unauthorized(status: number): LetheError {
  return maestroQaErrors.error('MAESTROQA_UNAUTHORIZED', { status }, { scope: 'vendor', maybeDelivered: false });
}

/** What a non-JSON body looks like, for messages (never the body itself: it may quote data). */
function bodyKind(res: HttpResponse): string {
  const type = (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (res.body.length === 0) return 'empty body';
  return type === '' ? 'untyped body' : type;
}

/**
 * A 404 the seed gives no meaning to ("standard status codes"): the route is not there
 * (a wrong baseUrl answers an HTML or gateway page) or MaestroQA refuses to say more.
 * It never proves that no data is held; the vendor did not act on the call.
 */
function notFound(res: HttpResponse, call: string): LetheError {
  return maestroQaErrors.error('MAESTROQA_NOT_FOUND', { call, body: bodyKind(res) }, { maybeDelivered: false });
}

function refusal(res: HttpResponse, call: string): LetheError | undefined {
  if (res.status === 401 || res.status === 403) return unauthorized(res.status);
  if (res.status === 429) {
    const retry = res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs };
    return maestroQaErrors.error('MAESTROQA_RATE_LIMITED', { call }, { maybeDelivered: false, ...retry });
  }
  if (res.status === 400)
    return maestroQaErrors.error('MAESTROQA_REJECTED', { call, status: 400 }, { maybeDelivered: false });
  return undefined;
}

/**
 * The deletion call. It runs inside the journaled intent, so everything that leaves the
 * outcome unknown (5xx, a lost answer, a 200 that is not the documented answer) throws
 * with the intent open. Only a 200 with `confirmation: true` and a job id is an answer.
 */
export async function deleteEmails(ctx: Ctx, emails: string[], auditLabel: string): Promise<DeleteAnswer> {
  const call = 'the deletion call';
  const res = await ctx.http.request({
    method: 'DELETE',
    url: `${ctx.spec.baseUrl}/data-deletion-request`,
    headers: headers(ctx),
    body: { emails, auditLabel },
    safe: false,
    label: 'maestroqa.delete',
  });
  const refused = refusal(res, call);
  if (refused) throw refused;
  if (res.status === 404) throw notFound(res, call);
  if (res.status !== 200) throw statusError(res, 'maestroqa.delete', origin(ctx));
  const answer = res.parse(DeletionAnswer);
  // A job that MaestroQA did not confirm: the intent stays open, so the operator's
  // jobId (named in the message) or "none" decides, as for a lost answer.
  if (!answer.confirmation) throw maestroQaErrors.error('MAESTROQA_NOT_CONFIRMED', { jobId: answer.id });
  return { id: answer.id, confirmed: true };
}

const isDeepStatus = (word: string): word is DeepStatusWord => (DEEP_STATUSES as readonly string[]).includes(word);

/** A status word, quoted in an error only when it looks like one (vendor text is bounded). */
const quoted = (word: string) => (/^[A-Za-z _-]{1,32}$/.test(word) ? `"${word}"` : '(not a word)');

export async function checkJob(ctx: Ctx, id: string): Promise<DeepStatus> {
  const call = 'the status check';
  const res = await ctx.http.request({
    method: 'GET',
    url: `${ctx.spec.baseUrl}/data-deletion-check/${encodeURIComponent(id)}`,
    headers: headers(ctx),
    safe: true,
    label: 'maestroqa.check',
  });
  const refused = refusal(res, call);
  if (refused) throw refused;
  if (res.status === 404) {
    // The seed's status word "not found" may come with a 404; any other 404 is a route.
    let word: string | undefined;
    try {
      word = res.parse(CheckAnswer).status;
    } catch {
      word = undefined;
    }
    if (word === 'not found') return 'not found';
    throw notFound(res, call);
  }
  if (res.status !== 200) throw statusError(res, 'maestroqa.check', origin(ctx));
  const word = res.parse(CheckAnswer).status;
  if (!isDeepStatus(word)) throw maestroQaErrors.error('MAESTROQA_UNKNOWN_STATUS', { jobId: id, status: quoted(word) });
  return word === 'error' ? 'errored' : word;
}
