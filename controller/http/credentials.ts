import { createHash } from 'node:crypto';
import { LetheError } from '../errors/types.ts';
import { httpErrors, type HttpErrorCode } from './errors.ts';

export interface ResolveOptions {
  /**
   * Read the file as a JSON object and take this string field: DataGrail keeps API Proxy
   * secrets as `{"credentials": "<value>"}`.
   */
  jsonKey?: string;
}

function credentialError(code: HttpErrorCode, details: Record<string, string>): LetheError {
  // Terminal only for a malformed reference: a missing variable or file degrades the vendor and
  // is read again each pass, so the catalogue marks those retryable.
  return httpErrors.error(code, details);
}

function reasonOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'read error';
}

/** The controller's own settings and secrets: no vendor manifest may read them. */
export const isControllerVariable = (name: string): boolean => /^LETHE_/i.test(name);

/**
 * Resolves `env:NAME` or `file:PATH`. Errors name the variable or path, never a value. A
 * file's surrounding whitespace is dropped (files written by `echo` end with a newline).
 * `readFile` decides which files may be read (production: readSecretFile, confined to the
 * secrets directory); a LetheError it throws is passed on as it is.
 */
export async function resolveCredential(
  ref: string,
  env: Readonly<Record<string, string | undefined>>,
  readFile: (path: string) => Promise<string>,
  options: ResolveOptions = {},
): Promise<string> {
  if (ref.startsWith('env:')) {
    const name = ref.slice(4);
    if (isControllerVariable(name)) throw credentialError('CREDENTIAL_ENV_FORBIDDEN', { name });
    const value = env[name];
    if (value === undefined) throw credentialError('CREDENTIAL_ENV_MISSING', { name });
    if (value === '') throw credentialError('CREDENTIAL_EMPTY', { source: `env:${name}` });
    return value;
  }
  if (!ref.startsWith('file:') || ref.length === 5) throw credentialError('CREDENTIAL_REF_INVALID', {});
  const path = ref.slice(5);
  let content: string;
  try {
    content = await readFile(path);
  } catch (err) {
    if (err instanceof LetheError) throw err;
    throw credentialError('CREDENTIAL_FILE_UNREADABLE', { path, reason: reasonOf(err) });
  }
  const value = options.jsonKey === undefined ? content.trim() : jsonField(content, path, options.jsonKey);
  if (value === '') throw credentialError('CREDENTIAL_EMPTY', { source: `file:${path}` });
  return value;
}

function jsonField(content: string, path: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    // JSON.parse's message quotes the input: it must not travel.
    throw credentialError('CREDENTIAL_JSON_INVALID', { path, key });
  }
  const value = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[key] : undefined;
  if (typeof value !== 'string') throw credentialError('CREDENTIAL_JSON_INVALID', { path, key });
  return value;
}

/**
 * Distinguishes credentials in limiter keys (limits are per token) without revealing
 * them: 32 bits are enough to tell one connection's tokens apart and too few to confirm
 * a guessed password offline.
 */
export function credentialFingerprint(secrets: readonly string[]): string {
  return createHash('sha256').update(secrets.join('\0')).digest('hex').slice(0, 8);
}
