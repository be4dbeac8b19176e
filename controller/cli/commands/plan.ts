import {
  planAsJson,
  planAsMarkdown,
  planAsText,
  type ControlPlaneChange,
  type PlanReport,
} from '../../core/plan-report.ts';
import { gitErrors } from '../../git/errors.ts';
import { runGit } from '../../git/exec.ts';
import { EXIT, parseFlags } from '../main.ts';
import { CONTROLLER_FLAGS, CONTROLLER_USAGE, controllerFrom, exitOnError, loggerFrom } from './controller-flags.ts';

export const usage = `plan [--format text|md|json] [--assume-approved] [--base REF] ${CONTROLLER_USAGE}`;
export const summary = 'Print what the next pass would do, without calling any vendor or writing anything.';

const FORMATS = { text: planAsText, md: planAsMarkdown, json: planAsJson } as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONTROLLER_FLAGS,
    format: { type: 'string' },
    'assume-approved': { type: 'boolean' },
    base: { type: 'string' },
  });
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
    const changed =
      values.base === undefined ? undefined : await changedSince(controller.source.dir, values.base, snapshot.head);
    const inThisChange = new Set((changed ?? []).map((c) => c.path));
    const report: PlanReport = {
      ...(changed === undefined ? {} : { controlPlane: changed.filter((c) => !c.path.startsWith('requests/')) }),
      head: snapshot.head,
      at: new Date().toISOString(),
      plan,
      problems: snapshot.model.problems,
      branch: controller.source.branch,
      root: snapshot.root,
      pending: snapshot.pending,
      rows: [...snapshot.model.requests].map(([name, e]) => {
        const approval = snapshot.approvals.get(e.path);
        const { action, regulation } = e.request ? e.request.spec : e.finished;
        return {
          name,
          action,
          regulation,
          approved: approval?.approved === true || values['assume-approved'] === true,
          // In a pull request the history-based reason ("reached main without a merge") would
          // describe a merge that has not happened: say what the reviewers are asked to do.
          approvalReason:
            inThisChange.has(e.path) && approval?.approved !== true
              ? 'added or edited by this change: it acts once approved under the policy in lethe.yaml'
              : (approval?.reason ?? 'not evaluated'),
          vendors: e.vendors,
          plan: plan.requests.find((r) => r.name === name),
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

/**
 * Manifests the change (base...head) touches: requests it adds or edits, and the control
 * plane (lethe.yaml, vendors/) the reviewers are asked to approve.
 */
async function changedSince(dir: string, base: string, head: string): Promise<ControlPlaneChange[]> {
  const r = await runGit(
    dir,
    ['diff', '--name-status', '-z', '--no-renames', `${base}...${head}`, '--', 'lethe.yaml', 'vendors/', 'requests/'],
    { okCodes: [128] },
  );
  if (r.code !== 0)
    throw gitErrors.error('GIT_FAILED', {
      command: 'diff',
      reason: `--base ${base.slice(0, 60)} is not a commit of this repository (fetch it first: git fetch origin ${base.slice(0, 60)})`,
    });
  const fields = r.stdout.toString('utf8').split('\0').filter(Boolean);
  const out: ControlPlaneChange[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) out.push({ status: fields[i]!, path: fields[i + 1]! });
  return out;
}
