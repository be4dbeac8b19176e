/**
 * Benchmark 1 — backlog drain. N approved erasure requests at MaestroQA and Elastic Path,
 * reconciled by the real `lethe run` loop (Runner + Reconciler on a local repository:
 * git source, approval gate, planner, executor, journal, status commits) against the
 * sandbox. The real pass rather than planner+executor alone, because whatever the pass
 * costs beyond the vendor calls (git, status rendering, status commits) shows up as wall
 * time only where the limiter idles for it, and that is exactly what a drain ratio must
 * show. With the Runner's follow-ups (its default), the polls of a job go out in the pass
 * that submitted it, while checkpoints commit statuses: the drain is one pass, and what is
 * left is its head (the cold pass's source, approve and plan steps before the first call)
 * and its tail (the final record step after the last call), reported as headMs and tailMs.
 *
 * Lower bound: the time the vendors' own sliding windows need for the calls the work
 * cannot avoid, computed with the limiter's exact multi-window formula (drainTimeMs) with
 * no safety margin, vendors in parallel, the slowest one wins:
 *   MaestroQA: ceil(N/5) DELETEs + ceil(N/5) status polls (one per batched job: every job
 *              finishes before its first poll, so one poll suffices);
 *   Elastic Path: 1 token + N lookups + N erasure lists + N creates + N polls.
 * Vendor-side job durations are made negligible (time-scale 5e-5: a deep delete takes 30 ms,
 * an EP erasure 1.5 ms) and poll intervals short (0.1 s / 0.05 s); they are not in the bound.
 * Calls beyond the minimum (extra polls, token refreshes, 429 retries) count against us.
 */
import { Runner } from '../../controller/core/runner.ts';
import { openController } from '../../controller/core/app.ts';
import { drainTimeMs } from '../../controller/http/sliding-window.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import type { DriverTable } from '../../controller/core/reconcile.ts';
import type { RateWindow } from '../../specs/index.ts';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  startSandbox,
  type LedgerEntry,
  type SandboxConfig,
  type SandboxOptions,
  type VendorName,
  type VendorStats,
} from '../../examples/sandbox/index.ts';
import { sandboxEnv } from '../../examples/demo/sandbox-wiring.ts';
import {
  bulkRequests,
  createBenchRepo,
  elasticpathYaml,
  maestroqaYaml,
  nowMs,
  quietLogger,
  result,
  round,
  tempDir,
  type BenchContext,
  type BenchResult,
} from './lib.ts';

const SELF = fileURLToPath(import.meta.url);
const LIMIT_SCALE = 20;
const TIME_SCALE = 0.00005;
const MQA_BATCH = 5;

/** The sandbox's windows ({limit, windowMs}) as a VendorConnection's rateLimits. */
const asSpec = (windows: SandboxConfig['vendors']['maestroqa']['rateLimits']): RateWindow[] =>
  windows.map((w) => ({ limit: w.limit, perSeconds: w.windowMs / 1000 }));

/** Send time of the n-th of n calls from an empty log, each as early as the windows allow. */
const drainMs = (windows: RateWindow[], n: number): number =>
  drainTimeMs(windows, { sent: [], open: 0, pausedUntil: 0 }, n, 0, 0);

interface DrainRun {
  wallMs: number;
  boundMs: number;
  minimal: { maestroqa: number; elasticpath: number };
  calls: { maestroqa: number; elasticpath: number };
  sent429: number;
  violations: number;
  duplicates: number;
  completed: number;
  tasks: number;
  /** Longest time between a task change (a vendor's answer) and the status commit recording it. */
  statusLagMs: number;
  /** Durable (fsync'd) journal writes and their total time: the cost of crash safety. */
  journalWrites: number;
  journalWriteMs: number;
  /** Where the wall time beyond the vendors' work goes, by phase (ms). */
  phases: {
    /** Start to the first vendor call: the cold first pass's source, approve and plan steps. */
    headMs: number;
    /** First to last vendor call (the limiter's part, margins and controller slack included). */
    vendorMs: number;
    /** Last vendor call to everything recorded: the final record step (statuses, commit). */
    tailMs: number;
    passes: number;
  };
}

/** The sandbox as the drain sees it: in a process of its own, read over its HTTP endpoints. */
interface SandboxProcess {
  config: SandboxConfig;
  stats(): Promise<Record<VendorName, VendorStats>>;
  ledger(): Promise<LedgerEntry[]>;
  stop(): Promise<void>;
}

/**
 * Starts the vendor simulators in a child process. In the controller's process they shared
 * its event loop: a pause of the controller (a garbage collection, a record step) held
 * calls already sent until it ended, and the sandbox then counted them as arriving
 * together, a rate-limit violation the vendor would never have seen. A vendor has a clock
 * of its own; so does this one. The child exits when its stdin closes (this process gone).
 */
function startSandboxProcess(options: SandboxOptions): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--sandbox-child', JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = (): Promise<void> => {
    child.stdin.end();
    return closed;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the sandbox process did not start in 30 s: ${err.slice(-2000)}`));
    }, 30_000);
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.includes('\n')) return;
      out += d.toString();
      if (!out.includes('\n')) return;
      const line = out.slice(0, out.indexOf('\n'));
      clearTimeout(timer);
      const get = async <T>(path: string): Promise<T> => {
        const answer = await fetch(`${line}${path}`);
        if (!answer.ok) throw new Error(`sandbox ${path}: HTTP ${answer.status}`);
        return (await answer.json()) as T;
      };
      get<SandboxConfig>('/_sandbox/config').then(
        (config) =>
          resolve({
            config,
            stats: () => get('/_sandbox/stats'),
            ledger: () => get('/_sandbox/ledger'),
            stop,
          }),
        (e: unknown) => void stop().then(() => reject(e)),
      );
    });
    void closed.then(() => {
      clearTimeout(timer);
      reject(new Error(`the sandbox process exited: ${err.slice(-2000)}`));
    });
  });
}

export async function runDrain(ctx: BenchContext, n: number, batched: boolean): Promise<DrainRun> {
  const sandbox = await startSandboxProcess({
    port: 0,
    timeScale: TIME_SCALE,
    limitScale: LIMIT_SCALE,
    generatedSubjects: n,
    // Failures would add legitimate resubmissions; the bound is about the happy path.
    outcomes: { maestroqaErrorRate: 0, elasticpathFailureRate: 0 },
    seed: 3,
  });
  const logger = quietLogger(process.env.BENCH_DEBUG ? 100_000 : 200);
  const root = await tempDir(ctx.tmp, batched ? 'drain' : 'drain-unbatched');
  try {
    const v = sandbox.config.vendors;
    const mqaWindows = asSpec(v.maestroqa.rateLimits);
    const epWindows = asSpec(v.elasticpath.rateLimits);
    const work = await createBenchRepo({
      dir: `${root}/repo`,
      vendors: {
        maestroqa: maestroqaYaml({
          baseUrl: v.maestroqa.baseUrl,
          rateLimits: mqaWindows,
          pollIntervalSeconds: 0.1,
          maxPollIntervalSeconds: 0.2,
        }),
        elasticpath: elasticpathYaml({
          baseUrl: v.elasticpath.baseUrl,
          rateLimits: epWindows,
          pollIntervalSeconds: 0.05,
        }),
      },
      approved: bulkRequests(n, ['maestroqa', 'elasticpath']),
    });
    // Baseline: the same driver without batching, so every email is one DELETE.
    const table = createDriverTable();
    const drivers: DriverTable = batched
      ? table
      : { ...table, maestroqa: { ...table.maestroqa, batch: undefined, stepBatch: undefined } };
    const controller = await openController({
      repo: work,
      dataDir: `${root}/data`,
      drivers,
      env: { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'bench-salt' },
      log: logger,
      push: false,
      maxPassMs: 300_000,
    });
    const jobs = batched ? Math.ceil(n / MQA_BATCH) : n;
    const minimal = { maestroqa: 2 * jobs, elasticpath: 1 + 4 * n };
    const boundMs = Math.max(drainMs(mqaWindows, minimal.maestroqa), drainMs(epWindows, minimal.elasticpath));

    let doneAt: number | undefined;
    let doneAtEpoch = 0;
    const start = nowMs();
    const startEpoch = Date.now();
    const runner = new Runner({
      controller,
      log: logger,
      schedule: '0 0 1 1 *',
      maxSleepMs: 1_000,
      onPass: () => {
        const tasks = Object.values(controller.journal.data.tasks);
        // Drained and recorded: every task final and this pass's status commit written.
        if (
          tasks.length === 2 * n &&
          tasks.every((t) => t.phase === 'Completed' || t.phase === 'Failed' || t.phase === 'Stalled')
        ) {
          doneAt = nowMs();
          doneAtEpoch = Date.now();
          runner.stop();
        }
      },
    });
    // Bounded: well beyond the bound, and never more than 5 minutes.
    const guard = setTimeout(() => runner.stop(), Math.min(300_000, 5 * boundMs + 30_000));
    await runner.start();
    clearTimeout(guard);
    const wallMs = (doneAt ?? nowMs()) - start;
    const tasks = Object.values(controller.journal.data.tasks);
    const statusLagMs = controller.reconciler.maxStatusLagMs;
    await controller.close();
    const { writes: journalWrites, writeMs: journalWriteMs } = controller.journal;
    const [stats, ledger] = await Promise.all([sandbox.stats(), sandbox.ledger()]);
    const firstCall = ledger[0]?.at ?? startEpoch;
    const lastCall = ledger[ledger.length - 1]?.at ?? firstCall;
    const phases = {
      headMs: firstCall - startEpoch,
      vendorMs: lastCall - firstCall,
      tailMs: (doneAtEpoch || Date.now()) - lastCall,
      passes: runner.passes,
    };
    if (process.env.BENCH_DEBUG) {
      const t0 = ledger[0]?.at ?? 0;
      for (const e of ledger) ctx.log(`${e.at - t0} ${e.vendor} ${e.method} ${e.route} ${e.status}`);
      ctx.log(
        logger
          .tail()
          .filter((l) => l.includes('pass finished'))
          .join('\n'),
      );
    }
    if (doneAt === undefined) ctx.log(`  drain did not finish; last log lines:\n${logger.tail().slice(-5).join('\n')}`);
    return {
      wallMs,
      boundMs,
      minimal,
      calls: { maestroqa: stats.maestroqa.calls, elasticpath: stats.elasticpath.calls },
      sent429: stats.maestroqa.sent429 + stats.elasticpath.sent429,
      violations: Object.values(stats).reduce((s, x) => s + x.rateLimitViolations, 0),
      duplicates: Object.values(stats).reduce((s, x) => s + x.duplicateSubmissions, 0),
      completed: tasks.filter((t) => t.phase === 'Completed').length,
      tasks: tasks.length,
      statusLagMs,
      journalWrites,
      journalWriteMs,
      phases,
    };
  } finally {
    await sandbox.stop();
  }
}

function toResult(name: string, n: number, r: DrainRun, note: string, extra: Record<string, number> = {}): BenchResult {
  const clean = r.violations === 0 && r.duplicates === 0 && r.completed === r.tasks && r.tasks === 2 * n;
  const ratio = r.wallMs / r.boundMs;
  return result({
    name,
    figure: `wall / lower bound (${n} requests)`,
    value: round(ratio),
    unit: 'x',
    target: 1.1,
    cmp: '<=',
    // A drain that broke a limit or duplicated a submission misses whatever its time.
    valid: clean,
    details: {
      requests: n,
      wallMs: round(r.wallMs, 0),
      boundMs: round(r.boundMs, 0),
      minimalCallsMaestroqa: r.minimal.maestroqa,
      callsMaestroqa: r.calls.maestroqa,
      minimalCallsElasticpath: r.minimal.elasticpath,
      callsElasticpath: r.calls.elasticpath,
      answered429: r.sent429,
      rateLimitViolations: r.violations,
      duplicateSubmissions: r.duplicates,
      tasksCompleted: r.completed,
      tasks: r.tasks,
      journalWrites: r.journalWrites,
      journalWriteMsTotal: round(r.journalWriteMs, 0),
      journalWriteMsMean: round(r.journalWriteMs / Math.max(1, r.journalWrites), 2),
      journalWriteShareOfWall: round(r.journalWriteMs / r.wallMs, 3),
      headMs: r.phases.headMs,
      vendorMs: r.phases.vendorMs,
      tailMs: r.phases.tailMs,
      passes: r.phases.passes,
      ...extra,
    },
    note,
  });
}

export async function benchDrain(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 60 : 500;
  const batched = await runDrain(ctx, n, true);
  const unbatched = await runDrain(ctx, n, false);
  return [
    toResult(
      'drain',
      n,
      batched,
      `MaestroQA ${LIMIT_SCALE}/s + ${30 * LIMIT_SCALE}/min, Elastic Path ${25 * LIMIT_SCALE}/s; batches of ${MQA_BATCH}`,
      {
        batchingSpeedup: round(unbatched.wallMs / batched.wallMs),
      },
    ),
    toResult('drain-unbatched', n, unbatched, 'baseline: MaestroQA max batch 1 (one DELETE per email)'),
    result({
      name: 'drain-status-lag',
      figure: `longest vendor answer to status commit (${n} requests)`,
      value: round(batched.statusLagMs / 1000, 1),
      unit: 's',
      target: 15,
      cmp: '<=',
      valid: batched.tasks === 2 * n,
      details: {
        requests: n,
        statusLagMs: round(batched.statusLagMs, 0),
        unbatchedStatusLagMs: round(unbatched.statusLagMs, 0),
      },
      note: 'status checkpoints during a pass (every 5 s) bound what losing the data directory costs',
    }),
  ];
}

if (process.argv[1] === SELF && process.argv[2] === '--sandbox-child') {
  startSandbox(JSON.parse(process.argv[3]!) as SandboxOptions).then(
    (sandbox) => {
      process.stdout.write(`${sandbox.url}\n`);
      process.stdin.resume();
      process.stdin.once('end', () => void sandbox.stop().then(() => process.exit(0)));
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
