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
} from './controller-flags.ts';
import { plural } from '../../plural.ts';

export const usage = `reconcile --once ${CONTROLLER_USAGE} ${LEASE_USAGE} [--max-pass-seconds N]`;
export const summary = 'Run one reconcile pass: read, validate, approve, plan, call vendors, commit status.';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONTROLLER_FLAGS,
    ...LEASE_FLAGS,
    once: { type: 'boolean' },
    'max-pass-seconds': { type: 'string' },
  });
  if (!values.once) {
    process.stderr.write('lethe reconcile: pass --once (use `lethe run` to keep reconciling)\n');
    return EXIT.usage;
  }
  const maxPassMs = values['max-pass-seconds'] === undefined ? undefined : Number(values['max-pass-seconds']) * 1000;
  if (maxPassMs !== undefined && !(maxPassMs > 0)) {
    process.stderr.write(`lethe reconcile: --max-pass-seconds must be a positive number\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  let controller;
  try {
    const log = loggerFrom(values, 'text');
    // One writer at a time, also for CI jobs: a second one exits (or, with --wait-for-lease, waits).
    controller = await controllerFrom(values, log, { maxPassMs, lease: leaseFrom(values) });
    const report = await controller.reconciler.pass();
    const phases = controller.reconciler.currentStatuses().map((s) => s.status.phase);
    const count = (p: string) => phases.filter((x) => x === p).length;
    process.stdout.write(
      [
        `reconciled ${report.head.slice(0, 12)}: ${plural(report.plan.actions.length, 'action')}, ${plural(report.calls, 'vendor call')}`,
        report.commit
          ? `status commit ${report.commit.slice(0, 12)}${report.pushed ? ' (pushed)' : ''}: ${plural(report.changes.length, 'request')} changed`
          : 'no status change',
        `requests: ${count('Completed')} completed, ${count('InProgress') + count('Pending')} open, ${count('AwaitingApproval')} awaiting approval, ${count('Invalid')} invalid, ${count('Failed')} failed`,
        ...report.problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.code} ${p.message}`),
      ].join('\n') + '\n',
    );
    if (report.pushError)
      process.stderr.write(`lethe reconcile: status not pushed (${report.pushError.code}); the next pass retries\n`);
    return report.problems.length > 0 || count('Failed') > 0 ? EXIT.invalid : EXIT.ok;
  } catch (err) {
    return exitOnError('reconcile', err);
  } finally {
    await controller?.close();
  }
}
