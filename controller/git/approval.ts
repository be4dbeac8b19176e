import type { ApprovalPolicy, Approver } from '../../specs/lethe-config.ts';
import type { ApprovalEvidence } from '../../specs/status.ts';
import type { Identity } from './exec.ts';
import type { GitHubReviewGate } from './github-review.ts';
import { readSignatures, type CommitInfo, type HistoryIndex, type Signature } from './history.ts';
import type { GitSource } from './source.ts';

export interface ApprovalInput {
  head: string;
  policy: ApprovalPolicy;
  controllerIdentity: Identity;
  /** github-review mode reads pull-request reviews through this gate (github-review.ts). */
  github?: GitHubReviewGate;
}

interface Person {
  name: string;
  email: string;
}

/** A decision before signatures are checked: signatures need a gpg run, so they are batched. */
interface Draft {
  evidence: ApprovalEvidence;
  /** Approvers whose key may have signed the approval commit. */
  signers: Approver[];
}

const short = (sha: string): string => sha.slice(0, 12);
const key = (email: string): string => email.trim().toLowerCase();
const who = (p: Person): string => `${p.name} <${p.email}>`;

function parseIdentity(value: string): Person | undefined {
  const match = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(value.trim());
  return match ? { name: match[1]!, email: match[2]! } : undefined;
}

/** Authors of the commits that brought the request's content to the branch with `commit`. */
function contentAuthors(index: HistoryIndex, commit: CommitInfo, path: string): Set<string> {
  const authors = new Set<string>();
  for (const c of index.arrivedWith(commit.sha)) {
    if (c.parents.length > 1) continue;
    if (c.changes.some((ch) => ch.path === path || ch.from === path)) authors.add(key(c.authorEmail));
  }
  return authors;
}

function specCommit(index: HistoryIndex, commit: CommitInfo, path: string, blob: string): CommitInfo | undefined {
  return index.arrivedWith(commit.sha).find((c) => c.parents.length < 2 && c.changes.some((ch) => ch.path === path && ch.blob === blob));
}

function decide(index: HistoryIndex, path: string, input: ApprovalInput): Draft {
  const { policy } = input;
  const branch = policy.protectedBranch;
  const fail = (reason: string, extra: Partial<ApprovalEvidence> = {}): Draft => ({
    evidence: { approved: false, mode: policy.mode, approvers: [], ...extra, reason },
    signers: [],
  });
  const intro = index.introduction(path);
  if (!intro) return fail(`${path} is not on ${branch} at ${short(input.head)}`);
  const commit = index.commit(intro.commit)!;
  const spec = specCommit(index, commit, intro.path, intro.blob) ?? commit;
  const base = { commit: commit.sha, specCommit: spec.sha };
  const approvers = new Map(policy.approvers.map((a) => [key(a.email), a]));
  approvers.delete(key(input.controllerIdentity.email));
  const authors = contentAuthors(index, commit, intro.path);

  const counted: Person[] = [];
  const refused: string[] = [];
  const consider = (person: Person): void => {
    const k = key(person.email);
    if (counted.some((p) => key(p.email) === k)) return;
    if (k === key(input.controllerIdentity.email)) refused.push(`${who(person)} is the controller's own identity`);
    else if (!approvers.has(k)) refused.push(`${who(person)} is not a listed approver`);
    else if (authors.has(k)) refused.push(`${who(person)} authored the request`);
    else counted.push(person);
  };
  const trailers = commit.approvedBy.map(parseIdentity).filter((p): p is Person => p !== undefined);

  if (policy.mode === 'merge') {
    if (commit.parents.length < 2) {
      return fail(`${intro.path} reached ${branch} in ${short(commit.sha)} without a merge commit (direct push, squash or rebase merge); no approver recorded`, base);
    }
    const fromSide = index.arrivedWith(commit.sha).some((c) => c !== commit && c.changes.some((ch) => ch.path === intro.path && ch.blob === intro.blob));
    if (!fromSide) {
      return fail(`merge commit ${short(commit.sha)} itself wrote the current content of ${intro.path} (not from the merged branch); nobody reviewed it`, base);
    }
    const merger = { name: commit.authorName, email: commit.authorEmail };
    consider(merger);
    if (counted.length === 0) return fail(`merged into ${branch} in ${short(commit.sha)}, but the merger ${refused[0]}`, base);
    for (const p of trailers) consider(p);
  } else {
    for (const p of trailers) consider(p);
  }

  const approved = counted.length >= policy.minApprovals;
  const what = policy.mode === 'merge' ? `merged into ${branch} in ${short(commit.sha)} by ${who(counted[0]!)}` : `${short(commit.sha)} on ${branch}`;
  const extra = counted.length > (policy.mode === 'merge' ? 1 : 0) ? ` approved by ${counted.slice(policy.mode === 'merge' ? 1 : 0).map(who).join(', ')}` : '';
  const notCounted = refused.length > 0 ? `; not counted: ${refused.join('; ')}` : '';
  const reason = approved
    ? `${what}${extra}`
    : `${what} has ${counted.length} of ${policy.minApprovals} required approvals${notCounted}`;
  return {
    evidence: {
      approved,
      mode: policy.mode,
      approvers: counted,
      ...base,
      ...(approved ? { approvedAt: new Date(commit.time * 1000).toISOString() } : {}),
      reason: approved && refused.length > 0 ? reason + notCounted : reason,
    },
    signers: counted.map((p) => approvers.get(key(p.email))!),
  };
}

function checkSignature(draft: Draft, signature: Signature | undefined): ApprovalEvidence {
  const evidence = draft.evidence;
  const good = signature?.status === 'G';
  const matches = good && draft.signers.some((a) => a.signingKey !== undefined && signature.keys.some((k) => k.toLowerCase().endsWith(a.signingKey!.toLowerCase())));
  if (!evidence.approved) return { ...evidence, signed: matches };
  if (matches) return { ...evidence, signed: true };
  const at = short(evidence.commit!);
  const reason = good
    ? `approval commit ${at} is signed by a key that is not an approving approver's signingKey`
    : `approval commit ${at} has no good signature, and the policy requires signed commits`;
  return { approved: false, mode: evidence.mode, approvers: evidence.approvers, commit: evidence.commit, specCommit: evidence.specCommit, signed: false, reason };
}

/**
 * Decides from git history alone whether each path's current content was approved on the
 * protected branch (`head`). One history walk serves all paths; the controller calls this for
 * the paths that changed since its last pass and keeps earlier evidence for the rest.
 */
export async function evaluateApprovals(git: Pick<GitSource, 'dir' | 'history'>, paths: string[], input: ApprovalInput): Promise<Map<string, ApprovalEvidence>> {
  const index = await git.history(input.head);
  if (input.policy.mode === 'github-review') {
    if (input.github) return input.github.evaluate(index, paths, input);
    const reason = 'github-review mode without a GitHub client (approval.github in lethe.yaml); not approved';
    return new Map(paths.map((p) => [p, { approved: false, mode: 'github-review', approvers: [], retry: true, reason }]));
  }
  const drafts = new Map(paths.map((p) => [p, decide(index, p, input)]));
  const result = new Map<string, ApprovalEvidence>();
  if (!input.policy.requireSignedCommits) {
    for (const [path, draft] of drafts) result.set(path, draft.evidence);
    return result;
  }
  const shas = [...drafts.values()].flatMap((d) => (d.evidence.approved ? [d.evidence.commit!] : []));
  const signatures = await readSignatures(git.dir, shas);
  for (const [path, draft] of drafts) result.set(path, checkSignature(draft, draft.evidence.commit ? signatures.get(draft.evidence.commit) : undefined));
  return result;
}

export async function evaluateApproval(git: GitSource, input: ApprovalInput & { path: string }): Promise<ApprovalEvidence> {
  return (await evaluateApprovals(git, [input.path], input)).get(input.path)!;
}
