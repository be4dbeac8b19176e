import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openController } from '../../controller/core/app.ts';
import type { DriverTable } from '../../controller/core/reconcile.ts';
import { createLogger } from '../../controller/log.ts';
import type { Driver } from '../../controller/contracts/driver.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { originLog, scenario, TEST_ENV } from '../support/scenario.ts';
import { testDriverTable } from '../support/test-driver.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

const STEP_MS = 700;

/** The test drivers, each step made slow: one pass then lasts several seconds. */
function slowDrivers(): DriverTable {
  const table = testDriverTable();
  const sleep = () => new Promise((r) => setTimeout(r, STEP_MS));
  for (const [type, d] of Object.entries(table) as Array<[keyof DriverTable, Driver]>) {
    table[type] = {
      ...d,
      step: async (ctx: Parameters<Driver['step']>[0], task: Parameters<Driver['step']>[1]) => (
        await sleep(), d.step(ctx, task)
      ),
    } as never;
  }
  return table;
}

describe('status checkpoints during a long pass', () => {
  let vendor: TestVendor;
  before(
    async () => {
      vendor = await startTestVendor();
    },
    { timeout: 60_000 },
  );
  after(async () => vendor.close(), { timeout: 60_000 });

  it('commits the answers of a long pass to git while the pass still runs, with a bounded lag', {
    timeout: 120_000,
  }, async () => {
    const s = await scenario(vendor.url);
    try {
      const lines: string[] = [];
      const c = await openController({
        remote: s.repo.origin,
        dataDir: s.dataDir,
        drivers: slowDrivers(),
        env: TEST_ENV,
        push: true,
        log: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
        checkpointMs: 500,
      });
      const before = (await originLog(s.repo)).length;
      let ended = false;
      const seenDuringPass: number[] = [];
      const watch = (async () => {
        while (!ended) {
          seenDuringPass.push((await originLog(s.repo)).length - before);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const started = Date.now();
      const report = await c.reconciler.pass();
      const passMs = Date.now() - started;
      ended = true;
      await watch;
      await c.close();

      assert.ok(passMs > 3 * STEP_MS, `the pass was long (${passMs} ms)`);
      assert.ok(
        Math.max(...seenDuringPass) >= 1,
        `a status commit reached origin before the pass ended (${JSON.stringify(seenDuringPass)})`,
      );
      const commits = (await originLog(s.repo)).slice(0, (await originLog(s.repo)).length - before);
      assert.ok(
        commits.every((x) => x.author === 'lethe-bot@example.com' && x.subject.startsWith('lethe: ')),
        'only status commits',
      );
      assert.deepEqual(
        lines.filter((l) => l.includes('checkpoint failed')),
        [],
      );
      assert.ok(report.changes.length > 0 && report.commit === (await originLog(s.repo))[0]!.sha);
      // Every change waited at most a checkpoint interval plus two commits and pushes: the
      // issue's bound is 15 s (git alone takes seconds on a loaded CI machine).
      assert.ok(
        c.reconciler.maxStatusLagMs > 0 && c.reconciler.maxStatusLagMs < 15_000,
        `lag ${c.reconciler.maxStatusLagMs} ms`,
      );
      process.stdout.write(
        `# pass ${passMs} ms, ${commits.length} status commits, longest answer-to-commit lag ${c.reconciler.maxStatusLagMs} ms\n`,
      );
    } finally {
      await removeScratchRepo(s.repo);
    }
  });
});
