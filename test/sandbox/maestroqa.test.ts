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
    // The operational deletion happened: the same email is now unknown.
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: [email] })).status, 404);
  });

  it('400 for more than 5 emails, a missing list and a bad auditLabel', async () => {
    const six = Array.from({ length: 6 }, (_, i) => `u${i}@example.com`);
    const r = await mq('DELETE', '/data-deletion-request', { emails: six });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /at most 5/);
    assert.equal((await mq('DELETE', '/data-deletion-request', {})).status, 400);
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: [] })).status, 400);
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: ['a@example.com'], auditLabel: 5 })).status, 400);
  });

  it('5 emails is accepted', async () => {
    const five = [presentAt('maestroqa')[1]!.email, ...Array.from({ length: 4 }, (_, i) => `nobody${i}@example.com`)];
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: five })).status, 200);
  });

  it('404 when no email belongs to a user', async () => {
    const r = await mq('DELETE', '/data-deletion-request', { emails: [absentAt('maestroqa')[0]!.email] });
    assert.equal(r.status, 404);
  });

  it('401 without or with a wrong apitoken; the token in the body is accepted', async () => {
    assert.equal((await mq('DELETE', '/data-deletion-request', { emails: ['x@example.com'] }, {})).status, 401);
    assert.equal((await mq('GET', '/data-deletion-check/1001', undefined, { apitoken: 'wrong' })).status, 401);
    const viaBody = await mq('DELETE', '/data-deletion-request', { apiToken: sb.config.vendors.maestroqa.credentials.apiToken, emails: ['x@example.com'] }, {});
    assert.equal(viaBody.status, 404);
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
      const r = await call(sb2, 'DELETE', P + '/data-deletion-request', { headers: authHeaders(sb2, 'maestroqa'), json: { emails: [presentAt('maestroqa')[0]!.email] } });
      assert.equal(r.status, 200);
      c2.advance(600_000);
      const s = await call(sb2, 'GET', `${P}/data-deletion-check/${r.json.id}`, { headers: authHeaders(sb2, 'maestroqa') });
      assert.deepEqual(s.json, { status: 'errored' });
    } finally {
      await sb2.stop();
    }
  });
});
