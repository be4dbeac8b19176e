import type { LetheConfig } from '../../specs/lethe-config.ts';
import type { ApprovalEvidence } from '../../specs/status.ts';
import { manifestKind, parseManifest } from '../manifests/index.ts';
import { checkSignature, judgeArrival } from './approval.ts';
import { gitErrors } from './errors.ts';
import { readSignatures, type CommitInfo, type HistoryIndex, type Signature } from './history.ts';
import type { GitSource } from './source.ts';
import { lsTree, readBlobs } from './tree.ts';
import type { TrustRoot } from './trust-root.ts';

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

/**
 * Computes the approved tree by walking the first-parent history from the root of trust:
 * each change to a governed path takes effect only when it passes the approval policy in
 * force BEFORE it (a lethe.yaml change is judged by the previous approved lethe.yaml, as a
 * TUF root is rotated by the old root's keys). The walk continues from the last head it
 * reached while the new head descends from it, so a pass costs the new commits only.
 */
export class ApprovedTree {
  private state?: {
    root: string;
    head: string;
    position: number;
    approved: Map<string, ApprovedEntry>;
    current: Map<string, string>;
    refused: Map<string, RefusedChange>;
    config: LetheConfig;
  };
  private readonly signatures = new Map<string, Signature>();

  constructor(
    private readonly source: GitSource,
    private readonly trust: TrustRoot,
  ) {}

  async at(head: string): Promise<ApprovedState> {
    const index = await this.source.history(head);
    const root = await this.trust.resolve(index);
    let s = this.state;
    if (!s || s.root !== root || index.position(s.head) !== s.position || index.position(head) < s.position) {
      s = this.state = await this.fromRoot(root, index);
    }
    const end = index.position(head);
    for (let i = s.position + 1; i <= end; i++) await this.apply(index, index.chain[i]!, i);
    s.head = head;
    s.position = end;
    return { root, head, approved: s.approved, current: s.current, refused: s.refused, config: s.config };
  }

  private async fromRoot(root: string, index: HistoryIndex) {
    const tree = await lsTree(this.source.dir, root);
    const governed = [...tree].filter(([path]) => isGoverned(path));
    const configBlob = tree.get('lethe.yaml')?.id;
    const configText = configBlob ? (await readBlobs(this.source.dir, [configBlob])).get(configBlob) : undefined;
    const config = configText === undefined ? undefined : parseConfig(configText);
    if (!config) {
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
      position: index.position(root),
      approved: new Map(governed.map(([path, e]) => [path, { blob: e.id, evidence }])),
      current: new Map(governed.map(([path, e]) => [path, e.id])),
      refused: new Map<string, RefusedChange>(),
      config,
    };
  }

  private async apply(index: HistoryIndex, sha: string, position: number): Promise<void> {
    const s = this.state!;
    const commit = index.commit(sha)!;
    const ops = operations(commit);
    if (ops.length === 0) return;
    const writersOf = this.writers(index, commit);
    const policy = s.config.spec.approval;
    const identity = s.config.spec.identity;
    let configChanged = false;
    for (const op of ops) {
      const verdict = judgeArrival({ commit, writers: writersOf(op.path), path: op.path, blob: op.blob }, policy, identity);
      const evidence = policy.requireSignedCommits ? checkSignature(verdict, await this.signature(index, sha, position)) : verdict.evidence;
      if (op.blob === null) s.current.delete(op.path);
      else s.current.set(op.path, op.blob);
      if (evidence.approved) {
        if (op.blob === null) s.approved.delete(op.path);
        else s.approved.set(op.path, { blob: op.blob, evidence });
        if (op.path === 'lethe.yaml') configChanged = true;
      }
      if (evidence.approved || s.approved.get(op.path)?.blob === (op.blob ?? undefined)) s.refused.delete(op.path);
      else s.refused.set(op.path, { commit: sha, author: { name: commit.authorName, email: commit.authorEmail }, blob: op.blob, evidence });
    }
    if (configChanged) {
      // The new policy governs the NEXT commit: this one was judged by the one before it.
      const blob = s.approved.get('lethe.yaml')?.blob;
      const text = blob ? (await readBlobs(this.source.dir, [blob])).get(blob) : undefined;
      const config = text === undefined ? undefined : parseConfig(text);
      if (config) s.config = config;
    }
  }

  /** Commits that arrived with `commit` and touched a path, found through one map per commit. */
  private writers(index: HistoryIndex, commit: CommitInfo): (path: string) => CommitInfo[] {
    const members = index.arrivedWith(commit.sha);
    const byPath = new Map<string, CommitInfo[]>();
    for (const m of members) {
      for (const ch of m.changes) {
        // touches(): a change writes its path, and a rename also its source.
        for (const p of ch.from === undefined ? [ch.path] : [ch.path, ch.from]) {
          const list = byPath.get(p) ?? [];
          if (!list.includes(m)) list.push(m);
          byPath.set(p, list);
        }
      }
    }
    return (path) => byPath.get(path) ?? [];
  }

  /** Signatures cost a gpg run each: fetched once for every later commit that changes a governed path. */
  private async signature(index: HistoryIndex, sha: string, position: number): Promise<Signature | undefined> {
    if (!this.signatures.has(sha)) {
      const wanted = index.chain.slice(position).filter((c) => !this.signatures.has(c) && operations(index.commit(c)!).length > 0);
      for (const [c, sig] of await readSignatures(this.source.dir, wanted)) this.signatures.set(c, sig);
    }
    return this.signatures.get(sha);
  }
}
