import { catalogue, lookup } from '../../errors/catalogue.ts';
import { CONDITION_REASONS } from '../../errors/conditions.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'explain CODE|REASON | explain --all';
export const summary =
  'Show what an error code or a condition reason (from a status file, log or lethe validate) means and how to fix it.';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { all: { type: 'boolean' } });
  if (values.all) {
    for (const { source, table } of catalogue()) {
      for (const [code, e] of Object.entries(table).sort(([a], [b]) => a.localeCompare(b))) {
        process.stdout.write(
          `${code} (${source}${e.terminal ? ', terminal' : ''})\n  ${e.message}\n  hint: ${e.hint}\n`,
        );
      }
    }
    for (const [reason, e] of Object.entries(CONDITION_REASONS))
      process.stdout.write(`${reason} (condition reason)\n  ${e.message}\n  hint: ${e.hint}\n`);
    return EXIT.ok;
  }
  const [code] = positionals;
  if (!code || positionals.length > 1) {
    process.stderr.write(`usage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  const entry = lookup(code);
  if (!entry) {
    process.stderr.write(
      `lethe explain: unknown code or reason ${code.slice(0, 60)}; lethe explain --all lists them\n`,
    );
    return EXIT.invalid;
  }
  process.stdout.write(
    `${entry.code} (${entry.source}${entry.terminal ? ': terminal, the task stalls until its spec or vendor config changes' : ''})\n  ${entry.message}\n  hint: ${entry.hint}\n`,
  );
  return EXIT.ok;
}
