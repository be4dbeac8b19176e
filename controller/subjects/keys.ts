import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { epochKeyFileName } from './sealed.ts';
import { subjectErrors } from './errors.ts';
import { resolveSecretsDir } from '../secrets-dir.ts';

/**
 * The controller's secrets directory: `--secrets-dir`, else LETHE_SECRETS_DIR, else
 * $CREDENTIALS_DIRECTORY (systemd LoadCredential=), else `<data dir>/secrets`. The same
 * order as the resolver of issue 14 (controller/secrets-dir.ts on its branch), kept here
 * until both meet on main.
 */
export function subjectSecretsDir(o: {
  flag?: string;
  env: Readonly<Record<string, string | undefined>>;
  dataDir: string;
}): string {
  // One secrets directory for every key the controller reads (issue 14's resolution).
  return resolveSecretsDir(o);
}

export function epochKeyPath(secretsDir: string, epoch: string): string {
  return join(secretsDir, epochKeyFileName(epoch));
}

/** The age identities (`AGE-SECRET-KEY-1...` lines) of an identity file's text. */
export function identitiesIn(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => /^AGE-SECRET-KEY-1[0-9A-Z]+$/.test(l));
}

/** A new epoch key: written once (never overwritten), readable by the controller's user only. */
export async function createEpochKey(
  secretsDir: string,
  epoch: string,
  now: Date = new Date(),
): Promise<{ file: string; recipient: string }> {
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  const file = epochKeyPath(secretsDir, epoch);
  const identity = await generateX25519Identity();
  const recipient = await identityToRecipient(identity);
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw subjectErrors.error('EPOCH_KEY_EXISTS', { epoch, file });
    throw err;
  }
  try {
    await handle.writeFile(
      `# Lethe subject key, epoch ${epoch}, created ${now.toISOString()}\n# public key: ${recipient}\n${identity}\n`,
    );
    await handle.sync();
  } finally {
    await handle.close();
  }
  await chmod(file, 0o600);
  return { file, recipient };
}

/**
 * The identities of an epoch as the secrets directory holds them now: read every time, so
 * a key restored from backup is picked up on the next pass. Empty when the file is absent.
 */
export async function readEpochIdentities(secretsDir: string, epoch: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(epochKeyPath(secretsDir, epoch), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw subjectErrors.error('SUBJECT_KEY_INVALID', { epoch });
  }
  const found = identitiesIn(text);
  if (found.length === 0) throw subjectErrors.error('SUBJECT_KEY_INVALID', { epoch });
  return found;
}

/**
 * Destroys an epoch key: the file is overwritten with random bytes and synced before it
 * is unlinked, so the plain key is not left in the file's blocks on ordinary filesystems
 * (copy-on-write filesystems, SSD wear levelling and backups are beyond a program's
 * reach: see docs/privacy.md). False when there was no key.
 */
export async function destroyEpochKey(secretsDir: string, epoch: string): Promise<boolean> {
  const file = epochKeyPath(secretsDir, epoch);
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  const handle = await open(file, 'r+');
  try {
    await handle.write(randomBytes(Math.max(size, 256)), 0, undefined, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rm(file);
  return true;
}
