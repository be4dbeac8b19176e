import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { DriverTable } from '../contracts/driver.ts';
import { checkRepository, type MisplacedManifest, type RepositoryModel } from './check.ts';
import { manifestKind } from './kinds.ts';
import { parseManifest, type ParsedManifest } from './parse.ts';
import { MAX_MANIFEST_BYTES } from './yaml-source.ts';

/** Repository-relative posix paths of the manifests in a working tree (symlinks are not followed). */
export async function listManifestPaths(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(rel: string): Promise<void> {
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' && rel !== '') return [];
      throw err;
    });
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory() && (path === 'vendors' || path === 'requests' || path.startsWith('requests/')))
        await walk(path);
      else if (entry.isFile() && manifestKind(path) !== undefined) out.push(path);
    }
  }
  await walk('');
  return out.sort();
}

/** Reads at most one byte past the cap: enough for parseManifest to reject a huge file. */
async function readCapped(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(MAX_MANIFEST_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** Folders that never hold manifests: the controller's output, tooling, dependencies. */
const NOT_MANIFEST_DIRS = new Set(['status', 'node_modules', '.git', '.github', '.gitlab', '.schemas']);
/** Directory levels searched below the top (a deeper file is not taken for a misplaced manifest). */
const MISPLACED_DEPTH = 6;

/**
 * Whether a repository path could be a misplaced manifest: a YAML file Lethe does not read,
 * outside the folders that never hold manifests (the walk below and the controller's scan
 * of the git tree, misplaced-scan.ts, use this same rule).
 */
export function misplacedCandidate(path: string): boolean {
  const segments = path.split('/');
  if (segments.length > MISPLACED_DEPTH + 1 || !/\.ya?ml$/.test(path) || manifestKind(path) !== undefined) return false;
  return segments.slice(0, -1).every((d) => !NOT_MANIFEST_DIRS.has(d) && !d.startsWith('.'));
}

/** The manifest kind a candidate's text declares, with the line of its `kind:`; undefined for any other YAML. */
export function misplacedManifest(path: string, text: string): MisplacedManifest | undefined {
  const m = /^kind:[ \t]*["']?(PrivacyRequest|VendorConnection|LetheConfig)["']?[ \t]*$/m.exec(text);
  return m
    ? { path, kind: m[1] as MisplacedManifest['kind'], line: text.slice(0, m.index).split('\n').length }
    : undefined;
}

/**
 * YAML files outside the places Lethe reads that declare a manifest kind (a request saved
 * in request/ or at the top level): they would be ignored without a word, so they are reported.
 */
export async function findMisplacedManifests(dir: string): Promise<MisplacedManifest[]> {
  const out: MisplacedManifest[] = [];
  async function walk(rel: string, depth: number): Promise<void> {
    if (depth > MISPLACED_DEPTH) return;
    const entries = await readdir(join(dir, rel), { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!NOT_MANIFEST_DIRS.has(entry.name) && !entry.name.startsWith('.')) await walk(path, depth + 1);
      } else if (entry.isFile() && misplacedCandidate(path)) {
        const found = misplacedManifest(path, await readCapped(join(dir, path)));
        if (found) out.push(found);
      }
    }
  }
  await walk('', 0);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

/** For the CLI: validates the working tree (the controller reads the same paths from git). */
export async function loadRepositoryFromDisk(
  dir: string,
  drivers: DriverTable,
): Promise<{ parsed: ParsedManifest[]; model: RepositoryModel }> {
  const paths = await listManifestPaths(dir);
  const parsed = await Promise.all(paths.map(async (path) => parseManifest(path, await readCapped(join(dir, path)))));
  return { parsed, model: checkRepository(parsed, drivers, await findMisplacedManifests(dir)) };
}
