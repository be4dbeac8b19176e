/**
 * Benchmark 3 — validation throughput. N request manifests (plus lethe.yaml and two
 * vendors) validated the way `lethe validate` and a cold pass do it: parseManifest on each
 * file (YAML with node positions, zod schema, located problems), then checkRepository
 * (cross-checks: duplicate names, vendor references, supported actions).
 * Baseline: bare `yaml.parse` of the same texts — the floor any YAML-based validator pays.
 * Both run in memory on the same strings, alternated, median of several rounds, so disk
 * and git are out of the figure.
 */
import { parse as parseYaml } from 'yaml';
import { checkRepository, parseManifest, type ParsedManifest } from '../../controller/manifests/index.ts';
import {
  bulkRequests,
  elasticpathYaml,
  letheConfigText,
  maestroqaYaml,
  median,
  nowMs,
  result,
  round,
  type BenchContext,
  type BenchResult,
} from './lib.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';

const DRIVERS = createDriverTable();

/** A realistic mix: most valid, some with several emails, a few invalid (their errors are located too). */
async function corpus(n: number): Promise<Map<string, string>> {
  const files = new Map<string, string>([
    ['lethe.yaml', await letheConfigText()],
    ['vendors/maestroqa.yaml', maestroqaYaml({ baseUrl: 'https://app.maestroqa.com/api/v1' })],
    ['vendors/elasticpath.yaml', elasticpathYaml({ baseUrl: 'https://euwest.api.elasticpath.com' })],
  ]);
  let i = 0;
  for (const [path, text] of bulkRequests(n, ['maestroqa', 'elasticpath'])) {
    i++;
    let t = text;
    if (i % 10 === 0) t = t.replace(/emails: \[(.*)\]/, 'emails: [$1, second.address@example.com]');
    // One in a hundred has a typo a reviewer could miss: an action the schema rejects.
    if (i % 100 === 0) t = t.replace('action: erasure', 'action: erase');
    files.set(path, t);
  }
  return files;
}

export async function benchValidate(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 1_000 : 10_000;
  const rounds = ctx.quick ? 3 : 5;
  const files = [...(await corpus(n))];
  const validateMs: number[] = [];
  const yamlMs: number[] = [];
  let problems = 0;
  // One untimed warm-up of each: JIT and zod's lazy schema compilation are not throughput.
  for (const [, text] of files.slice(0, 200)) parseYaml(text);
  checkRepository(
    files.slice(0, 200).map(([p, t]) => parseManifest(p, t)),
    DRIVERS,
  );
  for (let r = 0; r < rounds; r++) {
    let t0 = nowMs();
    for (const [, text] of files) parseYaml(text);
    yamlMs.push(nowMs() - t0);
    t0 = nowMs();
    const parsed: ParsedManifest[] = files.map(([path, text]) => parseManifest(path, text));
    const model = checkRepository(parsed, DRIVERS);
    validateMs.push(nowMs() - t0);
    problems = model.problems.length;
  }
  const v = median(validateMs);
  const y = median(yamlMs);
  return [
    result({
      name: 'validate',
      figure: `validation / yaml.parse (${n} manifests)`,
      value: round(v / y),
      unit: 'x',
      target: 3,
      cmp: '<=',
      details: {
        manifests: files.length,
        validateMs: round(v, 0),
        yamlParseMs: round(y, 0),
        perManifestUs: round((v / files.length) * 1000, 0),
        problems,
        rounds,
      },
    }),
  ];
}
