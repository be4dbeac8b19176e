/**
 * `npm run bench [-- --quick] [-- --json FILE] [-- --only drain,noop]`
 *
 * Every figure is a ratio to a lower bound or to a baseline measured in the same run (or,
 * for memory and latency, an absolute budget), so it means the same on a fast laptop and
 * on a loaded CI runner. The run measures; it does not gate: the exit code is 0 whatever
 * the figures, and non-zero only when a benchmark could not run at all.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fmtMs, newRunDir, nowMs, removeDir, type BenchContext, type BenchResult } from './lib.ts';

type Bench = (ctx: BenchContext) => Promise<BenchResult[]>;

/** Loaded lazily so `--only` does not even import the others. */
const BENCHES: Record<string, () => Promise<Bench>> = {
  drain: async () => (await import('./drain.ts')).benchDrain,
  noop: async () => (await import('./noop.ts')).benchNoop,
  validate: async () => (await import('./validate.ts')).benchValidate,
  commit: async () => (await import('./commit.ts')).benchCommit,
  memory: async () => (await import('./memory.ts')).benchMemory,
  latency: async () => (await import('./latency.ts')).benchLatency,
  audit: async () => (await import('./audit.ts')).benchAudit,
  approval: async () => (await import('./approval.ts')).benchApproval,
  curve: async () => (await import('./curve.ts')).benchCurve,
};

function describe(r: BenchResult): string {
  return `${r.figure}: ${r.value}${r.unit} (target ${r.cmp} ${r.target}${r.unit}) ${r.meets ? 'MEETS' : 'MISSES'}`;
}

function table(results: BenchResult[]): string {
  const rows = results.map((r) => [
    r.name,
    r.figure,
    `${r.value}${r.unit}`,
    `${r.cmp} ${r.target}${r.unit}`,
    r.meets ? 'yes' : 'NO',
  ]);
  const head = ['benchmark', 'figure', 'value', 'target', 'meets'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: { quick: { type: 'boolean' }, json: { type: 'string' }, only: { type: 'string' } },
    strict: true,
  });
  const quick = values.quick === true;
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(BENCHES);
  const unknown = only.filter((n) => !(n in BENCHES));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')} (known: ${Object.keys(BENCHES).join(', ')})`);
    return 2;
  }
  const tmp = await newRunDir();
  const ctx: BenchContext = { quick, tmp, log: (line) => console.log(line) };
  const machine = {
    nproc: cpus().length,
    memoryMB: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
  console.log(
    `Lethe benchmarks (${quick ? 'quick' : 'full'}) on ${machine.nproc} cores, ${machine.memoryMB} MB, node ${machine.node}`,
  );
  const results: BenchResult[] = [];
  const failures: { name: string; error: string }[] = [];
  const durations: Record<string, number> = {};
  const started = nowMs();
  try {
    for (const name of only) {
      console.log(`\n== ${name}`);
      const t0 = nowMs();
      try {
        const bench = await BENCHES[name]!();
        for (const r of await bench(ctx)) {
          results.push(r);
          console.log(`  ${describe(r)}`);
          console.log(
            `    ${Object.entries(r.details)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`,
          );
          if (r.note) console.log(`    note: ${r.note}`);
        }
      } catch (err) {
        // One broken benchmark must not hide the others' figures.
        const error = err instanceof Error ? (err.stack ?? err.message) : String(err);
        failures.push({ name, error });
        console.log(`  FAILED: ${error}`);
      }
      durations[name] = Math.round(nowMs() - t0);
      console.log(`  (${fmtMs(durations[name])})`);
    }
  } finally {
    await removeDir(tmp);
  }
  const totalMs = Math.round(nowMs() - started);
  console.log(`\nSummary (${quick ? 'quick' : 'full'} run, ${fmtMs(totalMs)}):\n${table(results)}`);
  if (failures.length > 0) console.log(`\nCould not run: ${failures.map((f) => f.name).join(', ')}`);
  if (values.json) {
    const doc = { date: new Date().toISOString(), quick, machine, totalMs, durationsMs: durations, results, failures };
    await writeFile(values.json, JSON.stringify(doc, null, 2) + '\n');
    console.log(`Figures written to ${values.json}`);
  }
  return failures.length > 0 ? 1 : 0;
}

process.exitCode = await main();
