import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { gitAs } from '../../examples/demo/git-as.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { scenario, TEST_ENV, type Scenario } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

/** A `lethe run` process with the test drivers, its log collected line by line. */
interface Proc {
  child: ChildProcess;
  lines: () => Array<{ msg: string; [k: string]: unknown }>;
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor(msg: string, timeoutMs?: number): Promise<void>;
}

function runProcess(args: string[]): Proc {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'test/support/run-process.ts',
      ...args,
      '--log-format',
      'json',
      '--metrics-listen',
      '127.0.0.1:0',
    ],
    {
      env: { ...process.env, ...TEST_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  const waiters: Array<() => void> = [];
  child.stderr!.on('data', (d) => {
    stderr += String(d);
    for (const w of waiters.splice(0)) w();
  });
  const lines = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return {
    child,
    lines,
    stderr: () => stderr,
    exited,
    async waitFor(msg, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      while (!lines().some((l) => l.msg === msg)) {
        if (Date.now() > deadline) throw new Error(`no "${msg}" in: ${stderr.slice(-1500)}`);
        if (child.exitCode !== null)
          throw new Error(`exited ${child.exitCode} before "${msg}": ${stderr.slice(-1500)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

const duplicates = (v: TestVendor) => [...v.submissions.values()].filter((n) => n > 1).length;

describe('single writer: the lease', () => {
  let vendor: TestVendor;
  const running: Proc[] = [];
  const scenarios: Scenario[] = [];
  before(async () => {
    vendor = await startTestVendor();
  });
  beforeEach(() => {
    vendor.reset();
    vendor.pollsToFinish = 1_000_000; // work stays in progress: the standby has something to take over
  });
  after(async () => {
    for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await Promise.all(running.map((p) => p.exited));
    await vendor.close();
    for (const s of scenarios) await removeScratchRepo(s.repo);
  });
  const start = (args: string[]) => {
    const p = runProcess(args);
    running.push(p);
    return p;
  };

  for (const shared of [true, false]) {
    it(
      shared
        ? 'two controllers on one data directory: one acts, the other exits or stands by and takes over after SIGKILL'
        : 'two controllers on one remote with different data directories: the remote lease decides',
      async () => {
        const s = await scenario(vendor.url);
        scenarios.push(s);
        const dataB = shared ? s.dataDir : join(s.repo.root, 'data-b');
        const base = ['run', '--remote', s.repo.origin, '--lease-seconds', '6', '--schedule', '*/1 * * * * *'];
        const a = start([...base, '--data', s.dataDir]);
        await a.waitFor('pass finished');
        const submitted = vendor.submissions.size;
        assert.ok(submitted >= 8, `the holder submitted the approved requests (${submitted})`);

        // Without --wait-for-lease the second one refuses at once, naming the holder.
        const refused = start([...base, '--data', dataB]);
        assert.equal(await refused.exited, 3);
        assert.match(
          refused.stderr(),
          /LEASE_HELD another controller holds the (data directory|remote lease).*pid \d+ on /,
        );

        const b = start([...base, '--data', dataB, '--wait-for-lease']);
        await b.waitFor('standing by: another controller holds the lease');
        await new Promise((r) => setTimeout(r, 2_500));
        assert.ok(!b.lines().some((l) => l.msg === 'pass finished'), 'the standby does not act while the holder runs');
        assert.ok(a.lines().filter((l) => l.msg === 'pass finished').length >= 2, 'the holder keeps acting');

        a.child.kill('SIGKILL');
        await a.exited;
        await b.waitFor('lease acquired: taking over', 30_000);
        const pollsBefore = vendor.calls.filter((c) => c.method === 'GET').length;
        await b.waitFor('pass finished');
        await new Promise((r) => setTimeout(r, 1_500));
        assert.ok(
          vendor.calls.filter((c) => c.method === 'GET').length > pollsBefore,
          'the new holder polls the work in progress',
        );
        assert.equal(duplicates(vendor), 0, 'no request submitted twice');
        assert.equal(vendor.submissions.size, submitted, 'nothing submitted again after the takeover');
        if (!shared) {
          const lease = await gitAs(s.repo.origin, undefined, ['log', '-1', '--format=%B', 'refs/lethe/lease']);
          assert.equal(JSON.parse(lease).pid, b.child.pid, 'the remote lease names the new holder');
        }
        b.child.kill('SIGTERM');
        assert.equal(await b.exited, 0, b.stderr().slice(-800));
        if (!shared) {
          const refs = await gitAs(s.repo.origin, undefined, ['for-each-ref', '--format=%(refname)', 'refs/lethe/']);
          assert.equal(refs, '', 'a clean stop releases the remote lease');
        }
      },
    );
  }
});
