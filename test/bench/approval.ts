/**
 * Benchmark 7 — the approval walk on a cold start. N requests reached main through P pull
 * requests (requester commits, DPO merges --no-ff), and a few of them were then edited
 * straight on main by a non-approver (pending changes). A controller that never saw the
 * repository computes the approved tree: one `git log` of the whole history, then every
 * first-parent commit judged under the policy in force before it.
 * Figure: milliseconds for ApprovedTree.at(head) from nothing (history read included) on
 * the packed repository; the same on loose objects and a restart from the cache are details.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ApprovedTreeCache } from '../../controller/git/approved-cache.ts';
import { ApprovedTree, pendingChanges } from '../../controller/git/approved-tree.ts';
import { GitSource } from '../../controller/git/source.ts';
import { TrustRoot } from '../../controller/git/trust-root.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import {
  bulkRequests,
  letheConfigText,
  maestroqaYaml,
  result,
  round,
  tempDir,
  timed,
  type BenchContext,
  type BenchResult,
} from './lib.ts';

export async function benchApproval(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 1_000 : 10_000;
  const perPr = 50;
  const edited = Math.max(1, n / 500);
  const root = await tempDir(ctx.tmp, 'approval');
  const work = join(root, 'repo');
  await mkdir(join(work, 'vendors'), { recursive: true });
  await gitAs(work, undefined, ['init', '-q', '-b', 'main']);
  await writeFile(join(work, 'lethe.yaml'), await letheConfigText());
  await writeFile(join(work, 'vendors/maestroqa.yaml'), maestroqaYaml({ baseUrl: 'http://127.0.0.1:9' }));
  await gitAs(work, PEOPLE.lead, ['add', '-A']);
  await gitAs(work, PEOPLE.lead, ['commit', '-q', '-m', 'Set up the privacy repository']);
  const requests = [...bulkRequests(n, ['maestroqa'])];
  for (let i = 0; i < requests.length; i += perPr) {
    const branch = `pr-${i}`;
    await gitAs(work, undefined, ['checkout', '-q', '-b', branch, 'main']);
    for (const [path, text] of requests.slice(i, i + perPr)) {
      await mkdir(dirname(join(work, path)), { recursive: true });
      await writeFile(join(work, path), text);
    }
    await gitAs(work, PEOPLE.requester, ['add', '-A']);
    await gitAs(work, PEOPLE.requester, ['commit', '-q', '-m', `Add requests ${i}`]);
    await gitAs(work, undefined, ['checkout', '-q', 'main']);
    await gitAs(work, PEOPLE.dpo, ['merge', '-q', '--no-ff', '-m', `Merge ${branch}`, branch]);
  }
  for (const [path, text] of requests.slice(0, edited))
    await writeFile(join(work, path), text.replace('vendors:', '# edited\n  vendors:'));
  await gitAs(work, PEOPLE.outsider, ['commit', '-q', '-am', 'Unapproved edits']);
  const head = await gitAs(work, undefined, ['rev-parse', 'HEAD']);

  // One cold start: a controller that never saw the repository (no cache) computes the
  // approved tree and, as the controller does, keeps it in its data directory.
  const walk = async (dataDir: string) => {
    await mkdir(dataDir, { recursive: true });
    const run = await timed(async () => {
      const source = await GitSource.open({
        repo: work,
        branch: 'main',
        dataDir,
        identity: { name: 'Lethe', email: 'lethe@localhost' },
      });
      const trust = new TrustRoot({ dataDir, branch: 'main', record: true, log: { warn: () => {} } });
      return new ApprovedTree(source, trust, { cache: new ApprovedTreeCache(dataDir, 'main', true) }).at(head);
    });
    const approved = [...run.value.approved.keys()].filter((p) => p.startsWith('requests/')).length;
    return { ms: run.ms, approved, pending: pendingChanges(run.value).length };
  };
  // The repository as `git commit` leaves it (loose objects), then as git's own gc and every
  // clone keep it (packed): the controller's clone in --remote mode is always packed.
  const loose = await walk(join(root, 'data-loose'));
  await gitAs(work, undefined, ['repack', '-adq']);
  await gitAs(work, undefined, ['prune-packed', '-q']);
  const cold = await walk(join(root, 'data'));
  // A restart over the same data directory: the walk continues from its cache.
  const warm = await walk(join(root, 'data'));
  const right = (w: { approved: number; pending: number }) => w.approved === n && w.pending === edited;
  return [
    result({
      name: 'approval',
      figure: `cold approval walk (${n} requests, ${n / perPr} merges, packed repository)`,
      value: round(cold.ms, 0),
      unit: 'ms',
      target: 2_000,
      cmp: '<=',
      // A fast walk that approved the wrong things is broken.
      valid: right(cold) && right(loose) && right(warm),
      details: {
        requests: n,
        merges: n / perPr,
        approved: cold.approved,
        pending: cold.pending,
        looseObjectsMs: round(loose.ms, 0),
        warmStartMs: round(warm.ms, 0),
      },
    }),
  ];
}
