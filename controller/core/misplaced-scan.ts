import { runGit } from '../git/exec.ts';
import type { GitSource } from '../git/source.ts';
import {
  MAX_MANIFEST_BYTES,
  misplacedCandidate,
  misplacedManifest,
  type MisplacedManifest,
} from '../manifests/index.ts';

/** At most this many candidate files are read per head: a push of thousands of YAML files costs no more. */
const MAX_CANDIDATES = 500;

interface BlobEntry {
  path: string;
  id: string;
  size: number;
}

/**
 * `ls-tree` of one tree-ish, with blob sizes; paths are prefixed with `prefix`. `-r` lists
 * every blob below it.
 */
async function listTree(
  dir: string,
  treeish: string,
  prefix: string,
  recursive: boolean,
): Promise<Array<BlobEntry & { type: string }>> {
  const { stdout } = await runGit(dir, ['ls-tree', '-z', '-l', ...(recursive ? ['-r'] : []), treeish]);
  const out: Array<BlobEntry & { type: string }> = [];
  for (const record of stdout.toString('utf8').split('\0')) {
    if (!record) continue;
    const tab = record.indexOf('\t');
    const [, type, id, size] = record.slice(0, tab).split(/ +/);
    out.push({ path: `${prefix}${record.slice(tab + 1)}`, type: type!, id: id!, size: Number(size) || 0 });
  }
  return out;
}

/**
 * A file name is input from anyone who can push: a segment that looks like it holds an
 * email address is not repeated on the dashboard, in logs or in a pull-request comment.
 */
export function shownPath(path: string): string {
  return path
    .split('/')
    .map((s) => (s.includes('@') ? '(name withheld: it contains "@")' : s))
    .join('/');
}

/**
 * The manifests the branch holds where Lethe does not read them (a request saved in
 * `request/` or at the top level), as `lethe validate` finds them on disk. The controller
 * never acts on them; it reports them so that they are not ignored without a word.
 *
 * Kept cheap for a pass: the top-level tree is listed (one small `ls-tree`), and a folder is
 * listed again only when its tree id changed; a candidate's content is read once per blob,
 * and a blob above the manifest size cap is not read (a manifest that large is refused anyway).
 */
export class MisplacedScan {
  private readonly folders = new Map<string, BlobEntry[]>();
  private readonly kinds = new Map<string, Omit<MisplacedManifest, 'path'> | null>();
  private last?: { head: string; found: MisplacedManifest[] };

  constructor(private readonly source: GitSource) {}

  async at(head: string): Promise<MisplacedManifest[]> {
    if (this.last?.head === head) return this.last.found;
    const dir = this.source.dir;
    const candidates: BlobEntry[] = [];
    const seen = new Set<string>();
    for (const entry of await listTree(dir, head, '', false)) {
      if (entry.type === 'blob') {
        if (misplacedCandidate(entry.path)) candidates.push(entry);
        continue;
      }
      // Folders where no YAML file can be misplaced (status/, dot folders, requests/ whose
      // every YAML file is a request) are never listed; vendors/ may hold a nested one.
      if (entry.type !== 'tree' || (entry.path !== 'vendors' && !misplacedCandidate(`${entry.path}/probe.yaml`)))
        continue;
      const key = `${entry.path}\0${entry.id}`;
      seen.add(key);
      let blobs = this.folders.get(key);
      if (!blobs) {
        blobs = (await listTree(dir, entry.id, `${entry.path}/`, true)).filter(
          (b) => b.type === 'blob' && misplacedCandidate(b.path),
        );
        this.folders.set(key, blobs);
      }
      candidates.push(...blobs);
    }
    for (const key of this.folders.keys()) if (!seen.has(key)) this.folders.delete(key);

    const readable = candidates.filter((c) => c.size <= MAX_MANIFEST_BYTES).slice(0, MAX_CANDIDATES);
    const unread = [...new Set(readable.map((c) => c.id).filter((id) => !this.kinds.has(id)))];
    const texts = await this.source.readBlobs(unread);
    for (const id of unread) {
      const found = misplacedManifest('', texts.get(id) ?? '');
      this.kinds.set(id, found ? { kind: found.kind, line: found.line } : null);
    }
    const found: MisplacedManifest[] = [];
    for (const c of readable) {
      const kind = this.kinds.get(c.id);
      if (kind) found.push({ path: shownPath(c.path), ...kind });
    }
    found.sort((a, b) => a.path.localeCompare(b.path));
    this.last = { head, found };
    return found;
  }
}
