import { resolve } from 'node:path';
import { ResourceName } from '../../../specs/common.ts';
import { listRequestExports } from '../../exports/index.ts';
import { EXIT, parseFlags } from '../main.ts';
import { plural } from '../../plural.ts';

export const usage = 'export <request> [--data DIR] [--json]';
export const summary =
  "Show where an access request's exported files are, per vendor, and verify their sha256 against index.json.";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    data: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  const fail = (msg: string): number => {
    process.stderr.write(`lethe export: ${msg}\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  };
  if (positionals.length !== 1) return fail('give exactly one request name');
  const request = positionals[0]!;
  // The name becomes a path segment: only resource names, so nothing escapes the data dir.
  if (!ResourceName.safeParse(request).success) return fail(`"${request.slice(0, 63)}" is not a request name`);
  const dataDir = values.data ?? process.env.LETHE_DATA_DIR;
  if (!dataDir) return fail('no data directory: pass --data DIR or set LETHE_DATA_DIR');

  const exports = await listRequestExports(resolve(dataDir), request);
  const ok = exports.length > 0 && exports.every((e) => e.problems.length === 0);
  if (values.json) {
    process.stdout.write(JSON.stringify({ request, ok, vendors: exports }, null, 2) + '\n');
    return ok ? EXIT.ok : EXIT.invalid;
  }
  if (exports.length === 0) {
    process.stdout.write(`no export for request ${request} under ${resolve(dataDir)}\n`);
    return EXIT.invalid;
  }
  const lines: string[] = [];
  for (const e of exports) {
    lines.push(
      `${e.vendor}: ${e.dir} — ${e.problems.length === 0 ? 'verified' : plural(e.problems.length, 'problem')}`,
    );
    for (const f of e.index?.files ?? []) lines.push(`  ${f.name}  ${f.bytes} bytes  sha256 ${f.sha256}`);
    for (const p of e.problems) lines.push(`  ! ${p.kind}: ${p.file} (${p.detail})`);
  }
  process.stdout.write(lines.join('\n') + '\n');
  return ok ? EXIT.ok : EXIT.invalid;
}
