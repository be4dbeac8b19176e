/**
 * Benchmark 5 — memory. Peak RSS of a controller process holding N open requests: N
 * approved requests at two vendors, both `disabled: true` so the planner creates all 2N
 * tasks (Waiting, open) and keeps them in the journal while no vendor is called. The child
 * runs two real passes (the first parses, checks approvals, plans 2N tasks and commits N
 * status files; the second is the steady state) and reports VmHWM from /proc/self/status
 * (the kernel's peak, so short spikes between samples count), plus sampled RSS and the heap
 * kept after a full collection.
 * A measurement in a child process, so the harness, the repository builder and earlier
 * benchmarks do not count. For scale, the same child started without a repository
 * (node + tsx + the controller's modules loaded) is reported as the baseline. A third child
 * reports the heap kept with the same requests finished: what a year of history costs once
 * manifests of finished requests are dropped (controller/core/pass/finished.ts).
 */
import { fileURLToPath } from 'node:url';
import {
  bulkRequests,
  createBenchRepo,
  elasticpathYaml,
  maestroqaYaml,
  peakRssBytes,
  result,
  round,
  runBenchChild,
  tempDir,
  type BenchContext,
  type BenchResult,
} from './lib.ts';
// The controller's modules are imported statically (isFinal, openBenchController): every
// child, the idle one included, has the same code in memory.
import { isFinal } from '../../controller/core/planner.ts';
import { NOWHERE, openBenchController } from './noop.ts';

const SELF = fileURLToPath(import.meta.url);
const MB = 2 ** 20;

/**
 * The heap after a full collection (the child runs with --expose-gc): what is kept between
 * passes. It cannot lower the peak, which the kernel has already recorded.
 */
function retainedHeapMB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return round(process.memoryUsage().heapUsed / MB, 1);
}

interface ChildReport {
  peakRssMB: number;
  /** Requests kept without their manifest after the last pass (finished.ts). */
  finishedHeld: number;
  sampledMaxRssMB: number;
  heapUsedMB: number;
  /** The heap after a full garbage collection: what the controller keeps between passes. */
  heapRetainedMB: number;
  openTasks: number;
  passMs: number[];
}

/** The measured process: `node --import tsx memory.ts --child REPO DATA` (or `--child-idle`). */
async function child(args: string[]): Promise<void> {
  const [mode, repo, dataDir] = args;
  let sampled = process.memoryUsage().rss;
  const timer = setInterval(() => (sampled = Math.max(sampled, process.memoryUsage().rss)), 25);
  const report: ChildReport = {
    peakRssMB: 0,
    finishedHeld: 0,
    sampledMaxRssMB: 0,
    heapUsedMB: 0,
    heapRetainedMB: 0,
    openTasks: 0,
    passMs: [],
  };
  if (mode === '--child' || mode === '--child-finished') {
    const open = () => openBenchController(repo!, dataDir!);
    let controller = await open();
    const pass = async () => {
      const t0 = performance.now();
      report.finishedHeld = (await controller.reconciler.pass()).held.finished;
      report.passMs.push(Math.round(performance.now() - t0));
    };
    await pass();
    if (mode === '--child-finished') {
      // As if every vendor had confirmed. The controller is opened again, so that its first
      // pass records every status (now Completed) and then keeps the requests finished;
      // their tasks stay in the journal, as they do.
      const completedAt = new Date().toISOString();
      for (const t of Object.values(controller.journal.data.tasks))
        controller.journal.putTask({ ...t, phase: 'Completed', completedAt });
      await controller.journal.flush();
      await controller.close();
      controller = await open();
      await pass();
    }
    await pass();
    report.openTasks = Object.values(controller.journal.data.tasks).filter((t) => !isFinal(t)).length;
    report.heapRetainedMB = retainedHeapMB();
    await controller.close();
  }
  if (mode === '--child-idle') report.heapRetainedMB = retainedHeapMB();
  clearInterval(timer);
  sampled = Math.max(sampled, process.memoryUsage().rss);
  report.peakRssMB = round(peakRssBytes() / MB, 1);
  report.sampledMaxRssMB = round(sampled / MB, 1);
  report.heapUsedMB = round(process.memoryUsage().heapUsed / MB, 1);
  process.stdout.write(JSON.stringify(report) + '\n');
}

const runChild = (args: string[], timeoutMs: number): Promise<ChildReport> =>
  runBenchChild<ChildReport>(SELF, args, { timeoutMs, nodeArgs: ['--expose-gc'], label: 'memory' });

export async function benchMemory(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 1_000 : 10_000;
  const root = await tempDir(ctx.tmp, 'memory');
  const work = await createBenchRepo({
    dir: `${root}/repo`,
    vendors: {
      maestroqa: maestroqaYaml({ baseUrl: NOWHERE, disabled: true }),
      elasticpath: elasticpathYaml({ baseUrl: NOWHERE, disabled: true }),
    },
    approved: bulkRequests(n, ['maestroqa', 'elasticpath']),
  });
  const idle = await runChild(['--child-idle'], 60_000);
  const full = await runChild(['--child', work, `${root}/data`], 300_000);
  const finished = await runChild(['--child-finished', work, `${root}/data-finished`], 300_000);
  return [
    result({
      name: 'memory',
      figure: `peak RSS, ${n} open requests`,
      value: full.peakRssMB,
      unit: ' MB',
      target: 200,
      cmp: '<=',
      valid: full.openTasks === 2 * n,
      details: {
        requests: n,
        openTasks: full.openTasks,
        peakRssMB: full.peakRssMB,
        sampledMaxRssMB: full.sampledMaxRssMB,
        heapUsedAfterMB: full.heapUsedMB,
        heapRetainedMB: full.heapRetainedMB,
        baselineHeapRetainedMB: idle.heapRetainedMB,
        baselinePeakRssMB: idle.peakRssMB,
        firstPassMs: full.passMs[0] ?? 0,
        secondPassMs: full.passMs[1] ?? 0,
        finishedHeapRetainedMB: finished.heapRetainedMB,
        finishedHeld: finished.finishedHeld,
      },
      note: 'absolute budget; baselinePeakRssMB = the same process with modules loaded and no repository; heapRetainedMB = heap after a full GC, controller still open; finishedHeapRetainedMB = the same, with the same requests finished (tasks marked Completed in the child, controller opened again, statuses committed) and finishedHeld of them kept without their manifest',
    }),
  ];
}

if (process.argv[1] === SELF && process.argv[2]?.startsWith('--child')) {
  child(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
