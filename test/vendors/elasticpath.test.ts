import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { absentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import { ElasticPathSpec } from '../../specs/index.ts';
import { elasticPath } from '../../controller/vendors/elasticpath/index.ts';
import { filterValue } from '../../controller/vendors/elasticpath/api.ts';
import { rebuiltJournal } from '../support/rebuilt-journal.ts';
import { vendorTestResources } from '../support/vendor-test.ts';
import { drive, type DriveRequest, type DriveResult } from '../support/drive.ts';

const VENDOR = 'elasticpath';
// 30 s nominal erasure -> 30 ms; the token lives 3.6 s.
const { sandbox, dataDir } = vendorTestResources('ep', {
  timeScale: 0.001,
  seed: 11,
  generatedSubjects: 80,
  outcomes: { elasticpathFailureRate: 0 },
});

const spec = (sb: Sandbox, extra: Record<string, unknown> = {}) =>
  ElasticPathSpec.parse({
    type: 'elasticpath',
    baseUrl: sb.config.vendors.elasticpath.baseUrl,
    environment: 'development',
    credentials: { clientId: 'env:EP_CLIENT_ID', clientSecret: 'env:EP_CLIENT_SECRET' },
    pollIntervalSeconds: 0.05,
    ...extra,
  });
const secrets = (sb: Sandbox) => ({
  clientId: String(sb.config.vendors.elasticpath.credentials.clientId),
  clientSecret: String(sb.config.vendors.elasticpath.credentials.clientSecret),
});
const bulk = (n: number) => `bulk${String(n).padStart(4, '0')}@example.com`;
const req = (name: string, emails: string[], identifiers?: Record<string, string>): DriveRequest => ({
  name,
  action: 'erasure',
  emails,
  ...(identifiers ? { identifiers } : {}),
});

function run(
  sb: Sandbox,
  dir: string,
  requests: DriveRequest[],
  extra: Partial<Parameters<typeof drive>[0]> = {},
): Promise<DriveResult> {
  return drive({
    driver: elasticPath.create(),
    vendor: VENDOR,
    spec: spec(sb),
    secrets: secrets(sb),
    requests,
    dataDir: dir,
    maxSleepMs: 200,
    maxPasses: 200,
    ...extra,
  });
}

async function assertNoEmails(dir: string, result: DriveResult, emails: string[]): Promise<void> {
  const journal = await readFile(join(dir, 'journal.json'), 'utf8');
  for (const t of [journal, JSON.stringify(result.tasks), result.log.join('\n')]) {
    for (const email of emails) assert.ok(!t.toLowerCase().includes(email.toLowerCase()), 'a subject email leaked');
  }
}

const route = (sb: Sandbox, method: string, path: string) =>
  sb.ledger().filter((e) => e.vendor === 'elasticpath' && e.method === method && e.route === `/elasticpath${path}`);
const creates = (sb: Sandbox) => route(sb, 'POST', '/v2/personal-data/erasure-requests');
const UUID = /^[0-9a-f-]{36}$/;

/** A token and an erasure request made by someone else, straight at the sandbox. */
async function foreignErasure(sb: Sandbox, email: string): Promise<string> {
  const base = sb.config.vendors.elasticpath.baseUrl;
  const s = secrets(sb);
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: s.clientId,
    client_secret: s.clientSecret,
  });
  const tok = await (
    await fetch(`${base}/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    })
  ).json();
  const auth = { authorization: `Bearer ${tok.data.access_token}` };
  const found = await (
    await fetch(`${base}/v2/customers?filter=${encodeURIComponent(`eq(email,${email})`)}`, { headers: auth })
  ).json();
  const body = JSON.stringify({
    data: { type: 'erasure_request', resource_type: 'customer', resource_id: found.data[0].id },
  });
  const created = await (
    await fetch(`${base}/v2/personal-data/erasure-requests`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body,
    })
  ).json();
  return created.data.id as string;
}

const OPENAPI = parse(
  readFileSync(new URL('../fixtures/vendor-specs/elasticpath/personal-data.openapi.yaml', import.meta.url), 'utf8'),
);
/** The documented example of the erasure listing: requests for other resources (accounts, an address). */
const LIST_EXAMPLE =
  OPENAPI.paths['/v2/personal-data/erasure-requests'].get.responses['200'].content['application/json'].examples
    .postErasureRequest.value;

const mocks: Array<{ close(): void }> = [];
after(() => mocks.forEach((m) => m.close()));

/**
 * A proxy in front of the sandbox that answers erasure listings with the OpenAPI example,
 * as a mock generated from the vendor's spec does (after the first `passThrough` ones).
 */
async function listingMock(upstream: string, passThrough = 0): Promise<string> {
  let lists = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/v2/personal-data/erasure-requests' && lists++ >= passThrough) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(LIST_EXAMPLE));
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type']) if (req.headers[h]) headers[h] = String(req.headers[h]);
    const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
    try {
      const up = await fetch(upstream + (req.url ?? '/'), { method: req.method, headers, body });
      res
        .writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' })
        .end(Buffer.from(await up.arrayBuffer()));
    } catch {
      // The sandbox's lost-response fault: lose ours too.
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mocks.push({ close: () => server.close() });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('Elastic Path driver', () => {
  it('escapes filter values', () => {
    assert.equal(filterValue('a"b\\c@example.com'), '"a\\"b\\\\c@example.com"');
    assert.equal(filterValue('0f850c15-d643-480a-a2b4-9e3c26067178'), '0f850c15-d643-480a-a2b4-9e3c26067178');
  });

  it('finds the customer by email, creates one erasure request and polls it to SUCCESS', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = [bulk(1)];
    const result = await run(sb, dir, [req('e-basic', emails)]);
    const t = result.tasks['e-basic']!;
    assert.equal(t.outcome, 'Erased');
    assert.equal(t.evidence.erasureStatus, 'SUCCESS');
    assert.equal(t.jobIds.length, 1);
    assert.match(t.jobIds[0]!, UUID);
    assert.equal(creates(sb).length, 1);
    assert.equal(route(sb, 'GET', '/v2/customers').length, 1);
    assert.ok(route(sb, 'GET', '/v2/personal-data/erasure-requests').length >= 1, 'listed before creating');
    // The customer id stays in the journal only: never in job ids or evidence.
    const customerId = (t.data.resources as Array<{ id: string }>)[0]!.id;
    assert.ok(!JSON.stringify({ jobIds: t.jobIds, evidence: t.evidence }).includes(customerId));
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
    await assertNoEmails(dir, result, emails);
  });

  it('completes with NoDataHeld when no customer has the email', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = [absentAt('elasticpath')[0]!.email];
    const result = await run(sb, dir, [req('e-none', emails)]);
    assert.equal(result.tasks['e-none']!.outcome, 'NoDataHeld');
    assert.match(result.tasks['e-none']!.evidence.lookup!, /no customer/);
    assert.equal(creates(sb).length, 0);
    await assertNoEmails(dir, result, emails);
  });

  it('uses the customerId identifier without a lookup', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const base = sb.config.vendors.elasticpath.baseUrl;
    const tok = await (
      await fetch(`${base}/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: secrets(sb).clientId,
          client_secret: secrets(sb).clientSecret,
        }),
      })
    ).json();
    const found = await (
      await fetch(`${base}/v2/customers?filter=${encodeURIComponent(`eq(email,${bulk(2)})`)}`, {
        headers: { authorization: `Bearer ${tok.data.access_token}` },
      })
    ).json();
    sb.reset();
    const result = await run(sb, dir, [req('e-id', [bulk(2)], { customerId: found.data[0].id })]);
    assert.equal(result.tasks['e-id']!.outcome, 'Erased');
    assert.equal(route(sb, 'GET', '/v2/customers').length, 0);
    assert.equal(creates(sb).length, 1);
  });

  it('reuses an erasure request that already exists for the customer', async () => {
    const sb = await sandbox({ delays: { elasticpathErasure: 300_000 } });
    const dir = await dataDir();
    const emails = [bulk(3)];
    const theirs = await foreignErasure(sb, emails[0]!);
    const result = await run(sb, dir, [req('e-reuse', emails)]);
    const t = result.tasks['e-reuse']!;
    assert.equal(t.outcome, 'Erased');
    assert.deepEqual(t.jobIds, [theirs]);
    assert.match(t.evidence.erasureRequest!, /reused/);
    assert.equal(creates(sb).length, 1, 'only the foreign one');
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
  });

  it('FAILURE: a new request each time, failed after maxAttempts with the vendor description', async () => {
    const sb = await sandbox({ outcomes: { elasticpathFailureRate: 1 } });
    const dir = await dataDir();
    const emails = [bulk(4)];
    const result = await drive({
      driver: elasticPath.create(),
      vendor: VENDOR,
      spec: spec(sb, { maxAttempts: 2 }),
      secrets: secrets(sb),
      requests: [req('e-fail', emails)],
      dataDir: dir,
      maxSleepMs: 200,
    });
    const t = result.tasks['e-fail']!;
    assert.equal(t.phase, 'Failed');
    assert.equal(t.lastError?.code, 'ELASTICPATH_ERASURE_FAILED');
    assert.match(t.lastError!.message, /after 2 attempts: There was an error processing your request/);
    assert.equal(creates(sb).length, 2);
    assert.equal(t.submissions, 2);
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
    await assertNoEmails(dir, result, emails);
  });

  it('refreshes the token before it expires (no 401 seen)', async () => {
    // Tokens live 1 s here; the erasure takes 2 s.
    const sb = await sandbox({ timeScale: 0.0001, delays: { elasticpathErasure: 20_000_000 } });
    const dir = await dataDir();
    const result = await run(sb, dir, [req('e-token', [bulk(5)])]);
    assert.equal(result.tasks['e-token']!.outcome, 'Erased');
    assert.ok(route(sb, 'POST', '/oauth/access_token').length >= 2, 'token refreshed');
    assert.equal(sb.ledger().filter((e) => e.status === 401).length, 0);
  });

  it('a revoked token (401) is refreshed once; a request the store lost is created again', async () => {
    const sb = await sandbox({ delays: { elasticpathErasure: 300_000 } });
    const dir = await dataDir();
    const requests = [req('e-401', [bulk(6)])];
    // One controller across both runs: its driver still holds the token the store forgot.
    const driver = elasticPath.create();
    await run(sb, dir, requests, { driver, stopWhen: (tasks) => tasks['e-401']?.step === 'poll' });
    sb.reset(); // every token and erasure request is gone
    const result = await run(sb, dir, requests, { driver, spec: spec(sb), maxPasses: 200 });
    assert.equal(result.tasks['e-401']!.outcome, 'Erased');
    assert.equal(sb.ledger().filter((e) => e.status === 401).length, 1);
    assert.equal(creates(sb).length, 1);
  });

  it('wrong credentials degrade the vendor; requests wait and finish once fixed', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [req('e-auth', [bulk(7)])];
    const bad = await run(sb, dir, requests, {
      secrets: { clientId: 'nope', clientSecret: 'wrong-secret' },
      maxPasses: 3,
    });
    const t = bad.tasks['e-auth']!;
    assert.ok(t.phase === 'Waiting' || t.phase === 'InProgress');
    assert.equal(t.lastError?.code, 'ELASTICPATH_UNAUTHORIZED');
    assert.ok(bad.log.some((l) => l.includes('vendor degraded')));
    assert.ok(!bad.log.join('\n').includes('wrong-secret'));
    const good = await run(sb, dir, requests);
    assert.equal(good.tasks['e-auth']!.outcome, 'Erased');
  });

  it('a lost answer to the create call is recovered by listing: no duplicate', async () => {
    const sb = await sandbox({ faults: 'elasticpath/erasure-create:lost=1' });
    const dir = await dataDir();
    const emails = [bulk(8)];
    const result = await run(sb, dir, [req('e-lost', emails)]);
    const t = result.tasks['e-lost']!;
    assert.equal(t.outcome, 'Erased');
    assert.equal(creates(sb).length, 1);
    assert.equal(t.jobIds.length, 1);
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
    await assertNoEmails(dir, result, emails);
  });

  it('a journal rebuilt from git follows the recorded request ids', async () => {
    const sb = await sandbox({ delays: { elasticpathErasure: 300_000 } });
    const dir = await dataDir();
    const emails = [bulk(9)];
    const first = await run(sb, dir, [req('e-rebuilt', emails)], {
      stopWhen: (tasks) => tasks['e-rebuilt']?.step === 'poll',
    });
    const jobIds = first.tasks['e-rebuilt']!.jobIds;
    const fresh = await dataDir();
    await rebuiltJournal(fresh, { request: 'e-rebuilt', vendor: VENDOR, action: 'erasure', step: 'poll', jobIds });
    const result = await run(sb, fresh, [req('e-rebuilt', emails)]);
    assert.equal(result.tasks['e-rebuilt']!.outcome, 'Erased');
    assert.deepEqual(result.tasks['e-rebuilt']!.jobIds, jobIds);
    assert.equal(creates(sb).length, 1);
    await assertNoEmails(fresh, result, emails);
  });

  it('resourceType account_member: looks members up by email, erases them as account_member resources', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = [bulk(10)];
    const result = await drive({
      driver: elasticPath.create(),
      vendor: VENDOR,
      spec: spec(sb, { resourceType: 'account_member' }),
      secrets: secrets(sb),
      requests: [req('e-member', emails)],
      dataDir: dir,
      maxSleepMs: 200,
      maxPasses: 200,
    });
    const t = result.tasks['e-member']!;
    assert.equal(t.outcome, 'Erased');
    assert.equal(route(sb, 'GET', '/v2/account-members').length, 1);
    assert.equal(route(sb, 'GET', '/v2/customers').length, 0);
    const created = creates(sb);
    assert.equal(created.length, 1);
    assert.equal(created[0]!.status, 201);
    assert.deepEqual(
      (t.data.resources as Array<{ type: string }>).map((r) => r.type),
      ['account_member'],
    );
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
    await assertNoEmails(dir, result, emails);
  });

  it('an accountMemberId identifier is erased as that member without a lookup', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const base = sb.config.vendors.elasticpath.baseUrl;
    const tok = await (
      await fetch(`${base}/oauth/access_token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: secrets(sb).clientId,
          client_secret: secrets(sb).clientSecret,
        }),
      })
    ).json();
    const found = await (
      await fetch(`${base}/v2/account-members?filter=${encodeURIComponent(`eq(email,${bulk(11)})`)}`, {
        headers: { authorization: `Bearer ${tok.data.access_token}` },
      })
    ).json();
    sb.reset();
    const result = await run(sb, dir, [req('e-member-id', [bulk(11)], { accountMemberId: found.data[0].id })]);
    assert.equal(result.tasks['e-member-id']!.outcome, 'Erased');
    assert.equal(route(sb, 'GET', '/v2/account-members').length, 0);
    assert.equal(creates(sb).length, 1);
  });

  for (const [what, path] of [
    ['an API version in the path', '/elasticpath/v2'],
    ['the host root', ''],
  ] as const) {
    it(`a wrong baseUrl (${what}) ends Stalled with ELASTICPATH_NOT_FOUND, never Completed`, async () => {
      const sb = await sandbox();
      const dir = await dataDir();
      const emails = [bulk(12)];
      const result = await drive({
        driver: elasticPath.create(),
        vendor: VENDOR,
        spec: spec(sb, { baseUrl: sb.url + path }),
        secrets: secrets(sb),
        requests: [req('e-wrong-url', emails)],
        dataDir: dir,
        maxSleepMs: 200,
        maxPasses: 6,
      });
      const t = result.tasks['e-wrong-url']!;
      assert.equal(t.phase, 'Stalled');
      assert.equal(t.lastError?.code, 'ELASTICPATH_NOT_FOUND');
      assert.equal(t.outcome, undefined);
      assert.equal(creates(sb).length, 0);
      await assertNoEmails(dir, result, emails);
    });
  }

  it("a store whose erasure listing holds other resources (the OpenAPI example) is never read as this customer's: Stalled, nothing adopted", async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = [bulk(13)];
    const proxy = await listingMock(sb.config.vendors.elasticpath.baseUrl);
    const result = await drive({
      driver: elasticPath.create(),
      vendor: VENDOR,
      spec: spec(sb, { baseUrl: proxy }),
      secrets: secrets(sb),
      requests: [req('e-mock', emails)],
      dataDir: dir,
      maxSleepMs: 200,
      maxPasses: 6,
    });
    const t = result.tasks['e-mock']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'ELASTICPATH_ANSWER_MISMATCH');
    assert.equal(t.outcome, undefined);
    assert.equal(creates(sb).length, 0);
    assert.deepEqual(t.jobIds, [], 'no foreign request adopted');
  });

  it('a lost create answer, then a listing of other resources: recovery adopts nothing and creates nothing more', async () => {
    const sb = await sandbox({ faults: 'elasticpath/erasure-create:lost=1' });
    const dir = await dataDir();
    const emails = [bulk(14)];
    // The first list (before creating) is the store's own; every later one is the mock's.
    const proxy = await listingMock(sb.config.vendors.elasticpath.baseUrl, 1);
    const result = await drive({
      driver: elasticPath.create(),
      vendor: VENDOR,
      spec: spec(sb, { baseUrl: proxy }),
      secrets: secrets(sb),
      requests: [req('e-mock-recover', emails)],
      dataDir: dir,
      maxSleepMs: 200,
      maxPasses: 6,
    });
    const t = result.tasks['e-mock-recover']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'ELASTICPATH_ANSWER_MISMATCH');
    assert.equal(creates(sb).length, 1, 'the lost create is not repeated');
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
  });

  it('50 requests within 25/s: no rate-limit violation, no duplicate', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = Array.from({ length: 50 }, (_, i) => req(`e-bulk-${String(i).padStart(2, '0')}`, [bulk(20 + i)]));
    const result = await run(sb, dir, requests);
    assert.ok(requests.every((r) => result.tasks[r.name]!.outcome === 'Erased'));
    const stats = sb.stats().elasticpath;
    assert.equal(stats.rateLimitViolations, 0);
    assert.equal(stats.duplicateSubmissions, 0);
    assert.equal(creates(sb).length, 50);
    await assertNoEmails(
      dir,
      result,
      requests.flatMap((r) => r.emails),
    );
  });
});
