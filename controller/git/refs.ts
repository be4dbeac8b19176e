import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * A branch or remote-tracking ref of plain characters, each part a valid git ref component
 * (none empty, none starting with a dot, none a lock file): nothing that could climb out of
 * `.git` or read a ref git is still writing.
 */
const PLAIN_REF = /^refs\/(?:heads|remotes)(?:\/(?!\.)[A-Za-z0-9._-]+(?<!\.lock))+$/;
const OBJECT_ID = /^[0-9a-f]{40}(?:[0-9a-f]{24})?$/;

/** The ref's reader could not answer for sure: ask `git rev-parse`. */
export const ASK_GIT = Symbol('ask git');

/**
 * A branch's commit read from the repository's files, the way git reads it: the loose
 * ref file, else its line in packed-refs (git writes both by rename, and packs a ref before
 * deleting the loose file, so this order never misses a ref that exists). Starting `git
 * rev-parse` from a process holding 10,000 requests costs about 30 ms of fork and as much
 * waiting, and a quiet pass read its branch twice: most of a no-op pass
 * (test/bench/noop.ts).
 *
 * Anything this does not know for sure answers ASK_GIT: `.git` as a file (a worktree or a
 * submodule), a reftable repository, a symbolic ref, a name outside refs/heads and
 * refs/remotes, an unreadable file. Assumed, as git's own tooling does: a branch names a
 * commit (rev-parse would also peel an annotated tag, which no branch in Lethe's
 * repositories points at).
 */
export async function readBranchRef(dir: string, ref: string): Promise<string | undefined | typeof ASK_GIT> {
  if (!PLAIN_REF.test(ref)) return ASK_GIT;
  const gitDir = join(dir, '.git');
  try {
    if (!(await stat(gitDir)).isDirectory()) return ASK_GIT;
    if (await stat(join(gitDir, 'reftable')).then(() => true, missingAs(false))) return ASK_GIT;
    const loose = await readFile(join(gitDir, ref), 'utf8').catch(missingAs(undefined));
    if (loose !== undefined) {
      const id = loose.trim();
      return OBJECT_ID.test(id) ? id : ASK_GIT;
    }
    const packed = await readFile(join(gitDir, 'packed-refs'), 'utf8').catch(missingAs(''));
    for (const line of packed.split('\n')) {
      if (line === '' || line.startsWith('#') || line.startsWith('^')) continue;
      const space = line.indexOf(' ');
      if (line.slice(space + 1) !== ref) continue;
      const id = line.slice(0, space);
      return OBJECT_ID.test(id) ? id : ASK_GIT;
    }
    return undefined;
  } catch {
    return ASK_GIT;
  }
}

/** A file that is not there is an answer; any other failure is not (the caller asks git). */
function missingAs<T>(value: T): (err: NodeJS.ErrnoException) => T {
  return (err) => {
    // A directory where the ref file would be (refs/heads/a when a/b exists) holds no ref either.
    if (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'ENOTDIR') return value;
    throw err;
  };
}
