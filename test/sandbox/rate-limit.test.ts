import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../examples/sandbox/clock.ts';
import { SlidingWindowLimiter } from '../../examples/sandbox/rate-limit.ts';
import { authHeaders, call, epToken, manualSandbox } from './helpers.ts';

describe('sandbox: rate limits (exact sliding windows)', () => {
  it('limiter: counts calls in (t - window, t]', () => {
    const clock = new ManualClock();
    const l = new SlidingWindowLimiter([{ limit: 2, windowMs: 1000 }], clock);
    assert.equal(l.tryAcquire('k').ok, true);
    clock.advance(500);
    assert.equal(l.tryAcquire('k').ok, true);
    clock.advance(499);
    const refused = l.tryAcquire('k');
    assert.deepEqual(refused, { ok: false, retryAfterMs: 1 });
    clock.advance(1);
    assert.equal(l.tryAcquire('k').ok, true, 'the first call left the window exactly at t0+1000');
    assert.equal(l.tryAcquire('other').ok, true, 'keys are independent');
  });

  it('MaestroQA: the 2nd call within a second is refused, and the 31st within a minute', async () => {
    const { sb, clock } = await manualSandbox();
    try {
      const h = authHeaders(sb, 'maestroqa');
      const check = () => call(sb, 'GET', '/maestroqa/api/v1/data-deletion-check/1', { headers: h });
      assert.equal((await check()).status, 404);
      clock.advance(999);
      const second = await check();
      assert.equal(second.status, 429);
      assert.equal(second.headers.get('retry-after'), '1');
      clock.advance(1);
      assert.equal((await check()).status, 404, 'exactly one second later the call is admitted');
      // 28 more calls one second apart: 30 admitted within the minute that started at t0.
      for (let i = 0; i < 28; i++) {
        clock.advance(1000);
        assert.equal((await check()).status, 404, `call ${i + 3}`);
      }
      clock.advance(1000); // t0 + 30 s: 30 admitted calls in (t-60s, t]
      const thirtyFirst = await check();
      assert.equal(thirtyFirst.status, 429);
      assert.equal(thirtyFirst.headers.get('retry-after'), '30');
      clock.advance(29_999);
      assert.equal((await check()).status, 429);
      clock.advance(1); // t0 + 60 s: the call at t0 left the window
      assert.equal((await check()).status, 404);
      const s = sb.stats().maestroqa;
      assert.equal(s.rateLimitViolations, 3);
      assert.equal(s.sent429, 3);
    } finally {
      await sb.stop();
    }
  });

  it('Elastic Path: 25 per second per client, the 26th gets 429 with an errors array', async () => {
    const { sb, clock } = await manualSandbox();
    try {
      const token = await epToken(sb); // the token call is one of the 25
      clock.advance(1000);
      const h = { authorization: `Bearer ${token}` };
      const results = [];
      for (let i = 0; i < 26; i++)
        results.push((await call(sb, 'GET', '/elasticpath/v2/customers', { headers: h })).status);
      assert.deepEqual(results.slice(0, 25), Array(25).fill(200));
      const last = await call(sb, 'GET', '/elasticpath/v2/customers', { headers: h });
      assert.equal(results[25], 429);
      assert.equal(last.status, 429);
      assert.equal(last.json.errors[0].status, '429');
      assert.equal(sb.stats().elasticpath.rateLimitViolations, 2);
    } finally {
      await sb.stop();
    }
  });

  it('limitScale multiplies the counts; configurable limits for the others', async () => {
    const { sb } = await manualSandbox({ limitScale: 2, limits: { acme: [{ limit: 3, windowMs: 1000 }] } });
    try {
      assert.deepEqual(sb.config.vendors.maestroqa.rateLimits, [
        { limit: 2, windowMs: 1000 },
        { limit: 60, windowMs: 60_000 },
      ]);
      const h = authHeaders(sb, 'acme');
      const statuses = [];
      for (let i = 0; i < 7; i++)
        statuses.push((await call(sb, 'GET', '/acme/v0/health-check', { headers: h })).status);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429]);
    } finally {
      await sb.stop();
    }
  });
});
