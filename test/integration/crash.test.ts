import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { JournalData } from '../../state/journal.ts';
import { scenario, TEST_ENV } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

describe('a crash between an intent and its answer', () => {
  let vendor: TestVendor;
  before(
    async () => {
      vendor = await startTestVendor();
    },
    { timeout: 60_000 },
  );
  after(async () => vendor.close(), { timeout: 60_000 });

  it('is resolved by asking the vendor, never by submitting again', { timeout: 60_000 }, async (t) => {
    const s = await scenario(vendor.url, {
      omit: [
        '2026-11-0043',
        '2026-11-0044',
        '2026-11-0045',
        '2026-11-0046',
        '2026-11-0047',
        '2026-11-0049',
        '2026-11-0050',
      ],
    });
    try {
      vendor.hangSubmissions = true;
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/support/controller-process.ts', s.repo.origin, s.dataDir],
        {
          env: { ...process.env, ...TEST_ENV },
          stdio: ['ignore', 'pipe', 'pipe'],
          signal: t.signal,
          killSignal: 'SIGKILL',
        },
      );
      const output: string[] = [];
      child.stdout.on('data', (d) => output.push(String(d)));
      child.stderr.on('data', (d) => output.push(String(d)));
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      // The vendor has the submission but has not answered: the controller dies right there.
      await new Promise<void>((resolve) => {
        vendor.onSubmit = () => {
          child.kill('SIGKILL');
          resolve();
        };
      });
      assert.equal(await exited, 'SIGKILL');
      assert.ok(!output.join('').includes('pass done'));
      const journal = JournalData.parse(JSON.parse(await readFile(join(s.dataDir, 'journal.json'), 'utf8')));
      const open = Object.values(journal.intents);
      assert.ok(open.length >= 1 && open.every((i) => i.name === 'submit'));
      const journaled = new Set(open.flatMap((i) => i.tasks));
      for (const label of vendor.submissions.keys())
        assert.ok(journaled.has(label), `the intent for ${label} was on disk before its call`);
      const inFlight = vendor.submissions.size;

      vendor.hangSubmissions = false;
      vendor.onSubmit = undefined;
      const c = await s.open();
      for (let i = 0; i < 10; i++) {
        await c.reconciler.pass();
        if (Object.values(c.journal.data.tasks).every((t) => t.phase === 'Completed')) break;
        await new Promise((r) => setTimeout(r, 60));
      }
      await c.close();
      assert.deepEqual(Object.keys(c.journal.data.intents), []);
      assert.ok(Object.values(c.journal.data.tasks).every((t) => t.phase === 'Completed'));
      assert.ok(
        [...vendor.submissions.values()].every((n) => n === 1),
        `no duplicate: ${JSON.stringify([...vendor.submissions])}`,
      );
      assert.ok(vendor.submissions.size >= inFlight);
      assert.equal(vendor.submissions.size, Object.keys(c.journal.data.tasks).length, 'one submission per task');
    } finally {
      vendor.onSubmit = undefined;
      await removeScratchRepo(s.repo);
    }
  });
});
