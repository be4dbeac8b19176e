import { gitErrors } from './errors.ts';
import { git, type Identity } from './exec.ts';
import { commitTree, editTree, treeOf, type TreeChange } from './plumbing.ts';
import { isStatusPath } from './paths.ts';
import { lastStatusCommit, withPrevious } from './chain.ts';
import type { StatusSigner } from './signing.ts';

interface RawCommit {
  author: Identity & { date: string };
  message: string;
}

async function readCommit(cwd: string, sha: string): Promise<RawCommit> {
  const raw = await git(cwd, ['cat-file', 'commit', sha]);
  const split = raw.indexOf('\n\n');
  const author = /^author (.*) <([^>]*)> (\d+ [+-]\d{4})$/m.exec(raw.slice(0, split));
  if (!author) throw gitErrors.error('GIT_FAILED', { command: 'log', reason: `commit ${sha} has no readable author` });
  return { author: { name: author[1]!, email: author[2]!, date: author[3]! }, message: raw.slice(split + 2) + '\n' };
}

async function statusChanges(cwd: string, parent: string, sha: string): Promise<TreeChange[]> {
  const out = await git(cwd, ['diff-tree', '-r', '-z', '--no-renames', '--no-commit-id', parent, sha]);
  const tokens = out.split('\0');
  const changes: TreeChange[] = [];
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const [, , mode, , blob, status] = tokens[i]!.split(/[: ]/);
    const path = tokens[i + 1]!;
    if (!isStatusPath(path))
      throw gitErrors.error('GIT_REBASE_REFUSED', { sha, reason: `it changes ${path} outside status/` });
    changes.push(status === 'D' ? { path, blob: null } : { path, blob: blob!, mode: mode! });
  }
  return changes;
}

/**
 * Replays the controller's own commits (`upstream..local`) onto `upstream`. Only commits that
 * the controller authored and that touch nothing but status/ are replayed: their edits are
 * re-applied path by path, so on a status file the controller's version wins and nothing a
 * person committed is rewritten. Anything else is refused rather than rebased. Each replayed
 * commit names the status commit now before it (Lethe-Previous-Status) and is signed anew.
 * Returns the new tip (upstream itself when every replayed commit became empty).
 */
export async function replayStatusCommits(
  cwd: string,
  upstream: string,
  local: string,
  identity: Identity,
  /** Drop (instead of refusing) local commits that are not the controller's: see GitSource.sync. */
  dropForeign = false,
  /** Replayed commits are new commits: they are signed again, and chained to the new base. */
  signer?: StatusSigner,
): Promise<string> {
  const list = await git(cwd, ['rev-list', '--reverse', '--topo-order', '--parents', `${upstream}..${local}`]);
  let tip = upstream;
  for (const line of list.split('\n').filter(Boolean)) {
    const [sha, ...parents] = line.split(' ');
    const commit = parents.length === 1 ? await readCommit(cwd, sha!) : undefined;
    if (commit?.author.email.toLowerCase() !== identity.email.toLowerCase()) {
      if (dropForeign) continue;
      throw gitErrors.error('GIT_REBASE_REFUSED', { sha: sha!, reason: 'it was not made by the controller' });
    }
    const tree = await editTree(cwd, tip, await statusChanges(cwd, parents[0]!, sha!));
    if (tree === (await treeOf(cwd, tip))) continue;
    const message = withPrevious(commit.message, await lastStatusCommit(cwd, tip));
    tip = await commitTree(cwd, { tree, parents: [tip], message, committer: identity, author: commit.author, signer });
  }
  return tip;
}
