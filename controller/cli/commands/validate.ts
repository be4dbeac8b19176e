import { resolve } from 'node:path';
import { formatJson, formatText, loadRepositoryFromDisk } from '../../manifests/index.ts';
import { EXIT, parseFlags } from '../main.ts';
import { createDriverTable } from '../../vendors/registry.ts';
import { plural } from '../../plural.ts';

export const usage = 'validate [--repo DIR] [--format text|json]';
export const summary = 'Check every manifest of a privacy repository; one located line per problem.';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    repo: { type: 'string', default: '.' },
    format: { type: 'string', default: 'text' },
  });
  if (values.format !== 'text' && values.format !== 'json') {
    process.stderr.write(`lethe validate: --format must be text or json\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  let model;
  try {
    ({ model } = await loadRepositoryFromDisk(resolve(values.repo), createDriverTable()));
  } catch (err) {
    process.stderr.write(
      `lethe validate: cannot read ${values.repo}: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return EXIT.error;
  }
  const { problems } = model;
  if (values.format === 'json') process.stdout.write(formatJson(problems));
  else if (problems.length > 0) process.stdout.write(formatText(problems));
  else process.stdout.write(`ok: ${plural(model.vendors.size, 'vendor')}, ${plural(model.requests.size, 'request')}\n`);
  return problems.length === 0 ? EXIT.ok : EXIT.invalid;
}
