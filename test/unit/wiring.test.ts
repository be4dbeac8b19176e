import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { HttpWiring } from '../../controller/core/wiring.ts';
import { credentialFingerprint } from '../../controller/http/credentials.ts';
import { HttpLayer } from '../../controller/http/layer.ts';
import { MaestroQaSpec } from '../../specs/index.ts';

describe('HttpWiring.drainEstimate', () => {
  it('answers ETAs from one limiter simulation whose size never compounds over time', async () => {
    let now = Date.parse('2026-11-25T10:00:00Z');
    const layer = await HttpLayer.open({ clock: { now: () => now, sleep: async () => {} } });
    try {
      const wiring = new HttpWiring(
        layer,
        {},
        '/nonexistent-secrets',
        () => {},
        () => now,
      );
      const spec = MaestroQaSpec.parse({ type: 'maestroqa', credentials: { apiToken: 'env:T' } });
      const windows = [{ limit: 1, perSeconds: 1 }];
      const secrets = { apiToken: 'secret-token' };
      const limiter = layer.limiter({ key: `maestroqa:${credentialFingerprint(['secret-token'])}`, windows });
      const sizes: number[] = [];
      const original = limiter.drainSchedule.bind(limiter);
      mock.method(limiter, 'drainSchedule', (n: number, at?: number) => {
        sizes.push(n);
        return original(n, at);
      });
      // One pass asks for growing queue positions: a few simulations, each at most twice the need.
      const drainMs = wiring.drainEstimate('m', spec, windows, secrets);
      for (const calls of [1, 3, 5, 9, 12]) assert.equal(drainMs(calls), (calls - 1) * 1_000 + (calls - 1) * 50);
      assert.ok(sizes.length <= 4 && Math.max(...sizes) <= 24, JSON.stringify(sizes));
      // A long-running controller asks every pass: the schedule must not grow with time.
      sizes.length = 0;
      for (let pass = 0; pass < 60; pass++) {
        now += 1_500;
        wiring.drainEstimate('m', spec, windows, secrets)(3);
      }
      assert.equal(sizes.length, 60);
      assert.ok(
        sizes.every((n) => n === 3),
        `sizes stayed at the need: ${JSON.stringify(sizes.slice(-3))}`,
      );
    } finally {
      await layer.close();
    }
  });
});
