import type { Controller } from '../../core/app.ts';
import type { DriverTable } from '../../core/reconcile.ts';
import { startHealthServer } from '../../core/health-server.ts';
import { startListener } from '../../core/listener.ts';
import { ControllerMetrics } from '../../core/metrics.ts';
import { Notifier } from '../../core/notify.ts';
import { Runner } from '../../core/runner.ts';
import { LetheError } from '../../errors/types.ts';
import { VERSION } from '../../version.ts';
import { EXIT, parseFlags } from '../main.ts';
import {
  CONTROLLER_FLAGS,
  CONTROLLER_USAGE,
  controllerFrom,
  exitOnError,
  LEASE_FLAGS,
  LEASE_USAGE,
  leaseFrom,
  loggerFrom,
  UsageError,
} from './controller-flags.ts';

export const usage = `run ${CONTROLLER_USAGE} ${LEASE_USAGE} [--listen HOST:PORT] [--metrics-listen HOST:PORT] [--schedule CRON] [--until-idle] [--max-passes N] [--max-pass-seconds N]`;
export const summary =
  'Keep reconciling: on the cron schedule, on new commits, on webhooks and when vendor jobs are due. Serves /metrics, /healthz and /readyz.';

/** Default address of /metrics, /healthz and /readyz (9464: the port Prometheus exporters commonly use). */
export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9464';
/** /readyz fails when the last successful pass is older than this. */
const READY_WITHIN_MS = 15 * 60_000;

export function parseListen(value: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} must be HOST:PORT, e.g. 127.0.0.1:8787`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}

export async function run(argv: string[]): Promise<number> {
  return runController(argv);
}

/** `lethe run` with another driver table (the controller's own tests drive a test vendor). */
export async function runController(argv: string[], drivers?: DriverTable): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONTROLLER_FLAGS,
    ...LEASE_FLAGS,
    listen: { type: 'string' },
    'metrics-listen': { type: 'string' },
    schedule: { type: 'string' },
    'until-idle': { type: 'boolean' },
    'max-passes': { type: 'string' },
    'max-pass-seconds': { type: 'string' },
  });
  let controller: Controller | undefined;
  let listener;
  let health;
  let runner: Runner | undefined;
  // SIGTERM while standing by for the lease, or during a pass: finish cleanly either way.
  const abort = new AbortController();
  const stop = () => {
    abort.abort();
    runner?.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    const log = loggerFrom(values, 'json');
    const listen = values.listen ? parseListen(values.listen) : undefined;
    const metricsListen = parseListen(values['metrics-listen'] ?? DEFAULT_METRICS_LISTEN, '--metrics-listen');
    const lease = leaseFrom(values, abort.signal);
    const metrics = new ControllerMetrics(VERSION);
    health = await startHealthServer({
      ...metricsListen,
      registry: metrics.registry,
      notReady: () => {
        if (!controller?.lease?.held) return 'the single-writer lease is not held (standing by)';
        if (metrics.lastSuccessAt === undefined) return 'no successful pass yet';
        const age = Date.now() - metrics.lastSuccessAt;
        return age > READY_WITHIN_MS ? `the last successful pass was ${Math.round(age / 1000)} s ago` : undefined;
      },
    });
    log.info('serving metrics and health', {
      metrics: `${health.url}/metrics`,
      readyz: `${health.url}/readyz`,
      healthz: `${health.url}/healthz`,
    });
    controller = await controllerFrom(values, log, {
      maxPassMs: values['max-pass-seconds'] ? Number(values['max-pass-seconds']) * 1000 : undefined,
      lease,
      metrics,
      drivers,
    });
    let lost: LetheError | undefined;
    metrics.setLeaseHeld(true);
    controller.lease!.onLost = (err) => {
      lost = err;
      metrics.setLeaseHeld(false);
      runner?.stop();
    };
    const config = await controller.reconciler.config();
    const c = controller;
    const notifier = new Notifier({ dataDir: c.dataDir, env: process.env, log });
    let notifying = Promise.resolve();
    runner = new Runner({
      controller,
      log,
      schedule: values.schedule ?? config?.spec.schedule ?? '*/5 * * * *',
      watchRepo: controller.source.mode === 'local' ? controller.source.dir : undefined,
      untilIdle: values['until-idle'],
      maxPasses: values['max-passes'] ? Number(values['max-passes']) : undefined,
      beforePass: () => c.lease!.renew(),
      onPass: (report, ms) => {
        const statuses = c.reconciler.currentStatuses();
        metrics.passSucceeded(ms / 1000, Date.now(), report, c.journal.data, statuses);
        // One notification round at a time, in pass order; the runner does not wait for it.
        notifying = notifying
          .then(async () =>
            notifier.afterPass((await c.reconciler.config())?.spec.notifications, statuses, report.plan.requests),
          )
          .catch(() => log.warn('notifications failed; retried after the next pass', { code: 'NOTIFY_FAILED' }));
      },
      onPassFailed: (_err, ms) => metrics.passFailed(ms / 1000),
    });
    if (abort.signal.aborted) runner.stop();
    if (listen) {
      const wake = controller.callback;
      const r = runner;
      listener = await startListener({
        ...listen,
        webhookSecret: process.env.LETHE_WEBHOOK_SECRET,
        onTrigger: (reason) => r.trigger(reason),
        // A driver that declares callbacks names the task; it is looked at in the next pass.
        onCallback: (path) => void wake(path),
        log,
      });
      log.info('listening for webhooks and vendor callbacks', { url: listener.url });
    }
    await runner.start().catch((err: unknown) => {
      if (err instanceof LetheError && err.code === 'LEASE_LOST') lost = err;
      else throw err;
    });
    await notifying;
    if (lost) {
      process.stderr.write(`lethe run: ${lost.code} ${lost.message}\n`);
      return EXIT.error;
    }
    log.info('stopped', { passes: runner.passes });
    return EXIT.ok;
  } catch (err) {
    // Stopped while standing by for the lease: a clean exit, not a failure.
    if (abort.signal.aborted && err instanceof LetheError && err.code === 'LEASE_HELD') return EXIT.ok;
    return exitOnError('run', err);
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    await listener?.close();
    await controller?.close();
    await health?.close();
  }
}
