import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { originLog, scenario, type Scenario } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

/** Passes until nothing is left to do (bounded), in one controller lifetime. */
async function settle(s: Scenario, maxPasses = 20): Promise<void> {
  const c = await s.open();
  try {
    for (let i = 0; i < maxPasses; i++) {
      const r = await c.reconciler.pass();
      const open = Object.values(c.journal.data.tasks).filter(
        (t) => !['Completed', 'Failed', 'Skipped', 'Cancelled', 'Stalled'].includes(t.phase),
      );
      if (open.length === 0 && r.plan.actions.length === 0) return;
      await new Promise((res) => setTimeout(res, 60));
    }
  } finally {
    await c.close();
  }
  throw new Error('did not settle');
}

describe('byte-identical restarts', () => {
  let vendor: TestVendor;
  let s: Scenario;
  before(async () => {
    vendor = await startTestVendor();
    s = await scenario(vendor.url, { unapproved: ['2026-11-0050'] });
  });
  after(async () => {
    await vendor.close();
    await removeScratchRepo(s.repo);
  });

  it('a controller restarted five times that learned nothing makes no commit and no vendor call', async () => {
    await settle(s);
    const settled = await originLog(s.repo);
    const callsBefore = vendor.calls.length;
    for (let restart = 1; restart <= 5; restart++) {
      const c = await s.open();
      try {
        const r = await c.reconciler.pass();
        assert.equal(r.commit, undefined, `restart ${restart} committed ${JSON.stringify(r.changes)}`);
      } finally {
        await c.close();
      }
    }
    assert.deepEqual(
      (await originLog(s.repo)).map((c) => c.sha),
      settled.map((c) => c.sha),
      'origin unchanged',
    );
    assert.equal(vendor.calls.length, callsBefore, 'no vendor call for finished work');
  });
});
