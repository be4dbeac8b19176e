import type { LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import { baseUrl, call, documentedError, refused, type Ctx } from './auth.ts';
import { elasticPathErrors } from './errors.ts';
import {
  ERASURE_STATUSES,
  ErasureAnswer,
  ErasureList,
  ResourceList,
  type ErasureRequest,
  type ErasureStatus,
} from './schema.ts';

export type ResourceType = 'customer' | 'account_member';

export interface Erasure {
  id: string;
  status: ErasureStatus;
  description: string;
  resourceType: string;
  resourceId: string;
}

const PAGE = 100;
const MAX_OFFSET = 10_000;

/** The collection that holds each resource type, and that its erasure requests name. */
export const COLLECTION: Record<ResourceType, string> = { customer: 'customers', account_member: 'account-members' };

/** A filter value in EP's syntax: quoted, with `"` and `\` escaped (emails may hold both). */
export function filterValue(value: string): string {
  return /^[A-Za-z0-9-]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function expect(ctx: Ctx, res: HttpResponse, status: number, label: string): void {
  if (res.status === status) return;
  throw refused(ctx, res, label) ?? statusError(res, label, new URL(baseUrl(ctx)).origin);
}

/** An answer about something other than what was asked: never acted on. */
export function mismatch(call: string, what: string): LetheError {
  return elasticPathErrors.error('ELASTICPATH_ANSWER_MISMATCH', { call, what });
}

const isErasureStatus = (status: string): status is ErasureStatus =>
  (ERASURE_STATUSES as readonly string[]).includes(status);

/** A status word is acted on only when it is one of the documented three. */
function toErasure(e: ErasureRequest): Erasure {
  const status = e.status;
  if (!isErasureStatus(status)) {
    const word = /^[A-Z_]{1,32}$/.test(status) ? status : '(not a status word)';
    throw elasticPathErrors.error('ELASTICPATH_UNKNOWN_STATUS', { id: e.id, status: word });
  }
  return {
    id: e.id,
    status,
    description: e.status_description ?? '',
    resourceType: e.resource_type,
    resourceId: e.resource_id,
  };
}

export const OTHER_RESOURCE = 'a resource other than the one asked about';

const belongsTo = (e: ErasureRequest, type: ResourceType, id: string) =>
  e.resource_type === type && e.resource_id === id;

/**
 * Ids of the customers (or account members) holding one of the emails. Every listed
 * resource must carry the email asked about: a store that ignored the filter would
 * otherwise have Lethe erase other people. An empty list (total 0) is the documented
 * "no such resource" answer.
 */
export async function findResources(ctx: Ctx, emails: string[]): Promise<string[]> {
  const path = COLLECTION[ctx.spec.resourceType];
  const label = `elasticpath.${path}`;
  const ids = new Set<string>();
  for (const email of emails) {
    const wanted = email.trim().toLowerCase();
    const filter = encodeURIComponent(`eq(email,${filterValue(email.trim())})`);
    for (let offset = 0; offset <= MAX_OFFSET; offset += PAGE) {
      const url = `${baseUrl(ctx)}/v2/${path}?filter=${filter}&page[offset]=${offset}&page[limit]=${PAGE}`;
      const res = await call(ctx, { method: 'GET', url, safe: true, label });
      expect(ctx, res, 200, label);
      const page = res.parse(ResourceList);
      if (page.data.some((r) => r.email.trim().toLowerCase() !== wanted)) throw mismatch(label, OTHER_RESOURCE);
      // "None" is proven only by an empty first page that also counts zero results.
      if (offset === 0 && page.data.length === 0 && page.meta.results.total !== 0)
        throw mismatch(label, 'an empty page but a non-zero total');
      for (const r of page.data) ids.add(r.id);
      if (page.data.length < PAGE || offset + page.data.length >= page.meta.results.total) break;
    }
  }
  return [...ids];
}

/**
 * Every erasure request for one resource, oldest first as the store lists them. Each must
 * name that resource: a listing that holds others (the filter ignored, a mock's example)
 * proves neither that a request exists nor that none does.
 */
export async function listErasures(ctx: Ctx, type: ResourceType, id: string): Promise<Erasure[]> {
  const label = 'elasticpath.erasure-list';
  const filter = encodeURIComponent(`eq(resource_type,${type}):eq(resource_id,${filterValue(id)})`);
  const out: Erasure[] = [];
  for (let offset = 0; offset <= MAX_OFFSET; offset += PAGE) {
    const url = `${baseUrl(ctx)}/v2/personal-data/erasure-requests?filter=${filter}&page[offset]=${offset}&page[limit]=${PAGE}`;
    const res = await call(ctx, { method: 'GET', url, safe: true, label });
    expect(ctx, res, 200, label);
    const page = res.parse(ErasureList);
    if (page.data.some((e) => !belongsTo(e, type, id))) throw mismatch(label, OTHER_RESOURCE);
    out.push(...page.data.map(toErasure));
    if (page.data.length < PAGE || out.length >= page.meta.results.total) break;
  }
  return out;
}

/** Inside the journaled intent: only the documented 201 for this very resource closes it. */
export async function createErasure(ctx: Ctx, type: ResourceType, id: string): Promise<Erasure> {
  const label = 'elasticpath.erasure-create';
  const res = await call(ctx, {
    method: 'POST',
    url: `${baseUrl(ctx)}/v2/personal-data/erasure-requests`,
    body: { data: { type: 'erasure_request', resource_type: type, resource_id: id } },
    safe: false,
    label,
  });
  expect(ctx, res, 201, label);
  const e = res.parse(ErasureAnswer).data;
  if (!belongsTo(e, type, id)) throw mismatch(label, OTHER_RESOURCE);
  return toErasure(e);
}

/**
 * One erasure request by id; undefined on the documented 404 (NotFoundError body): the
 * store no longer knows the request. A 404 without that body is a wrong route (throws).
 */
export async function getErasure(ctx: Ctx, id: string): Promise<Erasure | undefined> {
  const label = 'elasticpath.erasure-get';
  const res = await call(ctx, {
    method: 'GET',
    url: `${baseUrl(ctx)}/v2/personal-data/erasure-requests/${encodeURIComponent(id)}`,
    safe: true,
    label,
  });
  if (res.status === 404 && documentedError(res)) return undefined;
  expect(ctx, res, 200, label);
  const e = res.parse(ErasureAnswer).data;
  if (e.id !== id) throw mismatch(label, 'a request other than the one asked about');
  return toErasure(e);
}
