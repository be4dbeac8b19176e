import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { openController } from '../../controller/core/app.ts';
import { startHealthServer } from '../../controller/core/health-server.ts';
import { ControllerMetrics } from '../../controller/core/metrics.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { exampleEmails, scenario, TEST_ENV, type Scenario } from '../support/scenario.ts';
import { testDriverTable } from '../support/test-driver.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

/** Sum of the samples of a metric whose line starts with `selector` (a name, or a name with labels). */
function sample(text: string, selector: string): number {
  return text
    .split('\n')
    .filter(
      (l) =>
        !l.startsWith('#') &&
        (l.startsWith(selector + ' ') ||
          l.startsWith(selector + '{') ||
          (selector.includes('{') && l.startsWith(selector.slice(0, -1) + ','))),
    )
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('/metrics, /healthz and /readyz after a run', () => {
  let vendor: TestVendor;
  let s: Scenario;
  before(async () => {
    vendor = await startTestVendor();
    s = await scenario(vendor.url, { unapproved: ['2026-11-0050'] });
  });
  after(async () => {
    await vendor.close();
    await removeScratchRepo(s.repo);
  });

  it('count passes, requests and tasks by phase, every vendor call, degraded connections and the lease', async () => {
    const metrics = new ControllerMetrics('test');
    const health = await startHealthServer({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      notReady: () => (metrics.lastSuccessAt === undefined ? 'no successful pass yet' : undefined),
    });
    const get = async (path: string) => {
      const res = await fetch(health.url + path);
      return { status: res.status, text: await res.text(), type: res.headers.get('content-type') ?? '' };
    };
    // The user-service API Proxy's credential is missing: that connection is degraded, the others complete.
    const { ACME_API_CREDENTIALS: _missing, ...env } = TEST_ENV;
    const c = await openController({
      remote: s.repo.origin,
      dataDir: s.dataDir,
      drivers: testDriverTable(),
      env,
      push: true,
      log: createLogger({ level: 'warn', write: () => undefined }),
      metrics,
      lease: { durationMs: 10_000 },
    });
    try {
      assert.equal((await get('/healthz')).status, 200);
      const before = await get('/readyz');
      assert.equal(before.status, 503);
      assert.match(before.text, /no successful pass yet/);
      metrics.setLeaseHeld(c.lease!.held);
      const runner = new Runner({
        controller: c,
        log: createLogger({ level: 'warn', write: () => undefined }),
        schedule: '0 0 1 1 *',
        maxPasses: 60,
        maxSleepMs: 50,
        onPass: (report, ms) =>
          metrics.passSucceeded(ms / 1000, Date.now(), report, c.journal.data, c.reconciler.currentStatuses()),
        onPassFailed: (_e, ms) => metrics.passFailed(ms / 1000),
      });
      const stopWhenDone = setInterval(() => {
        const open = Object.values(c.journal.data.tasks).filter(
          (t) =>
            t.vendor !== 'user-service' &&
            !['Completed', 'Failed', 'Skipped', 'Cancelled', 'Stalled'].includes(t.phase),
        );
        if (runner.passes > 0 && open.length === 0) runner.stop();
      }, 20);
      await runner.start();
      clearInterval(stopWhenDone);

      const m = await get('/metrics');
      assert.equal(m.status, 200);
      assert.match(m.type, /^text\/plain; version=0\.0\.4/);
      assert.equal((await get('/readyz')).status, 200);
      const statuses = c.reconciler.currentStatuses();
      const phases = (p: string) => statuses.filter((x) => x.status.phase === p).length;
      assert.equal(sample(m.text, 'lethe_passes_total{result="ok"}'), runner.passes);
      assert.equal(sample(m.text, 'lethe_pass_duration_seconds_count'), runner.passes);
      assert.equal(sample(m.text, 'lethe_requests{phase="AwaitingApproval"}'), 1);
      assert.equal(sample(m.text, 'lethe_requests{phase="InProgress"}'), phases('InProgress'));
      assert.equal(sample(m.text, 'lethe_requests{phase="Completed"}'), phases('Completed'));
      assert.equal(sample(m.text, 'lethe_requests'), statuses.length);
      const tasks = Object.values(c.journal.data.tasks);
      assert.equal(
        sample(m.text, 'lethe_tasks{phase="Completed"}'),
        tasks.filter((t) => t.phase === 'Completed').length,
      );
      assert.equal(sample(m.text, 'lethe_tasks'), tasks.length);
      // Every request that ended is kept without its manifest.
      assert.ok(phases('Completed') > 0);
      assert.equal(sample(m.text, 'lethe_manifests_held{form="finished"}'), phases('Completed') + phases('Failed'));
      // Every request the test vendor received was counted once, by route and status.
      assert.equal(sample(m.text, 'lethe_vendor_calls_total'), vendor.calls.length);
      const submits = m.text
        .split('\n')
        .filter(
          (l) =>
            l.startsWith('lethe_vendor_calls_total{') &&
            l.includes('vendor="maestroqa"') &&
            l.includes('route="test.submit"'),
        );
      assert.equal(
        submits.reduce((n, l) => n + Number(l.split(' ').pop()), 0),
        vendor.calls.filter((x) => x.method === 'POST' && x.body.includes('/maestroqa"')).length,
      );
      assert.ok(submits.length > 0 && submits.every((l) => l.includes('status="201"')));
      assert.equal(sample(m.text, 'lethe_vendor_rate_limited_total'), 0);
      assert.equal(sample(m.text, 'lethe_degraded_connections'), 1);
      assert.ok(
        /lethe_vendor_degraded_seconds\{vendor="user-service",code="CREDENTIAL_ENV_MISSING"\} \d+/.test(m.text),
        'the degraded connection, named with its cause',
      );
      assert.equal(sample(m.text, 'lethe_lease_held'), 1);
      assert.equal(sample(m.text, 'lethe_unapproved_changes'), 1);
      assert.ok(sample(m.text, 'lethe_last_successful_pass_timestamp_seconds') > Date.now() / 1000 - 120);
      assert.ok(sample(m.text, 'lethe_oldest_open_request_age_seconds') > 0);
      for (const e of await exampleEmails(s.repo)) assert.ok(!m.text.includes(e), 'no personal data in metrics');
    } finally {
      await c.close();
      await health.close();
    }
  });
});

describe('examples/deploy/prometheus-rules.yaml', () => {
  it('alerts on Overdue, AT RISK, Stalled, degraded > 1 h, unapproved changes and no pass for 15 min, with metrics that exist', async () => {
    const rules = parse(
      await readFile(new URL('../../examples/deploy/prometheus-rules.yaml', import.meta.url), 'utf8'),
    ) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const all = rules.groups.flatMap((g) => g.rules);
    for (const name of [
      'LetheRequestOverdue',
      'LetheRequestAtRisk',
      'LetheRequestStalled',
      'LetheVendorDegraded',
      'LetheUnapprovedChange',
      'LetheNoSuccessfulPass',
    ]) {
      assert.ok(
        all.some((r) => r.alert === name),
        name,
      );
    }
    assert.match(all.find((r) => r.alert === 'LetheVendorDegraded')!.expr, /> 3600/);
    assert.match(all.find((r) => r.alert === 'LetheNoSuccessfulPass')!.expr, /> 900/);
    const exposed = new Set((await new ControllerMetrics('test').registry.getMetricsAsJSON()).map((m) => m.name));
    for (const r of all) {
      for (const [metric] of r.expr.matchAll(/lethe_[a-z_]+/g))
        assert.ok(exposed.has(metric), `${r.alert} uses ${metric}, which the controller exposes`);
    }
  });
});
