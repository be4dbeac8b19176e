import type { ApprovalPolicy, Approver } from '../../specs/lethe-config.ts';
import type { ApprovalEvidence } from '../../specs/status.ts';
import type { Identity } from './exec.ts';
import type { GitHubReviewGate } from './github-review.ts';
import { readSignatures, type CommitInfo, type HistoryIndex, type RawChange, type Signature } from './history.ts';
import type { GitSource } from './source.ts';

export interface ApprovalInput {
  head: string;
  policy: ApprovalPolicy;
  controllerIdentity: Identity;
  /** github-review mode reads pull-request reviews through this gate (github-review.ts). */
  github?: GitHubReviewGate;
}

/**
 * One change to one governed path, as it reached the protected branch: the unit the gate
 * judges. `commit` is the first-parent commit that brought it (the merge commit, the
 * squash commit, a direct push); `writers` are the commits that reached the branch through
 * `commit` (itself included) and touched the path.
 */
export interface Arrival {
  commit: CommitInfo;
  writers: CommitInfo[];
  path: string;
  /** The new content, or null when the change deletes the path. */
  blob: string | null;
}

/** A decision before signatures are checked: signatures need a gpg run, so they are batched. */
export interface Verdict {
  evidence: ApprovalEvidence;
  /** Approvers whose key may have signed the approval commit. */
  signers: Approver[];
}

interface Person {
  name: string;
  email: string;
}

const short = (sha: string): string => sha.slice(0, 12);
const key = (email: string): string => email.trim().toLowerCase();
const who = (p: Person): string => `${p.name} <${p.email}>`;

function parseIdentity(value: string): Person | undefined {
  const match = /^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$/.exec(value.trim());
  return match ? { name: match[1]!, email: match[2]! } : undefined;
}

/** Whether `change` leaves `path` with `blob` (null: leaves it absent). */
function writes(change: RawChange, path: string, blob: string | null): boolean {
  if (blob === null)
    return (change.status === 'D' && change.path === path) || (change.status === 'R' && change.from === path);
  return change.path === path && change.blob === blob && change.status !== 'D';
}

/** Each commit's changes by the paths they touch, built once: a merge of N files is judged in N steps, not N x N. */
const changesByPath = new WeakMap<CommitInfo, Map<string, RawChange[]>>();

/** Whether `commit` leaves `path` with `blob` (null: leaves it absent). */
function wrote(commit: CommitInfo, path: string, blob: string | null): boolean {
  let byPath = changesByPath.get(commit);
  if (!byPath) {
    byPath = new Map();
    for (const ch of commit.changes) {
      for (const p of ch.from === undefined ? [ch.path] : [ch.path, ch.from]) {
        const list = byPath.get(p);
        if (list) list.push(ch);
        else byPath.set(p, [ch]);
      }
    }
    changesByPath.set(commit, byPath);
  }
  return byPath.get(path)?.some((ch) => writes(ch, path, blob)) ?? false;
}

/** Approvers by normalised email, per policy object (a walk judges thousands of changes under one). */
const approversOf = new WeakMap<ApprovalPolicy, ReadonlyMap<string, Approver>>();

/**
 * THE policy check: whether `arrival` is approved under `policy`, with the reason in plain
 * words. Pure: a new approval mode adds a branch here (or a sibling function picked by
 * `policy.mode`), and everything that consumes verdicts stays as it is.
 *
 * Content authors are the authors of every commit that touched the path on the way in,
 * side-branch merge commits included (a merge commit can carry content its author wrote
 * while resolving it); only the approval commit itself, when it is a merge, is not one.
 */
export function judgeArrival(arrival: Arrival, policy: ApprovalPolicy, controllerIdentity: Identity): Verdict {
  const { commit, path, blob } = arrival;
  const branch = policy.protectedBranch;
  const what = blob === null ? `the deletion of ${path}` : path;
  const isMerge = commit.parents.length > 1;
  const contentWriters = arrival.writers.filter((c) => !(isMerge && c.sha === commit.sha));
  const spec = contentWriters.find((c) => c.sha !== commit.sha && wrote(c, path, blob)) ?? commit;
  const base = { commit: commit.sha, specCommit: spec.sha };
  const fail = (reason: string): Verdict => ({
    evidence: { approved: false, mode: policy.mode, approvers: [], ...base, reason },
    signers: [],
  });
  let listed = approversOf.get(policy);
  if (!listed) {
    listed = new Map(policy.approvers.map((a) => [key(a.email), a]));
    approversOf.set(policy, listed);
  }
  const approvers = new Map(listed);
  approvers.delete(key(controllerIdentity.email));
  const authors = new Set(contentWriters.map((c) => key(c.authorEmail)));

  const counted: Person[] = [];
  const refused: string[] = [];
  const consider = (person: Person): void => {
    const k = key(person.email);
    if (counted.some((p) => key(p.email) === k)) return;
    if (k === key(controllerIdentity.email)) refused.push(`${who(person)} is the controller's own identity`);
    else if (!approvers.has(k)) refused.push(`${who(person)} is not a listed approver`);
    else if (authors.has(k)) refused.push(`${who(person)} authored the request`);
    else counted.push(person);
  };
  const trailers = commit.approvedBy.map(parseIdentity).filter((p): p is Person => p !== undefined);

  // github-review judges requests by their pull request's reviews (github-review.ts). For
  // lethe.yaml and vendors/, which the approved tree judges here, it is as strict as merge
  // mode: typed trailers alone never approve a control-plane change.
  const merged = policy.mode === 'merge' || policy.mode === 'github-review';
  if (merged) {
    if (!isMerge) {
      return fail(
        `${what} reached ${branch} in ${short(commit.sha)} without a merge commit (direct push, squash or rebase merge); no approver recorded`,
      );
    }
    const fromSide = contentWriters.some((c) => wrote(c, path, blob));
    if (!fromSide) {
      return fail(
        `merge commit ${short(commit.sha)} itself wrote the current content of ${path} (not from the merged branch); nobody reviewed it`,
      );
    }
    consider({ name: commit.authorName, email: commit.authorEmail });
    if (counted.length === 0)
      return fail(`merged into ${branch} in ${short(commit.sha)}, but the merger ${refused[0]}`);
    // A trailer in a merge message is text: hosts copy pull-request descriptions into it, so
    // anyone who opens a pull request can write one. It is the merger's own statement only
    // when the merger signed the commit.
    if (policy.requireSignedCommits) for (const p of trailers) consider(p);
    else if (trailers.length > 0)
      refused.push(
        'Approved-by trailers in an unsigned merge message (text anyone could have written, e.g. copied from a pull-request description)',
      );
  } else {
    for (const p of trailers) consider(p);
  }

  const approved = counted.length >= policy.minApprovals;
  const how = merged
    ? `merged into ${branch} in ${short(commit.sha)} by ${who(counted[0]!)}`
    : `${short(commit.sha)} on ${branch}`;
  const others = counted.slice(merged ? 1 : 0);
  const extra = others.length > 0 ? ` approved by ${others.map(who).join(', ')}` : '';
  const notCounted = refused.length > 0 ? `; not counted: ${refused.join('; ')}` : '';
  const reason = approved
    ? `${how}${extra}`
    : `${how} has ${counted.length} of ${policy.minApprovals} required approvals${notCounted}`;
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

/** Applies `requireSignedCommits` to a verdict, given the approval commit's signature. */
export function checkSignature(verdict: Verdict, signature: Signature | undefined): ApprovalEvidence {
  const evidence = verdict.evidence;
  const good = signature?.status === 'G';
  const matches =
    good &&
    verdict.signers.some(
      (a) =>
        a.signingKey !== undefined && signature.keys.some((k) => k.toLowerCase().endsWith(a.signingKey!.toLowerCase())),
    );
  if (!evidence.approved) return { ...evidence, signed: matches };
  if (matches) return { ...evidence, signed: true };
  const at = short(evidence.commit!);
  const reason = good
    ? `approval commit ${at} is signed by a key that is not an approving approver's signingKey`
    : `approval commit ${at} has no good signature, and the policy requires signed commits`;
  return {
    approved: false,
    mode: evidence.mode,
    approvers: evidence.approvers,
    commit: evidence.commit,
    specCommit: evidence.specCommit,
    signed: false,
    reason,
  };
}

/**
 * For the commits that arrived together through one first-parent commit: the ones that
 * touched each path (as destination or rename source), in one pass over their changes.
 * Looking them up per path instead made a merge of N files cost N x N.
 */
export function writersByPath(members: readonly CommitInfo[]): Map<string, CommitInfo[]> {
  const byPath = new Map<string, CommitInfo[]>();
  const add = (path: string, c: CommitInfo) => {
    const list = byPath.get(path);
    if (!list) byPath.set(path, [c]);
    else if (list[list.length - 1] !== c) list.push(c);
  };
  for (const m of members) {
    for (const ch of m.changes) {
      add(ch.path, m);
      if (ch.from !== undefined) add(ch.from, m);
    }
  }
  return byPath;
}

function decide(
  index: HistoryIndex,
  path: string,
  input: ApprovalInput,
  writersOf: (commit: string) => Map<string, CommitInfo[]>,
): Verdict {
  const intro = index.introduction(path);
  if (!intro) {
    return {
      evidence: {
        approved: false,
        mode: input.policy.mode,
        approvers: [],
        reason: `${path} is not on ${input.policy.protectedBranch} at ${short(input.head)}`,
      },
      signers: [],
    };
  }
  const commit = index.commit(intro.commit)!;
  const writers = writersOf(commit.sha).get(intro.path) ?? [];
  return judgeArrival({ commit, writers, path: intro.path, blob: intro.blob }, input.policy, input.controllerIdentity);
}

/**
 * Decides, under ONE policy, whether each path's current content was approved on the
 * protected branch (`head`): `lethe plan --assume-approved`-style questions and tests. The
 * controller's desired state is the approved tree (approved-tree.ts), which judges every
 * change under the policy in force before it.
 */
export async function evaluateApprovals(
  git: Pick<GitSource, 'dir' | 'history'>,
  paths: string[],
  input: ApprovalInput,
): Promise<Map<string, ApprovalEvidence>> {
  const index = await git.history(input.head);
  if (input.policy.mode === 'github-review') {
    if (input.github) return input.github.evaluate(index, paths, input);
    const reason = 'github-review mode without a GitHub client (approval.github in lethe.yaml); not approved';
    return new Map(
      paths.map((p) => [p, { approved: false, mode: 'github-review', approvers: [], retry: true, reason }]),
    );
  }
  const byCommit = new Map<string, Map<string, CommitInfo[]>>();
  const writersOf = (sha: string) => {
    let writers = byCommit.get(sha);
    if (!writers) {
      writers = writersByPath(index.arrivedWith(sha));
      byCommit.set(sha, writers);
    }
    return writers;
  };
  const verdicts = new Map(paths.map((p) => [p, decide(index, p, input, writersOf)]));
  const result = new Map<string, ApprovalEvidence>();
  if (!input.policy.requireSignedCommits) {
    for (const [path, verdict] of verdicts) result.set(path, verdict.evidence);
    return result;
  }
  const shas = [...verdicts.values()].flatMap((d) => (d.evidence.approved ? [d.evidence.commit!] : []));
  const signatures = await readSignatures(git.dir, shas);
  for (const [path, verdict] of verdicts)
    result.set(
      path,
      checkSignature(verdict, verdict.evidence.commit ? signatures.get(verdict.evidence.commit) : undefined),
    );
  return result;
}

export async function evaluateApproval(
  git: GitSource,
  input: ApprovalInput & { path: string },
): Promise<ApprovalEvidence> {
  return (await evaluateApprovals(git, [input.path], input)).get(input.path)!;
}
