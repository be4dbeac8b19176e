import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { LetheError } from '../errors/types.ts';
import { gitErrors } from './errors.ts';
import { git, runGit, type Identity } from './exec.ts';
import { HistoryIndex } from './history.ts';
import { assertStatusPaths, STATUS_DIR } from './paths.ts';
import { BlobWriter, commitTree, editTree, hashBlobs, treeOf, type TreeChange, type WrittenBlob } from './plumbing.ts';
import { DEFAULT_PUSH_RETRY, pushWithRetry, type PushOutcome, type PushRetry } from './push.ts';
import { replayStatusCommits } from './rebase.ts';
import { ASK_GIT, readBranchRef } from './refs.ts';
import { ObjectReader } from './object-reader.ts';
import { lsTree, readBlobs } from './tree.ts';
import { ChainMemoryFile, lastStatusCommit, withPrevious } from './chain.ts';
import type { StatusSigner } from './signing.ts';

export interface GitSourceOptions {
  /** A local working copy, used in place (input is always read from commits, never the working tree). */
  repo?: string;
  /** A remote URL, cloned into `<dataDir>/repo`. */
  remote?: string;
  branch: string;
  dataDir: string;
  identity: Identity;
  /** Commit status to this branch instead of `branch` (see writeStatus). */
  statusBranch?: string;
  /** Push status commits to origin. Default: true with `remote`, false with `repo`. */
  push?: boolean;
  pushRetry?: Partial<PushRetry>;
}

/** The status branch no longer contains the last status commit the controller put there. */
export interface HistoryRewritten {
  branch: string;
  /** The remembered status commit that is gone from the branch. */
  missing: string;
}

export interface WriteOptions {
  /** Name this commit as the previous status commit instead of the branch's newest one. */
  previous?: string;
  /** Leave the remembered chain end as it is (the HistoryRewritten alarm commit). */
  remember?: boolean;
}

export interface WriteResult {
  commit?: string;
  pushed: boolean;
  pushError?: { code: string; message: string };
}

/**
 * The top of the working copy containing `dir`. git's own "fatal: not a git repository"
 * becomes a message that says what to do.
 */
export async function repositoryRoot(dir: string): Promise<string> {
  if (!existsSync(dir)) throw gitErrors.error('GIT_NOT_A_REPOSITORY', { dir: `${dir} does not exist, so it` });
  try {
    return await git(dir, ['rev-parse', '--show-toplevel']);
  } catch {
    throw gitErrors.error('GIT_NOT_A_REPOSITORY', { dir });
  }
}

function branchList(names: string[]): string {
  return names.length > 0
    ? `branches here: ${names.slice(0, 10).join(', ')}`
    : 'the repository has no branch yet (make a first commit)';
}

export type ChangedPaths = { changed: string[]; deleted: string[] } | 'all';

export class GitSource {
  private readonly index: HistoryIndex;
  private readonly chain: ChainMemoryFile;
  private signer: StatusSigner | undefined;
  private intact: { tip: string; last: string } | undefined;

  private constructor(
    /** The repository's working directory. */
    readonly dir: string,
    readonly mode: 'local' | 'remote',
    private readonly options: GitSourceOptions,
  ) {
    this.index = new HistoryIndex(dir);
    this.chain = new ChainMemoryFile(options.dataDir);
  }

  /** Signs status commits from now on (undefined: unsigned, reported as such). */
  useSigner(signer: StatusSigner | undefined): void {
    this.signer = signer;
  }

  get signing(): StatusSigner | undefined {
    return this.signer;
  }

  /**
   * Whether the status branch still contains the last status commit the controller put
   * there. When it does not (force-push, rewritten history) the controller must not build on it.
   */
  async historyRewritten(): Promise<HistoryRewritten | undefined> {
    const branch = this.statusBranch;
    const memory = await this.chain.read(branch);
    // A clone in the data directory replays unpushed commits (new ids): only what origin had counts.
    const last = this.mode === 'remote' ? memory.pushed : (memory.written ?? memory.pushed);
    if (last === undefined) return undefined;
    const tip = await this.resolve(`refs/heads/${branch}`);
    // A quiet pass finds the same tip: the ancestry answer is already known.
    if (tip !== undefined && this.intact?.tip === tip && this.intact.last === last) return undefined;
    if (tip !== undefined && (await this.isAncestor(last, tip))) {
      this.intact = { tip, last };
      return undefined;
    }
    return { branch, missing: last };
  }

  static async open(options: GitSourceOptions): Promise<GitSource> {
    if ((options.repo === undefined) === (options.remote === undefined)) {
      throw gitErrors.error('GIT_SOURCE_CONFIG');
    }
    if (options.repo !== undefined) {
      const dir = await repositoryRoot(resolve(options.repo));
      return new GitSource(dir, 'local', options);
    }
    const dir = resolve(options.dataDir, 'repo');
    if (!existsSync(join(dir, '.git'))) {
      await mkdir(options.dataDir, { recursive: true });
      // No checkout: every write goes through plumbing, so 10,000 files on disk would be dead weight.
      await git(options.dataDir, ['clone', '--no-checkout', '--no-tags', '--origin', 'origin', options.remote!, dir]);
    }
    return new GitSource(dir, 'remote', options);
  }

  get branch(): string {
    return this.options.branch;
  }

  /** The branch status commits go to. */
  get statusBranch(): string {
    return this.options.statusBranch ?? this.options.branch;
  }

  private async resolve(ref: string): Promise<string | undefined> {
    const read = await readBranchRef(this.dir, ref);
    if (read !== ASK_GIT) return read;
    return (await git(this.dir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`], { okCodes: [1] })) || undefined;
  }

  private async remoteHeads(): Promise<Map<string, string>> {
    const refs = [...new Set([this.branch, this.statusBranch])].map((b) => `refs/heads/${b}`);
    const out = await git(this.dir, ['ls-remote', 'origin', ...refs]);
    const heads = new Map<string, string>();
    for (const line of out.split('\n').filter(Boolean)) {
      const [sha, ref] = line.split('\t');
      heads.set(ref!.slice('refs/heads/'.length), sha!);
    }
    return heads;
  }

  /** The branch head without fetching anything: ls-remote for a remote, the local ref otherwise. */
  async remoteHead(): Promise<string | undefined> {
    if (this.mode === 'local') return this.resolve(`refs/heads/${this.branch}`);
    return (await this.remoteHeads()).get(this.branch);
  }

  /** The commit status files are read from (the status branch tip, else the branch head). */
  async statusHead(): Promise<string | undefined> {
    return (await this.resolve(`refs/heads/${this.statusBranch}`)) ?? this.resolve(`refs/heads/${this.branch}`);
  }

  /**
   * Brings the local branch (and status branch) up to date and returns the branch head.
   * Remote: fetches only refs whose remote head moved; unpushed controller commits are
   * replayed on top. Commits that are not the controller's and that the remote no longer has
   * are dropped: the clone is the controller's own, so they can only be history someone
   * rewrote upstream. Local: the working copy belongs to a person, nothing is fetched.
   */
  async sync(): Promise<string> {
    if (this.mode === 'remote') {
      const heads = await this.remoteHeads();
      if (!heads.has(this.branch)) {
        const all = await git(this.dir, ['ls-remote', '--heads', 'origin']).catch(() => '');
        const names = all
          .split('\n')
          .filter(Boolean)
          .map((l) => l.slice(l.indexOf('refs/heads/') + 11));
        throw gitErrors.error('GIT_BRANCH_MISSING', {
          branch: this.branch,
          where: 'origin',
          branches: branchList(names),
        });
      }
      for (const [branch, sha] of heads) {
        const tracking = `refs/remotes/origin/${branch}`;
        if ((await this.resolve(tracking)) !== sha) {
          await git(this.dir, ['fetch', '--no-tags', 'origin', `+refs/heads/${branch}:${tracking}`]);
        }
        if (branch === this.statusBranch && (await this.dropsOurStatus(sha))) {
          // Keep what this clone had for forensics; never replay onto the rewritten history.
          const local = await this.resolve(`refs/heads/${branch}`);
          if (local) await git(this.dir, ['update-ref', `refs/lethe/before-rewrite/${branch}`, local]);
          await git(this.dir, ['update-ref', `refs/heads/${branch}`, sha]);
          continue;
        }
        await this.integrate(branch, sha);
      }
    }
    const head = await this.resolve(`refs/heads/${this.branch}`);
    if (!head) throw await this.branchMissing();
    return head;
  }

  private async dropsOurStatus(upstream: string): Promise<boolean> {
    const { pushed } = await this.chain.read(this.statusBranch);
    return pushed !== undefined && !(await this.isAncestor(pushed, upstream));
  }

  /** Names the branches that do exist, so the fix (--branch) is one copy away. */
  private async branchMissing(): Promise<LetheError> {
    const refs = this.mode === 'remote' ? 'refs/remotes/origin' : 'refs/heads';
    const out = await git(this.dir, [
      'for-each-ref',
      `--format=%(refname:lstrip=${this.mode === 'remote' ? 3 : 2})`,
      refs,
    ]).catch(() => '');
    const names = out.split('\n').filter((b) => b !== '' && b !== 'HEAD');
    return gitErrors.error('GIT_BRANCH_MISSING', { branch: this.branch, where: this.dir, branches: branchList(names) });
  }

  private async integrate(branch: string, upstream: string): Promise<void> {
    const ref = `refs/heads/${branch}`;
    const local = await this.resolve(ref);
    if (local === upstream) return;
    if (local === undefined || (await this.isAncestor(local, upstream))) {
      await git(this.dir, ['update-ref', ref, upstream]);
    } else if (!(await this.isAncestor(upstream, local))) {
      const rebased = await replayStatusCommits(this.dir, upstream, local, this.options.identity, true, this.signer);
      await git(this.dir, ['update-ref', ref, rebased, local]);
    }
  }

  private async isAncestor(a: string, b: string): Promise<boolean> {
    const { code } = await runGit(this.dir, ['merge-base', '--is-ancestor', a, b], { okCodes: [1, 128] });
    return code === 0;
  }

  /** Paths changed between two commits; 'all' when there is no usable base (first pass, rewritten history). */
  async changedPaths(from: string | undefined, to: string): Promise<ChangedPaths> {
    if (from === undefined || !(await this.isAncestor(from, to))) return 'all';
    const out = await git(this.dir, ['diff', '--name-status', '-z', '-M', '--no-ext-diff', from, to, '--']);
    const tokens = out.split('\0');
    const changed: string[] = [];
    const deleted: string[] = [];
    for (let i = 0; i < tokens.length && tokens[i]; ) {
      const status = tokens[i]!.charAt(0);
      if (status === 'R' || status === 'C') {
        if (status === 'R') deleted.push(tokens[i + 1]!);
        changed.push(tokens[i + 2]!);
        i += 3;
      } else {
        (status === 'D' ? deleted : changed).push(tokens[i + 1]!);
        i += 2;
      }
    }
    return { changed, deleted };
  }

  async listFiles(commit: string, filter: (path: string) => boolean): Promise<string[]> {
    const out = await git(this.dir, ['ls-tree', '-r', '-z', '--name-only', '--full-tree', commit]);
    return out.split('\0').filter((p) => p !== '' && filter(p));
  }

  /** Blob ids of `paths` at `commit` (absent paths are left out): a content-addressed cache key. */
  async blobIds(commit: string, paths: string[]): Promise<Map<string, string>> {
    const tree = await lsTree(this.dir, commit);
    const ids = new Map<string, string>();
    for (const path of paths) {
      const entry = tree.get(path);
      if (entry) ids.set(path, entry.id);
    }
    return ids;
  }

  /** Contents of `paths` at `commit` (absent paths are left out), with two git processes in all. */
  async readFiles(commit: string, paths: string[]): Promise<Map<string, string>> {
    const ids = await this.blobIds(commit, paths);
    const blobs = await readBlobs(this.dir, [...ids.values()]);
    const files = new Map<string, string>();
    for (const [path, id] of ids) files.set(path, blobs.get(id)!);
    return files;
  }

  /** Contents of blobs by id (missing ids are left out), with one git process. */
  async readBlobs(ids: string[]): Promise<Map<string, string>> {
    return readBlobs(this.dir, ids);
  }

  /**
   * Hands each file ([path, blob id]) to `onFile` as text as its blob arrives (a missing blob
   * is left out), each blob read once, with one git process: a caller that parses as it goes
   * never holds every text at once, and git reads while this process parses.
   */
  async eachFile(
    files: readonly (readonly [path: string, id: string])[],
    onFile: (path: string, id: string, text: string) => void,
  ): Promise<void> {
    const pathsOf = new Map<string, string[]>();
    for (const [path, id] of files) {
      const paths = pathsOf.get(id);
      if (paths) paths.push(path);
      else pathsOf.set(id, [path]);
    }
    const ids = [...pathsOf.keys()];
    if (ids.length === 0) return;
    const reader = new ObjectReader(this.dir, (id, bytes) => {
      const text = bytes.toString('utf8');
      for (const path of pathsOf.get(id) ?? []) onFile(path, id, text);
    });
    try {
      for (const id of ids) reader.request(id);
      await reader.close();
    } finally {
      reader.abort();
    }
  }

  /**
   * The committer email of the first-parent commit that last changed each path under
   * `prefix` at `commit` (a merge counts as changing what it brought): who wrote the blob
   * the branch now holds.
   */
  async lastWriters(commit: string, prefix: string): Promise<Map<string, string>> {
    const out = await git(this.dir, [
      'log',
      '--first-parent',
      '--diff-merges=first-parent',
      '--no-renames',
      '--format=%x01%ce',
      '-z',
      '--name-only',
      commit,
      '--',
      prefix,
    ]);
    const writers = new Map<string, string>();
    for (const record of out.split('\x01')) {
      const [email, ...paths] = record.split('\0');
      for (const raw of paths) {
        const path = raw.replace(/^\n/, '');
        if (path && !writers.has(path)) writers.set(path, email!);
      }
    }
    return writers;
  }

  /** The first-parent history index at `head`, kept between calls and extended incrementally. */
  async history(head: string): Promise<HistoryIndex> {
    await this.index.update(head);
    return this.index;
  }

  private async checkedOutHere(branch: string): Promise<boolean> {
    if (this.mode !== 'local') return false;
    const head = await git(this.dir, ['symbolic-ref', '-q', 'HEAD'], { okCodes: [1] });
    return head === `refs/heads/${branch}`;
  }

  /**
   * Writes status files (null deletes) as ONE commit by the controller identity on the status
   * branch, built with a temporary index so a person's index and working tree are never
   * staged. No commit when nothing changed. When that branch is checked out in a local
   * working copy, status/ in the working tree and index is updated to match the new commit;
   * if a person has uncommitted changes under status/, nothing is written (GIT_STATUS_DIRTY).
   */
  async writeStatus(
    files: Map<string, string | WrittenBlob | null>,
    message: string,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    assertStatusPaths(files.keys());
    const target = this.statusBranch;
    const ref = `refs/heads/${target}`;
    const current = await this.resolve(ref);
    const base = current ?? (await this.resolve(`refs/heads/${this.branch}`));
    if (!base) throw await this.branchMissing();
    const checkedOut = await this.checkedOutHere(target);
    if (checkedOut && (await git(this.dir, ['status', '--porcelain', '-z', '--', STATUS_DIR])) !== '') {
      throw gitErrors.error('GIT_STATUS_DIRTY', { dir: this.dir });
    }
    const entries = [...files];
    const texts = entries.filter((e): e is [string, string] => typeof e[1] === 'string');
    const ids = await hashBlobs(
      this.dir,
      texts.map(([, content]) => content),
    );
    const blobOf = new Map(texts.map(([path], i) => [path, ids[i]!]));
    const changes: TreeChange[] = entries.map(([path, content]) => ({
      path,
      blob: content === null ? null : typeof content === 'string' ? blobOf.get(path)! : content.blob,
    }));
    const tree = await editTree(this.dir, base, changes);
    let commit: string | undefined;
    if (tree !== (await treeOf(this.dir, base))) {
      const previous = 'previous' in options ? options.previous : await lastStatusCommit(this.dir, base);
      const text = withPrevious(message, previous);
      commit = await commitTree(this.dir, {
        tree,
        parents: [base],
        message: text,
        committer: this.options.identity,
        signer: this.signer,
      });
      // Compare-and-swap: if anyone moved the branch meanwhile, fail rather than drop their commit.
      await git(this.dir, ['update-ref', ref, commit, current ?? '']);
      if (checkedOut) await this.syncWorkingTree(base, commit, changes);
    }
    const remember = options.remember !== false;
    if (!(this.options.push ?? this.mode === 'remote')) {
      if (commit && remember) await this.chain.update(target, { written: commit });
      return { ...(commit ? { commit } : {}), pushed: false };
    }
    const outcome: PushOutcome = await pushWithRetry(this.dir, target, this.options.identity, {
      retry: { ...DEFAULT_PUSH_RETRY, ...this.options.pushRetry },
      rebase: !checkedOut,
      signer: this.signer,
    });
    // What the remote now holds: the pushed tip (our commit, possibly replayed on a newer head).
    if (outcome.pushed && remember) {
      const last = await lastStatusCommit(this.dir, ref);
      if (last) await this.chain.update(target, { pushed: last, written: last });
    }
    return {
      ...(commit ? { commit } : {}),
      pushed: outcome.pushed,
      ...(outcome.error ? { pushError: outcome.error } : {}),
    };
  }

  /**
   * Blobs written as they are handed over (exact bytes), for writeStatus to take as { blob }
   * once the writer is closed. No existence check: a status is handed over only when its text
   * changed, and a blob git already has is at worst stored twice.
   */
  blobWriter(): BlobWriter {
    return new BlobWriter(this.dir);
  }

  /**
   * Makes the checked-out status/ files and their index entries match the new commit: the
   * index entries are set from the blob ids, and git writes the files from them, so no
   * status text needs to be held here (checkout-index -u also records their stat data).
   */
  private async syncWorkingTree(base: string, commit: string, changes: TreeChange[]): Promise<void> {
    const out = await git(this.dir, ['diff-tree', '-r', '-z', '--name-only', '--no-renames', base, commit]);
    const touched = new Set(out.split('\0').filter(Boolean));
    const moved = changes.filter((c) => touched.has(c.path));
    if (moved.length === 0) return;
    const lines = moved.map((c) =>
      c.blob === null ? `0 ${'0'.repeat(40)}\t${c.path}` : `${c.mode ?? '100644'} ${c.blob}\t${c.path}`,
    );
    await git(this.dir, ['update-index', '--index-info'], { input: lines.join('\n') + '\n' });
    const removed = moved.filter((c) => c.blob === null);
    for (let i = 0; i < removed.length; i += 64) {
      await Promise.all(removed.slice(i, i + 64).map((c) => rm(join(this.dir, c.path), { force: true })));
    }
    const written = moved.filter((c) => c.blob !== null).map((c) => c.path);
    if (written.length > 0)
      await git(this.dir, ['checkout-index', '-f', '-u', '-z', '--stdin'], { input: written.join('\0') + '\0' });
  }
}
