import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { runDemo } from '../../examples/demo/main.ts';
import { openController } from '../../controller/core/app.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { startE2E, UNAPPROVED } from '../support/e2e.ts';

/**
 * Issue 16's spin: every MaestroQA DELETE answers 500. MaestroQA cannot be asked whether a
 * deletion took effect, so its tasks stop for an operator — and then the controller rests:
 * no pass replans them, the warning is logged once per task, `--until-idle` returns.
 */
describe('a vendor route failing on every call', () => {
  it('stalls the affected tasks once, rests, and lets --until-idle return', { timeout: 180_000 }, async () => {
    const e = await startE2E({ faults: 'maestroqa/delete:5xx=1', timeScale: 0.02 });
    const lines: string[] = [];
    try {
      const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
      const controller = await openController({
        remote: e.repo.origin,
        dataDir: e.dataDir,
        drivers: createDriverTable(),
        env: e.env,
        log,
        degradedRetryMs: 500,
      });
      let passes = 0;
      const runner = new Runner({
        controller,
        log,
        schedule: '*/2 * * * * *',
        untilIdle: true,
        onPass: () => passes++,
      });
      let timedOut = false;
      const stop = setTimeout(() => {
        timedOut = true;
        runner.stop();
      }, 150_000);
      const started = Date.now();
      await runner.start();
      clearTimeout(stop);
      const seconds = (Date.now() - started) / 1000;
      const statuses = controller.reconciler.currentStatuses();
      const journal = controller.journal.data;
      await controller.close();

      assert.equal(timedOut, false, `--until-idle returned by itself (${passes} passes in ${seconds.toFixed(0)} s)`);
      let stalled = 0;
      for (const s of statuses) {
        if (s.metadata.name === UNAPPROVED) continue;
        for (const [vendor, v] of Object.entries(s.status.vendors)) {
          if (vendor === 'maestroqa') {
            assert.equal(v.phase, 'Stalled', `${s.metadata.name}/maestroqa`);
            assert.equal(v.lastError?.code, 'MAESTROQA_SUBMISSION_UNCONFIRMED');
            stalled++;
          } else
            assert.equal(v.phase, 'Completed', `${s.metadata.name}/${vendor}: ${v.phase} ${v.lastError?.code ?? ''}`);
        }
      }
      assert.ok(stalled >= 2, `MaestroQA tasks stalled (${stalled})`);
      // Their intents are resolved as "needs operator", kept for the driver to read.
      const open = Object.values(journal.intents);
      assert.ok(
        open.length > 0 && open.every((i) => i.vendor === 'maestroqa' && i.needsOperator === true),
        JSON.stringify(open.map((i) => [i.vendor, i.needsOperator])),
      );

      // Counted, not eyeballed: the spin made 3-8 passes a second and thousands of lines.
      const stallLines = lines.filter((l) => l.includes('"task stalled"')).length;
      const logLines = lines.length;
      process.stdout.write(
        `# stall run: ${passes} passes, ${logLines} log lines, ${stallLines} "task stalled" lines in ${seconds.toFixed(1)} s\n`,
      );
      assert.equal(stallLines, stalled, 'one "task stalled" line per stalled task');
      assert.ok(passes <= seconds + 5, `passes are paced (${passes} in ${seconds.toFixed(1)} s)`);
      assert.ok(logLines <= 40 * passes, `log lines bounded (${logLines})`);
      const stats = e.sandbox.stats();
      assert.equal(stats.maestroqa.duplicateSubmissions, 0);
      for (const [vendor, st] of Object.entries(stats)) assert.equal(st.rateLimitViolations, 0, vendor);
    } finally {
      await e.close();
    }
  });

  it("the demo with --faults 'maestroqa/delete:5xx=1' ends by itself, the affected requests Stalled and explained", {
    timeout: 180_000,
  }, async () => {
    const r = await runDemo([
      '--quiet',
      '--time-scale',
      '0.02',
      '--timeout-seconds',
      '150',
      '--faults',
      'maestroqa/delete:5xx=1',
    ]);
    try {
      assert.equal(r.idle, true, 'not stopped by the timeout');
      const stalled = r.statuses.flatMap((s) =>
        Object.entries(s.status.vendors)
          .filter(([, v]) => v.phase === 'Stalled')
          .map(([vendor]) => `${s.metadata.name}/${vendor}`),
      );
      assert.ok(stalled.length > 0 && stalled.every((k) => k.endsWith('/maestroqa')), stalled.join(', '));
      assert.equal(r.explanations.length, stalled.length);
      for (const line of r.explanations) assert.match(line, /MAESTROQA_SUBMISSION_UNCONFIRMED\. \S/);
      for (const [vendor, st] of Object.entries(r.stats)) {
        assert.equal(st.rateLimitViolations, 0, vendor);
        assert.equal(st.duplicateSubmissions, 0, vendor);
      }
    } finally {
      await rm(r.root, { recursive: true, force: true });
    }
  });
});
