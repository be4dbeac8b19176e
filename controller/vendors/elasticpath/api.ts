import { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { baseUrl, call, refused } from './auth.ts';

type Ctx = DriverContext<'elasticpath'>;
export type ResourceType = 'customer' | 'account_member';

export interface Erasure {
  id: string;
  status: string;
  description: string;
  resourceType: string;
  resourceId: string;
}

const PAGE = 100;
const MAX_OFFSET = 10_000;

/** A filter value in EP's syntax: quoted, with `"` and `\` escaped (emails may hold both). */
export function filterValue(value: string): string {
  return /^[A-Za-z0-9-]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function expectOk(ctx: Ctx, res: HttpResponse, label: string): void {
  if (res.status === 200 || res.status === 201) return;
  throw refused(ctx, res, label) ?? statusError(res, label, new URL(baseUrl(ctx)).origin);
}

function bad(label: string): LetheError {
  return new LetheError('ELASTICPATH_BAD_ANSWER', `Elastic Path answered ${label} without the expected fields`);
}

function toErasure(v: unknown): Erasure | undefined {
  const e = v as Record<string, unknown> | null;
  if (!e || typeof e.id !== 'string' || typeof e.status !== 'string') return undefined;
  return {
    id: e.id,
    status: e.status,
    description: typeof e.status_description === 'string' ? e.status_description : '',
    resourceType: String(e.resource_type ?? ''),
    resourceId: String(e.resource_id ?? ''),
  };
}

/** Ids of the customers (or account members) holding one of the emails. */
export async function findResources(ctx: Ctx, emails: string[]): Promise<string[]> {
  const path = ctx.spec.resourceType === 'customer' ? 'customers' : 'account-members';
  const ids = new Set<string>();
  for (const email of emails) {
    const filter = encodeURIComponent(`eq(email,${filterValue(email.trim())})`);
    const label = `elasticpath.${path}`;
    const res = await call(ctx, { method: 'GET', url: `${baseUrl(ctx)}/v2/${path}?filter=${filter}&page[limit]=${PAGE}`, safe: true, label });
    expectOk(ctx, res, label);
    const data = res.json<{ data?: unknown }>()?.data;
    if (!Array.isArray(data)) throw bad(label);
    for (const c of data) if (c && typeof (c as { id?: unknown }).id === 'string') ids.add((c as { id: string }).id);
  }
  return [...ids];
}

/** Every erasure request for one resource, oldest first as the store lists them. */
export async function listErasures(ctx: Ctx, type: ResourceType, id: string): Promise<Erasure[]> {
  const label = 'elasticpath.erasure-list';
  const filter = encodeURIComponent(`eq(resource_type,${type}):eq(resource_id,${filterValue(id)})`);
  const out: Erasure[] = [];
  for (let offset = 0; offset <= MAX_OFFSET; offset += PAGE) {
    const url = `${baseUrl(ctx)}/v2/personal-data/erasure-requests?filter=${filter}&page[offset]=${offset}&page[limit]=${PAGE}`;
    const res = await call(ctx, { method: 'GET', url, safe: true, label });
    expectOk(ctx, res, label);
    const body = res.json<{ data?: unknown; meta?: { results?: { total?: unknown } } }>();
    if (!Array.isArray(body?.data)) throw bad(label);
    for (const e of body.data) {
      const parsed = toErasure(e);
      if (parsed) out.push(parsed);
    }
    const total = typeof body.meta?.results?.total === 'number' ? body.meta.results.total : out.length;
    if (body.data.length < PAGE || out.length >= total) break;
  }
  return out;
}

/** Inside the journaled intent: only an answer with an id closes it. */
export async function createErasure(ctx: Ctx, type: ResourceType, id: string): Promise<Erasure> {
  const label = 'elasticpath.erasure-create';
  const res = await call(ctx, {
    method: 'POST',
    url: `${baseUrl(ctx)}/v2/personal-data/erasure-requests`,
    body: { data: { type: 'erasure_request', resource_type: type, resource_id: id } },
    safe: false,
    label,
  });
  expectOk(ctx, res, label);
  const e = toErasure(res.json<{ data?: unknown }>()?.data);
  if (!e) throw bad(label);
  return e;
}

/** undefined when the store no longer knows the request (404). */
export async function getErasure(ctx: Ctx, id: string): Promise<Erasure | undefined> {
  const label = 'elasticpath.erasure-get';
  const res = await call(ctx, { method: 'GET', url: `${baseUrl(ctx)}/v2/personal-data/erasure-requests/${encodeURIComponent(id)}`, safe: true, label });
  if (res.status === 404) return undefined;
  expectOk(ctx, res, label);
  const e = toErasure(res.json<{ data?: unknown }>()?.data);
  if (!e) throw bad(label);
  return e;
}
