import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openController, type Controller } from '../../controller/core/app.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { sandboxEnv } from '../../examples/demo/sandbox-wiring.ts';
import { startSandbox, type Sandbox } from '../../examples/sandbox/index.ts';
import { bulkRequests, createBenchRepo, maestroqaYaml } from '../bench/lib.ts';

const REQUESTS = 15;
const SLOW_WRITE_MS = 600;

interface Backlog {
  sandbox: Sandbox;
  /** The local working copy `lethe run --repo` reconciles (its refs can be watched). */
  repo: string;
  controller: Controller;
  /** Warnings and errors the controller logged. */
  lines: string[];
  /** Every status commit (checkpoints and the pass's own), made SLOW_WRITE_MS slower. */
  writes: { start: number; end: number }[];
  close(): Promise<void>;
}

/** REQUESTS approved erasures at the MaestroQA sandbox (batches of 5), `lethe run --repo` style. */
async function backlog(pollIntervalSeconds: number): Promise<Backlog> {
  const sandbox = await startSandbox({
    port: 0,
    timeScale: 0.00005,
    limitScale: 20,
    generatedSubjects: REQUESTS,
    outcomes: { maestroqaErrorRate: 0 },
    seed: 5,
  });
  const root = await mkdtemp(join(tmpdir(), 'lethe-follow-up-'));
  const v = sandbox.config.vendors.maestroqa;
  const repo = await createBenchRepo({
    dir: join(root, 'repo'),
    vendors: {
      maestroqa: maestroqaYaml({
        baseUrl: v.baseUrl,
        rateLimits: v.rateLimits.map((w) => ({ limit: w.limit, perSeconds: w.windowMs / 1000 })),
        pollIntervalSeconds,
        maxPollIntervalSeconds: 2 * pollIntervalSeconds,
      }),
    },
    approved: bulkRequests(REQUESTS, ['maestroqa']),
  });
  const lines: string[] = [];
  const controller = await openController({
    repo,
    dataDir: join(root, 'data'),
    env: { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'follow-up-salt' },
    log: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
    push: false,
    checkpointMs: 100,
    drivers: createDriverTable(),
  });
  const writes: { start: number; end: number }[] = [];
  const write = controller.source.writeStatus.bind(controller.source);
  controller.source.writeStatus = async (...args) => {
    const start = Date.now();
    try {
      // Slow before and after the branch moves: a ref watcher sees the status commit well
      // before the record step returns it.
      await new Promise((r) => setTimeout(r, SLOW_WRITE_MS / 2));
      const written = await write(...args);
      await new Promise((r) => setTimeout(r, SLOW_WRITE_MS / 2));
      return written;
    } finally {
      writes.push({ start, end: Date.now() });
    }
  };
  return {
    sandbox,
    repo,
    controller,
    lines,
    writes,
    async close() {
      await controller.close();
      await sandbox.stop();
      await rm(root, { recursive: true, force: true });
    },
  };
}

const isPoll = (e: { method: string; route: string }) => e.method === 'GET' && e.route.includes('data-deletion-check');

/**
 * Pipelined passes (issue 20 item 1): vendor work never waits for the record step. A
 * MaestroQA backlog (3 batched DELETEs, then one status poll per job 0.1 s later) under
 * `lethe run --repo` (refs watched), with every status commit made deliberately slow. The
 * polls must go out before the first status commit is over, in the same pass as the
 * DELETEs, and the controller's own commits must not end that pass; before, a pass ended
 * with its record step and the polls waited for the next pass.
 */
describe('follow-ups: a task due again soon is taken in the same pass', () => {
  for (const followUpMs of [30_000, 0]) {
    it(followUpMs > 0
      ? 'polls before a slow status commit is over, in one pass, refs watched'
      : 'without follow-ups, polls wait for the next pass', {
      timeout: 90_000,
    }, async () => {
      const b = await backlog(0.1);
      try {
        const runner = new Runner({
          controller: b.controller,
          log: createLogger({ level: 'warn', write: (l) => b.lines.push(l) }),
          schedule: '0 0 1 1 *',
          untilIdle: true,
          maxSleepMs: 1_000,
          followUpMs,
          // As `lethe run --repo`: the controller's own status commits must not end the pass.
          watchRepo: b.repo,
        });
        const guard = setTimeout(() => runner.stop(), 60_000);
        await runner.start();
        clearTimeout(guard);
        const tasks = Object.values(b.controller.journal.data.tasks);
        const ledger = b.sandbox.ledger().filter((e) => e.vendor === 'maestroqa');
        const deletes = ledger.filter((e) => e.method === 'DELETE');
        const polls = ledger.filter(isPoll);
        const stats = b.sandbox.stats().maestroqa;
        assert.equal(tasks.length, REQUESTS);
        assert.ok(
          tasks.every((t) => t.phase === 'Completed'),
          `all completed: ${tasks.map((t) => t.phase).join(',')}`,
        );
        assert.equal(stats.rateLimitViolations, 0);
        assert.equal(stats.duplicateSubmissions, 0);
        assert.equal(deletes.length, REQUESTS / 5, 'one DELETE per batch of 5');
        assert.ok(polls.length >= REQUESTS / 5, `every job polled (${polls.length})`);
        assert.deepEqual(
          b.lines.filter((l) => l.includes('"level":"error"')),
          [],
        );
        const firstWrite = [...b.writes].sort((x, y) => x.start - y.start)[0]!;
        const firstPoll = Math.min(...polls.map((p) => p.at));
        if (followUpMs > 0) {
          assert.equal(runner.passes, 1, 'submitted, polled and recorded in one pass');
          assert.ok(
            firstPoll < firstWrite.end,
            `the first poll (${firstPoll - firstWrite.start} ms after the first status write began) did not wait for it (${SLOW_WRITE_MS} ms)`,
          );
        } else {
          // The behaviour the follow-ups replace: the record step sits between DELETE and poll.
          assert.ok(runner.passes >= 2, `passes: ${runner.passes}`);
          assert.ok(firstPoll >= firstWrite.end, 'the first poll waited for the record step');
        }
      } finally {
        await b.close();
      }
    });
  }

  it('a trigger ends the waiting at once, and so does a stop', { timeout: 90_000 }, async () => {
    // Polls due 20 s after the DELETEs: within the 30 s horizon, so the pass waits for them.
    const b = await backlog(20);
    try {
      const passEnds: number[] = [];
      const runner = new Runner({
        controller: b.controller,
        log: createLogger({ level: 'warn', write: (l) => b.lines.push(l) }),
        schedule: '0 0 1 1 *',
        maxSleepMs: 60_000,
        followUpMs: 30_000,
        onPass: () => passEnds.push(Date.now()),
      });
      const running = runner.start();
      const deadline = Date.now() + 30_000;
      while (b.sandbox.ledger().filter((e) => e.method === 'DELETE').length < REQUESTS / 5 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(passEnds, [], 'the first pass waits for its polls');
      const triggered = Date.now();
      runner.trigger('commit');
      while (passEnds.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.equal(passEnds.length, 1);
      // The pass still records (SLOW_WRITE_MS per status commit): bounded, far below the 20 s poll.
      assert.ok(passEnds[0]! - triggered < 5_000, `the pass ended ${passEnds[0]! - triggered} ms after the trigger`);
      assert.equal(b.sandbox.ledger().filter(isPoll).length, 0, 'no poll before its time');
      // The triggered pass waits for the same polls; a stop ends it too.
      await new Promise((r) => setTimeout(r, 300));
      const stopped = Date.now();
      runner.stop();
      await running;
      assert.ok(Date.now() - stopped < 5_000, `stopped after ${Date.now() - stopped} ms`);
      const tasks = Object.values(b.controller.journal.data.tasks);
      assert.ok(
        tasks.every((t) => t.phase === 'InProgress' && t.nextCheckAt !== undefined),
        'the journal keeps every poll for a later pass',
      );
    } finally {
      await b.close();
    }
  });

  it("the controller's own status commits do not end the waiting (refs watched)", { timeout: 90_000 }, async () => {
    // Polls 3 s after the DELETEs: checkpoints commit (and move the watched branch) meanwhile.
    const b = await backlog(3);
    try {
      const runner = new Runner({
        controller: b.controller,
        log: createLogger({ level: 'info', write: (l) => b.lines.push(l) }),
        schedule: '0 0 1 1 *',
        untilIdle: true,
        maxSleepMs: 1_000,
        followUpMs: 30_000,
        watchRepo: b.repo,
      });
      const guard = setTimeout(() => runner.stop(), 60_000);
      await runner.start();
      clearTimeout(guard);
      const tasks = Object.values(b.controller.journal.data.tasks);
      assert.ok(tasks.length === REQUESTS && tasks.every((t) => t.phase === 'Completed'));
      const polls = b.sandbox.ledger().filter(isPoll);
      const firstPoll = Math.min(...polls.map((p) => p.at));
      assert.ok(
        b.writes.some((w) => w.end < firstPoll),
        'a status commit landed on the watched branch while the pass waited for its polls',
      );
      assert.equal(
        runner.passes,
        1,
        `no pass was started (or cut short) by its own commits: ${b.lines.filter((l) => l.includes('pass finished') || l.includes('status committed')).join('\n')}`,
      );
    } finally {
      await b.close();
    }
  });
});
