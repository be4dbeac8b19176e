import { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { CallOptions, HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';

type Ctx = DriverContext<'elasticpath'>;

/** Bearer tokens per vendor connection and client, in memory only: never journaled. */
const tokens = new Map<string, { token: string; expiresAt: number }>();

export function baseUrl(ctx: Ctx): string {
  return (ctx.spec.baseUrl ?? `https://${ctx.spec.region}.api.elasticpath.com`).replace(/\/+$/, '');
}

/** The error for a status the driver does not handle itself; undefined for 2xx/3xx. */
export function refused(ctx: Ctx, res: HttpResponse, call: string): LetheError | undefined {
  if (res.status === 401) {
    return new LetheError('ELASTICPATH_UNAUTHORIZED', `Elastic Path refused the client credentials (status ${res.status})`, { scope: 'vendor', maybeDelivered: false });
  }
  if (res.status === 403) return new LetheError('ELASTICPATH_FORBIDDEN', `Elastic Path denied ${call} (status 403)`, { scope: 'vendor', maybeDelivered: false });
  if (res.status === 429) {
    const retry = res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs };
    return new LetheError('ELASTICPATH_RATE_LIMITED', `Elastic Path kept answering 429 to ${call}`, { maybeDelivered: false, ...retry });
  }
  if (res.status >= 400 && res.status < 500) {
    return new LetheError('ELASTICPATH_REJECTED', `Elastic Path rejected ${call} (status ${res.status})`, { terminal: true, maybeDelivered: false });
  }
  if (res.status >= 500) return statusError(res, call, new URL(baseUrl(ctx)).origin);
  return undefined;
}

async function fetchToken(ctx: Ctx): Promise<string> {
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: ctx.secrets.clientId ?? '',
    client_secret: ctx.secrets.clientSecret ?? '',
  });
  const res = await ctx.http.request({
    method: 'POST',
    url: `${baseUrl(ctx)}/oauth/access_token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
    // Asking for a token twice has no effect at the vendor.
    safe: true,
    label: 'elasticpath.token',
  });
  if (res.status === 400 || res.status === 401 || res.status === 403) {
    throw new LetheError('ELASTICPATH_UNAUTHORIZED', `Elastic Path refused the client credentials (status ${res.status})`, { scope: 'vendor', maybeDelivered: false });
  }
  if (res.status !== 200) throw refused(ctx, res, 'elasticpath.token') ?? statusError(res, 'elasticpath.token', new URL(baseUrl(ctx)).origin);
  const body = res.json<{ data?: Record<string, unknown> } & Record<string, unknown>>();
  const data = body?.data ?? body;
  const token = data?.access_token;
  if (typeof token !== 'string' || token === '') throw new LetheError('ELASTICPATH_BAD_ANSWER', 'Elastic Path answered elasticpath.token without the expected fields');
  const now = ctx.now().getTime();
  // Both fields are documented; the shorter reading wins (expires_in is rounded).
  const readings = [
    typeof data.expires_in === 'number' ? data.expires_in * 1000 : undefined,
    typeof data.expires === 'number' ? data.expires * 1000 - now : undefined,
  ].filter((v): v is number => v !== undefined);
  const lifetimeMs = readings.length > 0 ? Math.min(...readings) : 3_600_000;
  // Refresh a little before the documented hour is up, so no call races the expiry.
  tokens.set(key(ctx), { token, expiresAt: now + lifetimeMs - Math.min(60_000, lifetimeMs / 10) });
  return token;
}

const key = (ctx: Ctx) => `${ctx.vendor}\u0000${baseUrl(ctx)}\u0000${ctx.secrets.clientId ?? ''}`;

async function bearer(ctx: Ctx, fresh: boolean): Promise<string> {
  const cached = tokens.get(key(ctx));
  if (!fresh && cached && cached.expiresAt > ctx.now().getTime()) return cached.token;
  return fetchToken(ctx);
}

/** An authenticated call; a 401 (token revoked or expired early) gets one fresh token. */
export async function call(ctx: Ctx, options: CallOptions): Promise<HttpResponse> {
  const send = async (fresh: boolean) =>
    ctx.http.request({ ...options, headers: { ...options.headers, authorization: `Bearer ${await bearer(ctx, fresh)}` } });
  const res = await send(false);
  if (res.status !== 401) return res;
  tokens.delete(key(ctx));
  return send(true);
}
