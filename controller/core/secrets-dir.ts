import { join, resolve } from 'node:path';

/**
 * Where the controller's own secrets live (the status signing key): --secrets-dir, else
 * LETHE_SECRETS_DIR, else systemd's $CREDENTIALS_DIRECTORY, else <data dir>/secrets.
 * (One resolver for every secret the controller reads from files; issue 14 uses the same order.)
 */
export function resolveSecretsDir(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, dataDir: string): string {
  const chosen = flag ?? env.LETHE_SECRETS_DIR ?? env.CREDENTIALS_DIRECTORY;
  return chosen ? resolve(chosen) : join(dataDir, 'secrets');
}
