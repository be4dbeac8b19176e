import { mulberry32, stableUuid, streamSeed } from '../random.ts';
import {
  isRecord,
  jsonBody,
  normEmail,
  type Reply,
  type SandboxRequest,
  type VendorContext,
  type VendorSim,
} from '../types.ts';

/** A customer, or an account member (the B2B shopper of an account): same fields, own ids. */
interface Customer {
  id: string;
  name: string;
  email: string;
  createdAt: string;
}

type Kind = 'customer' | 'account_member';

interface Erasure {
  id: string;
  resource_type: string;
  resource_id: string;
  email: string | null;
  status: 'CREATED' | 'SUCCESS' | 'FAILURE';
  created_at: string;
  updated_at: string;
}

interface Token {
  clientId: string;
  grant: 'client_credentials' | 'implicit';
  expiresAt: number;
}

const DESCRIPTIONS = {
  CREATED: 'The erasure request successfully created',
  SUCCESS: 'The erasure request is successfully processed',
  FAILURE: 'There was an error processing your request, you can retry it or report it using the id',
} as const;

/** Resource types of the personal-data set (personal-data.openapi.yaml, introduction table). */
const RESOURCE_TYPES = new Set([
  'customer',
  'account',
  'account-member',
  'account_member',
  'account-membership',
  'address',
  'user-authentication-info',
  'user-authentication-oidc-profile-info',
  'user-authentication-password-profile-info',
  'order',
]);

const MAX_OFFSET = 10_000;
const MAX_LIMIT = 100;
/** The store's "page length" setting, used when page[limit] is absent (assumption: 25). */
const DEFAULT_PAGE_LENGTH = 25;

/**
 * Elastic Path Commerce Cloud: OAuth, customers, personal-data erasure requests
 * (seed 003, vendor-specs/elasticpath). Assumptions:
 * - `expires_in` reports the time-scaled lifetime (3600 s x time-scale), so a client that
 *   trusts it refreshes in time; an expired or unknown bearer is a 401;
 * - implicit tokens are accepted by the token endpoint but get 403 on these admin routes;
 * - an erasure request for a customer that does not exist (anymore) is a 400;
 * - the 429 body is `{"errors":[...]}` without a Retry-After header (none is documented);
 * - erasure of a customer removes it (so a later lookup shows it gone) on SUCCESS only;
 * - every subject of this vendor is both a customer and an account member (its own id);
 *   an erasure names either as its resource (`account_member`, or `account-member` as
 *   the OpenAPI's introduction table spells it) and removes that one on SUCCESS;
 * - a path the API does not serve gets the server's HTML 404 (server.ts), never JSON.
 */
export function elasticpath(ctx: VendorContext): VendorSim {
  const creds = ctx.credentials.elasticpath;
  let customers: Customer[] = [];
  let members: Customer[] = [];
  let erasures: Erasure[] = [];
  let tokens = new Map<string, Token>();
  let seq = 0;
  let outcome = mulberry32(streamSeed(ctx.seed, 'elasticpath/outcomes'));

  const iso = (): string => new Date(ctx.clock.now()).toISOString();
  const errors = (status: number, title: string, detail?: string): Reply => ({
    status,
    body: { errors: [{ title, status: String(status), ...(detail ? { detail } : {}) }] },
  });

  function reset(): void {
    customers = ctx
      .subjects()
      .filter((s) => s.vendors.includes('elasticpath'))
      .map((s, i) => ({
        id: stableUuid('elasticpath-customer', normEmail(s.email)),
        name: `${s.firstName} ${s.lastName}`,
        email: s.email,
        createdAt: new Date(Date.UTC(2024, 0, 1 + i)).toISOString(),
      }));
    members = customers.map((c) => ({ ...c, id: stableUuid('elasticpath-account-member', normEmail(c.email)) }));
    erasures = [];
    tokens = new Map();
    seq = 0;
    outcome = mulberry32(streamSeed(ctx.seed, 'elasticpath/outcomes'));
  }
  reset();

  function bearer(req: SandboxRequest): Token | undefined {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) return undefined;
    const token = tokens.get(h.slice(7).trim());
    return token && token.expiresAt > ctx.clock.now() ? token : undefined;
  }

  /** Parses `op(attr,value):op(attr,value)`; null when malformed. */
  function parseFilter(filter: string): { op: string; attr: string; value: string }[] | null {
    const out: { op: string; attr: string; value: string }[] = [];
    for (const part of filter.split(':').slice(0, 20)) {
      const m = /^(eq|like|gt|ge|lt|le)\(([a-z_]+),(.*)\)$/.exec(part.trim());
      if (!m) return null;
      out.push({ op: m[1]!, attr: m[2]!, value: m[3]!.replace(/^"(.*)"$/, '$1').replace(/\\/g, '') });
    }
    return out;
  }

  /** page[offset] / page[limit] as documented; a Reply when out of range. */
  function paging(req: SandboxRequest): { offset: number; limit: number } | Reply {
    const rawOffset = req.query.get('page[offset]');
    const rawLimit = req.query.get('page[limit]');
    const offset = rawOffset === null ? 0 : Number(rawOffset);
    const limit = rawLimit === null ? DEFAULT_PAGE_LENGTH : Number(rawLimit);
    if (!Number.isInteger(offset) || offset < 0 || offset > MAX_OFFSET) {
      return errors(400, 'Bad Request', `page[offset] must be an integer between 0 and ${MAX_OFFSET}`);
    }
    if (!Number.isInteger(limit) || limit < 0 || limit > MAX_LIMIT) {
      return errors(400, 'Bad Request', `page[limit] must be an integer between 0 and ${MAX_LIMIT}`);
    }
    return { offset, limit };
  }

  function page<T>(req: SandboxRequest, items: T[], p: { offset: number; limit: number }) {
    const limit = p.limit === 0 ? DEFAULT_PAGE_LENGTH : p.limit;
    const total = items.length;
    const pages = Math.max(1, Math.ceil(total / limit));
    const link = (offset: number): string => {
      const q = new URLSearchParams(req.query);
      q.set('page[offset]', String(offset));
      q.set('page[limit]', String(limit));
      return `${ctx.origin()}/elasticpath${req.path}?${q.toString()}`;
    };
    const lastOffset = (pages - 1) * limit;
    return {
      data: items.slice(p.offset, p.offset + limit),
      meta: {
        page: { limit, offset: p.offset, current: Math.floor(p.offset / limit) + 1, total: pages },
        results: { total },
      },
      links: {
        current: link(p.offset),
        first: link(0),
        last: pages > 1 ? link(lastOffset) : null,
        next: p.offset + limit < total ? link(p.offset + limit) : null,
        prev: p.offset > 0 ? link(Math.max(0, p.offset - limit)) : null,
      },
    };
  }

  const kindOf = (resourceType: string): Kind | undefined =>
    resourceType === 'customer'
      ? 'customer'
      : resourceType === 'account_member' || resourceType === 'account-member'
        ? 'account_member'
        : undefined;
  const store = (kind: Kind): Customer[] => (kind === 'customer' ? customers : members);
  const remove = (kind: Kind, id: string): void => {
    if (kind === 'customer') customers = customers.filter((c) => c.id !== id);
    else members = members.filter((c) => c.id !== id);
  };

  const memberJson = (c: Customer) => ({
    type: 'account_member',
    id: c.id,
    name: c.name,
    email: c.email,
    meta: { timestamps: { created_at: c.createdAt, updated_at: c.createdAt } },
  });

  const customerJson = (c: Customer) => ({
    type: 'customer',
    id: c.id,
    name: c.name,
    email: c.email,
    password: false,
    meta: { timestamps: { created_at: c.createdAt, updated_at: c.createdAt } },
  });

  const erasureJson = (e: Erasure) => ({
    id: e.id,
    type: 'erasure_request',
    resource_id: e.resource_id,
    resource_type: e.resource_type,
    initiator: {
      'access-token-email': 'sandbox@example.com',
      'access-token-id': '1222341536243515939',
      'access-token-name': 'lethe sandbox',
      'access-token-store-id': stableUuid('elasticpath-store'),
      'access-token-type': 'client-credentials-token',
    },
    status: e.status,
    status_description: DESCRIPTIONS[e.status],
    created_at: e.created_at,
    updated_at: e.updated_at,
    links: { self: `${ctx.origin()}/elasticpath/v2/personal-data/erasure-requests/${e.id}` },
  });

  /** `GET /v2/customers` and `/v2/account-members`: filter on email, name or id, paginated. */
  function listPeople(req: SandboxRequest, kind: Kind): Reply {
    const denied = admin(req);
    if (denied) return denied;
    const p = paging(req);
    if ('status' in p) return p;
    const raw = req.query.get('filter');
    const filters = raw === null ? [] : parseFilter(raw);
    if (filters === null) return errors(400, 'Bad Request', 'invalid filter');
    let list = store(kind);
    const subjects: string[] = [];
    for (const f of filters) {
      const allowed =
        f.attr === 'id' || ((f.attr === 'email' || f.attr === 'name') && (f.op === 'eq' || f.op === 'like'));
      if (!allowed || (f.attr === 'id' && f.op !== 'eq'))
        return errors(400, 'Bad Request', `unsupported filter ${f.op}(${f.attr})`);
      if (f.attr === 'email') subjects.push(f.value);
      const field = (c: Customer) => (f.attr === 'id' ? c.id : f.attr === 'email' ? c.email : c.name).toLowerCase();
      const v = f.value.toLowerCase();
      if (f.op === 'eq') list = list.filter((c) => field(c) === v);
      else {
        const re = new RegExp(
          `^${v
            .split('*')
            .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        );
        list = list.filter((c) => re.test(field(c)));
      }
    }
    return { status: 200, body: page(req, list.map(kind === 'customer' ? customerJson : memberJson), p), subjects };
  }

  /** Admin routes: a live client_credentials token, or the Reply to send instead. */
  function admin(req: SandboxRequest): Reply | null {
    const t = bearer(req);
    if (t && t.grant !== 'client_credentials')
      return errors(403, 'Forbidden', 'a client_credentials token is required');
    return null;
  }

  return {
    name: 'elasticpath',
    prefix: '/elasticpath',
    authenticate: (req) => {
      const t = bearer(req);
      return t ? `client:${t.clientId}` : null;
    },
    unauthorized: () => errors(401, 'Unauthorized'),
    tooManyRequests: () =>
      errors(429, 'Too Many Requests', 'rate limit exceeded: 25 requests per second for development stores'),
    serverError: (status) =>
      status === 500
        ? errors(500, 'Internal Server Error', 'there was a problem processing your request')
        : errors(status, status === 502 ? 'Bad Gateway' : 'Service Unavailable'),
    reset,
    routes: [
      {
        method: 'POST',
        template: '/oauth/access_token',
        name: 'token',
        auth: false,
        limitKey: (req) => {
          const id = new URLSearchParams(req.rawBody).get('client_id');
          return id ? `client:${id}` : undefined;
        },
        handle(req) {
          const type = String(req.headers['content-type'] ?? '');
          if (!type.startsWith('application/x-www-form-urlencoded'))
            return { ...errors(400, 'Bad Request', 'expected application/x-www-form-urlencoded'), authOk: false };
          const form = new URLSearchParams(req.rawBody);
          const grant = form.get('grant_type');
          const clientId = form.get('client_id');
          if (!grant || !clientId)
            return { ...errors(400, 'Bad Request', 'grant_type and client_id are required'), authOk: false };
          if (grant !== 'client_credentials' && grant !== 'implicit')
            return { ...errors(400, 'Bad Request', 'unsupported grant_type'), authOk: false };
          if (
            clientId !== creds.clientId ||
            (grant === 'client_credentials' && form.get('client_secret') !== creds.clientSecret)
          ) {
            return { ...errors(401, 'Unauthorized'), authOk: false };
          }
          const lifetimeMs = Math.max(1000, ctx.scheduler.scaled(3600_000));
          const access = stableUuid(ctx.seed, 'token', ++seq).replace(/-/g, '');
          const expiresAt = ctx.clock.now() + lifetimeMs;
          tokens.set(access, { clientId, grant, expiresAt });
          return {
            status: 200,
            authOk: true,
            body: {
              data: {
                access_token: access,
                token_type: 'Bearer',
                expires_in: Math.round(lifetimeMs / 1000),
                expires: Math.floor(expiresAt / 1000),
                identifier: grant,
              },
            },
          };
        },
      },
      {
        method: 'GET',
        template: '/v2/customers',
        name: 'customers',
        auth: true,
        handle: (req) => listPeople(req, 'customer'),
      },
      {
        method: 'GET',
        template: '/v2/account-members',
        name: 'account-members',
        auth: true,
        handle: (req) => listPeople(req, 'account_member'),
      },
      {
        method: 'GET',
        template: '/v2/customers/{id}',
        name: 'customer-get',
        auth: true,
        handle(req) {
          const denied = admin(req);
          if (denied) return denied;
          const c = customers.find((x) => x.id === req.params.id);
          return c
            ? { status: 200, body: { data: customerJson(c) }, subjects: [c.email] }
            : errors(404, 'Not Found', 'not found');
        },
      },
      {
        method: 'POST',
        template: '/v2/personal-data/erasure-requests',
        name: 'erasure-create',
        auth: true,
        handle(req) {
          const denied = admin(req);
          if (denied) return denied;
          const body = jsonBody(req);
          const data = isRecord(body) ? body.data : undefined;
          if (!isRecord(data))
            return errors(400, 'Bad Request', "Validation failed: field 'Data' on the 'required' tag.");
          if (data.type !== 'erasure_request')
            return errors(400, 'Bad Request', "Validation failed: field 'Type' must be erasure_request.");
          if (typeof data.resource_type !== 'string' || !RESOURCE_TYPES.has(data.resource_type)) {
            return errors(400, 'Bad Request', "Validation failed: field 'ResourceType' on the 'oneof' tag.");
          }
          if (typeof data.resource_id !== 'string' || !/^[0-9a-f-]{36}$/i.test(data.resource_id)) {
            return errors(400, 'Bad Request', "Validation failed: field 'ResourceId' on the 'uuid' tag.");
          }
          const { resource_type, resource_id } = data;
          const duplicates = erasures.some(
            (e) => e.resource_type === resource_type && e.resource_id === resource_id && e.status !== 'FAILURE',
          )
            ? 1
            : 0;
          const kind = kindOf(resource_type);
          const customer = kind ? store(kind).find((c) => c.id === resource_id) : undefined;
          if (!kind || !customer) return { ...errors(400, 'Bad Request', 'resource not found'), duplicates };
          const now = iso();
          const e: Erasure = {
            id: stableUuid(ctx.seed, 'erasure', ++seq),
            resource_type,
            resource_id,
            email: customer.email,
            status: 'CREATED',
            created_at: now,
            updated_at: now,
          };
          erasures.push(e);
          ctx.scheduler.after(ctx.delays.elasticpathErasure, () => {
            e.status = outcome() < ctx.outcomes.elasticpathFailureRate ? 'FAILURE' : 'SUCCESS';
            e.updated_at = iso();
            if (e.status === 'SUCCESS') remove(kind, resource_id);
          });
          return { status: 201, body: { data: erasureJson(e) }, subjects: [customer.email], duplicates };
        },
      },
      {
        method: 'GET',
        template: '/v2/personal-data/erasure-requests',
        name: 'erasure-list',
        auth: true,
        handle(req) {
          const denied = admin(req);
          if (denied) return denied;
          const p = paging(req);
          if ('status' in p) return p;
          const filters = parseFilter(req.query.get('filter') ?? '');
          const attrs = filters
            ?.map((f) => `${f.op}:${f.attr}`)
            .sort()
            .join(',');
          if (!filters || attrs !== 'eq:resource_id,eq:resource_type') {
            return errors(
              400,
              'Bad Request',
              'bad filter: resource_id and resource_type are the filter fields that are both mandatory and only they are allowed',
            );
          }
          const type = filters.find((f) => f.attr === 'resource_type')!.value;
          const id = filters.find((f) => f.attr === 'resource_id')!.value;
          const list = erasures.filter((e) => e.resource_type === type && e.resource_id === id);
          return {
            status: 200,
            body: page(req, list.map(erasureJson), p),
            subjects: list.flatMap((e) => (e.email ? [e.email] : [])).slice(0, 1),
          };
        },
      },
      {
        method: 'GET',
        template: '/v2/personal-data/erasure-requests/{id}',
        name: 'erasure-get',
        auth: true,
        handle(req) {
          const denied = admin(req);
          if (denied) return denied;
          const e = erasures.find((x) => x.id === req.params.id);
          return e
            ? { status: 200, body: { data: erasureJson(e) }, subjects: e.email ? [e.email] : [] }
            : errors(404, 'Not Found', 'not found');
        },
      },
    ],
  };
}
