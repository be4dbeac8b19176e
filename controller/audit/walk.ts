import { git } from '../git/exec.ts';
import { PREVIOUS_TRAILER } from '../git/chain.ts';
import { type CommitInfo, parseRawChanges, type RawChange } from '../git/history.ts';
import { streamRecords } from './git-stream.ts';

/** One commit as the audit needs it, from one `git log` walk over the audited refs. */
export interface AuditCommit {
  sha: string;
  parents: string[];
  author: string;
  authorEmail: string;
  /** Author date, ISO 8601. */
  authoredAt: string;
  committer: string;
  committerEmail: string;
  /** Committer date, ISO 8601 (for a status commit: when the controller recorded it). */
  committedAt: string;
  /** Committer date, epoch seconds (`%ct`). */
  committedTime: number;
  subject: string;
  /** `Lethe-Previous-Status:` value, when present. */
  previous?: string;
  /** `Lethe-Observed-Commit:` value: the protected-branch head the pass read. */
  observed?: string;
  /** `Approved-by:` trailer values, as written. */
  approvedBy: string[];
  /** Paths changed against the first parent, with the new blob (null: deleted; a rename deletes its source). */
  changes: Map<string, string | null>;
  /** The diff as `git log --raw` printed it (renames detected when the walk asked for them). */
  raw: RawChange[];
}

const FORMAT = `%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%ct%x00%s%x00%(trailers:key=${PREVIOUS_TRAILER},valueonly,separator=%x1f)%x00%(trailers:key=Lethe-Observed-Commit,valueonly,separator=%x1f)%x00%(trailers:key=Approved-by,valueonly,separator=%x1f)%x00`;
const FIELDS = 13;
const NULL_BLOB = /^0+$/;

export interface WalkOptions {
  firstParent?: boolean;
  paths?: string[];
  /**
   * Detect renames (`-M`), as the approval's history index does, so that one walk serves both
   * the audit and the approval evaluation (`historyReader`).
   */
  renames?: boolean;
  /** Called with each commit as soon as git has printed it (to start reading its objects). */
  onCommit?: (commit: AuditCommit) => void;
}

/**
 * Every commit reachable from `refs`, with its first-parent diff (merges included, so that
 * what a merge brought counts as its change). One process, however long the history, parsed
 * while git writes it.
 */
export async function walkHistory(
  cwd: string,
  refs: string[],
  limit: WalkOptions = {},
): Promise<Map<string, AuditCommit>> {
  const args = [
    'log',
    '-z',
    '--raw',
    limit.renames ? '-M' : '--no-renames',
    '--no-abbrev',
    '--diff-merges=first-parent',
    `--format=${FORMAT}`,
  ];
  if (limit.firstParent) args.push('--first-parent');
  const commits = new Map<string, AuditCommit>();
  await streamRecords(cwd, [...args, ...refs, '--', ...(limit.paths ?? [])], (record) => {
    const commit = parseRecord(record);
    commits.set(commit.sha, commit);
    limit.onCommit?.(commit);
  });
  return commits;
}

function parseRecord(record: string): AuditCommit {
  const f = record.split('\0');
  const raw = parseRawChanges(f.slice(FIELDS));
  const changes = new Map<string, string | null>();
  const renamed = raw.some((r) => r.from !== undefined);
  // Without rename detection git lists a rename as its deletion and its addition, in path order.
  const entries: Array<[string, string | null]> = raw.flatMap((r): Array<[string, string | null]> => {
    const added: [string, string | null] = [r.path, r.status === 'D' || NULL_BLOB.test(r.blob) ? null : r.blob];
    return r.status === 'R' ? [[r.from!, null], added] : [added];
  });
  if (renamed) entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [path, blob] of entries) changes.set(path, blob);
  const first = (v: string | undefined) => v?.split('\x1f')[0]?.trim() || undefined;
  return {
    sha: f[0]!,
    parents: f[1] ? f[1].split(' ') : [],
    author: f[2]!,
    authorEmail: f[3]!,
    authoredAt: f[4]!,
    committer: f[5]!,
    committerEmail: f[6]!,
    committedAt: f[7]!,
    committedTime: Number(f[8]),
    subject: f[9]!,
    previous: first(f[10]),
    observed: first(f[11]),
    approvedBy: f[12]
      ? f[12]
          .split('\x1f')
          .map((t) => t.trim())
          .filter(Boolean)
      : [],
    changes,
    raw,
  };
}

/**
 * The commits of `git log <head> [^<base>] --` as the approval's HistoryIndex reads them, from
 * a walk already made (which used `renames`): the audit reads the history once.
 */
export function historyReader(commits: Map<string, AuditCommit>): (range: string[]) => Promise<CommitInfo[]> {
  return async ([head, exclude]) => {
    const excluded = exclude ? reachable(commits, exclude.replace(/^\^/, ''), new Set()) : new Set<string>();
    return [...reachable(commits, head!, excluded)].map((sha) => {
      const c = commits.get(sha)!;
      return {
        sha: c.sha,
        parents: c.parents,
        authorName: c.author,
        authorEmail: c.authorEmail,
        committerName: c.committer,
        committerEmail: c.committerEmail,
        time: c.committedTime,
        approvedBy: c.approvedBy,
        changes: c.raw,
        entry: -1,
      };
    });
  };
}

/** Commits reachable from `head` (itself included) and not in `stop`, within the walked set. */
function reachable(commits: Map<string, AuditCommit>, head: string, stop: Set<string>): Set<string> {
  const out = new Set<string>();
  const stack = [head];
  while (stack.length > 0) {
    const sha = stack.pop()!;
    if (out.has(sha) || stop.has(sha)) continue;
    const c = commits.get(sha);
    if (!c) continue;
    out.add(sha);
    stack.push(...c.parents);
  }
  return out;
}

/** The first-parent chain ending at `head`, oldest first. */
export function firstParentChain(commits: Map<string, AuditCommit>, head: string): AuditCommit[] {
  const chain: AuditCommit[] = [];
  for (let c = commits.get(head); c; c = c.parents[0] === undefined ? undefined : commits.get(c.parents[0]))
    chain.push(c);
  return chain.reverse();
}

export async function resolveCommit(cwd: string, ref: string): Promise<string | undefined> {
  return (await git(cwd, ['rev-parse', '--verify', '-q', `${ref}^{commit}`], { okCodes: [1, 128] })) || undefined;
}
