import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { ApprovalEvidence } from '../../specs/status.ts';
import { nodeFs, readState, writeDurably } from '../../state/files.ts';
import type { ApprovedEntry, RefusedChange } from './approved-tree.ts';

export const APPROVED_TREE_CACHE_FILE = 'approved-tree.json';

/**
 * Bumped whenever the walk's rules change (approval.ts judgeArrival, checkSignature, the
 * walk in approved-tree.ts): a cache written by other rules is another policy's result.
 */
export const APPROVAL_RULES_VERSION = 1;
const FORMAT = 1;

/**
 * What a cached walk depends on besides its commit: the rules that judged it, the branch,
 * and the root of trust (which fixes the first lethe.yaml, hence every policy after it).
 */
export function policyFingerprint(branch: string, root: string): string {
  return createHash('sha256')
    .update(JSON.stringify(['lethe-approved-tree', APPROVAL_RULES_VERSION, branch, root]))
    .digest('hex');
}

const Sha = z.string().regex(/^[0-9a-f]{40,64}$/);
const Person = z.strictObject({ name: z.string(), email: z.string() });

/** The file: evidence is shared by index (a merge approves all its files with one). */
const CacheFile = z.strictObject({
  format: z.literal(FORMAT),
  policy: z.string(),
  branch: z.string(),
  root: Sha,
  commit: Sha,
  /** The approved lethe.yaml in force at `commit` (read from git, never from here). */
  configBlob: Sha,
  evidence: z.array(ApprovalEvidence),
  approved: z.array(z.tuple([z.string(), Sha, z.int().min(0)])),
  current: z.array(z.tuple([z.string(), Sha])),
  refused: z.array(z.tuple([z.string(), Sha, Person, Sha.nullable(), z.int().min(0)])),
});
type CacheFile = z.infer<typeof CacheFile>;

export interface CachedWalk {
  root: string;
  commit: string;
  configBlob: string;
  approved: Map<string, ApprovedEntry>;
  current: Map<string, string>;
  refused: Map<string, RefusedChange>;
}

export type CacheRead = { kind: 'missing' } | { kind: 'unusable'; reason: string } | { kind: 'ok'; walk: CachedWalk };

/**
 * The approved tree of one commit, kept in the data directory so that a restart judges
 * only the commits after it. It only saves time: it is used when it was written for this
 * branch, root of trust and rules, and its commit is on the branch's first-parent history
 * (the caller checks that in git); anything else (torn, foreign, stale) is rebuilt from git.
 */
export class ApprovedTreeCache {
  constructor(
    readonly dataDir: string,
    private readonly branch: string,
    /** Whether this controller may write it (not `lethe plan`). */
    readonly writable: boolean,
  ) {}

  get path(): string {
    return join(this.dataDir, APPROVED_TREE_CACHE_FILE);
  }

  /** The cached walk for `root`, whatever its commit (the caller checks it is on the branch). */
  async read(root: string): Promise<CacheRead> {
    let text: string;
    try {
      const found = await readState(nodeFs, this.path);
      if (found.kind === 'missing') return found;
      text = found.text;
    } catch (err) {
      return { kind: 'unusable', reason: (err as { code?: string }).code ?? 'unreadable' };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { kind: 'unusable', reason: 'not JSON' };
    }
    const parsed = CacheFile.safeParse(json);
    if (!parsed.success) return { kind: 'unusable', reason: 'not an approved-tree cache of this version' };
    const f = parsed.data;
    if (f.branch !== this.branch || f.root !== root || f.policy !== policyFingerprint(this.branch, root)) {
      return { kind: 'unusable', reason: 'written for another branch, root of trust or approval rules' };
    }
    const evidenceAt = (i: number): ApprovalEvidence => {
      const e = f.evidence[i];
      if (!e) throw new RangeError('evidence index');
      return e;
    };
    try {
      return {
        kind: 'ok',
        walk: {
          root: f.root,
          commit: f.commit,
          configBlob: f.configBlob,
          approved: new Map(f.approved.map(([path, blob, e]) => [path, { blob, evidence: evidenceAt(e) }])),
          current: new Map(f.current),
          refused: new Map(
            f.refused.map(([path, commit, author, blob, e]) => [
              path,
              { commit, author, blob, evidence: evidenceAt(e) },
            ]),
          ),
        },
      };
    } catch {
      return { kind: 'unusable', reason: 'evidence index out of range' };
    }
  }

  /** Writes the walk atomically (a torn write leaves the previous file or none). */
  async write(walk: CachedWalk): Promise<void> {
    const index = new Map<ApprovalEvidence, number>();
    const evidence: ApprovalEvidence[] = [];
    const ref = (e: ApprovalEvidence) => {
      const known = index.get(e);
      if (known !== undefined) return known;
      index.set(e, evidence.length);
      return evidence.push(e) - 1;
    };
    const file: CacheFile = {
      format: FORMAT,
      policy: policyFingerprint(this.branch, walk.root),
      branch: this.branch,
      root: walk.root,
      commit: walk.commit,
      configBlob: walk.configBlob,
      evidence,
      approved: [...walk.approved].map(([path, e]) => [path, e.blob, ref(e.evidence)]),
      current: [...walk.current],
      refused: [...walk.refused].map(([path, r]) => [path, r.commit, r.author, r.blob, ref(r.evidence)]),
    };
    await writeDurably(nodeFs, this.path, JSON.stringify(file));
  }
}
