import { Octokit } from '@octokit/rest';
import type { ApprovalPolicy } from '../../specs/lethe-config.ts';
import type { ApprovalEvidence } from '../../specs/status.ts';
import { LetheError } from '../errors/types.ts';
import { gitErrors } from './errors.ts';
import type { Identity } from './exec.ts';
import type { HistoryIndex } from './history.ts';

/** What github-review mode reads from GitHub, reduced to the fields the decision uses. */
export interface PullRequestInfo {
  number: number;
  /** The branch it was merged into. */
  base: string;
  headSha: string;
  mergedAt?: string;
  mergeCommitSha?: string;
  /** Who opened it: an author of its content. */
  user?: string;
}

export interface ReviewInfo {
  user?: string;
  state: string;
  /** The commit the review was given on. */
  commitId?: string;
  submittedAt?: string;
}

export interface PullCommitInfo {
  authorLogin?: string;
  committerLogin?: string;
  authorEmail?: string;
}

/** The four GitHub REST calls the decision needs; `octokitReviewApi` is the real one. */
export interface GitHubReviewApi {
  pullsForCommit(sha: string): Promise<PullRequestInfo[]>;
  reviews(pull: number): Promise<ReviewInfo[]>;
  pullCommits(pull: number): Promise<PullCommitInfo[]>;
  /** The git blob id of `path` at `ref`, undefined when the file is not there. */
  blobAt(path: string, ref: string): Promise<string | undefined>;
}

/** GitHub through @octokit/rest: pagination included, answers reduced to what the decision reads. */
export function octokitReviewApi(o: {
  repository: string;
  token: string;
  apiUrl?: string;
  request?: { fetch?: typeof fetch };
}): GitHubReviewApi {
  const [owner, repo] = o.repository.split('/') as [string, string];
  const octokit = new Octokit({
    auth: o.token,
    baseUrl: o.apiUrl ?? 'https://api.github.com',
    request: { retries: 0, ...o.request },
    log: { debug() {}, info() {}, warn() {}, error() {} },
  });
  return {
    async pullsForCommit(sha) {
      const data = await octokit.paginate(octokit.rest.repos.listPullRequestsAssociatedWithCommit, {
        owner,
        repo,
        commit_sha: sha,
        per_page: 100,
      });
      return data.map((p) => ({
        number: p.number,
        base: p.base.ref,
        headSha: p.head.sha,
        mergedAt: p.merged_at ?? undefined,
        mergeCommitSha: p.merge_commit_sha ?? undefined,
        user: p.user?.login,
      }));
    },
    async reviews(pull) {
      const data = await octokit.paginate(octokit.rest.pulls.listReviews, {
        owner,
        repo,
        pull_number: pull,
        per_page: 100,
      });
      return data.map((r) => ({
        user: r.user?.login,
        state: r.state,
        commitId: r.commit_id ?? undefined,
        submittedAt: r.submitted_at ?? undefined,
      }));
    },
    async pullCommits(pull) {
      const data = await octokit.paginate(octokit.rest.pulls.listCommits, {
        owner,
        repo,
        pull_number: pull,
        per_page: 100,
      });
      return data.map((c) => ({
        authorLogin: c.author?.login,
        committerLogin: c.committer?.login,
        authorEmail: c.commit.author?.email,
      }));
    },
    async blobAt(path, ref) {
      try {
        const { data } = await octokit.rest.repos.getContent({ owner, repo, path, ref });
        return !Array.isArray(data) && data.type === 'file' ? data.sha : undefined;
      } catch (err) {
        if ((err as { status?: number }).status === 404) return undefined;
        throw err;
      }
    },
  };
}

const short = (sha: string): string => sha.slice(0, 12);
const lower = (s: string | undefined): string | undefined => s?.toLowerCase();

/** A decision about one pull request, kept per (commit, path): a merged pull request's reviews before its merge do not change. */
type Decided = Omit<ApprovalEvidence, 'mode'>;

/**
 * github-review mode: the content of `path` is approved when the pull request that brought
 * it to the protected branch (merge, squash or rebase merge) has APPROVED reviews, given on
 * its head commit and before the merge, from `minApprovals` listed approvers (by GitHub
 * login) who did not author the content, and no listed approver's last word is "changes
 * requested". The head commit must hold exactly the content now on the branch. On any API
 * error nothing is approved and `retry` asks for a new decision next pass.
 */
export class GitHubReviewGate {
  private readonly decided = new Map<string, Decided>();

  constructor(private readonly api: GitHubReviewApi) {}

  async evaluate(
    index: HistoryIndex,
    paths: string[],
    input: { head: string; policy: ApprovalPolicy; controllerIdentity: Identity },
  ): Promise<Map<string, ApprovalEvidence>> {
    const out = new Map<string, ApprovalEvidence>();
    for (const path of paths) {
      const decided = await this.decide(index, path, input).catch((err: unknown) => apiFailure(err));
      out.set(path, { mode: 'github-review', ...decided });
    }
    return out;
  }

  private async decide(
    index: HistoryIndex,
    path: string,
    input: { head: string; policy: ApprovalPolicy; controllerIdentity: Identity },
  ): Promise<Decided> {
    const { policy } = input;
    const branch = policy.protectedBranch;
    const intro = index.introduction(path);
    if (!intro)
      return { approved: false, approvers: [], reason: `${path} is not on ${branch} at ${short(input.head)}` };
    const key = `${intro.commit}:${intro.path}:${intro.blob}:${JSON.stringify(policy)}`;
    const cached = this.decided.get(key);
    if (cached) return cached;

    const base = { commit: intro.commit, specCommit: intro.commit };
    const pulls = (await this.api.pullsForCommit(intro.commit)).filter(
      (p) => p.mergedAt !== undefined && p.base === branch,
    );
    // A merge or squash names its commit; a rebase merge's commits are associated with the pull request too.
    const pull = pulls.find((p) => p.mergeCommitSha === intro.commit) ?? pulls[0];
    if (!pull) {
      return this.keep(key, {
        approved: false,
        approvers: [],
        ...base,
        reason: `${intro.path} reached ${branch} in ${short(intro.commit)} without a merged pull request (direct push); no review to count`,
      });
    }
    const at = { ...base, pullRequest: pull.number };
    const reviewed = await this.api.blobAt(intro.path, pull.headSha);
    if (reviewed !== intro.blob) {
      return this.keep(key, {
        approved: false,
        approvers: [],
        ...at,
        reason: `the content of ${intro.path} on ${branch} is not what pull request #${pull.number} had at its head ${short(pull.headSha)} (changed while merging); nobody reviewed it`,
      });
    }

    const approvers = new Map(policy.approvers.filter((a) => a.github).map((a) => [a.github!.toLowerCase(), a]));
    const commits = await this.api.pullCommits(pull.number);
    const authors = new Set<string>(
      [lower(pull.user), ...commits.flatMap((c) => [lower(c.authorLogin), lower(c.committerLogin)])].filter(
        (x): x is string => x !== undefined,
      ),
    );
    const authorEmails = new Set(commits.map((c) => lower(c.authorEmail)).filter((x): x is string => x !== undefined));
    const controller = input.controllerIdentity.email.toLowerCase();

    // Reviews in the order they were given; only those before the merge count.
    const reviews = (await this.api.reviews(pull.number))
      .filter((r) => r.submittedAt !== undefined && r.submittedAt <= pull.mergedAt!)
      .sort((a, b) => a.submittedAt!.localeCompare(b.submittedAt!));
    const last = new Map<string, ReviewInfo>();
    for (const r of reviews) {
      const login = lower(r.user);
      if (login === undefined || !approvers.has(login)) continue;
      if (r.state === 'APPROVED' || r.state === 'CHANGES_REQUESTED' || r.state === 'DISMISSED') last.set(login, r);
    }
    const blocking = [...last].filter(([, r]) => r.state === 'CHANGES_REQUESTED').map(([login]) => login);
    const counted: Array<{ name: string; email: string; login: string }> = [];
    const refused: string[] = [];
    for (const [login, r] of last) {
      const approver = approvers.get(login)!;
      if (r.state !== 'APPROVED') continue;
      if (r.commitId !== pull.headSha)
        refused.push(
          `${login} approved ${short(r.commitId ?? '?')}, not the head ${short(pull.headSha)} (commits were pushed after the approval)`,
        );
      else if (authors.has(login) || authorEmails.has(approver.email.toLowerCase()))
        refused.push(`${login} authored the content`);
      else if (approver.email.toLowerCase() === controller) refused.push(`${login} is the controller's own identity`);
      else counted.push({ name: approver.name ?? login, email: approver.email, login });
    }
    for (const r of reviews) {
      const login = lower(r.user);
      if (
        r.state === 'APPROVED' &&
        login !== undefined &&
        !approvers.has(login) &&
        !refused.some((x) => x.startsWith(`${login} `))
      )
        refused.push(`${login} is not a listed approver`);
    }
    const who = counted.map((c) => `${c.login} (${c.name})`).join(', ');
    const notCounted = refused.length > 0 ? `; not counted: ${[...new Set(refused)].join('; ')}` : '';
    const evidence = { approvers: counted.map(({ name, email }) => ({ name, email })), ...at };
    if (blocking.length > 0) {
      return this.keep(key, {
        approved: false,
        ...evidence,
        reason: `pull request #${pull.number}: ${blocking.join(', ')} requested changes after approving or without approving${notCounted}`,
      });
    }
    const approved = counted.length >= policy.minApprovals;
    const reason = approved
      ? `pull request #${pull.number} merged into ${branch} in ${short(intro.commit)}, approved on ${short(pull.headSha)} by ${who}${notCounted}`
      : `pull request #${pull.number} has ${counted.length} of ${policy.minApprovals} required approvals on its head ${short(pull.headSha)}${notCounted}`;
    return this.keep(key, {
      approved,
      ...evidence,
      ...(approved ? { approvedAt: new Date(Date.parse(pull.mergedAt!)).toISOString() } : {}),
      reason,
    });
  }

  private keep(key: string, d: Decided): Decided {
    this.decided.set(key, d);
    return d;
  }
}

/** Never approve on an error: the status says so, and `retry` keeps the decision out of every cache. */
function apiFailure(err: unknown): Decided {
  const status = (err as { status?: unknown })?.status;
  const detail = err instanceof LetheError ? err.code : typeof status === 'number' ? `HTTP ${status}` : 'no answer';
  return {
    approved: false,
    approvers: [],
    retry: true,
    reason: `GITHUB_API_ERROR: ${gitErrors.message('GITHUB_API_ERROR', { detail })}; retried next pass`,
  };
}
