/**
 * Finished requests are kept without their manifest (controller/core/pass/finished.ts). The
 * oracle throughout: a controller started afresh, which parses every manifest whole, finds
 * nothing to change in status/ and no other problem, so keeping a request finished never
 * changes what Lethe says or does.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Controller } from '../../controller/core/app.ts';
import type { PassReport } from '../../controller/core/reconcile.ts';
import { seedTask } from '../../controller/core/planner.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { removeScratchRepo, type ScratchRepoOptions } from '../../examples/demo/scratch-repo.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { originFile, originLog, scenario, type Scenario } from '../support/scenario.ts';
import { suiteTestVendor } from '../support/test-vendor.ts';

const FINAL = ['Completed', 'Failed', 'Cancelled', 'Skipped'];

/** Passes of one controller (one memory) until no task is open and nothing is planned (bounded). */
async function settle(c: Controller, maxPasses = 20): Promise<PassReport> {
  for (let i = 0; i < maxPasses; i++) {
    const r = await c.reconciler.pass();
    const open = Object.values(c.journal.data.tasks).filter((t) => !FINAL.includes(t.phase));
    if (open.length === 0 && r.plan.actions.length === 0) return r;
    await new Promise((res) => setTimeout(res, 60));
  }
  throw new Error('did not settle');
}

/** status/*.yaml on origin's main, by request name. */
async function statuses(s: Scenario): Promise<Map<string, string>> {
  const files = (await gitAs(s.repo.origin, undefined, ['ls-tree', '-r', '--name-only', 'main', 'status/']))
    .split('\n')
    .filter((f) => f.endsWith('.yaml'));
  const out = new Map<string, string>();
  for (const f of files) out.set(f.slice('status/'.length, -'.yaml'.length), await originFile(s.repo, f));
  return out;
}

const phaseOf = (text: string) => PrivacyRequestStatus.parse(parse(text)).status.phase;

/** The DPO merges a change proposed by the requester on a branch (null deletes a file), then pushes. */
async function approvedChange(s: Scenario, files: Record<string, string | null>, message: string): Promise<void> {
  const w = s.repo.work;
  await gitAs(w, undefined, ['pull', '-q', '--rebase', 'origin', 'main']);
  await gitAs(w, undefined, ['checkout', '-q', '-b', 'change', 'main']);
  for (const [path, text] of Object.entries(files)) {
    if (text === null) {
      await gitAs(w, PEOPLE.requester, ['rm', '-q', path]);
      continue;
    }
    await mkdir(dirname(join(w, path)), { recursive: true });
    await writeFile(join(w, path), text);
  }
  await gitAs(w, PEOPLE.requester, ['add', '-A']);
  await gitAs(w, PEOPLE.requester, ['commit', '-q', '-m', message]);
  await gitAs(w, undefined, ['checkout', '-q', 'main']);
  await gitAs(w, PEOPLE.dpo, ['merge', '-q', '--no-ff', '-m', `Merge: ${message}`, 'change']);
  await gitAs(w, undefined, ['branch', '-q', '-D', 'change']);
  await gitAs(w, undefined, ['push', '-q', 'origin', 'main']);
}

/** A controller with a new memory over the same repository and journal: it parses everything whole. */
async function freshControllerChangesNothing(s: Scenario, reason: string): Promise<PassReport> {
  const before = (await originLog(s.repo)).length;
  const fresh = await s.open();
  try {
    const r = await fresh.reconciler.pass();
    assert.equal(r.commit, undefined, `a controller parsing every manifest whole changes no status: ${reason}`);
    assert.equal((await originLog(s.repo)).length, before);
    return r;
  } finally {
    await fresh.close();
  }
}

describe('finished requests are kept without their manifest', () => {
  const testVendor = suiteTestVendor();

  /** A scratch repository and one controller (one memory) that has settled every request. */
  async function settledScenario(
    options: ScratchRepoOptions,
    body: (s: Scenario, c: Controller, settled: PassReport) => Promise<void>,
  ): Promise<void> {
    const s = await scenario(testVendor().url, options);
    const c = await s.open();
    try {
      await body(s, c, await settle(c));
    } finally {
      await c.close();
      await removeScratchRepo(s.repo);
    }
  }

  it('once their status is committed; their statuses stay as whole manifests make them, through an unapproved edit and a new request', {
    timeout: 120_000,
  }, async () => {
    await settledScenario({ omit: ['2026-11-0044'] }, async (s, c, settled) => {
      const finished = [...(await statuses(s))].filter(([, t]) => phaseOf(t) === 'Completed').map(([n]) => n);
      assert.ok(finished.length >= 3, 'the example repository finishes several requests');
      assert.equal(settled.held.finished, finished.length, 'every completed request is kept without its manifest');
      assert.ok(settled.held.parsed >= 2, 'lethe.yaml and the connections stay parsed');

      const quiet = await c.reconciler.pass();
      assert.equal(quiet.commit, undefined, 'a quiet pass writes nothing');
      assert.deepEqual(quiet.held, settled.held);

      // Someone who may not approve edits a finished request: shown on its status, never acted on.
      const path = s.repo.requests.get('2026-11-0042')!;
      const text = await readFile(join(s.repo.work, path), 'utf8');
      await writeFile(join(s.repo.work, path), text.replace(/justification: .*/, 'justification: "edited later"'));
      await gitAs(s.repo.work, PEOPLE.outsider, ['commit', '-q', '-am', 'Edit a finished request']);
      await gitAs(s.repo.work, PEOPLE.outsider, ['pull', '-q', '--rebase', 'origin', 'main']);
      await gitAs(s.repo.work, undefined, ['push', '-q', 'origin', 'main']);
      const calls = testVendor().calls.length;
      const edited = await c.reconciler.pass();
      assert.equal(testVendor().calls.length, calls, 'no vendor call for a finished request');
      const status = PrivacyRequestStatus.parse(parse(await originFile(s.repo, 'status/2026-11-0042.yaml')));
      assert.equal(status.status.phase, 'Completed');
      const pending = status.status.conditions.find((x) => x.type === 'PendingChange');
      assert.equal(pending?.status, 'True');
      assert.match(pending!.message, /unapproved edit of requests\/.*2026-11-0042\.yaml \(spec\.justification\)/);
      assert.equal(edited.held.finished, finished.length, 'the approved version is the one kept, still finished');
      await freshControllerChangesNothing(s, 'after an unapproved edit of a finished request');

      // A new approved request runs beside them; the finished ones are not read again.
      const newPath = 'requests/2026/11/2026-11-0044.yaml';
      await approvedChange(
        s,
        { [newPath]: await readFile(join('examples/privacy-repo', newPath), 'utf8') },
        'Add 2026-11-0044',
      );
      const added = await c.reconciler.pass();
      assert.ok(
        [...testVendor().submissions.keys()].some((k) => k.startsWith('2026-11-0044/')),
        'the new request is acted on',
      );
      assert.equal(added.held.finished, finished.length);
      const done = await settle(c);
      assert.equal(done.held.finished, finished.length + 1, 'and is kept without its manifest once it finished');
      assert.ok(
        [...testVendor().submissions.values()].every((n) => n === 1),
        'one submission per request and vendor',
      );
      await freshControllerChangesNothing(s, 'after a new request finished');
    });
  });

  it('are read back where a change could alter their checks: a connection edited, a file of the same name', {
    timeout: 120_000,
  }, async () => {
    await settledScenario({}, async (s, c, settled) => {
      assert.ok(settled.held.finished >= 3);
      const before = await statuses(s);

      const vendorPath = 'vendors/maestroqa.yaml';
      const vendorText = await readFile(join(s.repo.work, vendorPath), 'utf8');
      await approvedChange(s, { [vendorPath]: `${vendorText.trimEnd()}\n  concurrency: 2\n` }, 'Tune maestroqa');
      const tuned = await c.reconciler.pass();
      assert.deepEqual(tuned.problems, []);
      assert.equal(tuned.held.finished, settled.held.finished, 'read back for the check, then dropped again');
      for (const [name, text] of before)
        assert.equal((await statuses(s)).get(name), text, `status of ${name} unchanged by a connection edit`);
      await freshControllerChangesNothing(s, 'after a connection edit');

      // A connection finished requests name is removed: they are checked again, whole.
      await approvedChange(s, { 'vendors/qualifio.yaml': null }, 'Remove qualifio');
      const removed = await c.reconciler.pass();
      const unknown = removed.problems.filter((p) => p.code === 'UNKNOWN_VENDOR').map((p) => p.file);
      assert.ok(unknown.includes(s.repo.requests.get('2026-11-0043')!), 'a finished request naming it is reported');
      assert.deepEqual(
        (await freshControllerChangesNothing(s, 'after a connection was removed')).problems,
        removed.problems,
      );

      // A second file claims a finished request's name: both are reported, as if both were parsed whole.
      const original = await readFile(join(s.repo.work, s.repo.requests.get('2026-11-0042')!), 'utf8');
      await approvedChange(s, { 'requests/copies/2026-11-0042.yaml': original }, 'Copy a request');
      const copied = await c.reconciler.pass();
      const duplicates = copied.problems.filter((p) => p.code === 'DUPLICATE_NAME').map((p) => p.file);
      assert.deepEqual(duplicates.sort(), ['requests/2026/11/2026-11-0042.yaml', 'requests/copies/2026-11-0042.yaml']);
      assert.deepEqual(
        (await freshControllerChangesNothing(s, 'after a duplicate name')).problems.map((p) => `${p.code} ${p.file}`),
        copied.problems.map((p) => `${p.code} ${p.file}`),
      );
    });
  });

  it('one with work again is read back before anything acts: the vendor gets its subject, once', {
    timeout: 120_000,
  }, async () => {
    await settledScenario({}, async (_s, c, settled) => {
      const key = '2026-11-0042/maestroqa';
      assert.equal(c.journal.task(key)?.phase, 'Completed');
      assert.equal(testVendor().submissions.get(key), 1);
      // The journal says the task must run again (as an operator's reset would): nothing in
      // the model was touched, so only the plan input can notice.
      c.journal.putTask(seedTask('2026-11-0042', 'maestroqa', 'erasure'));
      testVendor().emails.clear();
      const calls = testVendor().calls.length;
      const reopened = await c.reconciler.pass();
      assert.equal(testVendor().submissions.get(key), 2, 'submitted again');
      const submit = testVendor()
        .calls.slice(calls)
        .find((x) => x.method === 'POST' && x.body.includes(key));
      assert.deepEqual(JSON.parse(submit!.body).emails, ['jane.doe@example.com'], 'with the subject of the manifest');
      assert.ok(reopened.held.finished < settled.held.finished, 'kept whole while it has work');
      const done = await settle(c);
      assert.equal(c.journal.task(key)?.phase, 'Completed');
      assert.equal(done.held.finished, settled.held.finished, 'and dropped again once finished');
    });
  });
});
