import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFaultSpec, presentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import { authHeaders, call, manualSandbox } from './helpers.ts';

/** Outcome of one call as a client sees it: a status, or 'reset' when the socket died. */
async function outcome(sb: Sandbox, path: string, init: Parameters<typeof call>[3] = {}): Promise<string> {
  try {
    const r = await call(sb, 'GET', path, init);
    return r.json === undefined ? `${r.status}:malformed` : String(r.status);
  } catch {
    return 'reset';
  }
}

async function sequence(seed: number, spec: string, n: number): Promise<string[]> {
  const { sb } = await manualSandbox({ seed, faults: spec });
  try {
    const out = [];
    for (let i = 0; i < n; i++)
      out.push(await outcome(sb, '/acme/v0/health-check', { headers: authHeaders(sb, 'acme') }));
    return out;
  } finally {
    await sb.stop();
  }
}

describe('sandbox: fault injection', () => {
  it('parses the SPEC syntax and rejects bad specs', () => {
    assert.deepEqual(
      parseFaultSpec('maestroqa:5xx=0.2,latency=50;elasticpath/erasure-create:lost=0.1;*:malformed=0.05,latency=10-20'),
      {
        maestroqa: { '5xx': 0.2, latency: 50 },
        'elasticpath/erasure-create': { lost: 0.1 },
        '*': { malformed: 0.05, latency: [10, 20] },
      },
    );
    assert.throws(() => parseFaultSpec('maestroqa'), /TARGET/);
    assert.throws(() => parseFaultSpec('maestroqa:5xx=2'), /fraction/);
    assert.throws(() => parseFaultSpec('maestroqa:boom=0.1'), /unknown key/);
  });

  it('is reproducible for a seed, and differs across seeds', async () => {
    const spec = 'acme:5xx=0.2,reset=0.1,malformed=0.1,429=0.1';
    const a = await sequence(42, spec, 20);
    const b = await sequence(42, spec, 20);
    const c = await sequence(43, spec, 20);
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    assert.ok(a.some((s) => s === '500' || s === '502' || s === '503'));
    assert.ok(a.includes('200'));
  });

  it('before-processing 5xx: nothing took effect', async () => {
    const { sb } = await manualSandbox({ faults: 'acme/delete:5xx=1' });
    try {
      const email = presentAt('acme')[0]!.email;
      const r = await call(sb, 'DELETE', '/acme/v0/users', { headers: authHeaders(sb, 'acme'), json: { email } });
      assert.ok([500, 502, 503].includes(r.status));
      const access = await call(sb, 'GET', `/acme/v0/users?email=${encodeURIComponent(email)}`, {
        headers: authHeaders(sb, 'acme'),
      });
      assert.equal(access.json.length, 2, 'the user is still there');
      assert.equal(sb.ledger()[0]!.fault, '5xx');
    } finally {
      await sb.stop();
    }
  });

  it('lost response: the submission took effect although the client saw a reset or 502', async () => {
    const { sb, clock } = await manualSandbox({ faults: 'maestroqa/delete:lost=1' });
    try {
      const email = presentAt('maestroqa')[0]!.email;
      const h = authHeaders(sb, 'maestroqa');
      let seen: string;
      try {
        seen = String(
          (
            await call(sb, 'DELETE', '/maestroqa/api/v1/data-deletion-request', {
              headers: h,
              json: { emails: [email] },
            })
          ).status,
        );
      } catch {
        seen = 'reset';
      }
      assert.ok(seen === 'reset' || seen === '502', seen);
      clock.advance(1000);
      // The blind retry a naive client would make is a duplicate submission.
      await outcome(sb, '/maestroqa/api/v1/data-deletion-check/1001', { headers: h }).then((s) =>
        assert.equal(s, '200'),
      );
      clock.advance(1000);
      try {
        await call(sb, 'DELETE', '/maestroqa/api/v1/data-deletion-request', { headers: h, json: { emails: [email] } });
      } catch {
        // lost again: what matters is the ledger
      }
      assert.equal(sb.stats().maestroqa.duplicateSubmissions, 1);
    } finally {
      await sb.stop();
    }
  });

  it('timeout: no answer, the socket is destroyed after maxHangMs', async () => {
    const { sb } = await manualSandbox({ faults: 'acme:timeout=1', maxHangMs: 300 });
    try {
      const t0 = Date.now();
      const seen = await outcome(sb, '/acme/v0/health-check', { headers: authHeaders(sb, 'acme') });
      assert.equal(seen, 'reset');
      assert.ok(Date.now() - t0 >= 250, 'the sandbox held the connection');
      assert.equal(sb.ledger()[0]!.status, 0);
      assert.equal(sb.ledger()[0]!.fault, 'timeout');
    } finally {
      await sb.stop();
    }
  });

  it('reset, malformed, latency and 429 storms', async () => {
    const { sb } = await manualSandbox({
      faults: 'acme/health:reset=1;acme/access:malformed=1,latency=120;qualifio:storm=1,stormMs=5000',
    });
    try {
      const h = authHeaders(sb, 'acme');
      assert.equal(await outcome(sb, '/acme/v0/health-check', { headers: h }), 'reset');
      const t0 = Date.now();
      const email = presentAt('acme')[1]!.email;
      assert.equal(
        await outcome(sb, `/acme/v0/users?email=${encodeURIComponent(email)}`, { headers: h }),
        '200:malformed',
      );
      assert.ok(Date.now() - t0 >= 100);
      const q = authHeaders(sb, 'qualifio');
      assert.equal(await outcome(sb, '/qualifio/v1/gdpr/rules?clientId=2449', { headers: q }), '429');
      assert.equal(sb.stats().qualifio.rateLimitViolations, 0, 'a storm is not the client exceeding the limit');
    } finally {
      await sb.stop();
    }
  });
});
