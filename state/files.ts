import * as fsp from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineErrors, LetheError } from '../controller/errors/types.ts';

/**
 * Failures of the data directory (journal, rate log, salt, exports) and of the state kept
 * in it. Each names the file and what was being done to it: "CONTROLLER_ERROR" alone
 * tells an operator nothing at three in the morning.
 */
export const stateErrors = defineErrors({
  STATE_READ_ONLY: {
    message: 'cannot {op} {path}: the file system is read-only (EROFS)',
    hint: 'The data directory sits on a read-only mount (a container volume, a remounted disk after I/O errors). Nothing is sent to a vendor until its intent can be written; fix the mount and Lethe resumes where it stopped.',
  },
  STATE_DISK_FULL: {
    message: 'cannot {op} {path}: no space left on the device ({reason})',
    hint: "Free space on the data directory's file system (access exports are the usual large files: lethe export, then remove them). No vendor call is made while the journal cannot be written; Lethe resumes by itself.",
  },
  STATE_PERMISSION_DENIED: {
    message: 'cannot {op} {path}: permission denied ({reason})',
    hint: "The controller's user must own the data directory and its files (chown -R, or run as that user). Nothing is sent meanwhile.",
  },
  STATE_IO_ERROR: {
    message: 'cannot {op} {path}: {reason}',
    hint: 'A file-system error in the data directory. Check the disk (dmesg) and the path; Lethe retries, and sends nothing whose intent it could not write.',
  },
  JOURNAL_UNREADABLE: {
    message: 'journal {path} is unreadable ({reason}); moved aside to {aside}',
    hint: 'A torn or damaged write (power loss, full disk, manual edit). Lethe falls back to the previous generation (journal.json.prev) when it is readable, else rebuilds from status/ in git, asking each vendor before it submits anything again. Keep the moved file for a post-mortem; delete it when done.',
  },
  JOURNAL_PREVIOUS_GENERATION: {
    message: 'journal {path} is missing or unreadable; resumed from the previous generation {previous}',
    hint: 'The last journal write did not complete. Its changes are unknown, so every unfinished task first asks its vendor what happened (as after a rebuild from git) before submitting anything.',
  },
  JOURNAL_NEWER_VERSION: {
    message: 'journal {path} has format version {version}, newer than this controller understands',
    hint: 'A newer Lethe wrote it. Run that version again (or move the file away to rebuild from git, at the cost of asking every vendor again).',
    terminal: true,
  },
  RATE_LOG_LOST: {
    message:
      'rate-limit log {path} is missing or unreadable ({reason}) although this repository was worked before: every rate window counts as used up, the first call of each credential waits its longest window',
    hint: 'Nothing to do: calls made before the loss might still count at the vendor, so Lethe waits them out instead of risking a rate-limit violation.',
  },
});

export type StateErrorCode = keyof typeof stateErrors.table;

/** The parts of node:fs/promises the state files use: a seam for disk-fault tests. */
export type StateFs = Pick<typeof fsp, 'open' | 'rename' | 'readFile' | 'mkdir' | 'unlink'>;
export const nodeFs: StateFs = fsp;

/** A file-system error as a catalogue error naming the path and the operation (never content). */
export function fsError(err: unknown, op: string, path: string): LetheError {
  const code = (err as { code?: unknown } | null)?.code;
  const reason = typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
  const which: StateErrorCode =
    code === 'EROFS'
      ? 'STATE_READ_ONLY'
      : code === 'ENOSPC' || code === 'EDQUOT'
        ? 'STATE_DISK_FULL'
        : code === 'EACCES' || code === 'EPERM'
          ? 'STATE_PERMISSION_DENIED'
          : 'STATE_IO_ERROR';
  return stateErrors.error(which, { op, path, reason }, { cause: err });
}

/** Runs one file-system step, turning its failure into an error naming path and operation. */
export async function step<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fsError(err, op, path);
  }
}

/**
 * Writes `text` to `path` so that it survives a power loss: into `<path>.tmp`, fsync'd,
 * the current file renamed to `<path>.prev` (the previous good generation), the new one
 * renamed into place, and the directory fsync'd so both renames are on disk. A crash at
 * any point leaves a complete `path`, or a complete `.tmp` (the newest) and `.prev`.
 */
export async function writeDurably(fs: StateFs, path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await step('create', tmp, () => fs.open(tmp, 'w', 0o600));
  try {
    await step('write', tmp, () => handle.writeFile(text));
    await step('fsync', tmp, () => handle.sync());
  } finally {
    await handle.close().catch(() => undefined);
  }
  await step('rename', path, async () => {
    try {
      await fs.rename(path, `${path}.prev`);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
      // No current file (a first write, or one removed on purpose): an older `.prev` is not
      // the previous generation of anything and must never be fallen back to.
      await fs.unlink(`${path}.prev`).catch((e: unknown) => {
        if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
      });
    }
  });
  await step('rename', tmp, () => fs.rename(tmp, path));
  const dir = dirname(path);
  const dh = await step('open directory', dir, () => fs.open(dir, 'r'));
  try {
    await step('fsync directory', dir, () => dh.sync());
  } finally {
    await dh.close().catch(() => undefined);
  }
}

export type Candidate = { kind: 'missing' } | { kind: 'text'; text: string };

/** A state file's text, or `missing`; any other read failure names the path. */
export async function readState(fs: StateFs, path: string): Promise<Candidate> {
  try {
    return { kind: 'text', text: await fs.readFile(path, 'utf8') };
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return { kind: 'missing' };
    throw fsError(err, 'read', path);
  }
}

/** Moves a damaged state file aside (kept for a post-mortem) and returns its new name. */
export async function moveAside(fs: StateFs, path: string, now: number): Promise<string> {
  const aside = `${path}.unreadable-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  await step('move aside', path, () => fs.rename(path, aside));
  return aside;
}

/**
 * Any failure as a catalogue error when it can be one: a LetheError as it is, a Node
 * file-system error (it carries errno, syscall and path) as the matching STATE_* error.
 * Anything else is left for the caller's generic handling.
 */
export function asCatalogued(err: unknown): LetheError | undefined {
  if (err instanceof LetheError) return err;
  if (
    err instanceof Error &&
    'code' in err &&
    (err as { code?: unknown }).code !== undefined &&
    typeof (err as NodeJS.ErrnoException).path === 'string'
  ) {
    const e = err as NodeJS.ErrnoException;
    return fsError(e, e.syscall ?? 'access', e.path!);
  }
  return err instanceof LetheError ? err : undefined;
}
