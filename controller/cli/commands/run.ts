import { startListener } from '../../core/listener.ts';
import { isFinal } from '../../core/planner.ts';
import { Runner } from '../../core/runner.ts';
import { parseQualifioCallback } from '../../vendors/qualifio/index.ts';
import { taskKey } from '../../../state/journal.ts';
import { EXIT, parseFlags } from '../main.ts';
import { CONTROLLER_FLAGS, CONTROLLER_USAGE, controllerFrom, exitOnError, loggerFrom, UsageError } from './controller-flags.ts';

export const usage = `run ${CONTROLLER_USAGE} [--listen HOST:PORT] [--schedule CRON] [--until-idle] [--max-passes N] [--max-pass-seconds N]`;
export const summary = 'Keep reconciling: on the cron schedule, on new commits, on webhooks and when vendor jobs are due.';

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError('--listen must be HOST:PORT, e.g. 127.0.0.1:8787');
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONTROLLER_FLAGS,
    listen: { type: 'string' },
    schedule: { type: 'string' },
    'until-idle': { type: 'boolean' },
    'max-passes': { type: 'string' },
    'max-pass-seconds': { type: 'string' },
  });
  let controller;
  let listener;
  try {
    const log = loggerFrom(values, 'json');
    const listen = values.listen ? parseListen(values.listen) : undefined;
    controller = await controllerFrom(values, log, { maxPassMs: values['max-pass-seconds'] ? Number(values['max-pass-seconds']) * 1000 : undefined });
    const config = await controller.reconciler.config();
    const runner = new Runner({
      controller,
      log,
      schedule: values.schedule ?? config?.spec.schedule ?? '*/5 * * * *',
      watchRepo: controller.source.mode === 'local' ? controller.source.dir : undefined,
      untilIdle: values['until-idle'],
      maxPasses: values['max-passes'] ? Number(values['max-passes']) : undefined,
    });
    if (listen) {
      const journal = controller.journal;
      listener = await startListener({
        ...listen,
        webhookSecret: process.env.LETHE_WEBHOOK_SECRET,
        onTrigger: (r) => runner.trigger(r),
        // Qualifio calls <callBackUrl>/qualifio/<vendor>/<request> when a rule finished:
        // that task is looked at in the next pass instead of at its next poll.
        onCallback: (path) => {
          const target = parseQualifioCallback(path);
          const task = target && journal.task(taskKey(target.request, target.vendor));
          if (task && !isFinal(task)) journal.putTask({ ...task, nextCheckAt: undefined });
        },
        log,
      });
      log.info('listening for webhooks and vendor callbacks', { url: listener.url });
    }
    const stop = () => runner.stop();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await runner.start();
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    log.info('stopped', { passes: runner.passes });
    return EXIT.ok;
  } catch (err) {
    return exitOnError('run', err);
  } finally {
    await listener?.close();
    await controller?.close();
  }
}
