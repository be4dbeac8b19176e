import { existsSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { EpochId, LetheConfig } from '../../../specs/index.ts';
import { defaultDataDir } from '../../core/app.ts';
import { LetheError } from '../../errors/types.ts';
import { createEpochKey, epochKeyPath, subjectSecretsDir } from '../../subjects/keys.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'epoch new <id> | epoch export <id> [--out FILE] [--repo DIR] [--data DIR] [--secrets-dir DIR]';
export const summary =
  "Create the controller's age key of a subject key epoch (printing the lethe.yaml line), or export it for backup.";

/** The secrets directory as the controller of this repository resolves it. */
async function secretsDirFor(values: { repo?: string; data?: string; 'secrets-dir'?: string }): Promise<string> {
  const repo = resolve(values.repo ?? '.');
  let configured: string | undefined;
  const configFile = join(repo, 'lethe.yaml');
  if (existsSync(configFile)) {
    const parsed = LetheConfig.safeParse(parseYaml(await readFile(configFile, 'utf8')));
    if (parsed.success) configured = parsed.data.spec.dataDir;
  }
  const dataDir = values.data ? resolve(values.data) : defaultDataDir({ repo, env: process.env }, configured);
  return subjectSecretsDir({ flag: values['secrets-dir'], env: process.env, dataDir });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    repo: { type: 'string' },
    data: { type: 'string' },
    'secrets-dir': { type: 'string' },
    out: { type: 'string' },
  });
  const [action, epoch] = positionals;
  if ((action !== 'new' && action !== 'export') || epoch === undefined || positionals.length !== 2) {
    process.stderr.write(`lethe epoch: give "new <id>" or "export <id>"\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  if (!EpochId.safeParse(epoch).success) {
    process.stderr.write(
      `lethe epoch: "${epoch.slice(0, 40)}" is not an epoch id (letters, digits, ".", "_", "-"; for example 2026Q4)\n`,
    );
    return EXIT.usage;
  }
  const dir = await secretsDirFor(values);
  try {
    if (action === 'new') {
      const { file, recipient } = await createEpochKey(dir, epoch);
      process.stdout.write(
        `Created the controller key of epoch ${epoch}: ${file}\n` +
          `Back it up now (lethe epoch export ${epoch} --out FILE) and keep the copy offline.\n` +
          `Add it to lethe.yaml as the last entry of spec.subjects.epochs (the last one is current):\n\n` +
          `  subjects:\n    epochs:\n      - id: ${epoch}\n        recipient: ${recipient}\n`,
      );
      return EXIT.ok;
    }
    const file = epochKeyPath(dir, epoch);
    if (!existsSync(file)) {
      process.stderr.write(`lethe epoch: no key for epoch ${epoch} in ${dir}\n`);
      return EXIT.invalid;
    }
    const text = await readFile(file, 'utf8');
    if (!values.out) {
      process.stdout.write(text);
      return EXIT.ok;
    }
    const handle = await open(resolve(values.out), 'wx', 0o600).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST') return undefined;
      throw err;
    });
    if (!handle) {
      process.stderr.write(`lethe epoch: ${values.out} exists; a key backup is never written over another file\n`);
      return EXIT.invalid;
    }
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    process.stdout.write(
      `Exported the key of epoch ${epoch} to ${resolve(values.out)} (mode 600). Whoever holds this copy can read the epoch's subjects until it is destroyed too.\n`,
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof LetheError) {
      process.stderr.write(`lethe epoch: ${err.code} ${err.message}\n`);
      return EXIT.invalid;
    }
    throw err;
  }
}
