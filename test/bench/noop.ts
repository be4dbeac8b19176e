/**
 * Benchmark 2 — the no-op pass. N request manifests pushed straight to main by someone who
 * may not approve (so every request stays AwaitingApproval and no vendor is ever called),
 * in a local repository as `lethe run --repo DIR` reconciles it.
 *
 *   first pass: a controller that never saw the repository (empty data dir) — parses and
 *               validates everything, walks history for approvals, writes N status files;
 *               reported for information.
 *   cold pass:  the controller restarted (a new Reconciler, empty in-memory caches: parsed
 *               manifests, statuses) over the warm data dir the first pass left (journal
 *               with approval evidence and last commit). Everything is re-read, re-parsed,
 *               re-planned and every status recomputed, which come out byte-identical: no
 *               commit. This is the cost every restart pays; the pass is timed, not the open.
 *   no-op pass: the same controller again with nothing changed (median of several).
 * Figure: cold / no-op. It shows that the caches keyed by commit and path (changedPaths,
 * blob ids, status texts) make a quiet pass cost a small fraction of a full one.
 */
import { openController, type Controller } from '../../controller/core/app.ts';
import type { Logger } from '../../controller/contracts/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import {
  bulkRequests,
  createBenchRepo,
  elasticpathYaml,
  maestroqaYaml,
  median,
  quietLogger,
  result,
  round,
  tempDir,
  timed,
  type BenchContext,
  type BenchResult,
} from './lib.ts';

/** Credentials resolve (so no vendor is degraded) but point nowhere: no call may happen. */
export const DUMMY_ENV = {
  MAESTROQA_API_TOKEN: 'bench',
  ELASTICPATH_CLIENT_ID: 'bench',
  ELASTICPATH_CLIENT_SECRET: 'bench',
  LETHE_SUBJECT_SALT: 'bench-salt',
};

export const NOWHERE = 'http://127.0.0.1:9';

/** A controller on a local repository (no push) with DUMMY_ENV, as the benchmarks' children open it. */
export const openBenchController = (repo: string, dataDir: string, log: Logger = quietLogger()): Promise<Controller> =>
  openController({ repo, dataDir, drivers: createDriverTable(), env: DUMMY_ENV, log, push: false });

export async function benchNoop(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 1_000 : 10_000;
  const repeats = ctx.quick ? 5 : 7;
  const root = await tempDir(ctx.tmp, 'noop');
  const work = await createBenchRepo({
    dir: `${root}/repo`,
    vendors: { maestroqa: maestroqaYaml({ baseUrl: NOWHERE }), elasticpath: elasticpathYaml({ baseUrl: NOWHERE }) },
    unapproved: bulkRequests(n, ['maestroqa', 'elasticpath']),
  });
  const logger = quietLogger();
  const open = () => openBenchController(work, `${root}/data`, logger);

  const first = await open();
  const firstPass = await timed(() => first.reconciler.pass());
  await first.close();

  const opened = await timed(open);
  const restarted = opened.value;
  const cold = await timed(() => restarted.reconciler.pass());
  const noops: number[] = [];
  let calls = firstPass.value.calls + cold.value.calls;
  let commits = cold.value.commit ? 1 : 0;
  for (let i = 0; i < repeats; i++) {
    const r = await timed(() => restarted.reconciler.pass());
    noops.push(r.ms);
    calls += r.value.calls;
    if (r.value.commit) commits++;
  }
  await restarted.close();
  const noop = median(noops);
  const awaiting = restarted.reconciler.currentStatuses().filter((s) => s.status.phase === 'AwaitingApproval').length;
  return [
    result({
      name: 'noop',
      figure: `cold pass / no-op pass (${n} manifests)`,
      value: round(cold.ms / noop, 1),
      unit: 'x',
      target: 100,
      cmp: '>=',
      // A quiet pass that commits or calls a vendor is broken, however fast.
      valid: calls === 0 && commits === 0 && awaiting === n,
      details: {
        manifests: n,
        firstPassMs: round(firstPass.ms, 0),
        firstPassChanged: firstPass.value.changes.length,
        openMs: round(opened.ms, 0),
        coldPassMs: round(cold.ms, 0),
        noopPassMs: round(noop, 1),
        noopPasses: repeats,
        vendorCalls: calls,
        commitsAfterFirst: commits,
        awaitingApproval: awaiting,
      },
    }),
  ];
}
