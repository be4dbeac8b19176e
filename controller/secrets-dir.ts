import { readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { LetheError } from './errors/types.ts';
import { httpErrors } from './http/errors.ts';

/**
 * The one directory the controller reads secret files from, for vendor credentials and
 * any other key material (signing keys, encryption keys): `--secrets-dir`, else
 * LETHE_SECRETS_DIR, else $CREDENTIALS_DIRECTORY (systemd LoadCredential=), else
 * `<data dir>/secrets`. Absolute.
 */
export function resolveSecretsDir(o: {
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  dataDir: string;
}): string {
  return resolve(o.flag || o.env.LETHE_SECRETS_DIR || o.env.CREDENTIALS_DIRECTORY || join(o.dataDir, 'secrets'));
}

const inside = (dir: string, path: string): boolean => {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
};

/** Why a file reference is refused before anything is read (`..` is refused wherever it points). */
export function secretPathProblem(path: string): string | undefined {
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.split(/[\\/]/).includes('..')) return 'contains ".."';
  return undefined;
}

function outside(path: string, dir: string, why: string): LetheError {
  return httpErrors.error('CREDENTIAL_PATH_OUTSIDE', { path, dir, why });
}

/**
 * Reads `path` (relative to `dir`, or absolute inside it) only if it is inside `dir` after
 * every symlink is followed: a manifest can name a secret, never choose which file of the
 * machine is read. Read errors keep their errno code (the caller maps them).
 */
export async function readSecretFile(dir: string, path: string): Promise<string> {
  const problem = secretPathProblem(path);
  if (problem) throw outside(path, dir, problem);
  const full = isAbsolute(path) ? resolve(path) : resolve(dir, path);
  if (!inside(resolve(dir), full)) throw outside(path, dir, 'it is not inside the secrets directory');
  const [realDir, real] = [await realpath(dir), await realpath(full)];
  if (!inside(realDir, real)) throw outside(path, dir, 'a symlink leads out of the secrets directory');
  return readFile(real, 'utf8');
}
