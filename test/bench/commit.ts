/**
 * Benchmark 4 — the status commit. One pass in which N requests change phase becomes ONE
 * commit: GitSource.writeStatus with N changed status files, on a local working copy with
 * the branch checked out (so it also updates status/ in the working tree and the index,
 * as a person's `git commit` would leave them).
 * Baseline, in a copy of the same repository (cp -a, index stat data intact): write the
 * same N files to the working tree, then `git add -A && git commit`. Writing the files is
 * in the baseline because the controller too starts from contents in memory.
 * Second figure, same method: N NEW status files (the first pass over a large repository),
 * the case an earlier one-off measurement found slow.
 * Rounds alternate controller and baseline; medians.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { GitSource } from '../../controller/git/source.ts';
import { gitAs } from '../../examples/demo/git-as.ts';
import {
  bulkRequests,
  createBenchRepo,
  elasticpathYaml,
  maestroqaYaml,
  median,
  pad,
  result,
  round,
  tempDir,
  timed,
  type BenchContext,
  type BenchResult,
} from './lib.ts';
import { NOWHERE } from './noop.ts';

const run = promisify(execFile);
const IDENTITY = { name: 'Lethe', email: 'lethe-bot@example.com' };

/** A status document of the size and shape the controller writes (no personal data). */
function statusText(i: number, phase: string, round: number): string {
  const name = `bench-${pad(i)}`;
  return [
    'apiVersion: lethe/v1',
    'kind: PrivacyRequestStatus',
    'metadata:',
    `  name: ${name}`,
    `  source: requests/bench/${name}.yaml`,
    'status:',
    `  phase: ${phase}`,
    '  action: erasure',
    '  regulation: gdpr',
    '  receivedAt: 2026-11-20',
    '  dueAt: 2026-12-20',
    `  subjectRef: sha256:${((i * 2654435761) % 2 ** 32).toString(16).padStart(8, '0')}${pad(i, 8)}`,
    '  approval:',
    '    approved: true',
    '    approvers: [{ name: Data Protection Officer, email: dpo@example.com }]',
    '  vendors:',
    '    maestroqa:',
    `      phase: ${phase}`,
    `      jobIds: ["job-${i}-${round}"]`,
    `      updatedAt: 2026-11-25T10:${pad(round % 60, 2)}:00.000Z`,
    '    elasticpath:',
    `      phase: ${phase}`,
    `      jobIds: ["erasure-${i}-${round}"]`,
    '  conditions:',
    `    - { type: Ready, status: "${phase === 'Completed'}", lastTransitionTime: 2026-11-25T10:${pad(round % 60, 2)}:00.000Z }`,
    '',
  ].join('\n');
}

function statusFiles(n: number, phase: string, roundNo: number): Map<string, string> {
  const files = new Map<string, string>();
  for (let i = 1; i <= n; i++) files.set(`status/bench-${pad(i)}.yaml`, statusText(i, phase, roundNo));
  return files;
}

async function writeTree(dir: string, files: Map<string, string>): Promise<void> {
  const entries = [...files];
  for (const d of new Set(entries.map(([p]) => dirname(join(dir, p))))) await mkdir(d, { recursive: true });
  for (let i = 0; i < entries.length; i += 256)
    await Promise.all(entries.slice(i, i + 256).map(([p, t]) => writeFile(join(dir, p), t)));
}

/** The plain-git way: files into the working tree, add everything, commit. */
async function plainCommit(dir: string, files: Map<string, string>, message: string): Promise<void> {
  await writeTree(dir, files);
  await gitAs(dir, IDENTITY, ['add', '-A']);
  await gitAs(dir, IDENTITY, ['commit', '-q', '-m', message]);
}

interface Compared {
  controllerMs: number;
  gitMs: number;
}

/** Rounds of (controller writeStatus, plain git) on twin repositories; round r writes contents(r). */
async function compare(
  root: string,
  n: number,
  rounds: number,
  base: Map<string, string> | undefined,
  contents: (r: number) => Map<string, string>,
): Promise<Compared> {
  const work = await createBenchRepo({
    dir: join(root, 'repo'),
    vendors: { maestroqa: maestroqaYaml({ baseUrl: NOWHERE }), elasticpath: elasticpathYaml({ baseUrl: NOWHERE }) },
    approved: bulkRequests(n, ['maestroqa', 'elasticpath']),
  });
  if (base) await plainCommit(work, base, 'Status: initial');
  const twins: string[] = [];
  // One twin per round, so "new files" rounds each start from the same state.
  for (let r = 0; r < rounds; r++) {
    const twin = join(root, `twin-${r}`);
    await run('cp', ['-a', work, twin]);
    twins.push(twin);
  }
  const source = await GitSource.open({ repo: work, branch: 'main', dataDir: join(root, 'data'), identity: IDENTITY });
  const controller: number[] = [];
  const plain: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const files = contents(r);
    const message = `Status: ${files.size} requests changed phase\n\nLethe-Phase: round-${r}\n`;
    const c = await timed(() => source.writeStatus(files, message));
    if (!c.value.commit) throw new Error('writeStatus made no commit');
    controller.push(c.ms);
    // The plain-git twin starts from the state the controller's write started from.
    plain.push((await timed(() => plainCommit(twins[base ? 0 : r]!, files, message))).ms);
    if (!base) {
      // New-file rounds repeat the same first write: undo the controller's commit.
      await gitAs(work, undefined, ['reset', '-q', '--hard', 'HEAD~1']);
    }
  }
  return { controllerMs: median(controller), gitMs: median(plain) };
}

export async function benchCommit(ctx: BenchContext): Promise<BenchResult[]> {
  const changed = ctx.quick ? 200 : 1_000;
  const fresh = ctx.quick ? 500 : 10_000;
  const rounds = 3;
  const a = await compare(
    await tempDir(ctx.tmp, 'commit'),
    changed,
    rounds,
    statusFiles(changed, 'InProgress', 0),
    (r) => statusFiles(changed, r % 2 === 0 ? 'Completed' : 'InProgress', r + 1),
  );
  const b = await compare(await tempDir(ctx.tmp, 'commit-new'), fresh, rounds, undefined, () =>
    statusFiles(fresh, 'AwaitingApproval', 0),
  );
  return [
    result({
      name: 'commit',
      figure: `writeStatus / git add+commit (${changed} changed)`,
      value: round(a.controllerMs / a.gitMs),
      unit: 'x',
      target: 1.5,
      cmp: '<=',
      details: { files: changed, writeStatusMs: round(a.controllerMs, 0), plainGitMs: round(a.gitMs, 0), rounds },
    }),
    result({
      name: 'commit-new',
      figure: `writeStatus / git add+commit (${fresh} new)`,
      value: round(b.controllerMs / b.gitMs),
      unit: 'x',
      target: 1.5,
      cmp: '<=',
      details: { files: fresh, writeStatusMs: round(b.controllerMs, 0), plainGitMs: round(b.gitMs, 0), rounds },
    }),
  ];
}
