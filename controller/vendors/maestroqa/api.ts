import { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';

type Ctx = DriverContext<'maestroqa'>;

export type DeleteAnswer = { kind: 'job'; id: string; confirmed: boolean } | { kind: 'none' };
export type DeepStatus = 'pending' | 'completed' | 'errored' | 'not found';

const headers = (ctx: Ctx) => ({ apitoken: ctx.secrets.apiToken ?? '' });
const origin = (ctx: Ctx) => new URL(ctx.spec.baseUrl).origin;

export function unauthorized(status: number): LetheError {
  return new LetheError('MAESTROQA_UNAUTHORIZED', `MaestroQA refused the API token (status ${status})`, { scope: 'vendor', maybeDelivered: false });
}

function refusal(res: HttpResponse, call: string): LetheError | undefined {
  if (res.status === 401 || res.status === 403) return unauthorized(res.status);
  if (res.status === 429) {
    const retry = res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs };
    return new LetheError('MAESTROQA_RATE_LIMITED', `MaestroQA kept answering 429 to ${call}`, { maybeDelivered: false, ...retry });
  }
  if (res.status === 400) return new LetheError('MAESTROQA_REJECTED', `MaestroQA rejected ${call} (status 400)`, { terminal: true, maybeDelivered: false });
  return undefined;
}

/**
 * The deletion call. It runs inside the journaled intent, so everything that leaves the
 * outcome unknown (5xx, a lost answer, a 200 without a job id) throws with the intent open.
 */
export async function deleteEmails(ctx: Ctx, emails: string[], auditLabel: string): Promise<DeleteAnswer> {
  const res = await ctx.http.request({
    method: 'DELETE',
    url: `${ctx.spec.baseUrl}/data-deletion-request`,
    headers: headers(ctx),
    body: { emails, auditLabel },
    safe: false,
    label: 'maestroqa.delete',
  });
  const refused = refusal(res, 'the deletion call');
  if (refused) throw refused;
  if (res.status === 404) {
    // Assumption (seed: "standard status codes"): a JSON 404 is MaestroQA's "no user has
    // these emails". A non-JSON 404 is a wrong route (baseUrl), not a statement about data.
    try {
      res.json();
    } catch {
      throw new LetheError('MAESTROQA_REJECTED', 'MaestroQA rejected the deletion call (status 404, not JSON: check baseUrl)', { terminal: true, maybeDelivered: false });
    }
    return { kind: 'none' };
  }
  if (res.status !== 200) throw statusError(res, 'maestroqa.delete', origin(ctx));
  const body = res.json<{ confirmation?: unknown; id?: unknown }>();
  const id = typeof body?.id === 'string' || typeof body?.id === 'number' ? String(body.id) : '';
  if (id === '') throw new LetheError('MAESTROQA_BAD_ANSWER', 'MaestroQA answered the deletion call without a job id');
  return { kind: 'job', id, confirmed: body.confirmation === true };
}

export async function checkJob(ctx: Ctx, id: string): Promise<DeepStatus> {
  const res = await ctx.http.request({
    method: 'GET',
    url: `${ctx.spec.baseUrl}/data-deletion-check/${encodeURIComponent(id)}`,
    headers: headers(ctx),
    safe: true,
    label: 'maestroqa.check',
  });
  const refused = refusal(res, 'the status check');
  if (refused) throw refused;
  if (res.status === 404) return 'not found';
  if (res.status !== 200) throw statusError(res, 'maestroqa.check', origin(ctx));
  const status = res.json<{ status?: unknown }>()?.status;
  if (status === 'completed' || status === 'errored' || status === 'not found') return status;
  // The seed names the failure both "errored" and "error"; any other word is not an end state.
  return status === 'error' ? 'errored' : 'pending';
}
