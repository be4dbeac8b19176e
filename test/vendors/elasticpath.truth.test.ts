import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { elasticPath } from '../../controller/vendors/elasticpath/index.ts';
import type { CallOptions } from '../../controller/http/types.ts';
import { ElasticPathSpec } from '../../specs/index.ts';
import {
  erasureTask,
  html,
  json,
  raw,
  RESET,
  runTask,
  scriptedHttp,
  sequence,
  SUCCESS_OUTCOMES,
  TIMEOUT,
  type Answer,
  type Exchange,
} from '../support/scripted-vendor.ts';

/**
 * Elastic Path truth table (seed 003 + the vendor's OpenAPI). Decision points: token, the
 * customer lookup, the erasure listing, the create call and the get-by-id poll. Whatever
 * they answer, the task may end `Erased` only on a documented SUCCESS for the very customer
 * asked about, `NoDataHeld` only on the documented empty lookup, and no erasure request is
 * created while an earlier one may be live, unless the store documented it FAILED, lost it
 * (documented 404) or lists none for that customer.
 */

const spec = ElasticPathSpec.parse({
  type: 'elasticpath',
  baseUrl: 'https://useast.api.elasticpath.com',
  credentials: { clientId: 'env:EP_CLIENT_ID', clientSecret: 'env:EP_CLIENT_SECRET' },
  pollIntervalSeconds: 1,
});

const EMAIL = 'subject.one@example.com';
const CID = 'c0ffee00-0000-4000-8000-000000000001';
const OTHER = 'deadbeef-0000-4000-8000-000000000002';
const OPENAPI = parse(
  readFileSync(new URL('../fixtures/vendor-specs/elasticpath/personal-data.openapi.yaml', import.meta.url), 'utf8'),
);
const LIST_EXAMPLE =
  OPENAPI.paths['/v2/personal-data/erasure-requests'].get.responses['200'].content['application/json'].examples
    .postErasureRequest.value;

const erasure = (id: string, status: string, resourceId = CID, resourceType = 'customer') => ({
  id,
  type: 'erasure_request',
  resource_type: resourceType,
  resource_id: resourceId,
  status,
  status_description: 'sentence',
  created_at: '2026-12-01T00:00:00Z',
  updated_at: '2026-12-01T00:00:00Z',
});
const listOf = (...items: unknown[]) => ({
  data: items,
  meta: { page: { limit: 100, offset: 0, current: 1, total: 1 }, results: { total: items.length } },
  links: {},
});
const jsonApiError = (status: number) =>
  json(status, { errors: [{ title: 'Error', status: String(status), detail: 'detail' }] }, `${status} json:api`);
const requestId = fc
  .integer({ min: 1, max: 0xffffff })
  .map((n) => `e0000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`);

/** Answers that do not depend on the call; the get-by-id answers take the id asked for. */
type Scripted = Answer | ((askedId: string) => Answer);

const transport = fc.constantFrom<Answer>(
  html(200, '200 html'),
  raw(200, '', 'application/json', '200 empty'),
  html(404, '404 html (wrong route)'),
  html(502, '502 html'),
  jsonApiError(500),
  jsonApiError(503),
  TIMEOUT,
  RESET,
);
const arbitraryJson = (status: number, tag: string) => fc.jsonValue().map((v) => json(status, v, tag));

const tokenAnswer: fc.Arbitrary<Answer> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constant(
      json(
        200,
        { data: { access_token: 'tok', token_type: 'Bearer', expires_in: 3600, identifier: 'client_credentials' } },
        'token ok',
      ),
    ),
  },
  fc.constantFrom<Answer>(
    json(200, { access_token: 'tok', expires_in: 3600 }, 'token flat'),
    json(200, { data: {} }, 'token no access_token'),
    jsonApiError(401),
    jsonApiError(400),
  ),
  transport,
);

const lookupAnswer: fc.Arbitrary<Answer> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.constant(json(200, listOf({ type: 'customer', id: CID, name: 'S', email: EMAIL }), 'lookup found')),
  },
  { weight: 2, arbitrary: fc.constant(json(200, listOf(), 'lookup empty')) },
  fc.constantFrom<Answer>(
    json(200, listOf({ type: 'customer', id: CID, name: 'S', email: EMAIL.toUpperCase() }), 'lookup found (case)'),
    json(
      200,
      listOf({ type: 'customer', id: OTHER, name: 'X', email: 'someone.else@example.com' }),
      'lookup other person',
    ),
    json(
      200,
      listOf(
        { type: 'customer', id: CID, name: 'S', email: EMAIL },
        { type: 'customer', id: OTHER, name: 'X', email: 'x@example.com' },
      ),
      'lookup filter ignored',
    ),
    json(200, { data: [], meta: { results: { total: 3 } } }, 'lookup empty page, total 3'),
    json(200, { data: [] }, 'lookup no meta'),
    json(200, { data: [{ id: CID }], meta: { results: { total: 1 } } }, 'lookup partial item'),
    json(200, {}, 'lookup {}'),
    jsonApiError(400),
    jsonApiError(404),
  ),
  transport,
  arbitraryJson(200, 'lookup arbitrary json'),
);

const listAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(json(200, listOf(), 'list empty')) },
  requestId.map((id) => json(200, listOf(erasure(id, 'CREATED')), 'list own CREATED')),
  requestId.map((id) => json(200, listOf(erasure(id, 'SUCCESS')), 'list own SUCCESS')),
  requestId.map((id) => json(200, listOf(erasure(id, 'FAILURE')), 'list own FAILURE')),
  requestId.map((id) => json(200, listOf(erasure(id, 'PROCESSING')), 'list own unknown status')),
  requestId.map((id) => json(200, listOf(erasure(id, 'SUCCESS', OTHER)), 'list other customer SUCCESS')),
  requestId.map((id) => json(200, listOf(erasure(id, 'SUCCESS', CID, 'account')), 'list other type SUCCESS')),
  fc.constantFrom<Answer>(
    json(200, LIST_EXAMPLE, 'list OpenAPI example (other resources)'),
    json(200, { data: [] }, 'list no meta'),
    json(200, { data: [erasure('e1', 'SUCCESS')] }, 'list SUCCESS no meta'),
    jsonApiError(400),
    jsonApiError(401),
    jsonApiError(404),
  ),
  transport,
  arbitraryJson(200, 'list arbitrary json'),
);

const createAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 5, arbitrary: requestId.map((id) => json(201, { data: erasure(id, 'CREATED') }, 'create ok')) },
  requestId.map((id) => json(201, { data: erasure(id, 'CREATED', OTHER) }, 'create other customer')),
  requestId.map((id) => json(200, { data: erasure(id, 'CREATED') }, 'create 200')),
  requestId.map((id) => json(201, { data: erasure(id, 'SUCCESS') }, 'create already SUCCESS')),
  fc.constantFrom<Answer>(
    json(201, {}, 'create {}'),
    json(201, { data: { id: 'e1' } }, 'create partial'),
    jsonApiError(400),
    jsonApiError(404),
    jsonApiError(422),
  ),
  transport,
  arbitraryJson(201, 'create arbitrary json'),
);

const getAnswer: fc.Arbitrary<Scripted> = fc.oneof(
  { weight: 4, arbitrary: fc.constant((id: string) => json(200, { data: erasure(id, 'SUCCESS') }, 'get SUCCESS')) },
  { weight: 2, arbitrary: fc.constant((id: string) => json(200, { data: erasure(id, 'CREATED') }, 'get CREATED')) },
  fc.constantFrom<Scripted>(
    (id) => json(200, { data: erasure(id, 'FAILURE') }, 'get FAILURE'),
    (id) => json(200, { data: erasure(id, 'DONE') }, 'get unknown status'),
    (id) => json(200, { data: erasure(id, 'success') }, 'get lower-case success'),
    (id) => json(200, { data: erasure(id, 'SUCCESS', OTHER) }, 'get other customer'),
    () => json(200, { data: erasure('e0000000-0000-4000-8000-ffffffffffff', 'SUCCESS') }, 'get other request'),
    (id) => json(200, { data: { id, status: 'SUCCESS' } }, 'get partial'),
    (id) => json(200, erasure(id, 'SUCCESS'), 'get unwrapped'),
    jsonApiError(404),
    json(404, { error: 'not found' }, 'get 404 other json'),
    jsonApiError(400),
  ),
  transport,
  arbitraryJson(200, 'get arbitrary json'),
);

const script = fc.record({
  token: fc.array(tokenAnswer, { minLength: 1, maxLength: 3 }),
  lookup: fc.array(lookupAnswer, { minLength: 1, maxLength: 3 }),
  list: fc.array(listAnswer, { minLength: 1, maxLength: 4 }),
  create: fc.array(createAnswer, { minLength: 1, maxLength: 3 }),
  get: fc.array(getAnswer, { minLength: 1, maxLength: 5 }),
});
type Script = { token: Answer[]; lookup: Answer[]; list: Answer[]; create: Answer[]; get: Scripted[] };

const ERASURES = '/v2/personal-data/erasure-requests';
const pathOf = (url: string) => new URL(url).pathname;
const kind = (e: { method: string; url: string }) => {
  const p = pathOf(e.url);
  if (p === '/oauth/access_token') return 'token';
  if (p === '/v2/customers') return 'lookup';
  if (p === ERASURES) return e.method === 'POST' ? 'create' : 'list';
  if (p.startsWith(`${ERASURES}/`)) return 'get';
  return 'other';
};

let runs = 0;
async function play(s: Script, identifiers: Record<string, string> = {}) {
  const log: Exchange[] = [];
  const next = {
    token: sequence(s.token),
    lookup: sequence(s.lookup),
    list: sequence(s.list),
    create: sequence(s.create),
  };
  let gets = 0;
  const answer = (call: CallOptions): Answer => {
    const k = kind(call);
    if (k === 'get') {
      const g = s.get[Math.min(gets++, s.get.length - 1)]!;
      return typeof g === 'function' ? g(decodeURIComponent(pathOf(call.url).slice(ERASURES.length + 1))) : g;
    }
    if (k === 'other') throw new Error(`unexpected call ${call.method} ${call.url}`);
    return next[k]();
  };
  const end = await runTask({
    driver: elasticPath.create(),
    spec,
    vendor: `ep-truth-${++runs}`,
    secrets: { clientId: 'client', clientSecret: 'secret' },
    task: erasureTask(identifiers, [EMAIL]),
    http: scriptedHttp(answer, log),
    maxSteps: 16,
  });
  return { end, log };
}

const body = (a: Answer): Record<string, any> | undefined =>
  a.kind === 'response' && typeof a.json === 'object' && a.json !== null && !Array.isArray(a.json)
    ? (a.json as Record<string, any>)
    : undefined;
const isOwn = (e: any) =>
  e?.type === 'erasure_request' && e.resource_type === 'customer' && e.resource_id === CID && typeof e.id === 'string';
/** A documented listing: every entry names the customer, with a result total. */
const documentedList = (a: Answer) => {
  const b = body(a);
  return a.kind === 'response' &&
    a.status === 200 &&
    Array.isArray(b?.data) &&
    Number.isInteger(b?.meta?.results?.total) &&
    b!.data.every(isOwn)
    ? (b!.data as any[])
    : undefined;
};
/** The store's own word that this customer's erasure request succeeded. */
function provesSuccess(e: Exchange): boolean {
  const k = kind(e);
  if (k === 'get') {
    const b = body(e.answer);
    const asked = decodeURIComponent(pathOf(e.url).slice(ERASURES.length + 1));
    return (
      e.answer.kind === 'response' &&
      e.answer.status === 200 &&
      isOwn(b?.data) &&
      b!.data.id === asked &&
      b!.data.status === 'SUCCESS'
    );
  }
  if (k === 'list') return (documentedList(e.answer) ?? []).some((x) => x.status === 'SUCCESS');
  return false;
}
const documentedEmptyLookup = (a: Answer) => {
  const b = body(a);
  return (
    a.kind === 'response' &&
    a.status === 200 &&
    Array.isArray(b?.data) &&
    b!.data.length === 0 &&
    b?.meta?.results?.total === 0
  );
};
const trail = (log: Exchange[]) => log.map((e) => `${kind(e)}: ${e.answer.tag}`).join(' | ');

describe('Elastic Path truth table', () => {
  it('only documented answers yield a success outcome: SUCCESS for this customer, or the documented empty lookup', async () => {
    const seen = { Erased: 0, NoDataHeld: 0 };
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const { end, log } = await play(s);
        if (end.outcome === undefined || !SUCCESS_OUTCOMES.has(end.outcome)) return;
        if (end.outcome === 'NoDataHeld') {
          seen.NoDataHeld++;
          assert.ok(
            log.some((e) => kind(e) === 'lookup' && documentedEmptyLookup(e.answer)),
            `NoDataHeld without the documented empty lookup: ${trail(log)}`,
          );
          assert.equal(log.filter((e) => kind(e) === 'create').length, 0);
          return;
        }
        assert.equal(end.outcome, 'Erased', trail(log));
        seen.Erased++;
        assert.ok(log.some(provesSuccess), `Erased without a documented SUCCESS for the customer: ${trail(log)}`);
      }),
      { numRuns: 500 },
    );
    assert.ok(seen.Erased > 0 && seen.NoDataHeld > 0, `the table reached both successes (${JSON.stringify(seen)})`);
  });

  it('never creates an erasure request while an earlier one may be live', async () => {
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const { log } = await play(s);
        let live = false;
        for (const e of log) {
          const k = kind(e);
          const a = e.answer;
          if (k === 'create') {
            assert.equal(live, false, `second create: ${trail(log)}`);
            live = !(a.kind === 'response' && a.status >= 400 && a.status < 500);
          } else if (k === 'list') {
            const items = documentedList(a);
            if (items && !items.some((x) => x.status === 'CREATED' || x.status === 'SUCCESS')) live = false;
          } else if (k === 'get' && a.kind === 'response') {
            const b = body(a);
            if (
              (a.status === 200 && isOwn(b?.data) && b!.data.status === 'FAILURE') ||
              (a.status === 404 && Array.isArray(b?.errors))
            )
              live = false;
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the OpenAPI listing example (other resources) is never adopted, in submit or in recovery', async () => {
    const example = json(200, LIST_EXAMPLE, 'example');
    const token = [json(200, { data: { access_token: 'tok', expires_in: 3600 } }, 'token')];
    const found = [json(200, listOf({ type: 'customer', id: CID, name: 'S', email: EMAIL }), 'found')];
    const submit = await play({
      token,
      lookup: found,
      list: [example],
      create: [json(201, { data: erasure('e1', 'CREATED') }, 'c')],
      get: [(id) => json(200, { data: erasure(id, 'SUCCESS') }, 'g')],
    });
    assert.equal(submit.end.phase, 'Stalled');
    assert.equal(submit.end.code, 'ELASTICPATH_ANSWER_MISMATCH');
    assert.equal(submit.log.filter((e) => kind(e) === 'create').length, 0);
    const recovery = await play({
      token,
      lookup: found,
      list: [json(200, listOf(), 'empty'), example],
      create: [RESET],
      get: [(id) => json(200, { data: erasure(id, 'SUCCESS') }, 'g')],
    });
    assert.equal(recovery.end.phase, 'Stalled');
    assert.equal(recovery.end.code, 'ELASTICPATH_ANSWER_MISMATCH');
    assert.equal(recovery.log.filter((e) => kind(e) === 'create').length, 1);
  });
});
