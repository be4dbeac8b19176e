import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  absentAt,
  presentAt,
  startSandbox,
  subjectHash,
  type Sandbox,
  type SubjectFixture,
} from '../../examples/sandbox/index.ts';
import { SEED_EXAMPLE_EMAIL } from '../../examples/sandbox/vendors/acme.ts';
import { ApiProxySpec } from '../../specs/index.ts';
import { readExportIndex } from '../../controller/exports/index.ts';
import { apiProxyDriver } from '../../controller/vendors/apiproxy/index.ts';
import { objectsOf } from '../../controller/vendors/apiproxy/api.ts';
import type { Query } from '../../controller/vendors/apiproxy/queries.ts';
import type { HttpResponse } from '../../controller/http/types.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';
import type { AnyDriver } from '../../controller/contracts/driver.ts';
import { drive, type DriveRequest, type DriveResult } from '../support/drive.ts';

const FIXTURES = new URL('../fixtures/apiproxy/', import.meta.url);
const SEED_TEXT = await readFile(new URL('seed-connection.json', FIXTURES), 'utf8');
const VENDOR = 'user-service';

/** Lowercase on purpose: the sandbox ledger hashes lowercased emails, so equality proves exact bytes. */
const HOSTILE = `o'brien"&#%+=?;zoë.日本@example.com`;
const extraSubjects: SubjectFixture[] = [
  { email: SEED_EXAMPLE_EMAIL, firstName: 'Peter', lastName: 'Gibbons', phone: '+1-555-0142', vendors: ['acme'] },
  { email: HOSTILE, firstName: 'Zoë', lastName: "O'Brien", phone: '+1-555-0143', vendors: ['acme'] },
];

type Connection = Record<string, any>;

/** The seed's connection object, verbatim but for the origin of its URLs. */
function seedConnection(sb: Sandbox): Connection {
  return JSON.parse(SEED_TEXT.replaceAll('https://api.acme.com', sb.config.vendors.acme.baseUrl)) as Connection;
}

function specOf(connection: Connection, extra: Record<string, unknown> = {}) {
  return ApiProxySpec.parse({
    type: 'apiproxy',
    connection,
    credentials: { credentials: 'env:ACME_CREDENTIALS' },
    ...extra,
  });
}

const driver = apiProxyDriver as AnyDriver;
const dirs: string[] = [];
async function dataDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'lethe-apiproxy-'));
  dirs.push(d);
  return d;
}

function secretsOf(sb: Sandbox): Record<string, string> {
  return { credentials: String(sb.config.vendors.acme.credentials.credentials) };
}

async function run(
  sb: Sandbox,
  spec: ReturnType<typeof specOf>,
  requests: DriveRequest[],
  opts: { dir?: string; maxPasses?: number; secrets?: Record<string, string> } = {},
) {
  const dir = opts.dir ?? (await dataDir());
  const secrets = opts.secrets ?? secretsOf(sb);
  const result = await drive({
    driver,
    vendor: VENDOR,
    spec,
    secrets,
    requests,
    dataDir: dir,
    maxPasses: opts.maxPasses ?? 10,
    maxSleepMs: 300,
  });
  await assertNoPersonalData(result, dir, requests);
  return { ...result, dir };
}

/** Task records, the journal file, log lines and error messages never carry a subject email or phone. */
async function assertNoPersonalData(result: DriveResult, dir: string, requests: DriveRequest[]): Promise<void> {
  const journal = await readFile(join(dir, 'journal.json'), 'utf8');
  const haystacks = [JSON.stringify(result.tasks), journal, result.log.join('\n')].map((s) => s.toLowerCase());
  const needles = requests
    .flatMap((r) => r.emails)
    .flatMap((e) => [e, encodeURIComponent(e), JSON.stringify(e).slice(1, -1)]);
  const phones = [...presentAt('acme'), ...extraSubjects].map((s) => s.phone);
  for (const n of [...needles, ...phones]) {
    for (const h of haystacks)
      assert.ok(!h.includes(n.toLowerCase()), 'personal data found in task records, journal or log');
  }
}

function calls(sb: Sandbox, method: string, route: string) {
  return sb.ledger().filter((e) => e.vendor === 'acme' && e.method === method && e.route === `/acme/v0${route}`);
}

const exportDir = (dir: string, request: string) => join(dir, 'exports', request, VENDOR);

after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('apiproxy driver against the sandbox (seed 002)', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({ port: 0, timeScale: 0.01, seed: 1, subjects: extraSubjects });
  });
  after(() => sb.stop());

  const present = presentAt('acme');
  const absent = absentAt('acme');

  it('the seed connection object loads unchanged (before and after pointing it at the sandbox)', () => {
    const original = ApiProxySpec.parse({ type: 'apiproxy', connection: JSON.parse(SEED_TEXT) });
    assert.deepEqual(original.connection.capabilities, [
      'privacy/access',
      'privacy/delete',
      'privacy/optout',
      'privacy/identifiers',
    ]);
    assert.equal(original.jobTimeoutSeconds, 300);
    assert.deepEqual(apiProxyDriver.supportedActions!(original), ['access', 'erasure', 'optout']);
    assert.deepEqual(apiProxyDriver.defaultRateLimits(original), [{ limit: 5, perSeconds: 1 }]);
    const spec = specOf(seedConnection(sb));
    assert.equal(spec.connection.queries.delete![0]!.body, '{{"email": "{email}"}}');
    assert.deepEqual(
      apiProxyDriver.supportedActions!(
        specOf({ ...seedConnection(sb), queries: { test: seedConnection(sb).queries.test } }),
      ),
      [],
    );
  });

  it('access: the seed example response becomes report_1.csv and report_2.csv, byte for byte', async () => {
    sb.reset();
    const r = await run(sb, specOf(seedConnection(sb)), [
      { name: 'acc-seed', action: 'access', emails: [SEED_EXAMPLE_EMAIL] },
    ]);
    const t = r.tasks['acc-seed']!;
    assert.equal(t.phase, 'Completed');
    assert.equal(t.outcome, 'Exported');
    assert.equal(t.evidence?.queries, '1 ok (200)');
    assert.equal(t.evidence?.reports, '2');
    const dir = exportDir(r.dir, 'acc-seed');
    assert.deepEqual((await readdir(dir)).sort(), ['index.json', 'report_1.csv', 'report_2.csv']);
    for (const name of ['report_1.csv', 'report_2.csv']) {
      const got = await readFile(join(dir, name));
      const golden = new URL(name, FIXTURES);
      if (process.env.UPDATE_GOLDEN === '1') await writeFile(golden, got);
      assert.deepEqual(got, await readFile(golden), `${name} differs from the golden file`);
    }
    const index = await readExportIndex(dir);
    assert.deepEqual(
      index?.files.map((f) => f.name),
      ['report_1.csv', 'report_2.csv'],
    );
    // The health check ran first, then access; the email reached the API intact.
    const order = sb.ledger().map((e) => e.route);
    assert.ok(order.indexOf('/acme/v0/health-check') < order.indexOf('/acme/v0/users'));
    assert.deepEqual(calls(sb, 'GET', '/users')[0]!.subjects, [subjectHash(SEED_EXAMPLE_EMAIL)]);
  });

  it('access: nobody known -> NoDataHeld, nothing written', async () => {
    sb.reset();
    const r = await run(sb, specOf(seedConnection(sb)), [
      { name: 'acc-none', action: 'access', emails: [absent[0]!.email] },
    ]);
    assert.equal(r.tasks['acc-none']!.outcome, 'NoDataHeld');
    assert.equal(existsSync(exportDir(r.dir, 'acc-none')), false);
  });

  it('access with several emails: queries run once per email, reports numbered across them', async () => {
    sb.reset();
    const r = await run(sb, specOf(seedConnection(sb)), [
      { name: 'acc-multi', action: 'access', emails: [SEED_EXAMPLE_EMAIL, absent[0]!.email, present[0]!.email] },
    ]);
    const t = r.tasks['acc-multi']!;
    assert.equal(t.outcome, 'Exported');
    assert.equal(t.evidence?.queries, '3 ok (200,200,200)');
    const dir = exportDir(r.dir, 'acc-multi');
    assert.deepEqual((await readdir(dir)).sort(), [
      'index.json',
      'report_1.csv',
      'report_2.csv',
      'report_3.csv',
      'report_4.csv',
    ]);
    assert.deepEqual(await readFile(join(dir, 'report_2.csv')), await readFile(new URL('report_2.csv', FIXTURES)));
    assert.match(await readFile(join(dir, 'report_3.csv'), 'utf8'), /^user_id, [0-9a-f-]{36}\nfirst_name, Alice\n/);
  });

  it('delete: 200 for a known subject and 404 for an unknown one are both Erased, with the codes as evidence', async () => {
    sb.reset();
    const r = await run(sb, specOf(seedConnection(sb)), [
      { name: 'del-known', action: 'erasure', emails: [present[0]!.email] },
      { name: 'del-unknown', action: 'erasure', emails: [absent[0]!.email] },
      { name: 'del-both', action: 'erasure', emails: [present[1]!.email, absent[1]!.email] },
    ]);
    assert.equal(r.tasks['del-known']!.outcome, 'Erased');
    assert.equal(r.tasks['del-known']!.evidence?.queries, '1 ok (200)');
    assert.equal(r.tasks['del-unknown']!.outcome, 'Erased');
    assert.equal(r.tasks['del-unknown']!.evidence?.queries, '1 ok (404)');
    assert.equal(r.tasks['del-both']!.evidence?.queries, '2 ok (200,404) for 2 emails');
    assert.equal(calls(sb, 'DELETE', '/users').length, 4);
    assert.equal(sb.stats().acme.duplicateSubmissions, 0);
    assert.equal(sb.stats().acme.rateLimitViolations, 0);
    assert.equal(Object.keys(r.journal.data.intents).length, 0);
  });

  it('optout: 200 flips the flag at the API, 404 is success too', async () => {
    sb.reset();
    const r = await run(sb, specOf(seedConnection(sb)), [
      { name: 'opt-known', action: 'optout', emails: [present[0]!.email] },
      { name: 'opt-unknown', action: 'optout', emails: [absent[0]!.email] },
    ]);
    assert.equal(r.tasks['opt-known']!.outcome, 'OptedOut');
    assert.equal(r.tasks['opt-known']!.evidence?.queries, '1 ok (200)');
    assert.equal(r.tasks['opt-unknown']!.evidence?.queries, '1 ok (404)');
    const res = await fetch(
      `${sb.config.vendors.acme.baseUrl}/v0/users?email=${encodeURIComponent(present[0]!.email)}`,
      {
        headers: { authorization: `Basic ${secretsOf(sb).credentials}` },
      },
    );
    assert.equal(((await res.json()) as Array<{ marketing_opt_out?: boolean }>)[0]!.marketing_opt_out, true);
  });

  it('hostile email: quotes, &, #, %, +, unicode reach the API exactly (URL query and JSON body)', async () => {
    sb.reset();
    const r = await run(sb, specOf(seedConnection(sb)), [{ name: 'acc-hostile', action: 'access', emails: [HOSTILE] }]);
    assert.equal(r.tasks['acc-hostile']!.outcome, 'Exported');
    assert.deepEqual(calls(sb, 'GET', '/users')[0]!.subjects, [subjectHash(HOSTILE)]);
    const report = await readFile(join(exportDir(r.dir, 'acc-hostile'), 'report_1.csv'), 'utf8');
    assert.ok(report.includes(`email, "${HOSTILE.replaceAll('"', '""')}"\n`));
    const d = await run(sb, specOf(seedConnection(sb)), [
      { name: 'del-hostile', action: 'erasure', emails: [HOSTILE] },
    ]);
    // 200, not 404: the API found the subject from the exact JSON-escaped value.
    assert.equal(d.tasks['del-hostile']!.evidence?.queries, '1 ok (200)');
    assert.deepEqual(calls(sb, 'DELETE', '/users')[0]!.subjects, [subjectHash(HOSTILE)]);
  });

  it('CR/LF in a substituted header value: Stalled with APIPROXY_HEADER_INJECTION, nothing sent', async () => {
    sb.reset();
    const c = seedConnection(sb);
    c.queries.delete[0].headers['X-Subject'] = '{email}';
    const email = 'evil\r\nx-injected: 1@example.com';
    const r = await run(sb, specOf(c), [{ name: 'del-crlf', action: 'erasure', emails: [email] }], { maxPasses: 2 });
    const t = r.tasks['del-crlf']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'APIPROXY_HEADER_INJECTION');
    assert.match(t.lastError!.message, /queries\.delete\[0\]\.headers\.X-Subject/);
    assert.ok(!t.lastError!.message.includes('evil'));
    assert.equal(calls(sb, 'DELETE', '/users').length, 0);
  });

  it('identifiers: collected first and substituted; a subject without one skips the query that needs it', async () => {
    sb.reset();
    const c = seedConnection(sb);
    c.queries.delete.push({ ...c.queries.delete[0], url: `${c.queries.delete[0].url}?phone={primary_phone_number}` });
    const r = await run(sb, specOf(c), [
      { name: 'del-ids', action: 'erasure', emails: [present[2]!.email] },
      { name: 'del-noids', action: 'erasure', emails: [absent[2]!.email] },
    ]);
    // The second delete finds the subject gone (404), after the first one erased it.
    assert.equal(r.tasks['del-ids']!.evidence?.queries, '2 ok (200,404)');
    assert.equal(r.tasks['del-noids']!.evidence?.queries, '1 ok (404); 1 skipped (no identifier value)');
    assert.equal(calls(sb, 'GET', '/identifiers/get-phone').length, 2);
    assert.equal(
      sb.stats().acme.duplicateSubmissions,
      1,
      'the second query of the config deletes the same user again, by design of this config',
    );
  });

  it('unknown placeholder: Stalled with APIPROXY_UNKNOWN_PLACEHOLDER naming it, nothing sent', async () => {
    sb.reset();
    const c = seedConnection(sb);
    c.queries.optout[0].url += '?id={user_id}';
    const r = await run(sb, specOf(c), [{ name: 'opt-ph', action: 'optout', emails: [present[0]!.email] }], {
      maxPasses: 2,
    });
    const t = r.tasks['opt-ph']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'APIPROXY_UNKNOWN_PLACEHOLDER');
    assert.match(t.lastError!.message, /queries\.optout\[0\]\.url uses unknown placeholder \{user_id\}/);
    assert.equal(calls(sb, 'PUT', '/users/optout').length, 0);
  });

  it('a test query at a wrong URL (route 404): the tasks stall with APIPROXY_ENDPOINT_NOT_FOUND, nothing sent', async () => {
    sb.reset();
    const c = seedConnection(sb);
    c.queries.test[0].url = c.queries.test[0].url.replace('health-check', 'health-check-gone');
    const r = await run(sb, specOf(c), [{ name: 'del-sick', action: 'erasure', emails: [present[0]!.email] }], {
      maxPasses: 2,
    });
    const t = r.tasks['del-sick']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'APIPROXY_ENDPOINT_NOT_FOUND');
    assert.equal(r.journal.data.degraded[VENDOR], undefined);
    assert.equal(calls(sb, 'DELETE', '/users').length, 0);
  });

  it('a wrong base URL in every query: Stalled with APIPROXY_ENDPOINT_NOT_FOUND, never Completed, nothing sent but the test query', async () => {
    sb.reset();
    const wrong = JSON.parse(
      SEED_TEXT.replaceAll('https://api.acme.com', `${sb.config.vendors.acme.baseUrl}/v9`),
    ) as Connection;
    const r = await run(
      sb,
      specOf(wrong),
      [{ name: 'del-wrong-base', action: 'erasure', emails: [present[0]!.email] }],
      { maxPasses: 3 },
    );
    const t = r.tasks['del-wrong-base']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'APIPROXY_ENDPOINT_NOT_FOUND');
    assert.equal(sb.ledger().filter((e) => e.method === 'DELETE').length, 0);
  });

  it('wrong credentials: the health check fails, the vendor is degraded', async () => {
    sb.reset();
    const secrets = { credentials: Buffer.from('lethe:wrong').toString('base64') };
    const r = await run(
      sb,
      specOf(seedConnection(sb)),
      [{ name: 'del-badcred', action: 'erasure', emails: [present[0]!.email] }],
      { maxPasses: 2, secrets },
    );
    assert.equal(r.journal.data.degraded[VENDOR]?.code, 'APIPROXY_UNHEALTHY');
    assert.equal(r.tasks['del-badcred']!.phase, 'Waiting');
    assert.equal(calls(sb, 'DELETE', '/users').length, 0);
  });

  it('mode test: only the test queries run; the action completes TestModeOnly', async () => {
    sb.reset();
    const c = { ...seedConnection(sb), mode: 'test' };
    const r = await run(sb, specOf(c), [
      { name: 'del-test', action: 'erasure', emails: [present[0]!.email] },
      { name: 'acc-test', action: 'access', emails: [present[0]!.email] },
    ]);
    assert.equal(r.tasks['del-test']!.outcome, 'TestModeOnly');
    assert.equal(r.tasks['acc-test']!.outcome, 'TestModeOnly');
    assert.ok(sb.ledger().length > 0);
    assert.ok(sb.ledger().every((e) => e.route === '/acme/v0/health-check'));
    assert.equal(existsSync(join(r.dir, 'exports')), false);
  });

  it('malformed access answers: APIPROXY_ACCESS_MALFORMED, retried (a malformed answer to an idempotent read is never final), no file written even when an earlier query succeeded', async () => {
    sb.reset();
    const c = seedConnection(sb);
    // The second access query answers a JSON object, not an array.
    c.queries.access.push({ ...c.queries.access[0], url: c.queries.test[0].url });
    const r = await run(sb, specOf(c), [{ name: 'acc-bad', action: 'access', emails: [SEED_EXAMPLE_EMAIL] }], {
      maxPasses: 2,
    });
    const t = r.tasks['acc-bad']!;
    assert.equal(t.phase, 'Waiting');
    assert.equal(t.lastError?.code, 'APIPROXY_ACCESS_MALFORMED');
    assert.match(
      t.lastError!.message,
      /apiproxy\.access\[1\] answered status 200 with JSON that is not an array of objects/,
    );
    // At most once per pass: asked again, never taken as an answer.
    const asked = calls(sb, 'GET', '/users').length;
    assert.ok(asked >= 1 && asked <= 2, `${asked} calls`);
    assert.equal(existsSync(exportDir(r.dir, 'acc-bad')), false);
  });

  it('recover after a journal rebuilt from git: the queries run again (idempotent by contract)', async () => {
    const task = {
      request: 'r',
      action: 'erasure' as const,
      dueAt: '',
      justification: '',
      subject: { emails: ['x@example.com'], identifiers: {} },
      approval: { approvers: [], commit: '' },
      state: { step: 'start', data: { rebuiltFromStatus: true }, submissions: 0 },
    };
    const res = await apiProxyDriver.recover({} as never, task, {
      name: 'journal-rebuilt',
      detail: { jobIds: [] },
      at: '',
    });
    assert.equal(res.kind, 'continue');
    assert.deepEqual(res.kind === 'continue' && res.data, {});
    const withdrawn = await apiProxyDriver.cancel!({} as never, {
      ...task,
      subject: { emails: [], identifiers: {} },
      state: { step: 'start', data: { answered: { '0.0': [200] } }, submissions: 1 },
    });
    assert.equal(withdrawn.kind === 'completed' && withdrawn.outcome, 'Cancelled');
  });
});

describe('apiproxy driver: slow, failing and retrying APIs', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({
      port: 0,
      timeScale: 0.01,
      seed: 7,
      subjects: extraSubjects,
      maxHangMs: 3000,
      faults: 'acme/access:latency=1300;acme/delete:latency=1300;acme/optout:5xx=1;acme/get-phone:malformed=1',
    });
  });
  after(() => sb.stop());
  const present = presentAt('acme');

  it('an access query slower than job_timeout_seconds: transient APIPROXY_JOB_TIMEOUT, retried, nothing written; done with a longer timeout', async () => {
    sb.reset();
    const c = seedConnection(sb);
    const dir = await dataDir();
    const requests = [{ name: 'acc-slow', action: 'access' as const, emails: [SEED_EXAMPLE_EMAIL] }];
    const r = await run(sb, specOf(c, { jobTimeoutSeconds: 1 }), requests, { dir, maxPasses: 2 });
    const t = r.tasks['acc-slow']!;
    assert.notEqual(t.phase, 'Completed');
    assert.notEqual(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'APIPROXY_JOB_TIMEOUT');
    assert.ok(t.attempts >= 1);
    assert.equal(existsSync(exportDir(dir, 'acc-slow')), false);
    const again = await run(sb, specOf(c, { jobTimeoutSeconds: 5 }), requests, { dir });
    assert.equal(again.tasks['acc-slow']!.outcome, 'Exported');
  });

  it('a delete whose answer never came: the intent stays open; the access queries find no data left, so it is not sent again', async () => {
    sb.reset();
    const c = seedConnection(sb);
    const dir = await dataDir();
    const requests = [{ name: 'del-slow', action: 'erasure' as const, emails: [present[0]!.email] }];
    const first = await run(sb, specOf(c, { jobTimeoutSeconds: 1 }), requests, { dir, maxPasses: 1 });
    assert.equal(first.tasks['del-slow']!.lastError?.code, 'APIPROXY_JOB_TIMEOUT');
    assert.equal(
      Object.values(first.journal.data.intents).length,
      1,
      'the delete may have been processed: its intent stays open',
    );
    // Let the sandbox finish the call the client gave up on.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const second = await run(sb, specOf(c, { jobTimeoutSeconds: 5 }), requests, { dir });
    const t = second.tasks['del-slow']!;
    assert.equal(t.outcome, 'Erased');
    assert.equal(t.evidence?.queries, '1 confirmed by the access queries (answer lost)');
    assert.match(t.evidence?.recovery ?? '', /queries\.delete\[0\].*no data left/);
    assert.equal(calls(sb, 'DELETE', '/users').length, 1, 'the delete is never sent twice');
    assert.equal(sb.stats().acme.duplicateSubmissions, 0);
    assert.equal(Object.values(second.journal.data.intents).length, 0);
  });

  it('fail_retry_response_codes on a write: retried later with backoff; answered queries are never sent again', async () => {
    sb.reset();
    const c = seedConnection(sb);
    // delete[0] answers 200 at once (a status is the only signal); delete[1] always 5xx.
    c.queries.delete = [
      { ...c.queries.identifiers.primary_phone_number[0] },
      { ...c.queries.optout[0], fail_retry_response_codes: [500, 502, 503] },
    ];
    const r = await run(sb, specOf(c), [{ name: 'del-retry', action: 'erasure', emails: [present[0]!.email] }], {
      maxPasses: 4,
    });
    const t = r.tasks['del-retry']!;
    assert.notEqual(t.phase, 'Failed');
    assert.equal(t.lastError?.code, 'APIPROXY_RETRY_STATUS');
    assert.deepEqual(t.data, { answered: { '0.0': [200] } });
    const optouts = calls(sb, 'PUT', '/users/optout').length;
    assert.ok(optouts >= 3, `optout retried (${optouts})`);
    assert.equal(
      calls(sb, 'GET', '/identifiers/get-phone').length,
      1,
      'delete[0] was answered once and never sent again',
    );
  });

  it('a 5xx in neither list (departure from DataGrail): transient APIPROXY_SERVER_ERROR, retried with backoff, never Failed or Stalled', async () => {
    sb.reset();
    const r = await run(
      sb,
      specOf(seedConnection(sb)),
      [{ name: 'opt-500', action: 'optout', emails: [present[0]!.email] }],
      { maxPasses: 3 },
    );
    const t = r.tasks['opt-500']!;
    assert.equal(t.phase, 'InProgress');
    assert.equal(t.lastError?.code, 'APIPROXY_SERVER_ERROR');
    assert.match(t.lastError!.message, /apiproxy\.optout\[0\] answered status 50[023]/);
    assert.ok(calls(sb, 'PUT', '/users/optout').length >= 2, 'sent again on a later pass');
  });

  it('a broken (not JSON) identifiers answer: retried as HTTP_MALFORMED_BODY, never Stalled; the action query is not sent', async () => {
    sb.reset();
    const c = seedConnection(sb);
    c.queries.optout[0].url += '?phone={primary_phone_number}';
    c.queries.optout[0].fail_retry_response_codes = [500, 502, 503];
    const r = await run(sb, specOf(c), [{ name: 'opt-ids', action: 'optout', emails: [present[0]!.email] }], {
      maxPasses: 2,
    });
    assert.equal(r.tasks['opt-ids']!.lastError?.code, 'HTTP_MALFORMED_BODY');
    assert.notEqual(r.tasks['opt-ids']!.phase, 'Stalled');
    assert.notEqual(r.tasks['opt-ids']!.phase, 'Failed');
    assert.equal(calls(sb, 'PUT', '/users/optout').length, 0);
  });
});

describe('apiproxy driver: reads answered with a retry code', () => {
  let sb: Sandbox;
  before(async () => {
    sb = await startSandbox({
      port: 0,
      timeScale: 0.01,
      seed: 3,
      subjects: extraSubjects,
      faults: 'acme/access:5xx=0.5',
    });
  });
  after(() => sb.stop());

  it('fail_retry_response_codes of an access query are retried by the HTTP layer (a read is safe to repeat)', async () => {
    const c = seedConnection(sb);
    c.queries.access[0].fail_retry_response_codes = [500, 502, 503];
    const r = await run(sb, specOf(c), [{ name: 'acc-retry', action: 'access', emails: [SEED_EXAMPLE_EMAIL] }]);
    assert.equal(r.tasks['acc-retry']!.outcome, 'Exported');
    const statuses = calls(sb, 'GET', '/users').map((e) => e.status);
    assert.ok(statuses.length > 1 && statuses.some((s) => s >= 500), `retried: ${statuses.join(',')}`);
    assert.equal(statuses.at(-1), 200);
    assert.deepEqual(
      await readFile(join(exportDir(r.dir, 'acc-retry'), 'report_1.csv')),
      await readFile(new URL('report_1.csv', FIXTURES)),
    );
  });
});

describe('apiproxy access answers: shape checks', () => {
  const q: Query = {
    field: 'queries.access[0]',
    label: 'apiproxy.access[0]',
    query: {
      url: 'http://x',
      verb: 'GET',
      verify_ssl: 'true',
      valid_response_codes: [200, 404],
      fail_retry_response_codes: [],
    },
  };
  const answer = (status: number, text: string): HttpResponse =>
    httpResponse({ status, body: Buffer.from(text), label: 'apiproxy.access[0]' });
  const malformed = (
    status: number,
    text: string,
    problem: RegExp,
    code = 'APIPROXY_ACCESS_MALFORMED',
    terminal = true,
  ) =>
    assert.throws(
      () => objectsOf(q, answer(status, text), 'APIPROXY_ACCESS_MALFORMED'),
      (e: Error & { code?: string; terminal?: boolean }) => {
        assert.equal(e.code, code);
        assert.equal(e.terminal, terminal);
        assert.match(e.message, problem);
        assert.ok(!e.message.includes('secret'), 'the body is never quoted');
        return true;
      },
    );

  it('not JSON (a truncated body, a page): retried as HTTP_MALFORMED_BODY; not an array of objects: terminal; body never quoted', () => {
    malformed(200, '<html>secret', /not valid JSON/, 'HTTP_MALFORMED_BODY', false);
    malformed(200, '[{"secret": "trunc', /not valid JSON/, 'HTTP_MALFORMED_BODY', false);
    malformed(200, '', /not valid JSON/, 'HTTP_MALFORMED_BODY', false);
    malformed(200, '{"secret": 1}', /not an array of objects.*\(root\)/);
    malformed(200, 'null', /not an array of objects.*\(root\)/);
    malformed(200, '[{"a": 1}, "secret"]', /not an array of objects.*\[\]/);
    malformed(200, '[[1]]', /not an array of objects/);
  });

  it('a valid non-2xx status (a listed 404) and a 204 mean no data; an empty array is no data', () => {
    assert.deepEqual(objectsOf(q, answer(404, '{"error": "not found"}'), 'APIPROXY_ACCESS_MALFORMED'), []);
    assert.deepEqual(objectsOf(q, answer(204, ''), 'APIPROXY_ACCESS_MALFORMED'), []);
    assert.deepEqual(objectsOf(q, answer(200, '[]'), 'APIPROXY_ACCESS_MALFORMED'), []);
    assert.deepEqual(objectsOf(q, answer(200, '[{"a": {"b": [1]}}]'), 'APIPROXY_ACCESS_MALFORMED'), [
      { a: { b: [1] } },
    ]);
  });
});
