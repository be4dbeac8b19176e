import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { evaluateApproval, evaluateApprovals } from '../../controller/git/approval.ts';
import { GitSource } from '../../controller/git/source.ts';
import type { ApprovalPolicy } from '../../specs/lethe-config.ts';
import { ApprovalEvidence } from '../../specs/status.ts';
import {
  alice,
  bob,
  cleanup,
  commitFile,
  github,
  head,
  lethe,
  makeRepo,
  mallory,
  mergePr,
  openPr,
  policy,
  rita,
  sh,
  tempDir,
  write,
} from './helpers.ts';

after(cleanup);

const REQ = 'requests/2026-11-0042.yaml';

async function evaluate(dir: string, path = REQ, p: ApprovalPolicy = policy()) {
  const git = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
  const evidence = await evaluateApproval(git, { path, head: head(dir), policy: p, controllerIdentity: lethe });
  ApprovalEvidence.parse(evidence);
  return evidence;
}

describe('approval gate, merge mode', () => {
  it('approves a local --no-ff merge by an approver who is not the author', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    const merge = mergePr(dir, 'req', alice);
    const e = await evaluate(dir);
    assert.equal(e.approved, true, e.reason);
    assert.equal(e.commit, merge);
    assert.equal(e.specCommit, head(dir, 'req'));
    assert.deepEqual(e.approvers, [{ name: alice.name, email: alice.email }]);
    assert.match(e.approvedAt!, /^2026-01-01T\d\d:\d\d:00\.000Z$/);
    assert.match(e.reason, /merged into main .* by Alice Approver <alice@corp\.example>/);
  });

  it('rejects a merge by someone who is not a listed approver', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    mergePr(dir, 'req', mallory);
    const e = await evaluate(dir);
    assert.equal(e.approved, false);
    assert.match(e.reason, /mallory@corp\.example> is not a listed approver/);
  });

  it('rejects a merge by the author, even when the author is an approver', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n', rita);
    mergePr(dir, 'req', rita);
    const e = await evaluate(dir);
    assert.equal(e.approved, false);
    assert.match(e.reason, /authored the request/);
  });

  it('counts an author who only touched the file in an earlier commit of the same branch', async () => {
    const dir = makeRepo();
    sh(dir, ['checkout', '-q', '-b', 'req']);
    commitFile(dir, REQ, 'spec: 1\n', alice);
    commitFile(dir, REQ, 'spec: 2\n', rita);
    sh(dir, ['checkout', '-q', 'main']);
    mergePr(dir, 'req', alice);
    assert.match((await evaluate(dir)).reason, /authored the request/);
  });

  it('approves a web UI merge: the merger is the author, the host the committer', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    mergePr(dir, 'req', bob, github);
    const e = await evaluate(dir);
    assert.equal(e.approved, true, e.reason);
    assert.equal(e.approvers[0]?.email, bob.email);
  });

  it('matches approver emails case-insensitively', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    mergePr(dir, 'req', { name: 'Alice', email: 'ALICE@Corp.Example' });
    assert.equal((await evaluate(dir)).approved, true);
  });

  it('rejects a squash merge and a direct push with the reason', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    sh(dir, ['merge', '-q', '--squash', 'req'], alice);
    sh(dir, ['commit', '-q', '-m', 'squashed', `--author=${rita.name} <${rita.email}>`], alice, github);
    const squash = await evaluate(dir);
    assert.equal(squash.approved, false);
    assert.match(squash.reason, /without a merge commit \(direct push, squash or rebase merge\); no approver recorded/);
    commitFile(dir, 'requests/direct.yaml', 'spec: 1\n', alice);
    const direct = await evaluate(dir, 'requests/direct.yaml');
    assert.equal(direct.approved, false);
    assert.match(direct.reason, /without a merge commit/);
  });

  it('never counts the controller identity', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    mergePr(dir, 'req', lethe);
    const e = await evaluate(dir, REQ, policy({ approvers: [alice, lethe] }));
    assert.equal(e.approved, false);
    assert.match(e.reason, /controller's own identity/);
  });

  it('needs approval again after a direct edit, and gets it from a new approved merge', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    mergePr(dir, 'req', alice);
    commitFile(dir, 'requests/other.yaml', 'spec: x\n', bob);
    assert.equal((await evaluate(dir)).approved, true, 'unrelated commits keep the approval');
    const edit = commitFile(dir, REQ, 'spec: 2\n', rita);
    const edited = await evaluate(dir);
    assert.equal(edited.approved, false);
    assert.equal(edited.commit, edit);
    openPr(dir, 'req2', REQ, 'spec: 3\n');
    const merge = mergePr(dir, 'req2', bob);
    const again = await evaluate(dir);
    assert.equal(again.approved, true, again.reason);
    assert.equal(again.commit, merge);
  });

  it('rejects content written by the merge commit itself', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    sh(dir, ['merge', '-q', '--no-ff', '--no-commit', 'req'], alice);
    write(dir, REQ, 'spec: changed during merge\n');
    sh(dir, ['add', REQ], alice);
    sh(dir, ['commit', '-q', '-m', 'merge'], alice);
    const e = await evaluate(dir);
    assert.equal(e.approved, false);
    assert.match(e.reason, /itself wrote the current content/);
  });

  it('keeps the approval across a pure rename and requires it again after rename with edits', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\nlong: enough content to be detected as a rename\n');
    const merge = mergePr(dir, 'req', alice);
    mkdirSync(join(dir, 'requests/2026'));
    sh(dir, ['mv', REQ, 'requests/2026/0042.yaml'], rita);
    sh(dir, ['commit', '-q', '-m', 'move'], rita);
    const moved = await evaluate(dir, 'requests/2026/0042.yaml');
    assert.equal(moved.approved, true, moved.reason);
    assert.equal(moved.commit, merge);
    assert.equal((await evaluate(dir, REQ)).approved, false, 'the old path is gone');
    sh(dir, ['mv', 'requests/2026/0042.yaml', 'requests/b.yaml'], rita);
    write(dir, 'requests/b.yaml', 'spec: 1\nlong: enough content to be detected as a rename!\n');
    sh(dir, ['commit', '-qam', 'move and edit'], rita);
    assert.equal((await evaluate(dir, 'requests/b.yaml')).approved, false);
  });

  it('merge mode with minApprovals 2: a trailer in an unsigned merge message is not a second approval', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    mergePr(dir, 'req', alice);
    assert.equal((await evaluate(dir, REQ, policy({ minApprovals: 2 }))).approved, false);
    // Hosts copy the pull-request description (written by its author) into the merge message.
    openPr(dir, 'req2', 'requests/b.yaml', 'spec: 1\n');
    mergePr(dir, 'req2', alice, alice, `Merge req2\n\nApproved-by: ${bob.name} <${bob.email}>\n`);
    const e = await evaluate(dir, 'requests/b.yaml', policy({ minApprovals: 2 }));
    assert.equal(e.approved, false, e.reason);
    assert.deepEqual(
      e.approvers.map((a) => a.email),
      [alice.email],
    );
    assert.match(e.reason, /1 of 2 required approvals; not counted: Approved-by trailers in an unsigned merge message/);
  });

  it('counts an approver who wrote the content inside a merge commit on the merged branch as its author', async () => {
    const dir = makeRepo();
    sh(dir, ['checkout', '-q', '-b', 'side']);
    commitFile(dir, 'notes.txt', 'x\n', rita);
    sh(dir, ['checkout', '-q', '-b', 'feature', 'main']);
    commitFile(dir, 'other.txt', 'y\n', rita);
    // Alice "merges" side into feature and slips the request into that merge commit.
    sh(dir, ['merge', '-q', '--no-ff', '--no-commit', 'side'], alice);
    write(dir, REQ, 'spec: alice\n');
    sh(dir, ['add', REQ], alice);
    sh(dir, ['commit', '-q', '-m', 'Merge side into feature'], alice);
    sh(dir, ['checkout', '-q', 'main']);
    mergePr(dir, 'feature', alice);
    const e = await evaluate(dir);
    assert.equal(e.approved, false, e.reason);
    assert.match(e.reason, /Alice Approver <alice@corp\.example> authored the request/);
  });

  it('reports a path missing from the branch', async () => {
    const dir = makeRepo();
    const e = await evaluate(dir, 'requests/none.yaml');
    assert.equal(e.approved, false);
    assert.match(e.reason, /is not on main/);
  });
});

describe('approval gate, trailer mode', () => {
  const trailerPolicy = (min: number) => policy({ mode: 'trailer', minApprovals: min });
  const squash = (dir: string, trailers: string[]) => {
    sh(dir, ['merge', '-q', '--squash', 'req']);
    sh(
      dir,
      ['commit', '-q', '-m', `Add request\n\n${trailers.join('\n')}`, `--author=${rita.name} <${rita.email}>`],
      rita,
      github,
    );
  };

  it('approves with two distinct approvers on a squash commit when two are required', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    squash(dir, [
      `Approved-by: ${alice.name} <${alice.email}>`,
      `Approved-by: ${bob.name} <${bob.email}>`,
      `Approved-by: Alice again <ALICE@corp.example>`,
    ]);
    const e = await evaluate(dir, REQ, trailerPolicy(2));
    assert.equal(e.approved, true, e.reason);
    assert.equal(e.mode, 'trailer');
    assert.deepEqual(
      e.approvers.map((a) => a.email),
      [alice.email, bob.email],
    );
  });

  it('rejects one approver when two are required, and does not count the author', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', REQ, 'spec: 1\n');
    squash(dir, [`Approved-by: ${alice.name} <${alice.email}>`, `Approved-by: ${rita.name} <${rita.email}>`]);
    const e = await evaluate(dir, REQ, trailerPolicy(2));
    assert.equal(e.approved, false);
    assert.match(e.reason, /has 1 of 2 required approvals/);
    assert.match(e.reason, /Rita Requester <rita@corp\.example> authored the request/);
    assert.equal((await evaluate(dir, REQ, trailerPolicy(1))).approved, true);
  });
});

describe('batched evaluation', () => {
  it('evaluates many paths with one history walk and extends it incrementally', async () => {
    const dir = makeRepo();
    for (let i = 0; i < 20; i++) {
      openPr(dir, `r${i}`, `requests/r${i}.yaml`, `spec: ${i}\n`);
      mergePr(dir, `r${i}`, i % 2 ? alice : mallory);
    }
    const git = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
    const paths = Array.from({ length: 20 }, (_, i) => `requests/r${i}.yaml`);
    const input = { head: head(dir), policy: policy(), controllerIdentity: lethe };
    const all = await evaluateApprovals(git, paths, input);
    assert.deepEqual(
      paths.map((p) => all.get(p)!.approved),
      paths.map((_, i) => i % 2 === 1),
    );
    commitFile(dir, 'requests/r1.yaml', 'spec: edited\n', rita);
    const next = await evaluateApprovals(git, ['requests/r1.yaml', 'requests/r3.yaml'], { ...input, head: head(dir) });
    assert.equal(next.get('requests/r1.yaml')!.approved, false);
    assert.equal(next.get('requests/r3.yaml')!.approved, true);
    sh(dir, ['reset', '-q', '--hard', 'HEAD~3']);
    const rewound = await evaluateApprovals(git, ['requests/r1.yaml', 'requests/r19.yaml'], {
      ...input,
      head: head(dir),
    });
    assert.equal(rewound.get('requests/r1.yaml')!.approved, true);
    assert.equal(rewound.get('requests/r19.yaml')!.approved, false);
  });
});
