import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FIXTURE_SUBJECTS, presentAt, subjectHash } from '../../examples/sandbox/index.ts';
import { authHeaders, call, epToken, manualSandbox } from './helpers.ts';

describe('sandbox: ledger, stats, control API', () => {
  it('records route templates and subject hashes, never emails', async () => {
    const { sb, clock } = await manualSandbox();
    try {
      const email = presentAt('answerhub')[0]!.email;
      await call(sb, 'GET', `/answerhub/services/v2/users/gdpr/${encodeURIComponent(email)}.json`, {
        headers: authHeaders(sb, 'answerhub'),
      });
      clock.advance(1000);
      await call(sb, 'DELETE', '/maestroqa/api/v1/data-deletion-request', {
        headers: authHeaders(sb, 'maestroqa'),
        json: { emails: [presentAt('maestroqa')[0]!.email] },
      });
      const res = await call(sb, 'GET', '/_sandbox/ledger');
      assert.equal(res.status, 200);
      for (const s of FIXTURE_SUBJECTS)
        assert.ok(!res.text.toLowerCase().includes(s.email.split('@')[0]!), 'no email in the ledger');
      assert.equal(res.json[0].route, '/answerhub/services/v2/users/gdpr/{email}.json');
      assert.deepEqual(res.json[0].subjects, [subjectHash(email)]);
      assert.match(res.json[0].subjects[0], /^[0-9a-f]{16}$/);
      assert.equal(res.json[0].authOk, true);
      assert.equal(res.json[1].vendor, 'maestroqa');
      assert.equal(res.json[1].status, 200);
    } finally {
      await sb.stop();
    }
  });

  it('counts duplicates per vendor, violations (even when answered 429) and unauthenticated calls', async () => {
    const { sb, clock } = await manualSandbox();
    try {
      const mq = authHeaders(sb, 'maestroqa');
      const email = presentAt('maestroqa')[0]!.email;
      await call(sb, 'DELETE', '/maestroqa/api/v1/data-deletion-request', { headers: mq, json: { emails: [email] } });
      const tooSoon = await call(sb, 'DELETE', '/maestroqa/api/v1/data-deletion-request', {
        headers: mq,
        json: { emails: [email] },
      });
      assert.equal(tooSoon.status, 429);
      clock.advance(1000);
      await call(sb, 'DELETE', '/maestroqa/api/v1/data-deletion-request', { headers: mq, json: { emails: [email] } });
      await call(sb, 'GET', '/maestroqa/api/v1/data-deletion-check/1', { headers: { apitoken: 'bad' } });

      const token = await epToken(sb);
      const h = { authorization: `Bearer ${token}` };
      const cust = (
        await call(sb, 'GET', `/elasticpath/v2/customers?filter=eq(email,${presentAt('elasticpath')[0]!.email})`, {
          headers: h,
        })
      ).json.data[0].id;
      const body = { data: { type: 'erasure_request', resource_type: 'customer', resource_id: cust } };
      assert.equal(
        (await call(sb, 'POST', '/elasticpath/v2/personal-data/erasure-requests', { headers: h, json: body })).status,
        201,
      );
      assert.equal(
        (await call(sb, 'POST', '/elasticpath/v2/personal-data/erasure-requests', { headers: h, json: body })).status,
        201,
      );
      await call(sb, 'GET', '/elasticpath/v2/customers', { headers: { authorization: 'Bearer expired' } });

      const stats = (await call(sb, 'GET', '/_sandbox/stats')).json;
      assert.equal(stats.maestroqa.calls, 4);
      assert.equal(stats.maestroqa.duplicateSubmissions, 1, 'the refused (429) resubmission did not reach the vendor');
      assert.equal(stats.maestroqa.rateLimitViolations, 1);
      assert.equal(stats.maestroqa.sent429, 1);
      assert.equal(stats.maestroqa.unauthenticated, 1);
      assert.equal(stats.elasticpath.duplicateSubmissions, 1);
      assert.equal(stats.elasticpath.unauthenticated, 1);
      assert.equal(stats.elasticpath.byStatus['201'], 2);
    } finally {
      await sb.stop();
    }
  });

  it('reset restores the seeded population and clears the ledger; config lists base URLs and credentials', async () => {
    const { sb } = await manualSandbox();
    try {
      const h = authHeaders(sb, 'acme');
      const email = presentAt('acme')[0]!.email;
      await call(sb, 'DELETE', '/acme/v0/users', { headers: h, json: { email } });
      assert.deepEqual((await call(sb, 'GET', `/acme/v0/users?email=${email}`, { headers: h })).json, []);
      assert.equal((await call(sb, 'POST', '/_sandbox/reset')).status, 200);
      assert.equal(sb.ledger().length, 0);
      assert.equal((await call(sb, 'GET', `/acme/v0/users?email=${email}`, { headers: h })).json.length, 2);

      const cfg = (await call(sb, 'GET', '/_sandbox/config')).json;
      assert.equal(cfg.vendors.maestroqa.baseUrl, `${sb.url}/maestroqa/api/v1`);
      assert.equal(cfg.vendors.qualifio.baseUrl, `${sb.url}/qualifio`);
      assert.equal(cfg.vendors.elasticpath.baseUrl, `${sb.url}/elasticpath`);
      assert.equal(cfg.vendors.answerhub.baseUrl, `${sb.url}/answerhub`);
      assert.equal(cfg.vendors.acme.baseUrl, `${sb.url}/acme`);
      assert.equal(cfg.vendors.qualifio.credentials.clientId, 2449);
      assert.ok(cfg.vendors.qualifio.credentials.dpoUserId);
      assert.equal(cfg.vendors.maestroqa.credentials.apiToken, 'sandbox-maestroqa-token');
    } finally {
      await sb.stop();
    }
  });

  it('credentials can be overridden', async () => {
    const { sb } = await manualSandbox({ credentials: { maestroqa: { apiToken: 'other' } } });
    try {
      const r = await call(sb, 'GET', '/maestroqa/api/v1/data-deletion-check/1', { headers: { apitoken: 'other' } });
      assert.equal(r.status, 404);
      assert.equal(sb.config.vendors.maestroqa.credentials.apiToken, 'other');
    } finally {
      await sb.stop();
    }
  });
});
