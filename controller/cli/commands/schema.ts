import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { exportJsonSchemas } from '../../manifests/json-schema.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'schema --out DIR';
export const summary = 'Write the JSON Schema of each manifest kind into DIR (for editors and CI).';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { out: { type: 'string' } });
  if (values.out === undefined) {
    process.stderr.write(`lethe schema: --out is required\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  await mkdir(values.out, { recursive: true });
  for (const [file, text] of exportJsonSchemas()) {
    await writeFile(join(values.out, file), text);
    process.stdout.write(`${join(values.out, file)}\n`);
  }
  return EXIT.ok;
}
