import { git, runGit } from '../git/exec.ts';
import { PREVIOUS_TRAILER } from '../git/chain.ts';

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
  subject: string;
  /** `Lethe-Previous-Status:` value, when present. */
  previous?: string;
  /** `Lethe-Observed-Commit:` value: the protected-branch head the pass read. */
  observed?: string;
  /** Paths changed against the first parent, with the new blob (null: deleted). */
  changes: Map<string, string | null>;
}

const FORMAT = `%x01%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%s%x00%(trailers:key=${PREVIOUS_TRAILER},valueonly,separator=%x1f)%x00%(trailers:key=Lethe-Observed-Commit,valueonly,separator=%x1f)%x00`;
const NULL_BLOB = /^0+$/;

/**
 * Every commit reachable from `refs`, with its first-parent diff (merges included, so that
 * what a merge brought counts as its change). One process, however long the history.
 */
export async function walkHistory(cwd: string, refs: string[], limit: { firstParent?: boolean; paths?: string[] } = {}): Promise<Map<string, AuditCommit>> {
  const args = ['log', '-z', '--raw', '--no-renames', '--no-abbrev', '--diff-merges=first-parent', `--format=${FORMAT}`];
  if (limit.firstParent) args.push('--first-parent');
  const { stdout } = await runGit(cwd, [...args, ...refs, '--', ...(limit.paths ?? [])]);
  const commits = new Map<string, AuditCommit>();
  for (const record of stdout.toString('utf8').split('\x01')) {
    if (!record) continue;
    const f = record.split('\0');
    const changes = new Map<string, string | null>();
    const tokens = f.slice(11).map((t) => t.replace(/^\n/, '')).filter(Boolean);
    for (let i = 0; i + 1 < tokens.length; i += 2) {
      const [, , , , blob, status] = tokens[i]!.split(/[: ]/);
      changes.set(tokens[i + 1]!, status === 'D' || NULL_BLOB.test(blob!) ? null : blob!);
    }
    const first = (v: string | undefined) => v?.split('\x1f')[0]?.trim() || undefined;
    commits.set(f[0]!, {
      sha: f[0]!,
      parents: f[1] ? f[1].split(' ') : [],
      author: f[2]!,
      authorEmail: f[3]!,
      authoredAt: f[4]!,
      committer: f[5]!,
      committerEmail: f[6]!,
      committedAt: f[7]!,
      subject: f[8]!,
      previous: first(f[9]),
      observed: first(f[10]),
      changes,
    });
  }
  return commits;
}

/** The first-parent chain ending at `head`, oldest first. */
export function firstParentChain(commits: Map<string, AuditCommit>, head: string): AuditCommit[] {
  const chain: AuditCommit[] = [];
  for (let c = commits.get(head); c; c = c.parents[0] === undefined ? undefined : commits.get(c.parents[0])) chain.push(c);
  return chain.reverse();
}

export async function resolveCommit(cwd: string, ref: string): Promise<string | undefined> {
  return (await git(cwd, ['rev-parse', '--verify', '-q', `${ref}^{commit}`], { okCodes: [1, 128] })) || undefined;
}
