import { catalogue, lookup } from '../../errors/catalogue.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'explain CODE | explain --all';
export const summary = 'Show what an error code (from a status file, log or lethe validate) means and how to fix it.';

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, { all: { type: 'boolean' } });
  if (values.all) {
    for (const { source, table } of catalogue()) {
      for (const [code, e] of Object.entries(table).sort(([a], [b]) => a.localeCompare(b))) {
        process.stdout.write(`${code} (${source}${e.terminal ? ', terminal' : ''})\n  ${e.message}\n  hint: ${e.hint}\n`);
      }
    }
    return EXIT.ok;
  }
  const [code] = positionals;
  if (!code || positionals.length > 1) {
    process.stderr.write(`usage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  const entry = lookup(code.toUpperCase());
  if (!entry) {
    process.stderr.write(`lethe explain: unknown code ${code}; lethe explain --all lists them\n`);
    return EXIT.invalid;
  }
  process.stdout.write(
    `${entry.code} (${entry.source}${entry.terminal ? ': terminal, the task stalls until its spec or vendor config changes' : ''})\n  ${entry.message}\n  hint: ${entry.hint}\n`,
  );
  return EXIT.ok;
}
