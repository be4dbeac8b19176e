import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { JournalData } from '../../state/journal.ts';
import { scenario, TEST_ENV, type Scenario } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

describe('lethe run', () => {
  let vendor: TestVendor;
  let s: Scenario;
  before(
    async () => {
      vendor = await startTestVendor();
      vendor.pollsToFinish = 1_000_000;
      s = await scenario(vendor.url);
    },
    { timeout: 60_000 },
  );
  after(
    async () => {
      await vendor.close();
      await removeScratchRepo(s.repo);
    },
    { timeout: 60_000 },
  );

  it('finishes the pass in flight on SIGTERM, flushes the journal and exits 0', { timeout: 60_000 }, async (t) => {
    // The real drivers cannot reach the test vendor's routes: the pass still runs (tasks
    // record errors and wait) and the signal must find the process mid-work or idle.
    const child = spawn(
      process.execPath,
      [
        'controller/cli/bin.mjs',
        'run',
        '--remote',
        s.repo.origin,
        '--data',
        s.dataDir,
        '--log-format',
        'json',
        '--metrics-listen',
        '127.0.0.1:0',
      ],
      {
        env: { ...process.env, ...TEST_ENV },
        stdio: ['ignore', 'pipe', 'pipe'],
        signal: t.signal,
        killSignal: 'SIGKILL',
      },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    // Wait for the first finished pass, then ask it to stop.
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no pass finished: ${stderr.slice(-500)}`)), 60_000);
      child.stderr.on('data', () => {
        if (stderr.includes('"msg":"pass finished"')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, stderr.slice(-800));
    assert.match(stderr, /"msg":"stopped"/);
    for (const line of stderr.trim().split('\n')) {
      const entry = JSON.parse(line) as { level: string; time: string; msg: string };
      assert.ok(
        ['debug', 'info', 'warn', 'error'].includes(entry.level) && entry.time && entry.msg,
        'JSON lines with level and time',
      );
    }
    const journal = JournalData.parse(JSON.parse(await readFile(join(s.dataDir, 'journal.json'), 'utf8')));
    assert.ok(journal.lastCommit, 'the journal was flushed with the reconciled commit');
    assert.ok(
      !/@example\.com/.test(stderr.replace(/lethe-bot@example\.com|dpo@example\.com/g, '')),
      'no subject email in the log',
    );
  });

  it('lethe status lists the committed statuses, earliest due first, without the journal', {
    timeout: 60_000,
  }, async () => {
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(process.execPath, ['controller/cli/bin.mjs', 'status', '--repo', s.repo.origin, '--json'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as Array<{
      name: string;
      phase: string;
      dueAt: string;
      vendors: string;
      overdue: boolean;
    }>;
    assert.equal(rows.length, 9);
    assert.deepEqual(
      rows.map((x) => x.dueAt),
      [...rows.map((x) => x.dueAt)].sort(),
    );
    assert.ok(rows.every((x) => /^\d+\/\d+$/.test(x.vendors) && x.overdue === false));
    assert.ok(!r.stdout.includes('@example.com'), 'no subject email in the listing');
    const text = spawnSync(process.execPath, ['controller/cli/bin.mjs', 'status', '--repo', s.repo.origin], {
      encoding: 'utf8',
    });
    assert.match(text.stdout.split('\n')[0]!, /^NAME\s+ACTION\s+PHASE\s+DUE\s+VENDORS\s+REASON$/);
  });
});
