import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { absentAt, presentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import type { ManualClock } from '../../examples/sandbox/clock.ts';
import { authHeaders, call, manualSandbox } from './helpers.ts';

const P = '/maestroqa/api/v1';

describe('sandbox: MaestroQA', () => {
  let sb: Sandbox;
  let clock: ManualClock;
  before(async () => ({ sb, clock } = await manualSandbox({ outcomes: { maestroqaErrorRate: 0 } })));
  after(() => sb.stop());

  /** Two seconds between calls keeps every call under 1/s and 30/min. */
  async function mq(method: string, path: string, json?: unknown, headers = authHeaders(sb, 'maestroqa')) {
    clock.advance(2000);
    return call(sb, method, P + path, { headers, json });
  }

  it('deletes a present subject: 200 confirmation + pending job, then completed', async () => {
    const email = presentAt('maestroqa')[0]!.email;
    const res = await mq('DELETE', '/data-deletion-request', { emails: [email], auditLabel: 'req-1' });
    assert.equal(res.status, 200);
    assert.equal(res.json.confirmation, true);
    assert.equal(res.json.status, 'pending');
    assert.match(res.json.id, /^\d+$/);
    assert.deepEqual((await mq('GET', `/data-deletion-check/${res.json.id}`)).json, { status: 'pending' });
    clock.advance(600_000);
    const done = await mq('GET', `/data-deletion-check/${res.json.id}`);
    assert.equal(done.status, 200);
    assert.deepEqual(done.json, { status: 'completed' });
    // A second DELETE for the same email is accepted, and the ledger counts it a duplicate.
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: [email] })).status, 200);
    assert.equal(sb.ledger().at(-1)!.duplicates, 1);
  });

  it('400 for more than 5 emails, a missing list and a bad auditLabel', async () => {
    const six = Array.from({ length: 6 }, (_, i) => `u${i}@example.com`);
    const r = await mq('DELETE', '/data-deletion-request', { emails: six });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /at most 5/);
    assert.equal((await mq('DELETE', '/data-deletion-request', {})).status, 400);
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: [] })).status, 400);
    assert.equal(
      (await mq('DELETE', '/data-deletion-request', { emails: ['a@example.com'], auditLabel: 5 })).status,
      400,
    );
  });

  it('5 emails is accepted', async () => {
    const five = [presentAt('maestroqa')[1]!.email, ...Array.from({ length: 4 }, (_, i) => `nobody${i}@example.com`)];
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: five })).status, 200);
  });

  it('no email belongs to a user: still 200 with confirmation and a job that completes (the seed gives 404 no meaning)', async () => {
    const r = await mq('DELETE', '/data-deletion-request', { emails: [absentAt('maestroqa')[0]!.email] });
    assert.equal(r.status, 200);
    assert.equal(r.json.confirmation, true);
    clock.advance(600_000);
    assert.deepEqual((await mq('GET', `/data-deletion-check/${r.json.id}`)).json, { status: 'completed' });
  });

  it("a path the API does not serve answers the web server's HTML 404, not vendor JSON", async () => {
    for (const path of [
      '/maestroqa/api/v2/data-deletion-request',
      `${P}/data-deletion-requests`,
      `${P}/data-deletion-check`,
    ]) {
      const r = await call(sb, 'DELETE', path, {
        headers: authHeaders(sb, 'maestroqa'),
        json: { emails: ['x@example.com'] },
      });
      assert.equal(r.status, 404, path);
      assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
      assert.equal(r.json, undefined, 'not JSON');
      assert.match(r.text, /404 Not Found/);
    }
  });

  it('401 without or with a wrong apitoken; the token in the body is accepted', async () => {
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: ['x@example.com'] }, {})).status, 401);
    assert.equal((await mq('GET', '/data-deletion-check/1001', undefined, { apitoken: 'wrong' })).status, 401);
    const viaBody = await mq(
      'DELETE',
      '/data-deletion-request',
      { apiToken: sb.config.vendors.maestroqa.credentials.apiToken, emails: ['x@example.com'] },
      {},
    );
    assert.equal(viaBody.status, 200);
  });

  it('check: 404 not found for an unknown id, 400 for a malformed id', async () => {
    const nf = await mq('GET', '/data-deletion-check/999999');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, { status: 'not found' });
    assert.equal((await mq('GET', '/data-deletion-check/abc')).status, 400);
  });

  it('errored: a configurable fraction of deep deletes fails', async () => {
    const { sb: sb2, clock: c2 } = await manualSandbox({ outcomes: { maestroqaErrorRate: 1 } });
    try {
      const r = await call(sb2, 'DELETE', P + '/data-deletion-request', {
        headers: authHeaders(sb2, 'maestroqa'),
        json: { emails: [presentAt('maestroqa')[0]!.email] },
      });
      assert.equal(r.status, 200);
      c2.advance(600_000);
      const s = await call(sb2, 'GET', `${P}/data-deletion-check/${r.json.id}`, {
        headers: authHeaders(sb2, 'maestroqa'),
      });
      assert.deepEqual(s.json, { status: 'errored' });
    } finally {
      await sb2.stop();
    }
  });
});
