import { runGit } from './exec.ts';

export interface TreeEntry {
  mode: string;
  id: string;
}

/** Every blob of `commit`'s tree by path (one `ls-tree -r`; fine for tens of thousands of files). */
export async function lsTree(cwd: string, commit: string): Promise<Map<string, TreeEntry>> {
  const { stdout } = await runGit(cwd, ['ls-tree', '-r', '-z', '--full-tree', commit]);
  const entries = new Map<string, TreeEntry>();
  for (const record of stdout.toString('utf8').split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [mode, type, id] = record.slice(0, tab).split(' ');
    if (type === 'blob' && mode && id) entries.set(record.slice(tab + 1), { mode, id });
  }
  return entries;
}

/**
 * Raw objects (commits as exact bytes for signature checks, blobs) with one `cat-file
 * --batch` process. Its output is `<id> <type> <size>\n<content>\n` per object, so contents
 * are cut by size, not by parsing.
 */
export async function readObjects(cwd: string, shas: string[]): Promise<Map<string, Buffer>> {
  const objects = new Map<string, Buffer>();
  if (shas.length === 0) return objects;
  const { stdout } = await runGit(cwd, ['cat-file', '--batch'], { input: shas.join('\n') + '\n' });
  let offset = 0;
  while (offset < stdout.length) {
    const eol = stdout.indexOf(0x0a, offset);
    const header = stdout.subarray(offset, eol).toString('utf8').split(' ');
    offset = eol + 1;
    if (header[1] === 'missing' || header.length < 3) continue;
    const size = Number(header[2]);
    objects.set(header[0]!, stdout.subarray(offset, offset + size));
    offset += size + 1;
  }
  return objects;
}

/** Many blobs as text, with one `cat-file --batch` process. */
export async function readBlobs(cwd: string, ids: string[]): Promise<Map<string, string>> {
  const objects = await readObjects(cwd, [...new Set(ids)]);
  return new Map([...objects].map(([id, bytes]) => [id, bytes.toString('utf8')]));
}
