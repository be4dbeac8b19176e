import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { openController } from '../../controller/core/app.ts';
import { DEGRADED_RETRY_CAP_MS, DEGRADED_RETRY_START_MS, degradedRetryAt } from '../../controller/core/degraded.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { scenario, TEST_ENV, type Scenario } from '../support/scenario.ts';
import { testDriverTable } from '../support/test-driver.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

describe('degraded connection backoff', () => {
  it('retries at since + 60 s, then after doubling intervals capped at 30 min, always after now', () => {
    const since = Date.parse('2026-12-01T00:00:00Z');
    const m = 60_000;
    assert.equal(degradedRetryAt(since, since), since + m);
    assert.equal(degradedRetryAt(since, since + m), since + 3 * m);
    assert.equal(degradedRetryAt(since, since + 3 * m), since + 7 * m);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 * 86_400_000 }), (elapsed) => {
        const now = since + elapsed;
        const next = degradedRetryAt(since, now);
        assert.ok(next > now, 'the next try is in the future: no busy loop');
        assert.ok(next - now <= DEGRADED_RETRY_CAP_MS, 'never waits longer than the cap');
        // Points are the same whatever instant asks: the schedule depends on `since` only.
        assert.equal(degradedRetryAt(since, next - 1), next);
        assert.ok(next - since >= DEGRADED_RETRY_START_MS);
      }),
    );
  });
});

describe('a missing credential does not make lethe run spin', () => {
  let vendor: TestVendor;
  let s: Scenario;
  before(async () => {
    vendor = await startTestVendor();
    s = await scenario(vendor.url);
  });
  after(async () => {
    await vendor.close();
    await removeScratchRepo(s.repo);
  });

  it('two minutes without MAESTROQA_API_TOKEN (at 10x speed) cost a few passes and log lines, naming the variable once', async () => {
    const { MAESTROQA_API_TOKEN: _missing, ...env } = TEST_ENV;
    const lines: string[] = [];
    const scale = 10;
    // Real time while the other vendors finish, then 10 controller ms per real ms (passes must stay cheap next to it, or a busy loop would hide).
    let scaledFrom: number | undefined;
    const now = () => (scaledFrom === undefined ? Date.now() : scaledFrom + (Date.now() - scaledFrom) * scale);
    const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
    const c = await openController({
      remote: s.repo.origin,
      dataDir: s.dataDir,
      drivers: testDriverTable(),
      env,
      push: true,
      log,
      now,
    });
    try {
      // First let every other vendor finish: what is left is the degraded connection alone.
      for (let i = 0; i < 30; i++) {
        await c.reconciler.pass();
        const open = Object.values(c.journal.data.tasks).filter(
          (t) =>
            t.vendor !== 'maestroqa' && !['Completed', 'Failed', 'Skipped', 'Cancelled', 'Stalled'].includes(t.phase),
        );
        if (open.length === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(c.journal.data.degraded.maestroqa, 'maestroqa is degraded');
      const settledLines = lines.length;
      scaledFrom = Date.now();
      const runner = new Runner({ controller: c, log, schedule: '0 0 1 1 *', now, timeScale: scale });
      const stopAt = now() + 2 * 60_000;
      const timer = setInterval(() => now() >= stopAt && runner.stop(), 5);
      await runner.start();
      clearInterval(timer);

      const during = lines.slice(settledLines).map((l) => JSON.parse(l) as { msg: string });
      assert.ok(
        runner.passes >= 2 && runner.passes <= 4,
        `passes in two minutes: ${runner.passes} (start, the retries at +60 s and +180 s)`,
      );
      assert.ok(during.length <= 2 * runner.passes + 2, `log lines in two minutes: ${during.length}`);
      const named = lines.filter((l) => l.includes('MAESTROQA_API_TOKEN'));
      assert.equal(named.length, 1, 'the missing variable is named once, when the connection degraded');
      assert.match(
        named[0]!,
        /"vendor":"maestroqa","code":"CREDENTIAL_ENV_MISSING","reason":"environment variable MAESTROQA_API_TOKEN is not set"/,
      );
      assert.ok(!lines.some((l) => l.includes('test-token')), 'no credential value in the log');
    } finally {
      await c.close();
    }
  });
});
