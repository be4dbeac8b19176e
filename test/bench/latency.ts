/**
 * Benchmark 6 — approval-to-action latency in watch mode. `lethe run --repo DIR` style: the
 * Runner watches the local repository's refs (no cron tick in the window: schedule is once a
 * year). Each round a requester's commit adds a request (built with plumbing and no branch
 * ref, so nothing but the merge moves a ref), then the DPO merges it with `git merge
 * --no-ff` on main. Latency = the sandbox ledger's timestamp of the first vendor call for
 * that subject (the MaestroQA DELETE) minus the moment `git merge` returned (the merge
 * commit exists from then on). It covers the ref watcher's debounce, the pass (sync, diff,
 * parse, approval walk, plan) and the call. Rounds start only once the controller is quiet.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { openController } from '../../controller/core/app.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { taskKey } from '../../state/journal.ts';
import { startSandbox, subjectHash } from '../../examples/sandbox/index.ts';
import { sandboxEnv } from '../../examples/demo/sandbox-wiring.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import {
  bulkEmail,
  createBenchRepo,
  maestroqaYaml,
  median,
  pad,
  quietLogger,
  requestPath,
  requestYaml,
  result,
  round,
  tempDir,
  waitFor,
  type BenchContext,
  type BenchResult,
} from './lib.ts';

/** The requester's commit on top of main, without creating a branch ref (refs are watched). */
async function proposal(work: string, path: string, text: string, name: string): Promise<string> {
  const indexDir = await mkdtemp(join(tmpdir(), 'lethe-bench-index-'));
  try {
    await writeFile(join(indexDir, 'blob'), text);
    const blob = await gitAs(work, undefined, ['hash-object', '-w', join(indexDir, 'blob')]);
    const env = { GIT_INDEX_FILE: join(indexDir, 'index') };
    await gitAs(work, undefined, ['read-tree', 'main'], env);
    await gitAs(work, undefined, ['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`], env);
    const tree = await gitAs(work, undefined, ['write-tree'], env);
    return await gitAs(work, PEOPLE.requester, [
      'commit-tree',
      tree,
      '-p',
      'main',
      '-m',
      `Add privacy request ${name}`,
    ]);
  } finally {
    await rm(indexDir, { recursive: true, force: true });
  }
}

export async function benchLatency(ctx: BenchContext): Promise<BenchResult[]> {
  const rounds = ctx.quick ? 3 : 10;
  // Limits scaled up so that the previous round's polls never hold the first call back.
  const sandbox = await startSandbox({
    port: 0,
    timeScale: 0.0001,
    limitScale: 20,
    generatedSubjects: rounds,
    outcomes: { maestroqaErrorRate: 0, elasticpathFailureRate: 0 },
  });
  const root = await tempDir(ctx.tmp, 'latency');
  const logger = quietLogger();
  const latencies: number[] = [];
  try {
    const work = await createBenchRepo({
      dir: `${root}/repo`,
      vendors: {
        maestroqa: maestroqaYaml({
          baseUrl: sandbox.config.vendors.maestroqa.baseUrl,
          pollIntervalSeconds: 0.05,
          maxPollIntervalSeconds: 0.1,
        }),
      },
    });
    const controller = await openController({
      repo: work,
      dataDir: `${root}/data`,
      drivers: createDriverTable(),
      env: { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'bench-salt' },
      log: logger,
      push: false,
    });
    const runner = new Runner({ controller, log: logger, schedule: '0 0 1 1 *', watchRepo: work, maxSleepMs: 60_000 });
    const running = runner.start();
    try {
      await waitFor(() => runner.passes >= 1, 30_000);
      for (let i = 1; i <= rounds; i++) {
        const name = `latency-${pad(i)}`;
        const email = bulkEmail(i);
        const path = requestPath(name);
        const commit = await proposal(work, path, requestYaml({ name, emails: [email], vendors: ['maestroqa'] }), name);
        await gitAs(work, PEOPLE.dpo, [
          'merge',
          '-q',
          '--no-ff',
          '-m',
          `Merge pull request #${i} from requests/${name}`,
          commit,
        ]);
        const merged = Date.now();
        const hash = subjectHash(email);
        let first: number | undefined;
        await waitFor(
          () => {
            first = sandbox.ledger().find((e) => e.method === 'DELETE' && e.subjects.includes(hash))?.at;
            return first !== undefined;
          },
          15_000,
          2,
        );
        latencies.push(first! - merged);
        // Quiet before the next round: the task is final, the status commit that records it
        // is on main, and main has not moved for half a second. The controller commits to this
        // very branch, so a merge racing one of its status commits fails to lock HEAD.
        await waitFor(() => controller.journal.task(taskKey(name, 'maestroqa'))?.phase === 'Completed', 15_000);
        const recorded = () =>
          gitAs(work, undefined, ['show', `HEAD:status/${name}.yaml`]).then(
            (text) => /^\s+phase: Completed$/m.test(text),
            () => false,
          );
        await waitFor(recorded, 15_000, 50);
        let head = await gitAs(work, undefined, ['rev-parse', 'HEAD']);
        await waitFor(
          async () => {
            await new Promise((r) => setTimeout(r, 500));
            const now = await gitAs(work, undefined, ['rev-parse', 'HEAD']);
            const still = now === head;
            head = now;
            return still;
          },
          15_000,
          0,
        );
      }
    } finally {
      runner.stop();
      await running;
      await controller.close();
    }
  } finally {
    await sandbox.stop();
  }
  const med = median(latencies);
  return [
    result({
      name: 'latency',
      figure: `merge -> first vendor call, median of ${rounds}`,
      value: round(med / 1000, 3),
      unit: ' s',
      target: 1,
      cmp: '<=',
      details: {
        rounds,
        medianMs: round(med, 0),
        minMs: round(Math.min(...latencies), 0),
        maxMs: round(Math.max(...latencies), 0),
      },
      note: 'absolute budget; the ref watcher waits 50 ms for writes to settle (awaitWriteFinish)',
    }),
  ];
}
