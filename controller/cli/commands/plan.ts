import { planAsJson, planAsMarkdown, planAsText, type PlanReport } from '../../core/plan-report.ts';
import { EXIT, parseFlags } from '../main.ts';
import { CONTROLLER_FLAGS, CONTROLLER_USAGE, controllerFrom, exitOnError, loggerFrom } from './controller-flags.ts';

export const usage = `plan [--format text|md|json] [--assume-approved] ${CONTROLLER_USAGE}`;
export const summary = 'Print what the next pass would do, without calling any vendor or writing anything.';

const FORMATS = { text: planAsText, md: planAsMarkdown, json: planAsJson } as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { ...CONTROLLER_FLAGS, format: { type: 'string' }, 'assume-approved': { type: 'boolean' } });
  const format = (values.format ?? 'text') as keyof typeof FORMATS;
  if (!(format in FORMATS)) {
    process.stderr.write('lethe plan: --format must be text, md or json\n');
    return EXIT.usage;
  }
  let controller;
  try {
    const log = loggerFrom({ ...values, 'log-level': values['log-level'] ?? 'warn' }, 'text');
    controller = await controllerFrom({ ...values, 'no-push': true }, log, { readOnly: true });
    const { plan, snapshot } = await controller.reconciler.dryRun({ assumeApproved: values['assume-approved'] });
    const report: PlanReport = {
      head: snapshot.head,
      at: new Date().toISOString(),
      plan,
      problems: snapshot.model.problems,
      branch: controller.source.branch,
      root: snapshot.root,
      pending: snapshot.pending,
      rows: [...snapshot.model.requests.values()].map((e) => {
        const approval = snapshot.approvals.get(e.path);
        return {
          name: e.request.metadata.name,
          action: e.request.spec.action,
          regulation: e.request.spec.regulation,
          approved: approval?.approved === true || values['assume-approved'] === true,
          approvalReason: approval?.reason ?? 'not evaluated',
          plan: plan.requests.find((r) => r.name === e.request.metadata.name),
        };
      }),
    };
    process.stdout.write(FORMATS[format](report));
    return EXIT.ok;
  } catch (err) {
    return exitOnError('plan', err);
  } finally {
    await controller?.close();
  }
}
