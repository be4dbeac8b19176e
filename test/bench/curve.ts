/**
 * Benchmark 9 — the cost curve. For N = 1,000, 10,000 and 50,000 approved open requests
 * at two `disabled` vendors (the memory benchmark's fixture: the planner keeps 2N open
 * tasks and no vendor is called), each size in its own child process:
 *
 *   first pass: a controller that never saw the repository, from openController (which
 *               walks the history for approvals) to the end of its first pass (every
 *               manifest read, parsed and validated, 2N tasks planned, N statuses
 *               computed and committed);
 *   cold pass:  the controller restarted over that data directory: everything re-read and
 *               recomputed, nothing committed (the noop benchmark's cold pass);
 *   no-op pass: the next pass with nothing changed (median of 3);
 *   peak RSS:   the child's VmHWM (the kernel's peak) over all of it.
 *
 * Baseline, in another fresh child on the same repository (same N, cold JIT like the
 * controller's): `git ls-tree -r` for the blob ids of requests/, every blob read through
 * ONE `git cat-file --batch` and `yaml.parse`d in process. That is the least any reader of
 * the manifests must do. Median of three such children (two before the controller's, one
 * after; one in --quick), since a few seconds of work swing most with the machine's load. Growth exponents between sizes are log(t2/t1) / log(n2/n1):
 * 1.0 is linear. The RSS exponent is taken above the idle process (node + tsx + the
 * controller's modules, no repository), so a fixed 100 MB does not pass for good scaling.
 *
 * With LETHE_BENCH_PHASES=1 the controller child also samples the CPU during the first
 * pass (node:inspector) and reports where the time went by phase (see PHASE_RULES).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  bulkRequests,
  createBenchRepoFast,
  elasticpathYaml,
  fmtMs,
  maestroqaYaml,
  median,
  peakRssBytes,
  removeDir,
  result,
  runBenchChild,
  round,
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
const NOOP_PASSES = 3;

const vmHwmMB = (): number => round(peakRssBytes() / MB, 1);

/**
 * CPU milliseconds of this process and of its reaped children (git), from the kernel: on a
 * loaded machine wall time also counts waiting for a core, CPU time does not.
 */
function cpuNow(): { self: number; children: number } {
  const { user, system } = process.cpuUsage();
  // /proc/self/stat fields 16 and 17 (cutime, cstime) in clock ticks of 10 ms.
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return { self: (user + system) / 1000, children: (Number(fields[13]) + Number(fields[14])) * 10 };
}

interface ControllerReport {
  peakRssMB: number;
  openMs: number;
  firstPassMs: number;
  firstCommit: boolean;
  reopenMs: number;
  coldPassMs: number;
  coldCommit: boolean;
  noopPassMs: number;
  noopCommits: number;
  openTasks: number;
  statuses: number;
  /** CPU of the first pass: this process, and the git processes it waited for. */
  firstPassCpuMs: number;
  firstPassGitCpuMs: number;
  phasesMs?: Record<string, number>;
}

interface BaselineReport {
  peakRssMB: number;
  ms: number;
  lsTreeMs: number;
  parsed: number;
  cpuMs: number;
  gitCpuMs: number;
}

/**
 * First-pass CPU samples by phase: the innermost frame that matches a rule names the phase
 * (a yaml.parse called from parseManifest is "parse+validate", one called from the status
 * loader "source/read"); generic helpers (git/exec.ts, specs/) name none, so their samples
 * go to their caller's phase. Only synchronous stacks are sampled: the handler of a git
 * process's output counts where it is defined. Samples with no controller frame are
 * node's own: idle (waiting for git processes and I/O), GC, module code.
 */
const PHASE_RULES: [phase: string, test: RegExp][] = [
  ['approval walk', /controller\/git\/(approval|approved-tree|approved-cache|history|trust-root|chain)\.ts/],
  ['parse+validate', /controller\/manifests\//],
  ['commit', /controller\/git\/(plumbing|push|signing)\.ts|git\/source\.ts:(writeStatus|syncWorkingTree)/],
  ['status computation', /controller\/core\/(status|canonical|dashboard|commit-message)\.ts|pass\/record\.ts/],
  ['plan', /controller\/core\/(planner|executor|transient|deadlines)\.ts|pass\/plan-input\.ts|controller\/subjects\//],
  ['journal', /\/state\//],
  ['source/read', /controller\/git\/(source|tree|paths|rebase)\.ts|pass\/source\.ts|misplaced-scan\.ts/],
];
const OTHER_CONTROLLER = /\/controller\/|\/specs\//;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

function phasesOf(profile: {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}): Record<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const phaseOfNode = new Map<number, string>();
  const phaseOf = (id: number): string => {
    const known = phaseOfNode.get(id);
    if (known !== undefined) return known;
    let phase: string | undefined;
    let inController = false;
    for (let at: number | undefined = id; at !== undefined && phase === undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      const where = `${url.replace(/^file:\/\//, '')}:${functionName}`;
      phase = PHASE_RULES.find(([, test]) => test.test(where))?.[0];
      inController ||= OTHER_CONTROLLER.test(where) && !where.includes('node_modules');
    }
    if (phase === undefined && inController) phase = 'other controller';
    const leaf = byId.get(id)!.callFrame.functionName;
    const result =
      phase ??
      (leaf === '(idle)' ? 'idle (git processes, I/O)' : leaf === '(garbage collector)' ? 'gc' : 'node, other');
    phaseOfNode.set(id, result);
    return result;
  };
  const out: Record<string, number> = {};
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const phase = phaseOf(samples[i]!);
    out[phase] = (out[phase] ?? 0) + (deltas[i] ?? 0) / 1000;
  }
  for (const k of Object.keys(out)) out[k] = Math.round(out[k]!);
  return out;
}

/** The measured process: `node --import tsx curve.ts --child-controller REPO DATA` (or --child-baseline REPO, --child-idle). */
async function child(mode: string, repo: string | undefined, dataDir: string | undefined): Promise<void> {
  const { parse } = await import('yaml');
  if (mode === '--child-idle') {
    process.stdout.write(JSON.stringify({ peakRssMB: vmHwmMB() }) + '\n');
    return;
  }
  if (mode === '--child-baseline') {
    const cpu0 = cpuNow();
    const t0 = performance.now();
    const listing = await gitOut(repo!, ['ls-tree', '-r', '-z', 'HEAD', '--', 'requests/']);
    const ids = listing
      .split('\0')
      .filter(Boolean)
      .map((line) => line.split(' ')[2]!.split('\t')[0]!);
    const lsTreeMs = performance.now() - t0;
    let parsed = 0;
    await catFileBatch(repo!, ids, (text) => {
      if (parse(text) !== null) parsed++;
    });
    const cpu1 = cpuNow();
    const report: BaselineReport = {
      peakRssMB: vmHwmMB(),
      ms: round(performance.now() - t0, 0),
      cpuMs: round(cpu1.self - cpu0.self, 0),
      gitCpuMs: round(cpu1.children - cpu0.children, 0),
      lsTreeMs: round(lsTreeMs, 0),
      parsed,
    };
    process.stdout.write(JSON.stringify(report) + '\n');
    return;
  }
  const open = () => openBenchController(repo!, dataDir!);
  const profiler = process.env.LETHE_BENCH_PHASES === '1' ? await startProfiler() : undefined;
  const cpu0 = cpuNow();
  let t0 = performance.now();
  const first = await open();
  const openMs = performance.now() - t0;
  const firstPass = await first.reconciler.pass();
  const firstPassMs = performance.now() - t0;
  const cpu1 = cpuNow();
  const phasesMs = profiler ? phasesOf(await profiler.stop()) : undefined;
  await first.close();
  t0 = performance.now();
  const restarted = await open();
  const reopenMs = performance.now() - t0;
  t0 = performance.now();
  const cold = await restarted.reconciler.pass();
  const coldPassMs = performance.now() - t0;
  const noops: number[] = [];
  let noopCommits = 0;
  for (let i = 0; i < NOOP_PASSES; i++) {
    t0 = performance.now();
    const r = await restarted.reconciler.pass();
    noops.push(performance.now() - t0);
    if (r.commit) noopCommits++;
  }
  const openTasks = Object.values(restarted.journal.data.tasks).filter((t) => !isFinal(t)).length;
  const statuses = restarted.reconciler.currentStatuses().length;
  await restarted.close();
  const report: ControllerReport = {
    peakRssMB: vmHwmMB(),
    openMs: round(openMs, 0),
    firstPassMs: round(firstPassMs, 0),
    firstCommit: firstPass.commit !== undefined,
    firstPassCpuMs: round(cpu1.self - cpu0.self, 0),
    firstPassGitCpuMs: round(cpu1.children - cpu0.children, 0),
    reopenMs: round(reopenMs, 0),
    coldPassMs: round(coldPassMs, 0),
    coldCommit: cold.commit !== undefined,
    noopPassMs: round(median(noops), 1),
    noopCommits,
    openTasks,
    statuses,
    ...(phasesMs ? { phasesMs } : {}),
  };
  process.stdout.write(JSON.stringify(report) + '\n');
}

async function startProfiler(): Promise<{ stop(): Promise<Parameters<typeof phasesOf>[0]> }> {
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile as unknown as Parameters<typeof phasesOf>[0];
    },
  };
}

function gitOut(cwd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => chunks.push(d));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`git ${args[0]} exit ${code}`)),
    );
  });
}

/** Every blob through one `git cat-file --batch`, handed to `each` as it arrives. */
function catFileBatch(cwd: string, ids: string[], each: (text: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let pending: Buffer = Buffer.alloc(0);
    let seen = 0;
    p.stdout.on('data', (d: Buffer) => {
      pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
      for (;;) {
        const eol = pending.indexOf(10);
        if (eol < 0) return;
        const size = Number(pending.subarray(0, eol).toString('latin1').split(' ')[2]);
        if (pending.length < eol + 1 + size + 1) return;
        each(pending.subarray(eol + 1, eol + 1 + size).toString('utf8'));
        pending = pending.subarray(eol + 1 + size + 1);
        seen++;
      }
    });
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 && seen === ids.length ? resolve() : reject(new Error(`cat-file exit ${code}, ${seen}/${ids.length}`)),
    );
    p.stdin.end(ids.join('\n') + '\n');
  });
}

const runChild = <T>(args: string[], timeoutMs: number, env?: NodeJS.ProcessEnv): Promise<T> =>
  runBenchChild<T>(SELF, args, { timeoutMs, env, label: 'curve' });

interface Point {
  n: number;
  buildMs: number;
  controller: ControllerReport;
  baseline: BaselineReport;
  baselineRunsMs: number[];
}

const exponent = (n1: number, v1: number, n2: number, v2: number): number =>
  round(Math.log(v2 / v1) / Math.log(n2 / n1), 2);

export async function benchCurve(ctx: BenchContext): Promise<BenchResult[]> {
  // --quick keeps the code running within the run's minute: two small sizes.
  const sizes = ctx.quick ? [50, 200] : [1_000, 10_000, 50_000];
  const target = ctx.quick ? 200 : 10_000;
  const idle = await runChild<{ peakRssMB: number }>(['--child-idle'], 60_000);
  const points: Point[] = [];
  for (const n of sizes) {
    const root = await tempDir(ctx.tmp, `curve-${n}`);
    const t0 = performance.now();
    const repo = await createBenchRepoFast({
      dir: `${root}/repo`,
      vendors: {
        maestroqa: maestroqaYaml({ baseUrl: NOWHERE, disabled: true }),
        elasticpath: elasticpathYaml({ baseUrl: NOWHERE, disabled: true }),
      },
      approved: bulkRequests(n, ['maestroqa', 'elasticpath']),
    });
    const buildMs = performance.now() - t0;
    // About 10 ms per request at 50,000 on the loaded machine, and 4x that as the bound.
    const bound = 120_000 + n * 40;
    // The baseline is short, so the machine's load swings it most: the median of three
    // fresh children, one of them after the controller (which also warms git's caches).
    // --quick runs one: its figures only prove the code still runs.
    const baselines = [await runChild<BaselineReport>(['--child-baseline', repo], bound)];
    if (!ctx.quick) baselines.push(await runChild<BaselineReport>(['--child-baseline', repo], bound));
    const controller = await runChild<ControllerReport>(['--child-controller', repo, `${root}/data`], bound);
    if (!ctx.quick) baselines.push(await runChild<BaselineReport>(['--child-baseline', repo], bound));
    const baseline = baselines.sort((a, b) => a.ms - b.ms)[Math.floor(baselines.length / 2)]!;
    points.push({ n, buildMs, controller, baseline, baselineRunsMs: baselines.map((b) => b.ms) });
    const c = controller;
    ctx.log(
      `  ${n} requests: built in ${fmtMs(buildMs)}; first pass ${fmtMs(c.firstPassMs)} (open ${fmtMs(c.openMs)}), ` +
        `baseline ${fmtMs(baseline.ms)} (CPU: first pass ${fmtMs(c.firstPassCpuMs)} + git ${fmtMs(c.firstPassGitCpuMs)}, ` +
        `baseline ${fmtMs(baseline.cpuMs)} + git ${fmtMs(baseline.gitCpuMs)}), cold ${fmtMs(c.coldPassMs)}, no-op ${fmtMs(c.noopPassMs)}, peak RSS ${c.peakRssMB} MB` +
        (c.phasesMs ? `\n    first pass by phase (sampled, ms): ${JSON.stringify(c.phasesMs)}` : ''),
    );
    await removeDir(root);
  }
  const above = (p: Point) => Math.max(1, p.controller.peakRssMB - idle.peakRssMB);
  const results = points.map((p, i) => {
    const c = p.controller;
    const prev = i > 0 ? points[i - 1] : undefined;
    const growth: Record<string, number> = prev
      ? {
          from: prev.n,
          firstPassExponent: exponent(prev.n, prev.controller.firstPassMs, p.n, c.firstPassMs),
          noopPassExponent: exponent(prev.n, prev.controller.noopPassMs, p.n, c.noopPassMs),
          peakRssExponent: exponent(prev.n, prev.controller.peakRssMB, p.n, c.peakRssMB),
          peakRssAboveIdleExponent: exponent(prev.n, above(prev), p.n, above(p)),
          baselineExponent: exponent(prev.n, prev.baseline.ms, p.n, p.baseline.ms),
        }
      : {};
    return result({
      name: 'curve',
      figure: `first pass / cat-file+yaml.parse baseline, ${p.n} requests`,
      value: round(c.firstPassMs / p.baseline.ms, 1),
      unit: 'x',
      target: 5,
      cmp: '<=',
      // A first pass that did not plan every task or commit every status did not do the work.
      valid:
        c.openTasks === 2 * p.n &&
        c.statuses === p.n &&
        c.firstCommit &&
        !c.coldCommit &&
        c.noopCommits === 0 &&
        p.baseline.parsed === p.n,
      details: {
        requests: p.n,
        buildMs: round(p.buildMs, 0),
        peakRssMB: c.peakRssMB,
        idlePeakRssMB: idle.peakRssMB,
        baselinePeakRssMB: p.baseline.peakRssMB,
        firstPassMs: c.firstPassMs,
        openMs: c.openMs,
        baselineMs: p.baseline.ms,
        baselineLsTreeMs: p.baseline.lsTreeMs,
        baselineRunsMs: p.baselineRunsMs.join('/'),
        firstPassCpuMs: c.firstPassCpuMs,
        firstPassGitCpuMs: c.firstPassGitCpuMs,
        baselineCpuMs: p.baseline.cpuMs,
        baselineGitCpuMs: p.baseline.gitCpuMs,
        // The same ratio in CPU (process + git), steadier than wall time under load.
        cpuRatio: round((c.firstPassCpuMs + c.firstPassGitCpuMs) / (p.baseline.cpuMs + p.baseline.gitCpuMs), 1),
        coldPassMs: c.coldPassMs,
        noopPassMs: c.noopPassMs,
        coldOverNoop: round(c.coldPassMs / c.noopPassMs, 1),
        openTasks: c.openTasks,
        ...growth,
        ...(c.phasesMs ? Object.fromEntries(Object.entries(c.phasesMs).map(([k, v]) => [`cpu:${k}`, v])) : {}),
      },
      ...(p.n === target
        ? { note: 'the issue-20 target size; first pass = openController (approval walk) + pass' }
        : {}),
    });
  });
  const [small, large] = points.slice(-2);
  if (small && large) {
    results.push(
      result({
        name: 'curve',
        figure: `peak RSS growth exponent above the idle process, ${small.n} -> ${large.n} requests`,
        value: exponent(small.n, above(small), large.n, above(large)),
        unit: '',
        target: 1.05,
        cmp: '<=',
        valid: large.controller.openTasks === 2 * large.n,
        details: {
          smallPeakRssMB: small.controller.peakRssMB,
          largePeakRssMB: large.controller.peakRssMB,
          idlePeakRssMB: idle.peakRssMB,
          rawPeakRssExponent: exponent(small.n, small.controller.peakRssMB, large.n, large.controller.peakRssMB),
          largeOpenTasks: large.controller.openTasks,
        },
        note: `1.0 = linear; ${large.n} open requests ran (valid only if all ${2 * large.n} tasks were planned)`,
      }),
    );
  }
  return results;
}

if (process.argv[1] === SELF && process.argv[2]?.startsWith('--child')) {
  child(process.argv[2], process.argv[3], process.argv[4]).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
