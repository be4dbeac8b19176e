import assert from 'node:assert/strict';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { GitHubReviewGate, octokitReviewApi } from '../../controller/git/github-review.ts';
import { HistoryIndex } from '../../controller/git/history.ts';
import type { ApprovalPolicy } from '../../specs/lethe-config.ts';
import { startFakeGitHub, type FakeGitHub, type FakePull } from '../support/fake-github.ts';
import {
  alice,
  bob,
  cleanup,
  commitFile,
  github,
  head,
  makeRepo,
  mallory,
  rita,
  sh,
  tempDir,
  write,
} from './helpers.ts';

// Review histories modelled on what GitHub records (login, state, commit_id, submitted_at).
const TOKEN = 'ghp_test_token';
const PATH = 'requests/r1.yaml';
const logins = { alice: 'alice-dpo', bob: 'bob-lead', rita: 'rita-support', mallory: 'mallory' };

function policy(over: Partial<ApprovalPolicy> = {}): ApprovalPolicy {
  return {
    mode: 'github-review',
    protectedBranch: 'main',
    approvers: [
      { ...alice, github: logins.alice },
      { ...bob, github: logins.bob },
      { email: rita.email, github: logins.rita },
    ],
    minApprovals: 1,
    requireSignedCommits: false,
    github: { repository: 'acme/privacy', token: `env:GH`, apiUrl: 'http://unused' },
    ...over,
  };
}

let gh: FakeGitHub;
let dir: string;
let minute = Date.parse('2026-03-01T09:00:00Z');
const at = () => {
  minute += 60_000;
  return new Date(minute).toISOString().replace('.000Z', 'Z');
};

/** Rita proposes the request on a branch; returns the head commit of her pull request. */
function propose(content = 'kind: PrivacyRequest\nspec: {}\n', author = rita): string {
  sh(dir, ['checkout', '-q', '-b', `pr-${minute}`, 'main']);
  const sha = commitFile(dir, PATH, content, author);
  sh(dir, ['checkout', '-q', 'main']);
  return sha;
}

/** GitHub's "Squash and merge": one new commit on main, authored by the PR author, committed by GitHub. */
function squash(headSha: string, author = rita): string {
  sh(dir, ['merge', '-q', '--squash', headSha], author, github);
  sh(dir, ['commit', '-q', '-m', 'Add request (#1)'], author, github);
  return head(dir);
}

/** Something else lands on main meanwhile, so that merging the pull request is no fast-forward. */
function mainMoves(): void {
  commitFile(dir, `notes/${minute}.md`, `meanwhile ${minute}\n`, bob);
}

/**
 * GitHub's "Create a merge commit": a --no-ff merge whose second parent is the head of the
 * pull request, authored by whoever pressed the button, committed by GitHub. `tamper`
 * edits the result before it is committed (a merge that changes what was reviewed).
 */
function mergeCommit(headSha: string, merger = alice, tamper?: () => void): string {
  sh(dir, ['merge', '-q', '--no-ff', '--no-commit', headSha], merger, github);
  tamper?.();
  sh(dir, ['commit', '-q', '-m', `Merge pull request #${gh.pulls.length + 1} from rita/request`], merger, github);
  const merged = head(dir);
  assert.equal(sh(dir, ['rev-parse', `${merged}^2`]), headSha, 'the second parent is the head of the pull request');
  return merged;
}

/**
 * GitHub's "Rebase and merge": each commit of the pull request replayed onto main, in order,
 * keeping its author, committed by GitHub. Returns the new commits, oldest first.
 */
function rebaseMerge(commits: string[]): string[] {
  return commits.map((sha) => {
    sh(dir, ['cherry-pick', '--allow-empty', sha], rita, github);
    return head(dir);
  });
}

function pull(over: Partial<FakePull> & Pick<FakePull, 'headSha' | 'mergeCommitSha'>): FakePull {
  const p: FakePull = {
    number: gh.pulls.length + 1,
    mergedAt: at(),
    user: logins.rita,
    commits: [{ login: logins.rita, email: rita.email }],
    reviews: [],
    associated: [over.mergeCommitSha],
    ...over,
  };
  gh.pulls.push(p);
  return p;
}

async function decide(
  p: ApprovalPolicy = policy(),
  gate = new GitHubReviewGate(octokitReviewApi({ repository: 'acme/privacy', token: TOKEN, apiUrl: gh.url })),
) {
  const index = new HistoryIndex(dir);
  await index.update(head(dir));
  return (
    await gate.evaluate(index, [PATH], {
      head: head(dir),
      policy: p,
      controllerIdentity: { name: 'Lethe', email: 'lethe@corp.example' },
    })
  ).get(PATH)!;
}

describe('github-review approval', { timeout: 120_000 }, () => {
  beforeEach(async () => {
    dir = makeRepo();
    gh = await startFakeGitHub(dir, TOKEN);
  });
  // A failed assertion skips done(): the server must not keep the test process alive.
  afterEach(() => gh.close());
  after(cleanup);

  const done = async () => {
    assert.deepEqual(gh.violations, [], 'every request and answer has the shape GitHub documents');
    await gh.close();
  };

  it('approves a squash merge approved on its head by a listed approver', async () => {
    const headSha = propose();
    const merged = squash(headSha);
    const review = { login: logins.alice, state: 'APPROVED' as const, commitId: headSha, at: at() };
    pull({ headSha, mergeCommitSha: merged, reviews: [review] });
    const e = await decide();
    assert.equal(e.approved, true, e.reason);
    assert.equal(e.mode, 'github-review');
    assert.equal(e.pullRequest, 1);
    assert.deepEqual(e.approvers, [{ name: alice.name, email: alice.email }]);
    assert.match(e.reason, /pull request #1 merged into main .* approved on .* by alice-dpo/);
    await done();
  });

  it('refuses an approval by an author of the content', async () => {
    sh(dir, ['checkout', '-q', '-b', 'pr-x', 'main']);
    commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {a: 1}\n', rita);
    const headSha = commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {a: 2}\n', alice);
    sh(dir, ['checkout', '-q', 'main']);
    const merged = squash(headSha);
    pull({
      headSha,
      mergeCommitSha: merged,
      commits: [
        { login: logins.rita, email: rita.email },
        { login: logins.alice, email: alice.email },
      ],
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() }],
    });
    const e = await decide();
    assert.equal(e.approved, false);
    assert.match(e.reason, /alice-dpo authored the content/);
    await done();
  });

  it('refuses an approval given before a later push (dismissed or stale)', async () => {
    const first = propose('kind: PrivacyRequest\nspec: {v: 1}\n');
    sh(dir, ['checkout', '-q', `pr-${minute}`]);
    const second = commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {v: 2, vendors: all}\n', rita);
    sh(dir, ['checkout', '-q', 'main']);
    const merged = squash(second);
    pull({
      headSha: second,
      mergeCommitSha: merged,
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: first, at: at() }],
    });
    const e = await decide();
    assert.equal(e.approved, false);
    assert.match(e.reason, /0 of 1 required approvals.*alice-dpo approved .*not the head/);
    // GitHub's "dismiss stale approvals" turns it into DISMISSED: refused as well.
    gh.pulls[0]!.reviews = [{ login: logins.alice, state: 'DISMISSED', commitId: first, at: at() }];
    const dismissed = await decide();
    assert.equal(dismissed.approved, false);
    await done();
  });

  it('needs two distinct listed approvers when minApprovals is 2; an unlisted reviewer does not count', async () => {
    const headSha = propose();
    const merged = squash(headSha);
    const p = pull({ headSha, mergeCommitSha: merged, mergedAt: '2026-12-31T00:00:00Z' });
    p.reviews.push({ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() });
    p.reviews.push({ login: logins.mallory, state: 'APPROVED', commitId: headSha, at: at() });
    const one = await decide(policy({ minApprovals: 2 }));
    assert.equal(one.approved, false);
    assert.match(one.reason, /1 of 2 required approvals.*mallory is not a listed approver/);
    p.reviews.push({ login: logins.bob, state: 'APPROVED', commitId: headSha, at: at() });
    const two = await decide(policy({ minApprovals: 2 }));
    assert.equal(two.approved, true, two.reason);
    assert.deepEqual(two.approvers.map((a) => a.email).sort(), [alice.email, bob.email]);
    await done();
  });

  it('refuses when an approver requested changes after an approval', async () => {
    const headSha = propose();
    const merged = squash(headSha);
    pull({
      headSha,
      mergeCommitSha: merged,
      mergedAt: '2026-12-31T00:00:00Z',
      reviews: [
        { login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() },
        { login: logins.bob, state: 'CHANGES_REQUESTED', commitId: headSha, at: at() },
      ],
    });
    const e = await decide();
    assert.equal(e.approved, false);
    assert.match(e.reason, /bob-lead requested changes/);
    await done();
  });

  it('never approves on an API error; the decision is retried and then made', async () => {
    const headSha = propose();
    const merged = squash(headSha);
    pull({
      headSha,
      mergeCommitSha: merged,
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() }],
    });
    const gate = new GitHubReviewGate(octokitReviewApi({ repository: 'acme/privacy', token: TOKEN, apiUrl: gh.url }));
    // The outage hits the first, second, third or fourth call of the decision.
    for (const [skip, status] of [
      [0, 502],
      [1, 500],
      [2, 403],
      [3, 503],
    ] as const) {
      gh.failNext(1, status, skip);
      const e = await decide(policy(), gate);
      assert.equal(e.approved, false, `${status} after ${skip} answers`);
      assert.equal(e.retry, true);
      assert.match(e.reason, new RegExp(`GITHUB_API_ERROR.*HTTP ${status}`));
    }
    const wrongToken = await decide(
      policy(),
      new GitHubReviewGate(octokitReviewApi({ repository: 'acme/privacy', token: 'nope', apiUrl: gh.url })),
    );
    assert.equal(wrongToken.approved, false);
    assert.equal(wrongToken.retry, true);
    const ok = await decide(policy(), gate);
    assert.equal(ok.approved, true, 'the failure was not cached');
    // Decided once, kept per commit: no further GitHub call for the same content.
    const calls = gh.requests.length;
    assert.equal((await decide(policy(), gate)).approved, true);
    assert.equal(gh.requests.length, calls);
    await done();
  });

  it('approves a merge-commit pull request (content brought by a --no-ff merge) approved on its head; refuses one approved on an older head', async () => {
    const headSha = propose('kind: PrivacyRequest\nspec: {merged: true}\n');
    mainMoves();
    const merged = mergeCommit(headSha);
    pull({
      headSha,
      mergeCommitSha: merged,
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() }],
    });
    const e = await decide();
    assert.equal(e.approved, true, e.reason);
    assert.equal(e.commit, merged, 'the merge commit brought the content to main');
    assert.equal(e.pullRequest, 1);
    assert.deepEqual(e.approvers, [{ name: alice.name, email: alice.email }]);
    assert.match(
      e.reason,
      new RegExp(
        `pull request #1 merged into main in ${merged.slice(0, 12)}, approved on ${headSha.slice(0, 12)} by alice-dpo`,
      ),
    );

    // A second pull request edits the request after Alice approved it: the approval is on an older head.
    sh(dir, ['checkout', '-q', '-b', 'pr-edit', 'main']);
    const reviewed = commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {merged: true, v: 2}\n', rita);
    const pushedAfter = commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {merged: true, v: 2, vendors: all}\n', rita);
    sh(dir, ['checkout', '-q', 'main']);
    mainMoves();
    const merged2 = mergeCommit(pushedAfter);
    pull({
      headSha: pushedAfter,
      mergeCommitSha: merged2,
      associated: [merged2],
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: reviewed, at: at() }],
    });
    const stale = await decide();
    assert.equal(stale.approved, false);
    assert.equal(stale.pullRequest, 2);
    assert.match(
      stale.reason,
      new RegExp(
        `0 of 1 required approvals on its head ${pushedAfter.slice(0, 12)}.*alice-dpo approved ${reviewed.slice(0, 12)}, not the head`,
      ),
    );
    await done();
  });

  it('refuses a merge commit whose merge changed the reviewed content', async () => {
    const headSha = propose('kind: PrivacyRequest\nspec: {reviewed: true}\n');
    mainMoves();
    const merged = mergeCommit(headSha, alice, () => {
      write(dir, PATH, 'kind: PrivacyRequest\nspec: {reviewed: false, vendors: all}\n');
      sh(dir, ['add', PATH]);
    });
    pull({
      headSha,
      mergeCommitSha: merged,
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() }],
    });
    const e = await decide();
    assert.equal(e.approved, false);
    assert.match(e.reason, /is not what pull request #1 had at its head/);
    await done();
  });

  it('approves a rebase-merged pull request (several commits, each associated) approved on the head that holds the content; refuses one approved on an older head', async () => {
    // Rita's pull request: the request, a correction of it, then an unrelated note.
    sh(dir, ['checkout', '-q', '-b', 'pr-rebase', 'main']);
    const c1 = commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {v: 1}\n', rita);
    const c2 = commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {v: 2}\n', rita);
    const c3 = commitFile(dir, 'notes/why.md', 'ticket SUP-1\n', rita);
    sh(dir, ['checkout', '-q', 'main']);
    mainMoves();
    const rebased = rebaseMerge([c1, c2, c3]);
    assert.equal(sh(dir, ['log', '-1', '--format=%ae %ce', rebased[1]!]), `${rita.email} ${github.email}`);
    // GitHub's merge_commit_sha of a rebase merge is the last rebased commit; every rebased commit lists the pull request.
    const p = pull({
      headSha: c3,
      mergeCommitSha: rebased[2]!,
      associated: rebased,
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: c3, at: at() }],
    });
    const e = await decide();
    assert.equal(e.approved, true, e.reason);
    assert.equal(e.commit, rebased[1], 'the rebased commit that last changed the request is the one introducing it');
    assert.equal(e.pullRequest, 1);
    assert.match(e.reason, new RegExp(`approved on ${c3.slice(0, 12)} by alice-dpo`));

    // The same history, but Alice approved when the head was c2: c3 was pushed after her review.
    p.reviews = [{ login: logins.alice, state: 'APPROVED', commitId: c2, at: p.reviews[0]!.at }];
    const stale = await decide();
    assert.equal(stale.approved, false);
    assert.match(stale.reason, new RegExp(`alice-dpo approved ${c2.slice(0, 12)}, not the head ${c3.slice(0, 12)}`));
    await done();
  });

  it('an attacker: a direct push, a merge that changed the content, an approval after the merge', async () => {
    commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {direct: true}\n', mallory);
    const direct = await decide();
    assert.equal(direct.approved, false);
    assert.match(direct.reason, /without a merged pull request/);

    const headSha = propose('kind: PrivacyRequest\nspec: {reviewed: true}\n');
    sh(dir, ['merge', '-q', '--squash', headSha], rita, github);
    commitFile(dir, PATH, 'kind: PrivacyRequest\nspec: {reviewed: false, swapped: true}\n', rita, 'Add request (#2)');
    const merged = head(dir);
    pull({
      headSha,
      mergeCommitSha: merged,
      reviews: [{ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() }],
    });
    const swapped = await decide();
    assert.equal(swapped.approved, false);
    assert.match(swapped.reason, /is not what pull request #1 had at its head/);

    const h2 = propose('kind: PrivacyRequest\nspec: {late: true}\n');
    const m2 = squash(h2);
    const p2 = pull({ headSha: h2, mergeCommitSha: m2 });
    p2.reviews.push({ login: logins.alice, state: 'APPROVED', commitId: h2, at: at() });
    const late = await decide();
    assert.equal(late.approved, false, 'an approval given after the merge approved nothing');
    await done();
  });
});

describe('github-review in the reconcile pass', { timeout: 120_000 }, () => {
  after(cleanup);

  it('reads the token from its reference, approves through GitHub, and never caches a failed decision', async () => {
    const { openController } = await import('../../controller/core/app.ts');
    const { silentLogger } = await import('../../controller/log.ts');
    const { createDriverTable } = await import('../../controller/vendors/registry.ts');
    dir = makeRepo();
    gh = await startFakeGitHub(dir, TOKEN);
    try {
      // The connection first, then the real lethe.yaml: that commit is the pinned root of trust
      // (makeRepo's placeholder lethe.yaml is no policy to start from).
      commitFile(
        dir,
        'vendors/maestroqa.yaml',
        'apiVersion: lethe/v1\nkind: VendorConnection\nmetadata: { name: maestroqa }\nspec:\n  type: maestroqa\n  credentials: { apiToken: env:T }\n',
        alice,
      );
      const trustRoot = commitFile(
        dir,
        'lethe.yaml',
        [
          'apiVersion: lethe/v1',
          'kind: LetheConfig',
          'metadata: { name: t }',
          'spec:',
          '  approval:',
          '    mode: github-review',
          `    approvers: [{ email: ${alice.email}, github: ${logins.alice} }]`,
          `    github: { repository: acme/privacy, token: env:GITHUB_REVIEW_TOKEN, apiUrl: "${gh.url}" }`,
          '',
        ].join('\n'),
        alice,
      );
      const headSha = propose(
        'apiVersion: lethe/v1\nkind: PrivacyRequest\nmetadata: { name: r1 }\nspec:\n  action: erasure\n  regulation: gdpr\n  receivedAt: "2026-11-20"\n  subject: { emails: [a@example.com] }\n  vendors: all\n  justification: t\n',
      );
      const merged = squash(headSha);
      pull({
        headSha,
        mergeCommitSha: merged,
        reviews: [{ login: logins.alice, state: 'APPROVED', commitId: headSha, at: at() }],
      });

      const open = (env: Record<string, string>) =>
        openController({
          repo: dir,
          dataDir: tempDir(),
          trustRoot,
          drivers: createDriverTable(),
          env: { LETHE_SUBJECT_SALT: 's', ...env },
          log: silentLogger,
          readOnly: true,
        });
      const noToken = await open({});
      const refused = (await noToken.reconciler.dryRun()).snapshot.approvals.get(PATH)!;
      assert.equal(refused.approved, false);
      assert.equal(refused.retry, true);
      assert.match(refused.reason, /GITHUB_API_ERROR.*CREDENTIAL_ENV_MISSING/);
      assert.equal(noToken.journal.data.approvals[PATH], undefined, 'a failed decision is not cached');
      await noToken.close();

      const c = await open({ GITHUB_REVIEW_TOKEN: TOKEN });
      gh.failNext(1, 502);
      const outage = (await c.reconciler.dryRun()).snapshot.approvals.get(PATH)!;
      assert.equal(outage.approved, false);
      const after = (await c.reconciler.dryRun()).snapshot.approvals.get(PATH)!;
      assert.equal(after.approved, true, after.reason);
      assert.equal(after.pullRequest, 1);
      // Settled: the next pass keeps it without asking GitHub again (the gate caches per commit).
      const calls = gh.requests.length;
      assert.equal((await c.reconciler.dryRun()).snapshot.approvals.get(PATH)!.approved, true);
      assert.equal(gh.requests.length, calls, 'a settled decision is not asked for again');
      await c.close();
      assert.deepEqual(gh.violations, []);
    } finally {
      await gh.close();
    }
  });
});
