import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { PrivacyRequestStatus } from '../../../specs/index.ts';
import { renderStatusTable, ROOT_LINE, sortForDisplay, vendorProgress } from '../../core/dashboard.ts';
import { git } from '../../git/exec.ts';
import { lsTree, readBlobs } from '../../git/tree.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'status [--repo DIR] [--ref REF] [--json]';
export const summary = 'List the requests as the status files committed in the repository record them (overdue first).';

/**
 * Reads status/ from a commit (default HEAD) of a local clone: what an auditor sees, with
 * no journal and no vendor call involved.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { repo: { type: 'string' }, ref: { type: 'string' }, json: { type: 'boolean' } });
  const dir = resolve(values.repo ?? '.');
  const ref = values.ref ?? 'HEAD';
  let tree;
  try {
    const commit = await git(dir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
    tree = await lsTree(dir, commit);
  } catch {
    process.stderr.write(`lethe status: ${dir} is not a git repository with a commit ${ref}\n`);
    return EXIT.error;
  }
  // One ls-tree and one cat-file for every status file: an audit of 10,000 requests stays fast.
  const paths = [...tree.keys()].filter((p) => /^status\/[^/]+\.yaml$/.test(p)).sort();
  const dashboardId = tree.get('status/README.md')?.id;
  const blobs = await readBlobs(dir, [...paths.map((p) => tree.get(p)!.id), ...(dashboardId ? [dashboardId] : [])]);
  const dashboard = dashboardId ? (blobs.get(dashboardId) ?? '') : '';
  const statuses: PrivacyRequestStatus[] = [];
  for (const path of paths) {
    const parsed = PrivacyRequestStatus.safeParse(parseYaml(blobs.get(tree.get(path)!.id) ?? ''));
    if (parsed.success) statuses.push(parsed.data);
    else process.stderr.write(`lethe status: ${path} is not a valid status file; skipped\n`);
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
    }));
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return EXIT.ok;
  }
  if (sorted.length === 0) {
    process.stdout.write('No status files yet: run `lethe reconcile --once`.\n');
    return EXIT.ok;
  }
  process.stdout.write(renderStatusTable(sorted));
  // The controller's own account of trust, as its last status commit wrote it.
  const root = dashboard.split('\n').find((l) => l.startsWith(ROOT_LINE));
  if (root) process.stdout.write(`\n${root.replace(/`/g, '')}\n`);
  const pending = /^## Unapproved changes on [\s\S]*?(?=^## |(?![\s\S]))/m.exec(dashboard)?.[0];
  if (pending) process.stdout.write(`\n${pending.trimEnd()}\n`);
  return EXIT.ok;
}
