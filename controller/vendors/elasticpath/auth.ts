import type { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { CallOptions, HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { elasticPathErrors } from './errors.ts';
import { ErrorAnswer, TokenAnswer } from './schema.ts';

/** Bearer tokens per vendor connection and client, in memory only: never journaled. One per driver instance (per controller). */
export type TokenCache = Map<string, { token: string; expiresAt: number }>;

/** The driver context with this driver instance's token cache. */
export type Ctx = DriverContext<'elasticpath'> & { tokens: TokenCache };

/** The API host of a region: the default when the connection names no baseUrl. */
export const regionUrl = (region: string): string => `https://${region}.api.elasticpath.com`;

export function baseUrl(ctx: Ctx): string {
  return (ctx.spec.baseUrl ?? regionUrl(ctx.spec.region)).replace(/\/+$/, '');
}

/** Whether the body is Elastic Path's documented JSON:API error list (ErrorResponse). */
export function documentedError(res: HttpResponse): boolean {
  try {
    res.parse(ErrorAnswer);
    return true;
  } catch {
    return false;
  }
}

/** What a body looks like, for messages (never the body itself). */
function bodyKind(res: HttpResponse): string {
  if (res.body.length === 0) return 'empty body';
  return (res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() || 'untyped body';
}

/**
 * The error for a status the driver does not handle itself; undefined for 2xx/3xx. A 404
 * without the documented error body is a route the store does not have (wrong baseUrl or
 * region), a configuration error, never an answer about data.
 */
export function refused(ctx: Ctx, res: HttpResponse, call: string): LetheError | undefined {
  if (res.status === 401) {
    return elasticPathErrors.error(
      'ELASTICPATH_UNAUTHORIZED',
      { status: res.status },
      { scope: 'vendor', maybeDelivered: false },
    );
  }
  if (res.status === 403)
    return elasticPathErrors.error('ELASTICPATH_FORBIDDEN', { call }, { scope: 'vendor', maybeDelivered: false });
  if (res.status === 429) {
    const retry = res.retryAfterMs === undefined ? {} : { retryAfterMs: res.retryAfterMs };
    return elasticPathErrors.error('ELASTICPATH_RATE_LIMITED', { call }, { maybeDelivered: false, ...retry });
  }
  if (res.status === 404 && !documentedError(res)) {
    return elasticPathErrors.error('ELASTICPATH_NOT_FOUND', { call, body: bodyKind(res) }, { maybeDelivered: false });
  }
  if (res.status >= 400 && res.status < 500) {
    return elasticPathErrors.error('ELASTICPATH_REJECTED', { call, status: res.status }, { maybeDelivered: false });
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
  if (res.status === 401 || res.status === 403 || (res.status === 400 && documentedError(res))) {
    throw elasticPathErrors.error(
      'ELASTICPATH_UNAUTHORIZED',
      { status: res.status },
      { scope: 'vendor', maybeDelivered: false },
    );
  }
  if (res.status !== 200)
    throw refused(ctx, res, 'elasticpath.token') ?? statusError(res, 'elasticpath.token', new URL(baseUrl(ctx)).origin);
  const data = res.parse(TokenAnswer);
  const token = data.access_token;
  const now = ctx.now().getTime();
  // Both fields are documented; the shorter reading wins (expires_in is rounded).
  const readings = [
    data.expires_in === undefined ? undefined : data.expires_in * 1000,
    data.expires === undefined ? undefined : data.expires * 1000 - now,
  ].filter((v): v is number => v !== undefined);
  const lifetimeMs = readings.length > 0 ? Math.min(...readings) : 3_600_000;
  // Refresh a little before the documented hour is up, so no call races the expiry.
  ctx.tokens.set(key(ctx), { token, expiresAt: now + lifetimeMs - Math.min(60_000, lifetimeMs / 10) });
  return token;
}

const key = (ctx: Ctx) => `${ctx.vendor}\u0000${baseUrl(ctx)}\u0000${ctx.secrets.clientId ?? ''}`;

async function bearer(ctx: Ctx, fresh: boolean): Promise<string> {
  const cached = ctx.tokens.get(key(ctx));
  if (!fresh && cached && cached.expiresAt > ctx.now().getTime()) return cached.token;
  return fetchToken(ctx);
}

/** An authenticated call; a 401 (token revoked or expired early) gets one fresh token. */
export async function call(ctx: Ctx, options: CallOptions): Promise<HttpResponse> {
  const send = async (fresh: boolean) =>
    ctx.http.request({
      ...options,
      headers: { ...options.headers, authorization: `Bearer ${await bearer(ctx, fresh)}` },
    });
  const res = await send(false);
  if (res.status !== 401) return res;
  ctx.tokens.delete(key(ctx));
  return send(true);
}
