import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultDataDir } from '../../core/app.ts';
import { subjectSecretsDir } from '../../subjects/keys.ts';
import { KEY_FILE_PREFIX, parseSshPublicKey } from '../../git/signing.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage = 'keygen [--secrets-dir DIR] [--data DIR] [--repo DIR]';
export const summary =
  "Create the controller's status signing key (ed25519) in the secrets directory and print the lethe.yaml line that declares it.";

/**
 * Each key gets a new file name, so that during a rotation the old and the new key sit side
 * by side and the controller signs with whichever one the approved lethe.yaml declares.
 */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    'secrets-dir': { type: 'string' },
    data: { type: 'string' },
    repo: { type: 'string' },
  });
  const dataDir = values.data ?? defaultDataDir({ repo: values.repo ?? '.' });
  const dir = subjectSecretsDir({ flag: values['secrets-dir'], env: process.env, dataDir });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(
    dir,
    `${KEY_FILE_PREFIX}-${new Date().toISOString().slice(0, 10)}-${randomBytes(3).toString('hex')}`,
  );
  if (existsSync(file)) {
    process.stderr.write(`lethe keygen: ${file} exists; not overwriting\n`);
    return EXIT.error;
  }
  try {
    await promisify(execFile)('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lethe-status', '-f', file]);
  } catch {
    process.stderr.write('lethe keygen: ssh-keygen failed (is OpenSSH installed?)\n');
    return EXIT.error;
  }
  const line = (await readFile(`${file}.pub`, 'utf8')).trim();
  const key = parseSshPublicKey(line)!;
  process.stdout.write(
    [
      `Created ${file} (private: keep it there, readable by the controller only) and ${file}.pub.`,
      `Key fingerprint: ${key.fingerprint}`,
      '',
      'Declare it in lethe.yaml (merge it like any other approved change):',
      '',
      'spec:',
      '  identity:',
      `    signingKey: "${line}"`,
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
