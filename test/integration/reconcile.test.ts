import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parse } from 'yaml';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { exampleEmails, originFile, originLog, scenario, type Scenario } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

const UNAPPROVED = '2026-11-0050';

async function statusOf(s: Scenario, name: string): Promise<PrivacyRequestStatus> {
  return PrivacyRequestStatus.parse(parse(await originFile(s.repo, `status/${name}.yaml`)));
}

/** Runs passes until nothing is left to do (bounded). */
async function settle(s: Scenario, maxPasses = 20): Promise<number> {
  const c = await s.open();
  try {
    for (let i = 0; i < maxPasses; i++) {
      const r = await c.reconciler.pass();
      const open = Object.values(c.journal.data.tasks).filter(
        (t) => !['Completed', 'Failed', 'Skipped', 'Cancelled', 'Stalled'].includes(t.phase),
      );
      if (open.length === 0 && r.plan.actions.length === 0) return i + 1;
      await new Promise((res) => setTimeout(res, 60));
    }
  } finally {
    await c.close();
  }
  throw new Error('did not settle');
}

/** Every place a subject email must never appear: status files, commit messages, logs, the journal. */
async function assertNoSubjectEmails(s: Scenario, emails: string[]): Promise<void> {
  assert.ok(emails.length >= 8, 'the example repository has subjects');
  const statusFiles = (await gitAs(s.repo.origin, undefined, ['ls-tree', '-r', '--name-only', 'main', 'status/']))
    .split('\n')
    .filter(Boolean);
  const texts = [
    ...(await Promise.all(statusFiles.map((f) => originFile(s.repo, f)))),
    (await originLog(s.repo)).map((c) => `${c.subject}\n${c.body}`).join('\n'),
    s.logs.join('\n'),
    await readFile(join(s.dataDir, 'journal.json'), 'utf8'),
  ];
  for (const e of emails) {
    for (const t of texts) assert.ok(!t.toLowerCase().includes(e.toLowerCase()), `a subject email leaked`);
  }
}

describe('reconcile on a real repository (test driver)', () => {
  let vendor: TestVendor;
  before(
    async () => {
      vendor = await startTestVendor();
    },
    { timeout: 60_000 },
  );
  after(
    async () => {
      await vendor.close();
    },
    { timeout: 60_000 },
  );
  beforeEach(() => vendor.reset(), { timeout: 60_000 });

  it('records approved and unapproved requests, one commit per pass that changed something, none otherwise', {
    timeout: 60_000,
  }, async () => {
    const s = await scenario(vendor.url, { unapproved: [UNAPPROVED] });
    try {
      const before = await originLog(s.repo);
      const c = await s.open();
      const first = await c.reconciler.pass();
      await c.close();
      assert.ok(first.commit, 'the first pass commits statuses');
      const log1 = await originLog(s.repo);
      assert.equal(log1.length, before.length + 1, 'exactly one status commit');
      assert.equal(log1[0]!.author, 'lethe-bot@example.com');
      assert.match(log1[0]!.subject, /^lethe: /);
      assert.match(log1[0]!.body, /Lethe-Request: 2026-11-0042/);

      const unapproved = await statusOf(s, UNAPPROVED);
      assert.equal(unapproved.status.phase, 'AwaitingApproval');
      assert.equal(unapproved.status.approval?.approved, false);
      assert.match(unapproved.status.approval!.reason, /without a merge commit|no approver/i);
      assert.ok(
        ![...vendor.submissions.keys()].some((k) => k.startsWith(`${UNAPPROVED}/`)),
        'no vendor call for an unapproved request',
      );

      const approved = await statusOf(s, '2026-11-0042');
      assert.equal(approved.status.approval?.approved, true);
      assert.deepEqual(
        approved.status.approval?.approvers.map((a) => a.email),
        ['dpo@example.com'],
      );
      assert.ok(['InProgress', 'Completed'].includes(approved.status.phase));

      await settle(s);
      const log2 = await originLog(s.repo);
      const final = await statusOf(s, '2026-11-0042');
      assert.equal(final.status.phase, 'Completed');
      assert.ok(Object.values(final.status.vendors).every((v) => v.phase === 'Completed' && v.jobIds?.length === 1));
      assert.equal((await statusOf(s, UNAPPROVED)).status.phase, 'AwaitingApproval');
      assert.ok(
        [...vendor.submissions.values()].every((n) => n === 1),
        'one submission per request and vendor',
      );

      // A pass that learns nothing writes nothing.
      const c2 = await s.open();
      const quiet = await c2.reconciler.pass();
      await c2.close();
      assert.equal(quiet.commit, undefined);
      assert.equal((await originLog(s.repo)).length, log2.length);
      const dashboard = await originFile(s.repo, 'status/README.md');
      assert.match(dashboard, /\| \[2026-11-0042\]\(2026-11-0042\.yaml\) \| erasure \| gdpr \| Completed \|/);
      await assertNoSubjectEmails(s, await exampleEmails(s.repo));
    } finally {
      await removeScratchRepo(s.repo);
    }
  });

  it('does not count a merge by a non-approver or by the request author', { timeout: 60_000 }, async () => {
    const s = await scenario(vendor.url, { omit: ['2026-11-0044', '2026-11-0045'] });
    try {
      const w = s.repo.work;
      const src = (name: string) =>
        readFile(join('examples/privacy-repo', s.repo.requests.get(name) ?? `requests/2026/11/${name}.yaml`), 'utf8');
      for (const [name, merger] of [
        ['2026-11-0044', PEOPLE.outsider],
        ['2026-11-0045', PEOPLE.dpo],
      ] as const) {
        await gitAs(w, undefined, ['checkout', '-q', '-b', `req-${name}`, 'main']);
        await writeFile(join(w, `requests/2026/11/${name}.yaml`), await src(name));
        // The DPO authoring their own request cannot also approve it.
        await gitAs(w, name === '2026-11-0045' ? PEOPLE.dpo : PEOPLE.requester, ['add', '-A']);
        await gitAs(w, name === '2026-11-0045' ? PEOPLE.dpo : PEOPLE.requester, ['commit', '-q', '-m', `Add ${name}`]);
        await gitAs(w, undefined, ['checkout', '-q', 'main']);
        await gitAs(w, merger, ['merge', '-q', '--no-ff', '-m', `Merge ${name}`, `req-${name}`]);
      }
      await gitAs(w, undefined, ['push', '-q', 'origin', 'main']);
      const c = await s.open();
      await c.reconciler.pass();
      await c.close();
      const outsider = await statusOf(s, '2026-11-0044');
      assert.equal(outsider.status.phase, 'AwaitingApproval');
      assert.match(outsider.status.approval!.reason, /not a listed approver|not an approver/i);
      const self = await statusOf(s, '2026-11-0045');
      assert.equal(self.status.phase, 'AwaitingApproval');
      assert.match(self.status.approval!.reason, /author/i);
      assert.ok(
        ![...vendor.submissions.keys()].some((k) => k.startsWith('2026-11-0044/') || k.startsWith('2026-11-0045/')),
      );
    } finally {
      await removeScratchRepo(s.repo);
    }
  });

  it('keeps running an approved request under its approved spec when an unapproved edit lands, and reports the edit', {
    timeout: 60_000,
  }, async () => {
    vendor.pollsToFinish = 1000;
    const s = await scenario(vendor.url);
    try {
      const c = await s.open();
      await c.reconciler.pass();
      await c.close();
      assert.equal((await statusOf(s, '2026-11-0048')).status.approval?.approved, true);
      const path = s.repo.requests.get('2026-11-0048')!;
      const text = await readFile(join(s.repo.work, path), 'utf8');
      await writeFile(
        join(s.repo.work, path),
        text.replace(/justification: .*/, 'justification: "edited after approval"'),
      );
      await gitAs(s.repo.work, PEOPLE.requester, ['commit', '-q', '-am', 'Edit request']);
      await gitAs(s.repo.work, PEOPLE.requester, ['pull', '-q', '--rebase', 'origin', 'main']);
      await gitAs(s.repo.work, undefined, ['push', '-q', 'origin', 'main']);
      const calls = vendor.calls.length;
      const c2 = await s.open();
      const r = await c2.reconciler.pass();
      await c2.close();
      const edited = await statusOf(s, '2026-11-0048');
      assert.equal(edited.status.phase, 'InProgress');
      assert.equal(edited.status.approval?.approved, true);
      const pending = edited.status.conditions.find((c) => c.type === 'PendingChange');
      assert.equal(pending?.status, 'True');
      assert.match(pending!.message, /unapproved edit of requests\/.*2026-11-0048\.yaml \(spec\.justification\)/);
      assert.ok(
        r.plan.actions.some((a) => a.keys.some((k) => k.startsWith('2026-11-0048/'))),
        'the approved request keeps being worked on',
      );
      assert.ok(
        vendor.calls.slice(calls).every((call) => !call.body.includes('edited after approval')),
        'never with the unapproved spec',
      );
      assert.match(
        await gitAs(s.repo.origin, undefined, ['show', 'main:status/README.md']),
        /## Unapproved changes on main[\s\S]*2026-11-0048\.yaml \| edit/,
      );
    } finally {
      vendor.pollsToFinish = 1;
      await removeScratchRepo(s.repo);
    }
  });

  it('withdraws nothing on an unapproved deletion of an approved request under way: no task is Skipped', async () => {
    vendor.pollsToFinish = 1000;
    const s = await scenario(vendor.url);
    try {
      const c = await s.open();
      await c.reconciler.pass();
      await c.close();
      const path = s.repo.requests.get('2026-11-0048')!;
      await gitAs(s.repo.work, PEOPLE.outsider, ['rm', '-q', path]);
      await gitAs(s.repo.work, PEOPLE.outsider, ['commit', '-q', '-m', 'Withdraw']);
      await gitAs(s.repo.work, PEOPLE.outsider, ['pull', '-q', '--rebase', 'origin', 'main']);
      await gitAs(s.repo.work, undefined, ['push', '-q', 'origin', 'main']);
      const c2 = await s.open();
      await c2.reconciler.pass();
      const tasks = Object.values(c2.journal.data.tasks).filter((t) => t.request === '2026-11-0048');
      await c2.close();
      const st = await statusOf(s, '2026-11-0048');
      assert.equal(st.status.phase, 'InProgress');
      assert.ok(
        tasks.length > 0 && tasks.every((t) => t.phase !== 'Skipped' && t.phase !== 'Cancelled'),
        JSON.stringify(tasks.map((t) => t.phase)),
      );
      assert.match(
        st.status.conditions.find((c) => c.type === 'PendingChange')?.message ?? '',
        /unapproved delete of requests\/.*2026-11-0048\.yaml/,
      );
    } finally {
      vendor.pollsToFinish = 1;
      await removeScratchRepo(s.repo);
    }
  });

  it('records an invalid manifest with its location while the others proceed', { timeout: 60_000 }, async () => {
    const s = await scenario(vendor.url);
    try {
      const bad = 'requests/2026/11/2026-11-0099.yaml';
      await writeFile(
        join(s.repo.work, bad),
        'apiVersion: lethe/v1\nkind: PrivacyRequest\nmetadata:\n  name: 2026-11-0099\nspec:\n  action: forget\n  regulation: gdpr\n  receivedAt: 2026-11-20\n  subject:\n    emails: [nobody@example.com]\n  vendors: [maestroqa]\n  justification: x\n',
      );
      await gitAs(s.repo.work, PEOPLE.requester, ['add', '-A']);
      await gitAs(s.repo.work, PEOPLE.requester, ['commit', '-q', '-m', 'Add a broken request']);
      await gitAs(s.repo.work, undefined, ['push', '-q', 'origin', 'main']);
      const c = await s.open();
      const r = await c.reconciler.pass();
      await c.close();
      const invalid = await statusOf(s, '2026-11-0099');
      assert.equal(invalid.status.phase, 'Invalid');
      assert.deepEqual(
        invalid.status.errors?.map((e) => `${e.file}:${e.line}:${e.column} ${e.code}`),
        [`${bad}:6:11 INVALID_VALUE`],
      );
      assert.ok(r.problems.some((p) => p.file === bad));
      assert.notEqual((await statusOf(s, '2026-11-0042')).status.phase, 'Invalid');
      assert.ok(vendor.submissions.size > 0);
      assert.ok(!(await originFile(s.repo, `status/2026-11-0099.yaml`)).includes('nobody@example.com'));
    } finally {
      await removeScratchRepo(s.repo);
    }
  });

  it('keeps a human commit pushed while the controller works, and its own status', { timeout: 60_000 }, async () => {
    const s = await scenario(vendor.url);
    try {
      const human = join(s.repo.root, 'human');
      await gitAs(s.repo.root, undefined, ['clone', '-q', s.repo.origin, human]);
      let pushed: Promise<string> | undefined;
      vendor.onSubmit = () => {
        if (pushed) return;
        pushed = (async () => {
          await writeFile(join(human, 'NOTES.md'), 'team notes\n');
          await gitAs(human, PEOPLE.lead, ['add', '-A']);
          await gitAs(human, PEOPLE.lead, ['commit', '-q', '-m', 'Team notes']);
          await gitAs(human, undefined, ['push', '-q', 'origin', 'main']);
          return gitAs(human, undefined, ['rev-parse', 'HEAD']);
        })();
      };
      const c = await s.open();
      const r = await c.reconciler.pass();
      await c.close();
      vendor.onSubmit = undefined;
      const humanSha = await pushed!;
      assert.ok(r.pushed, 'the status commit was pushed after a rebase');
      const log = await originLog(s.repo);
      assert.ok(
        log.some((e) => e.sha === humanSha),
        'the human commit is on origin, unchanged',
      );
      assert.equal(log[0]!.author, 'lethe-bot@example.com');
      assert.ok((await originFile(s.repo, 'status/2026-11-0042.yaml')).includes('2026-11-0042'));
    } finally {
      vendor.onSubmit = undefined;
      await removeScratchRepo(s.repo);
    }
  });

  it('rebuilds from status/ in git when the journal is lost, without submitting again', {
    timeout: 60_000,
  }, async () => {
    vendor.pollsToFinish = 3;
    const s = await scenario(vendor.url, { omit: ['2026-11-0044', '2026-11-0046'] });
    try {
      const c = await s.open();
      await c.reconciler.pass();
      await c.close();
      const before = new Map(vendor.submissions);
      await rm(join(s.dataDir, 'journal.json'));
      assert.ok(!(await readdir(s.dataDir)).includes('journal.json'));
      await settle(s);
      for (const [label, n] of vendor.submissions)
        assert.equal(n, before.get(label) ?? n, `no second submission for ${label}`);
      assert.ok(
        [...vendor.submissions.values()].every((n) => n === 1),
        JSON.stringify([...vendor.submissions]),
      );
      assert.equal((await statusOf(s, '2026-11-0042')).status.phase, 'Completed');
    } finally {
      vendor.pollsToFinish = 1;
      await removeScratchRepo(s.repo);
    }
  });
});
