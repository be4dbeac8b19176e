import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { absentAt, presentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import type { ManualClock } from '../../examples/sandbox/clock.ts';
import { call, epToken, manualSandbox } from './helpers.ts';
import { OpenApiValidator } from './openapi-validator.ts';

const spec = new OpenApiValidator(
  fileURLToPath(new URL('../fixtures/vendor-specs/elasticpath/personal-data.openapi.yaml', import.meta.url)),
);
const ERASURES = '/v2/personal-data/erasure-requests';

function assertValid(body: unknown, path: string, method: string, status: string): void {
  const schema = spec.responseSchema(path, method, status);
  assert.deepEqual(
    spec.validate(body, schema),
    [],
    `${method.toUpperCase()} ${path} ${status} must match the OpenAPI schema`,
  );
}

describe('sandbox: Elastic Path', () => {
  let sb: Sandbox;
  let clock: ManualClock;
  let token: string;
  before(async () => {
    ({ sb, clock } = await manualSandbox({ outcomes: { elasticpathFailureRate: 0 } }));
    token = await epToken(sb);
  });
  after(() => sb.stop());

  const ep = (method: string, path: string, json?: unknown, bearer: string | null = token) => {
    clock.advance(100);
    return call(sb, method, `/elasticpath${path}`, {
      headers: bearer ? { authorization: `Bearer ${bearer}` } : {},
      json,
    });
  };
  const customerId = async (email: string): Promise<string | undefined> =>
    (await ep('GET', `/v2/customers?filter=eq(email,${encodeURIComponent(email)})`)).json.data[0]?.id;

  it('validator self-check: it rejects a body that violates the schema', () => {
    const schema = spec.responseSchema(ERASURES, 'post', '201');
    assert.notDeepEqual(spec.validate({ data: { id: 5, type: 'erasure_request' } }, schema), []);
    assert.notDeepEqual(spec.validate({ errors: [{ title: 'x' }] }, spec.responseSchema(ERASURES, 'get', '401')), []);
  });

  it('token endpoint: 200 client_credentials (form-encoded), 400 and 401', async () => {
    const c = sb.config.vendors.elasticpath.credentials;
    const form = (o: Record<string, string>) => ({
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(o).toString(),
    });
    const ok = await call(
      sb,
      'POST',
      '/elasticpath/oauth/access_token',
      form({ grant_type: 'client_credentials', client_id: String(c.clientId), client_secret: String(c.clientSecret) }),
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.json.data.token_type, 'Bearer');
    assert.equal(ok.json.data.expires_in, 3600);
    assert.equal(ok.json.data.identifier, 'client_credentials');
    const missing = await call(sb, 'POST', '/elasticpath/oauth/access_token', form({ client_id: String(c.clientId) }));
    assert.equal(missing.status, 400);
    assert.equal(missing.json.errors[0].status, '400');
    const json = await call(sb, 'POST', '/elasticpath/oauth/access_token', {
      json: { grant_type: 'client_credentials' },
    });
    assert.equal(json.status, 400);
    const bad = await call(
      sb,
      'POST',
      '/elasticpath/oauth/access_token',
      form({ grant_type: 'client_credentials', client_id: String(c.clientId), client_secret: 'wrong' }),
    );
    assert.equal(bad.status, 401);
    assert.deepEqual(bad.json, { errors: [{ title: 'Unauthorized', status: '401' }] });
    const implicit = await call(
      sb,
      'POST',
      '/elasticpath/oauth/access_token',
      form({ grant_type: 'implicit', client_id: String(c.clientId) }),
    );
    assert.equal(implicit.status, 200);
    assert.equal(
      (
        await ep(
          'GET',
          ERASURES + '?filter=eq(resource_type,customer):eq(resource_id,x)',
          undefined,
          implicit.json.data.access_token,
        )
      ).status,
      403,
    );
  });

  it('customers: filter eq(email,...), absent subject gives an empty list, bad filter 400', async () => {
    const present = presentAt('elasticpath')[0]!.email;
    const r = await ep('GET', `/v2/customers?filter=eq(email,${present})`);
    assert.equal(r.status, 200);
    assert.equal(r.json.data.length, 1);
    assert.equal(r.json.data[0].email, present);
    assert.equal(r.json.data[0].type, 'customer');
    assert.equal(r.json.meta.results.total, 1);
    assert.deepEqual(
      (await ep('GET', `/v2/customers?filter=eq(email,${absentAt('elasticpath')[0]!.email})`)).json.data,
      [],
    );
    assert.equal((await ep('GET', '/v2/customers?filter=eq(email')).status, 400);
    assert.equal((await ep('GET', '/v2/customers?filter=gt(email,a)')).status, 400);
    assert.ok((await ep('GET', '/v2/customers?filter=like(email,*@example.com)')).json.data.length >= 2);
  });

  it('erasure: POST 201 CREATED, GET by id, list by filter; all match the OpenAPI schemas; then SUCCESS removes the customer', async () => {
    const email = presentAt('elasticpath')[0]!.email;
    const id = (await customerId(email))!;
    const created = await ep('POST', ERASURES, {
      data: { type: 'erasure_request', resource_type: 'customer', resource_id: id },
    });
    assert.equal(created.status, 201);
    assert.equal(created.json.data.status, 'CREATED');
    assertValid(created.json, ERASURES, 'post', '201');

    const got = await ep('GET', `${ERASURES}/${created.json.data.id}`);
    assert.equal(got.status, 200);
    assertValid(got.json, `${ERASURES}/{erasure_request_id}`, 'get', '200');

    const list = await ep(
      'GET',
      `${ERASURES}?filter=eq(resource_type,customer):eq(resource_id,${id})&page[offset]=0&page[limit]=10`,
    );
    assert.equal(list.status, 200);
    assert.equal(list.json.data.length, 1);
    assertValid(list.json, ERASURES, 'get', '200');

    clock.advance(30_000);
    const done = await ep('GET', `${ERASURES}/${created.json.data.id}`);
    assert.equal(done.json.data.status, 'SUCCESS');
    assert.equal(await customerId(email), undefined);
    assert.equal((await ep('GET', `/v2/customers/${id}`)).status, 404);
  });

  it('erasure errors: 400 bodies, bad filter, page bounds, 404, 401 - all JSON:API errors arrays', async () => {
    const badBodies: unknown[] = [
      {},
      { data: { type: 'x', resource_type: 'customer', resource_id: '00000000-0000-1000-8000-000000000000' } },
      {
        data: { type: 'erasure_request', resource_type: 'planet', resource_id: '00000000-0000-1000-8000-000000000000' },
      },
      { data: { type: 'erasure_request', resource_type: 'customer', resource_id: 'nope' } },
      {
        data: {
          type: 'erasure_request',
          resource_type: 'customer',
          resource_id: '00000000-0000-1000-8000-000000000000',
        },
      },
    ];
    for (const body of badBodies) {
      const r = await ep('POST', ERASURES, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assertValid(r.json, ERASURES, 'post', '400');
    }
    const id = presentAt('elasticpath')[1] ? (await customerId(presentAt('elasticpath')[1]!.email))! : '';
    const base = `${ERASURES}?filter=eq(resource_type,customer):eq(resource_id,${id})`;
    for (const path of [ERASURES, `${ERASURES}?filter=eq(resource_id,${id})`, `${ERASURES}?filter=eq(email,x)`]) {
      const r = await ep('GET', path);
      assert.equal(r.status, 400);
      assert.match(r.json.errors[0].detail, /bad filter/);
    }
    assert.equal((await ep('GET', `${base}&page[offset]=10000`)).status, 200);
    assert.equal((await ep('GET', `${base}&page[offset]=10001`)).status, 400);
    assert.equal((await ep('GET', `${base}&page[limit]=100`)).status, 200);
    assert.equal((await ep('GET', `${base}&page[limit]=101`)).status, 400);
    const nf = await ep('GET', `${ERASURES}/00000000-0000-1000-8000-000000000000`);
    assert.equal(nf.status, 404);
    assertValid(nf.json, `${ERASURES}/{erasure_request_id}`, 'get', '404');
    const unauth = await ep('GET', base, undefined, null);
    assert.equal(unauth.status, 401);
    assertValid(unauth.json, ERASURES, 'get', '401');
  });

  it('account members: looked up by email, erased as resource_type account_member, removed on SUCCESS', async () => {
    const email = presentAt('elasticpath')[3]!.email;
    const found = await ep('GET', `/v2/account-members?filter=eq(email,${email})`);
    assert.equal(found.status, 200);
    assert.equal(found.json.data.length, 1);
    assert.equal(found.json.data[0].type, 'account_member');
    const id = found.json.data[0].id as string;
    assert.notEqual(id, await customerId(email), 'an account member has its own id');
    assert.equal(
      (await ep('POST', ERASURES, { data: { type: 'erasure_request', resource_type: 'customer', resource_id: id } }))
        .status,
      400,
      'a member id is no customer',
    );
    const created = await ep('POST', ERASURES, {
      data: { type: 'erasure_request', resource_type: 'account_member', resource_id: id },
    });
    assert.equal(created.status, 201);
    assertValid(created.json, ERASURES, 'post', '201');
    const list = await ep('GET', `${ERASURES}?filter=eq(resource_type,account_member):eq(resource_id,${id})`);
    assert.deepEqual(
      list.json.data.map((e: { id: string }) => e.id),
      [created.json.data.id],
    );
    assert.equal(
      (await ep('GET', `${ERASURES}?filter=eq(resource_type,customer):eq(resource_id,${id})`)).json.data.length,
      0,
    );
    clock.advance(30_000);
    assert.equal((await ep('GET', `${ERASURES}/${created.json.data.id}`)).json.data.status, 'SUCCESS');
    assert.deepEqual((await ep('GET', `/v2/account-members?filter=eq(email,${email})`)).json.data, []);
  });

  it("a path the store does not serve answers the web server's HTML 404, not a JSON:API error", async () => {
    for (const path of [
      '/elasticpath/v3/personal-data/erasure-requests',
      '/elasticpath/v2/personal-data/erasure-request',
      '/v2/customers',
    ]) {
      const r = await call(sb, 'GET', path, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(r.json, undefined);
    }
  });

  it('tokens expire after 3600 s x time-scale', async () => {
    const t = await epToken(sb);
    clock.advance(3_599_000);
    assert.equal((await ep('GET', '/v2/customers', undefined, t)).status, 200);
    clock.advance(1_000);
    assert.equal((await ep('GET', '/v2/customers', undefined, t)).status, 401);
    token = await epToken(sb);
  });

  it('FAILURE: a configurable fraction fails and leaves the customer in place', async () => {
    const { sb: sb2, clock: c2 } = await manualSandbox({ outcomes: { elasticpathFailureRate: 1 } });
    try {
      const t = await epToken(sb2);
      const h = { authorization: `Bearer ${t}` };
      const email = presentAt('elasticpath')[2]!.email;
      const id = (await call(sb2, 'GET', `/elasticpath/v2/customers?filter=eq(email,${email})`, { headers: h })).json
        .data[0].id;
      const e = await call(sb2, 'POST', `/elasticpath${ERASURES}`, {
        headers: h,
        json: { data: { type: 'erasure_request', resource_type: 'customer', resource_id: id } },
      });
      c2.advance(30_000);
      const got = await call(sb2, 'GET', `/elasticpath${ERASURES}/${e.json.data.id}`, { headers: h });
      assert.equal(got.json.data.status, 'FAILURE');
      assert.equal((await call(sb2, 'GET', `/elasticpath/v2/customers/${id}`, { headers: h })).status, 200);
      // A retry after FAILURE is the documented remedy, not a duplicate.
      await call(sb2, 'POST', `/elasticpath${ERASURES}`, {
        headers: h,
        json: { data: { type: 'erasure_request', resource_type: 'customer', resource_id: id } },
      });
      assert.equal(sb2.stats().elasticpath.duplicateSubmissions, 0);
    } finally {
      await sb2.stop();
    }
  });
});
