import { git, streamGit } from './exec.ts';

/** One entry of a commit's diff against its first parent (`--raw -M`). */
export interface RawChange {
  status: string;
  path: string;
  /** Source path of a rename. */
  from?: string;
  blob: string;
  /** Rename similarity in percent; 100 means the content is unchanged. */
  score?: number;
}

export interface CommitInfo {
  sha: string;
  parents: string[];
  authorName: string;
  authorEmail: string;
  committerName: string;
  committerEmail: string;
  /** Committer time, epoch seconds: when the commit (for a merge: the approval) was made. */
  time: number;
  /** `Approved-by:` trailer values, as written. */
  approvedBy: string[];
  changes: RawChange[];
  /** Index in the first-parent chain of the commit through which this one reached the branch. */
  entry: number;
}

/** Where a path's current content arrived on the branch. */
export interface Introduction {
  /** The first-parent commit that brought the content. */
  commit: string;
  /** The path at that commit (differs from the current one after pure renames). */
  path: string;
  blob: string;
}

const FORMAT =
  '%x01%H%x00%P%x00%an%x00%ae%x00%cn%x00%ce%x00%ct%x00%(trailers:key=Approved-by,valueonly,separator=%x1f)%x00';

/** `git log` arguments for commits with their first-parent diffs, in the form parseCommit reads. */
export const LOG_ARGS = ['log', '-z', '--raw', '-M', '--no-abbrev', '--diff-merges=first-parent', `--format=${FORMAT}`];

/**
 * The `--raw -z` part of a log record (the fields after the format's own): one entry per
 * changed path, a rename or copy with its source and similarity score.
 */
export function parseRawChanges(fields: string[]): RawChange[] {
  const changes: RawChange[] = [];
  const tokens = fields.map((t) => t.replace(/^\n/, '')).filter(Boolean);
  for (let i = 0; i < tokens.length; ) {
    const [, , , , blob, status] = tokens[i]!.split(/[: ]/);
    const kind = status!.charAt(0);
    if (kind === 'R' || kind === 'C') {
      changes.push({
        status: kind,
        from: tokens[i + 1]!,
        path: tokens[i + 2]!,
        blob: blob!,
        score: Number(status!.slice(1)),
      });
      i += 3;
    } else {
      changes.push({ status: kind, path: tokens[i + 1]!, blob: blob! });
      i += 2;
    }
  }
  return changes;
}

/** One record of LOG_ARGS output (the text between two \x01 marks). */
export function parseCommit(record: string): CommitInfo {
  const fields = record.split('\0');
  const [sha, parents, authorName, authorEmail, committerName, committerEmail, time, trailers] = fields;
  const changes = parseRawChanges(fields.slice(8));
  return {
    sha: sha!,
    parents: parents ? parents.split(' ') : [],
    authorName: authorName!,
    authorEmail: authorEmail!,
    committerName: committerName!,
    committerEmail: committerEmail!,
    time: Number(time),
    approvedBy: trailers
      ? trailers
          .split('\x1f')
          .map((t) => t.trim())
          .filter(Boolean)
      : [],
    changes,
    entry: -1,
  };
}

function parseLog(out: string): CommitInfo[] {
  return out.split('\x01').filter(Boolean).map(parseCommit);
}

/**
 * Cuts a stream of records separated by \x01 (one character: no chunk boundary can cut a
 * separator in two) into whole records as chunks arrive. The unfinished record is kept as
 * the chunks that hold it and joined once it ends: one merge of 50,000 files is a 7 MB
 * record, and searching all of it again for its end at every 64 KB chunk took 3.9 s
 * (quadratic in the size of one commit).
 */
export function recordSplitter(onRecord: (record: string) => void): { push(text: string): void; end(): void } {
  let open: string[] = [];
  const emit = (text: string) => {
    for (const record of text.split('\x01')) if (record !== '') onRecord(record);
  };
  return {
    push(text) {
      const last = text.lastIndexOf('\x01');
      if (last < 0) {
        open.push(text);
        return;
      }
      open.push(text.slice(0, last));
      emit(open.join(''));
      open = [text.slice(last)];
    },
    end() {
      emit(open.join(''));
      open = [];
    },
  };
}

/**
 * The commits of `range` (git log revision arguments) by id, parsed while git writes them:
 * one process, and the output is never held whole.
 */
export async function readCommits(cwd: string, range: string[]): Promise<Map<string, CommitInfo>> {
  const commits = new Map<string, CommitInfo>();
  const records = recordSplitter((record) => {
    const c = parseCommit(record);
    commits.set(c.sha, c);
  });
  await streamGit(cwd, [...LOG_ARGS, ...range, '--'], (text) => records.push(text));
  records.end();
  return commits;
}

/**
 * The branch history as the approval gate needs it, built from ONE `git log` walk and
 * extended incrementally when the head moves forward: for every path, the first-parent
 * commit that introduced its current content; for every first-parent commit, the commits
 * that reached the branch through it (a merge's side branch). Evaluating 10,000 requests then
 * costs no git call per request.
 */
export class HistoryIndex {
  private readonly commits = new Map<string, CommitInfo>();
  private readonly firstParent: string[] = [];
  private readonly byEntry = new Map<number, string[]>();
  private readonly introductions = new Map<string, Introduction>();
  private builtHead: string | undefined;

  /**
   * `readLog`: the commits of `git log <range>`, when a caller has already walked them (the
   * audit reads the history once); by default the index runs that log itself.
   */
  constructor(
    private readonly cwd: string,
    private readonly readLog?: (range: string[]) => Promise<CommitInfo[]>,
  ) {}

  get head(): string | undefined {
    return this.builtHead;
  }

  commit(sha: string): CommitInfo | undefined {
    return this.commits.get(sha);
  }

  /** The first-parent chain, oldest first. */
  get chain(): readonly string[] {
    return this.firstParent;
  }

  /** Position of `sha` in the first-parent chain, or -1 when it is not on it. */
  position(sha: string): number {
    const entry = this.commits.get(sha)?.entry;
    return entry !== undefined && entry >= 0 && this.firstParent[entry] === sha ? entry : -1;
  }

  introduction(path: string): Introduction | undefined {
    return this.introductions.get(path);
  }

  /** Commits that reached the branch through first-parent commit `sha`, including itself. */
  arrivedWith(sha: string): CommitInfo[] {
    const entry = this.commits.get(sha)?.entry;
    return (entry === undefined ? [] : (this.byEntry.get(entry) ?? [])).map((s) => this.commits.get(s)!);
  }

  async update(head: string): Promise<void> {
    if (head === this.builtHead) return;
    const range = this.builtHead ? [head, `^${this.builtHead}`] : [head];
    const read = this.readLog ?? (async (r: string[]) => parseLog(await git(this.cwd, [...LOG_ARGS, ...r, '--'])));
    const fresh = new Map((await read(range)).map((c) => [c.sha, c]));
    const chain: string[] = [];
    for (let sha: string | undefined = head; sha !== undefined && fresh.has(sha); sha = fresh.get(sha)!.parents[0])
      chain.push(sha);
    const reached = fresh.get(chain[chain.length - 1] ?? '')?.parents[0];
    if (this.builtHead !== undefined && reached !== this.builtHead) {
      // The old head is not on the new first-parent chain (history rewritten, or main was
      // fast-forwarded onto a merge that has it as second parent): start over.
      this.reset();
      return this.update(head);
    }
    for (const [sha, info] of fresh) this.commits.set(sha, info);
    for (const sha of chain.reverse()) this.append(sha);
    this.builtHead = head;
  }

  private reset(): void {
    this.commits.clear();
    this.firstParent.length = 0;
    this.byEntry.clear();
    this.introductions.clear();
    this.builtHead = undefined;
  }

  private append(sha: string): void {
    const entry = this.firstParent.push(sha) - 1;
    const members: string[] = [];
    const stack = [sha];
    while (stack.length > 0) {
      const info = this.commits.get(stack.pop()!);
      if (!info || info.entry !== -1) continue;
      info.entry = entry;
      members.push(info.sha);
      stack.push(...(info.sha === sha ? info.parents.slice(1) : info.parents));
    }
    this.byEntry.set(entry, members);
    const changes = this.commits.get(sha)!.changes;
    // Renames first: a pure rename carries the previous introduction (same content, same approval).
    for (const change of [...changes].sort((a, b) => Number(b.status === 'R') - Number(a.status === 'R'))) {
      if (change.status === 'D') this.introductions.delete(change.path);
      else if (change.status === 'R') {
        const previous = this.introductions.get(change.from!);
        this.introductions.delete(change.from!);
        const pure = change.score === 100 && previous !== undefined;
        this.introductions.set(change.path, pure ? previous : { commit: sha, path: change.path, blob: change.blob });
      } else this.introductions.set(change.path, { commit: sha, path: change.path, blob: change.blob });
    }
  }
}

export interface Signature {
  /** `%G?`: G good, B bad, U good with unknown validity, N none, ... */
  status: string;
  /** Fingerprints and key id that may identify the signer (subkey, primary key, long id). */
  keys: string[];
}

/** Signature checks cost a gpg run each, so they are made only for approval commits. */
export async function readSignatures(cwd: string, shas: string[]): Promise<Map<string, Signature>> {
  const result = new Map<string, Signature>();
  if (shas.length === 0) return result;
  const out = await git(cwd, [
    'log',
    '--no-walk=unsorted',
    '--format=%H%x1f%G?%x1f%GF%x1f%GP%x1f%GK%x1e',
    ...new Set(shas),
    '--',
  ]);
  for (const record of out.split('\x1e')) {
    const [sha, status, ...keys] = record.trim().split('\x1f');
    if (sha && status) result.set(sha, { status, keys: keys.filter(Boolean) });
  }
  return result;
}
