import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PrivacyRequestStatus } from '../../../specs/index.ts';
import { LetheConfig } from '../../../specs/index.ts';
import {
  explainStatus,
  HISTORY_REWRITTEN_BANNER,
  renderStatusTable,
  ROOT_LINE,
  signingNote,
  sortForDisplay,
  statusReason,
  vendorProgress,
} from '../../core/dashboard.ts';
import { parseSshPublicKey } from '../../git/signing.ts';
import { git } from '../../git/exec.ts';
import { lsTree, readBlobs } from '../../git/tree.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'status [--repo DIR] [--ref REF] [--json] [--explain NAME]';
export const summary =
  'List the requests as the committed status files record them, with why each waits (invalid and stalled first); --explain NAME tells one in full.';

/**
 * Reads status/ from a commit (default HEAD) of a local clone: what an auditor sees, with
 * no journal and no vendor call involved.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    repo: { type: 'string' },
    ref: { type: 'string' },
    json: { type: 'boolean' },
    explain: { type: 'string' },
  });
  const dir = resolve(values.repo ?? '.');
  const ref = values.ref ?? 'HEAD';
  let tree;
  try {
    const commit = await git(dir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
    tree = await lsTree(dir, commit);
  } catch {
    process.stderr.write(
      `lethe status: ${dir} is not a git repository with a commit ${ref}\n  hint: run it inside a clone of the privacy repository, or pass --repo DIR (and --ref BRANCH when status goes to a status branch)\n`,
    );
    return EXIT.error;
  }
  // One ls-tree and one cat-file for every status file: an audit of 10,000 requests stays fast.
  const paths = [...tree.keys()].filter((p) => /^status\/[^/]+\.yaml$/.test(p)).sort();
  const extra = ['lethe.yaml', 'status/README.md'].flatMap((p) => (tree.get(p) ? [tree.get(p)!.id] : []));
  const blobs = await readBlobs(dir, [...paths.map((p) => tree.get(p)!.id), ...extra]);
  const dashboardId = tree.get('status/README.md')?.id;
  const dashboard = dashboardId ? (blobs.get(dashboardId) ?? '') : '';
  const statuses: PrivacyRequestStatus[] = [];
  for (const path of paths) {
    const parsed = PrivacyRequestStatus.safeParse(parseYaml(blobs.get(tree.get(path)!.id) ?? ''));
    if (parsed.success) statuses.push(parsed.data);
    else process.stderr.write(`lethe status: ${path} is not a valid status file; skipped\n`);
  }
  if (values.explain !== undefined) {
    const one = statuses.find((s) => s.metadata.name === values.explain);
    if (!one) {
      process.stderr.write(
        `lethe status: no status file for ${values.explain.slice(0, 63)} at ${ref} (requests appear after the first reconcile pass that sees them)\n`,
      );
      return EXIT.invalid;
    }
    process.stdout.write(explainStatus(one));
    return EXIT.ok;
  }
  const sorted = sortForDisplay(statuses);
  if (values.json) {
    const rows = sorted.map((s) => ({
      name: s.metadata.name,
      action: s.status.action ?? null,
      phase: s.status.phase,
      dueAt: s.status.dueAt ?? null,
      vendors: vendorProgress(s),
      overdue: s.status.conditions.some((c) => c.type === 'Overdue' && c.status === 'True'),
      reason: statusReason(s),
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return EXIT.ok;
  }
  if (sorted.length === 0) {
    process.stdout.write('No status files yet: run `lethe reconcile --once`.\n');
    return EXIT.ok;
  }
  process.stdout.write(renderStatusTable(sorted));
  process.stdout.write(
    `\n${recordNote(tree.get('lethe.yaml') && blobs.get(tree.get('lethe.yaml')!.id), tree.get('status/README.md') && blobs.get(tree.get('status/README.md')!.id))}\n`,
  );
  // The controller's own account of trust, as its last status commit wrote it.
  const root = dashboard.split('\n').find((l) => l.startsWith(ROOT_LINE));
  if (root) process.stdout.write(`\n${root.replace(/`/g, '')}\n`);
  const pending = /^## Unapproved changes on [\s\S]*?(?=^## |(?![\s\S]))/m.exec(dashboard)?.[0];
  if (pending) process.stdout.write(`\n${pending.trimEnd()}\n`);
  return EXIT.ok;
}

/** Whether status commits are signed (as lethe.yaml at the ref declares), and a HistoryRewritten alarm. */
function recordNote(config: string | undefined, dashboard: string | undefined): string {
  let declared: string | undefined;
  try {
    const parsed = LetheConfig.safeParse(parseYaml(config ?? ''));
    declared = parsed.success ? parsed.data.spec.identity.signingKey : undefined;
  } catch {
    declared = undefined;
  }
  const note = signingNote({ signedBy: declared ? parseSshPublicKey(declared)?.fingerprint : undefined }).replace(
    /\*\*|`/g,
    '',
  );
  const alarm = dashboard?.startsWith(HISTORY_REWRITTEN_BANNER)
    ? dashboard.slice(2, dashboard.indexOf('\n')).replace(/\*\*/g, '')
    : undefined;
  return alarm ? `${alarm}\n${note}` : note;
}
