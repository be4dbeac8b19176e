import type { LetheConfig } from '../../specs/lethe-config.ts';
import type { ApprovalEvidence } from '../../specs/status.ts';
import { manifestKind, parseManifest } from '../manifests/index.ts';
import type { ApprovedTreeCache } from './approved-cache.ts';
import { checkSignature, judgeArrival, writersByPath } from './approval.ts';
import { gitErrors } from './errors.ts';
import { git } from './exec.ts';
import { readCommits, readSignatures, type CommitInfo, type Signature } from './history.ts';
import type { GitSource } from './source.ts';
import { lsTree, readBlobs } from './tree.ts';
import type { BranchView, TrustRoot } from './trust-root.ts';

/** lethe.yaml, vendors/*.yaml and requests/**: the files whose changes need approval. */
export const isGoverned = (path: string): boolean => manifestKind(path) !== undefined;

export interface ApprovedEntry {
  blob: string;
  /** How this content became approved (the trust root, or the approval that let it in). */
  evidence: ApprovalEvidence;
}

/** The last change to a path that was not approved: what is shown until it is. */
export interface RefusedChange {
  commit: string;
  author: { name: string; email: string };
  /** The refused content, or null for a refused deletion. */
  blob: string | null;
  evidence: ApprovalEvidence;
}

/**
 * The repository as approval made it: the desired state the controller acts on. Every
 * governed path has its last approved content here; what the branch holds beyond that is
 * a pending change, shown and never acted on.
 */
export interface ApprovedState {
  root: string;
  head: string;
  approved: ReadonlyMap<string, ApprovedEntry>;
  /** Governed paths as the branch head has them (approved or not). */
  current: ReadonlyMap<string, string>;
  refused: ReadonlyMap<string, RefusedChange>;
  /** The approved lethe.yaml in force at head (the last valid one). */
  config: LetheConfig;
}

export interface PendingChange {
  path: string;
  change: 'add' | 'edit' | 'delete';
  /** The unapproved commit that made the branch differ (when known). */
  commit?: string;
  author?: { name: string; email: string };
  reason: string;
}

/** Where the branch head differs from the approved tree, path by path, sorted. */
export function pendingChanges(state: ApprovedState): PendingChange[] {
  const out: PendingChange[] = [];
  const paths = new Set([...state.current.keys(), ...state.approved.keys()]);
  for (const path of [...paths].sort()) {
    const now = state.current.get(path);
    const approved = state.approved.get(path)?.blob;
    if (now === approved) continue;
    const refused = state.refused.get(path);
    out.push({
      path,
      change: approved === undefined ? 'add' : now === undefined ? 'delete' : 'edit',
      ...(refused ? { commit: refused.commit, author: refused.author } : {}),
      reason: refused?.evidence.reason ?? 'not approved',
    });
  }
  return out;
}

function parseConfig(text: string): LetheConfig | undefined {
  const m = parseManifest('lethe.yaml', text);
  return m.kind === 'LetheConfig' ? m.value : undefined;
}

interface Op {
  path: string;
  blob: string | null;
}

/** A commit's first-parent diff as per-path operations (a rename is a deletion and an addition). */
function operations(commit: CommitInfo): Op[] {
  const ops: Op[] = [];
  for (const ch of commit.changes) {
    if (ch.status === 'R' && isGoverned(ch.from!)) ops.push({ path: ch.from!, blob: null });
    if (isGoverned(ch.path)) ops.push({ path: ch.path, blob: ch.status === 'D' ? null : ch.blob });
  }
  return ops;
}

/** Evidence objects that say the same thing are one object (a merge approves its files with one). */
function evidenceKey(e: ApprovalEvidence): string {
  return [
    e.approved,
    e.commit,
    e.specCommit,
    e.signed,
    e.approvedAt,
    e.reason,
    ...e.approvers.map((p) => `${p.name}<${p.email}>`),
  ].join('\0');
}

/**
 * The new first-parent commits between a walk's position and a head, read with ONE `git
 * log` (parsed while git writes it). `continues` says whether the head descends from that
 * position along first parents: if not, history was rewritten and the walk starts over.
 */
interface Range {
  commits: Map<string, CommitInfo>;
  /** First-parent commits after `since`, oldest first. */
  chain: string[];
  continues: boolean;
}

async function readRange(dir: string, head: string, since: string): Promise<Range> {
  if (head === since) return { commits: new Map(), chain: [], continues: true };
  const commits = await readCommits(dir, [head, `^${since}`]);
  const chain: string[] = [];
  for (let sha: string | undefined = head; sha !== undefined && commits.has(sha); sha = commits.get(sha)!.parents[0])
    chain.push(sha);
  chain.reverse();
  const continues = chain.length > 0 && commits.get(chain[0]!)!.parents[0] === since;
  return { commits, chain, continues };
}

/**
 * The branch as the root of trust asks about it, answered from what the walk already
 * knows (a walk that continues keeps its root on the branch) and otherwise from cheap git
 * queries without diffs: `rev-list --first-parent`, and one path-limited for lethe.yaml.
 */
class GitBranchView implements BranchView {
  private chain?: Promise<Set<string>>;

  constructor(
    private readonly dir: string,
    private readonly head: string,
    private readonly known: ReadonlySet<string>,
  ) {}

  private all(): Promise<Set<string>> {
    this.chain ??= git(this.dir, ['rev-list', '--first-parent', this.head, '--']).then(
      (out) => new Set(out.split('\n').filter(Boolean)),
    );
    return this.chain;
  }

  async contains(sha: string): Promise<boolean> {
    return this.known.has(sha) || (await this.all()).has(sha);
  }

  async matching(prefix: string): Promise<string[]> {
    return [...(await this.all())].filter((sha) => sha.startsWith(prefix));
  }

  async firstConfigCommit(): Promise<string | undefined> {
    // With --first-parent a merge is compared with its first parent only, as the walk does.
    const out = await git(this.dir, ['rev-list', '--first-parent', '--reverse', this.head, '--', 'lethe.yaml']);
    return out.split('\n').find(Boolean);
  }
}

interface WalkState {
  root: string;
  head: string;
  approved: Map<string, ApprovedEntry>;
  current: Map<string, string>;
  refused: Map<string, RefusedChange>;
  config: LetheConfig;
  configBlob: string;
}

export interface ApprovedTreeOptions {
  /** Where the walk is kept between starts (approved-cache.ts); none: memory only. */
  cache?: ApprovedTreeCache;
  log?: { warn(msg: string, fields?: Record<string, unknown>): void };
}

/** A cache older than this many first-parent commits is rewritten even without a governed change. */
const CACHE_REFRESH_COMMITS = 256;

/**
 * Computes the approved tree by walking the first-parent history from the root of trust:
 * each change to a governed path takes effect only when it passes the approval policy in
 * force BEFORE it (a lethe.yaml change is judged by the previous approved lethe.yaml, as a
 * TUF root is rotated by the old root's keys). The walk continues from the last head it
 * reached while the new head descends from it, so a pass costs the new commits only; a
 * start continues from the walk cached in the data directory when there is one for this
 * root, and otherwise reads the history once (one `git log` from the root).
 */
export class ApprovedTree {
  private state?: WalkState;
  /** The commit of the cache file as last read or written, the first-parent commits walked since, and whether any changed a governed path. */
  private saved?: { commit: string; walked: number; dirty: boolean };

  constructor(
    private readonly source: Pick<GitSource, 'dir'>,
    private readonly trust: TrustRoot,
    private readonly options: ApprovedTreeOptions = {},
  ) {}

  /**
   * The same walk under another root-of-trust resolver and cache (the controller's, once
   * its data directory is known): a start walks the history once, not once per reader.
   */
  handOver(trust: TrustRoot, options: ApprovedTreeOptions): ApprovedTree {
    const next = new ApprovedTree(this.source, trust, options);
    next.state = this.state;
    return next;
  }

  async at(head: string): Promise<ApprovedState> {
    const dir = this.source.dir;
    let s = this.state;
    let range: Range | undefined;
    if (s) {
      range = await readRange(dir, head, s.head);
      if (!range.continues) s = range = undefined;
    }
    const view = new GitBranchView(dir, head, new Set(s ? [s.root] : []));
    const root = await this.trust.resolve(view);
    if (s?.root !== root) {
      s = range = undefined;
      const cached = await this.fromCache(root, head, view);
      if (cached) {
        range = await readRange(dir, head, cached.head);
        if (range.continues) s = cached;
      }
    }
    if (!s || !range) {
      // The root's tree and the history after it are read side by side.
      [s, range] = await Promise.all([this.fromRoot(root), readRange(dir, head, root)]);
      this.saved = undefined;
      if (!range.continues)
        throw gitErrors.error('TRUST_ROOT_LOST', {
          root: root.slice(0, 12),
          file: this.trust.path,
          branch: this.trust.branch,
        });
    }
    this.state = s;
    const changed = await this.walk(s, range);
    s.head = head;
    await this.save(s, range.chain.length, changed);
    return { root, head, approved: s.approved, current: s.current, refused: s.refused, config: s.config };
  }

  /** The walk cached for this root, when its commit is on the branch's first-parent history. */
  private async fromCache(root: string, head: string, view: BranchView): Promise<WalkState | undefined> {
    const cache = this.options.cache;
    if (!cache) return undefined;
    const found = await cache.read(root);
    if (found.kind === 'unusable')
      this.options.log?.warn('approved-tree cache ignored, rebuilding from git', {
        file: cache.path,
        reason: found.reason,
      });
    if (found.kind !== 'ok') return undefined;
    const w = found.walk;
    // The cache only saves time: git decides whether its commit is still this branch's.
    if (w.commit !== head && !(await view.contains(w.commit))) {
      this.options.log?.warn('approved-tree cache ignored, rebuilding from git', {
        file: cache.path,
        reason: 'its commit is not on the branch',
      });
      return undefined;
    }
    const config = await this.readConfig(w.configBlob);
    if (!config) return undefined;
    this.saved = { commit: w.commit, walked: 0, dirty: false };
    return {
      root,
      head: w.commit,
      approved: w.approved,
      current: w.current,
      refused: w.refused,
      config,
      configBlob: w.configBlob,
    };
  }

  private async readConfig(blob: string): Promise<LetheConfig | undefined> {
    const text = (await readBlobs(this.source.dir, [blob])).get(blob);
    return text === undefined ? undefined : parseConfig(text);
  }

  private async fromRoot(root: string): Promise<WalkState> {
    const tree = await lsTree(this.source.dir, root);
    const governed = [...tree].filter(([path]) => isGoverned(path));
    const configBlob = tree.get('lethe.yaml')?.id;
    const config = configBlob === undefined ? undefined : await this.readConfig(configBlob);
    if (!config || !configBlob) {
      throw gitErrors.error('TRUST_ROOT_CONFIG_INVALID', { root: root.slice(0, 12) });
    }
    const evidence: ApprovalEvidence = {
      approved: true,
      mode: config.spec.approval.mode,
      approvers: [],
      commit: root,
      specCommit: root,
      reason: `in the root of trust ${root.slice(0, 12)}`,
    };
    return {
      root,
      head: root,
      approved: new Map(governed.map(([path, e]) => [path, { blob: e.id, evidence }])),
      current: new Map(governed.map(([path, e]) => [path, e.id])),
      refused: new Map<string, RefusedChange>(),
      config,
      configBlob,
    };
  }

  /** Judges the range's first-parent commits in order; returns whether any changed a governed path. */
  private async walk(s: WalkState, range: Range): Promise<boolean> {
    let changed = false;
    const assigned = new Set<string>();
    let signatures: Map<string, Signature> | undefined;
    for (let i = 0; i < range.chain.length; i++) {
      const sha = range.chain[i]!;
      const commit = range.commits.get(sha)!;
      // The commits that reached the branch through this one: its side branches, not seen before.
      const members: CommitInfo[] = [];
      const stack = [sha];
      while (stack.length > 0) {
        const c = range.commits.get(stack.pop()!);
        if (!c || assigned.has(c.sha)) continue;
        assigned.add(c.sha);
        members.push(c);
        stack.push(...(c.sha === sha ? c.parents.slice(1) : c.parents));
      }
      const ops = operations(commit);
      if (ops.length === 0) continue;
      changed = true;
      if (s.config.spec.approval.requireSignedCommits && !signatures) {
        // Signatures cost a gpg run each: read once for every later commit that changes a governed path.
        const wanted = range.chain.slice(i).filter((c) => operations(range.commits.get(c)!).length > 0);
        signatures = await readSignatures(this.source.dir, wanted);
      }
      await this.apply(s, commit, ops, writersByPath(members), signatures);
    }
    return changed;
  }

  private async apply(
    s: WalkState,
    commit: CommitInfo,
    ops: Op[],
    writers: Map<string, CommitInfo[]>,
    signatures: Map<string, Signature> | undefined,
  ): Promise<void> {
    const policy = s.config.spec.approval;
    const identity = s.config.spec.identity;
    const author = { name: commit.authorName, email: commit.authorEmail };
    const shared = new Map<string, ApprovalEvidence>();
    const intern = (e: ApprovalEvidence) => {
      const key = evidenceKey(e);
      const known = shared.get(key);
      if (known) return known;
      shared.set(key, e);
      return e;
    };
    let configChanged = false;
    for (const op of ops) {
      const verdict = judgeArrival(
        { commit, writers: writers.get(op.path) ?? [], path: op.path, blob: op.blob },
        policy,
        identity,
      );
      const evidence = intern(
        policy.requireSignedCommits ? checkSignature(verdict, signatures?.get(commit.sha)) : verdict.evidence,
      );
      if (op.blob === null) s.current.delete(op.path);
      else s.current.set(op.path, op.blob);
      if (evidence.approved) {
        if (op.blob === null) s.approved.delete(op.path);
        else s.approved.set(op.path, { blob: op.blob, evidence });
        if (op.path === 'lethe.yaml') configChanged = true;
      }
      if (evidence.approved || s.approved.get(op.path)?.blob === (op.blob ?? undefined)) s.refused.delete(op.path);
      else s.refused.set(op.path, { commit: commit.sha, author, blob: op.blob, evidence });
    }
    if (configChanged) {
      // The new policy governs the NEXT commit: this one was judged by the one before it.
      const blob = s.approved.get('lethe.yaml')?.blob;
      const config = blob ? await this.readConfig(blob) : undefined;
      if (config && blob) {
        s.config = config;
        s.configBlob = blob;
      }
    }
  }

  /**
   * Keeps the walk in the data directory after a governed change (or every few hundred
   * commits without one), so that a restart judges only what came after. A failed write
   * costs the next start its time, nothing else: it is logged, never fatal.
   */
  private async save(s: WalkState, walked: number, changed: boolean): Promise<void> {
    const cache = this.options.cache;
    if (!cache?.writable) return;
    const prev = this.saved;
    if (prev?.commit === s.head) return;
    const dirty = !prev || prev.dirty || changed;
    const since = (prev?.walked ?? 0) + walked;
    if (!dirty && since < CACHE_REFRESH_COMMITS) {
      this.saved = { ...prev!, walked: since };
      return;
    }
    try {
      await cache.write({
        root: s.root,
        commit: s.head,
        configBlob: s.configBlob,
        approved: s.approved,
        current: s.current,
        refused: s.refused,
      });
      this.saved = { commit: s.head, walked: 0, dirty: false };
    } catch (err) {
      // Tried again after the next governed change or CACHE_REFRESH_COMMITS commits, not every pass.
      this.saved = { commit: prev?.commit ?? '', walked: 0, dirty: false };
      this.options.log?.warn('approved-tree cache not written; the next start walks the history again', {
        file: cache.path,
        code: (err as { code?: string }).code,
      });
    }
  }
}
