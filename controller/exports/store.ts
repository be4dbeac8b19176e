import { createHash, randomBytes } from 'node:crypto';
import { open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defineErrors } from '../errors/types.ts';

/**
 * The access-exports store: what vendors return for an access request, under
 * `<data dir>/exports/<request>/<vendor>/`, with an `index.json` of names, sizes and
 * sha256. The files hold personal data: they never enter git or logs, and only the
 * index's hashes may be quoted (e.g. as status evidence).
 */

export const INDEX_FILE = 'index.json';

export interface ExportFile {
  /** A plain file name (letters, digits, `.`, `_`, `-`), unique within the export. */
  name: string;
  content: Buffer;
}

export interface ExportIndexEntry {
  name: string;
  bytes: number;
  sha256: string;
}

export interface ExportIndex {
  version: 1;
  writtenAt: string;
  files: ExportIndexEntry[];
}

export type ExportProblemKind = 'index' | 'missing' | 'size' | 'hash' | 'extra';

export interface ExportProblem {
  kind: ExportProblemKind;
  /** The file concerned, relative to the export directory. */
  file: string;
  /** Non-personal detail: sizes, hash prefixes, reasons. */
  detail: string;
}

export const exportErrors = defineErrors({
  EXPORT_INVALID_FILE_NAME: {
    message: 'export file name {name} is not a plain file name',
    hint: 'A driver bug: export file names are letters, digits, ".", "_" and "-", unique, and not index.json.',
    terminal: true,
  },
});

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function sha256(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * Replaces the export in `dir` with `files` and returns its index. The index is removed
 * first and written last, and each file goes through a temporary name and a rename, so a
 * crash never leaves an index that lists a half-written file. Anything else in `dir`
 * (files of an earlier export, temporaries of a crashed write) is removed.
 */
export async function writeExport(dir: string, files: ExportFile[], now: Date = new Date()): Promise<ExportIndex> {
  const names = new Set<string>();
  for (const f of files) {
    if (!NAME.test(f.name) || f.name === INDEX_FILE || f.name.includes('..') || names.has(f.name)) {
      // Not the name itself: a driver bug could name a file after the subject (an address, an id).
      throw exportErrors.error('EXPORT_INVALID_FILE_NAME', { name: `of ${f.name.length} characters` });
    }
    names.add(f.name);
  }
  await rm(join(dir, INDEX_FILE), { force: true });
  for (const f of files) await writeAtomic(dir, f.name, f.content);
  for (const entry of await readdir(dir)) {
    if (!names.has(entry)) await rm(join(dir, entry), { force: true, recursive: true });
  }
  const index: ExportIndex = {
    version: 1,
    writtenAt: now.toISOString(),
    files: files.map((f) => ({ name: f.name, bytes: f.content.length, sha256: sha256(f.content) })),
  };
  await writeAtomic(dir, INDEX_FILE, Buffer.from(JSON.stringify(index, null, 2) + '\n'));
  return index;
}

async function writeAtomic(dir: string, name: string, content: Buffer): Promise<void> {
  const tmp = join(dir, `.${name}.tmp-${randomBytes(4).toString('hex')}`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
}

/** The index of the export in `dir`, or undefined when there is none or it is unreadable. */
export async function readExportIndex(dir: string): Promise<ExportIndex | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as unknown;
    return isIndex(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function isIndex(v: unknown): v is ExportIndex {
  if (typeof v !== 'object' || v === null) return false;
  const files = (v as { files?: unknown }).files;
  return (
    Array.isArray(files) &&
    files.every(
      (f: unknown) =>
        typeof f === 'object' &&
        f !== null &&
        typeof (f as ExportIndexEntry).name === 'string' &&
        NAME.test((f as ExportIndexEntry).name) &&
        Number.isInteger((f as ExportIndexEntry).bytes) &&
        typeof (f as ExportIndexEntry).sha256 === 'string',
    )
  );
}

/** Checks `dir` against its index: missing, resized, altered and unlisted files. Empty = intact. */
export async function verifyExport(dir: string): Promise<ExportProblem[]> {
  const index = await readExportIndex(dir);
  if (!index) return [{ kind: 'index', file: INDEX_FILE, detail: 'missing or unreadable' }];
  const problems: ExportProblem[] = [];
  for (const entry of index.files) {
    let content: Buffer;
    try {
      if (!(await stat(join(dir, entry.name))).isFile()) throw new Error('not a file');
      content = await readFile(join(dir, entry.name));
    } catch {
      problems.push({ kind: 'missing', file: entry.name, detail: 'listed in index.json but absent' });
      continue;
    }
    if (content.length !== entry.bytes) {
      problems.push({ kind: 'size', file: entry.name, detail: `${content.length} bytes, index says ${entry.bytes}` });
      continue;
    }
    const actual = sha256(content);
    if (actual !== entry.sha256)
      problems.push({
        kind: 'hash',
        file: entry.name,
        detail: `sha256 ${actual.slice(0, 12)}…, index says ${entry.sha256.slice(0, 12)}…`,
      });
  }
  const listed = new Set([INDEX_FILE, ...index.files.map((f) => f.name)]);
  for (const entry of (await readdir(dir)).sort()) {
    if (!listed.has(entry)) problems.push({ kind: 'extra', file: entry, detail: 'not listed in index.json' });
  }
  return problems;
}

export interface VendorExport {
  vendor: string;
  dir: string;
  index: ExportIndex | undefined;
  problems: ExportProblem[];
}

/** The exports of one request (`<data dir>/exports/<request>/`), one per vendor, verified. */
export async function listRequestExports(dataDir: string, request: string): Promise<VendorExport[]> {
  const root = join(dataDir, 'exports', request);
  let vendors: string[];
  try {
    vendors = (await readdir(root, { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
  return Promise.all(
    vendors.map(async (vendor) => {
      const dir = join(root, vendor);
      return { vendor, dir, index: await readExportIndex(dir), problems: await verifyExport(dir) };
    }),
  );
}
