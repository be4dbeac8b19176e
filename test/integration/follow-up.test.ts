import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openController } from '../../controller/core/app.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { sandboxEnv } from '../../examples/demo/sandbox-wiring.ts';
import { startSandbox } from '../../examples/sandbox/index.ts';
import { bulkRequests, createBenchRepo, maestroqaYaml } from '../bench/lib.ts';

const REQUESTS = 15;
const SLOW_WRITE_MS = 600;

/**
 * Pipelined passes (issue 20 item 1): vendor work never waits for the record step. A
 * MaestroQA backlog (3 batched DELETEs, then one status poll per job 0.1 s later) under
 * `lethe run`, with every status commit made deliberately slow. The polls must go out while
 * a status commit is still being written, in the same pass as the DELETEs; before, a pass
 * ended with its record step and the polls waited for the next pass.
 */
describe('follow-ups: a task due again soon is taken in the same pass', () => {
  for (const followUpMs of [30_000, 0]) {
    it(followUpMs > 0 ? 'polls while a slow status commit is written' : 'without follow-ups, polls wait for the next pass', {
      timeout: 90_000,
    }, async () => {
      const sandbox = await startSandbox({
        port: 0,
        timeScale: 0.00005,
        limitScale: 20,
        generatedSubjects: REQUESTS,
        outcomes: { maestroqaErrorRate: 0 },
        seed: 5,
      });
      const root = await mkdtemp(join(tmpdir(), 'lethe-follow-up-'));
      try {
        const v = sandbox.config.vendors.maestroqa;
        const repo = await createBenchRepo({
          dir: join(root, 'repo'),
          vendors: {
            maestroqa: maestroqaYaml({
              baseUrl: v.baseUrl,
              rateLimits: v.rateLimits.map((w) => ({ limit: w.limit, perSeconds: w.windowMs / 1000 })),
              pollIntervalSeconds: 0.1,
              maxPollIntervalSeconds: 0.2,
            }),
          },
          approved: bulkRequests(REQUESTS, ['maestroqa']),
        });
        const lines: string[] = [];
        const log = createLogger({ level: 'warn', write: (l) => lines.push(l) });
        const controller = await openController({
          repo,
          dataDir: join(root, 'data'),
          env: { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'follow-up-salt' },
          log,
          push: false,
          checkpointMs: 100,
          drivers: createDriverTable(),
        });
        const writes: { start: number; end: number }[] = [];
        const write = controller.source.writeStatus.bind(controller.source);
        controller.source.writeStatus = async (...args) => {
          const start = Date.now();
          try {
            await new Promise((r) => setTimeout(r, SLOW_WRITE_MS));
            return await write(...args);
          } finally {
            writes.push({ start, end: Date.now() });
          }
        };
        const runner = new Runner({
          controller,
          log,
          schedule: '0 0 1 1 *',
          untilIdle: true,
          maxSleepMs: 1_000,
          followUpMs,
        });
        const guard = setTimeout(() => runner.stop(), 60_000);
        await runner.start();
        clearTimeout(guard);
        const tasks = Object.values(controller.journal.data.tasks);
        await controller.close();

        const ledger = sandbox.ledger().filter((e) => e.vendor === 'maestroqa');
        const deletes = ledger.filter((e) => e.method === 'DELETE');
        const polls = ledger.filter((e) => e.method === 'GET' && e.route.includes('data-deletion-check'));
        const stats = sandbox.stats().maestroqa;
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
          lines.filter((l) => l.includes('"level":"error"')),
          [],
        );
        const firstWrite = [...writes].sort((a, b) => a.start - b.start)[0]!;
        const firstPoll = Math.min(...polls.map((p) => p.at));
        const duringWrite = polls.filter((p) => writes.some((w) => p.at >= w.start && p.at <= w.end));
        if (followUpMs > 0) {
          assert.equal(runner.passes, 1, 'submitted, polled and recorded in one pass');
          assert.ok(
            firstPoll < firstWrite.end,
            `the first poll (${firstPoll - firstWrite.start} ms after the first status write began) did not wait for it (${SLOW_WRITE_MS} ms)`,
          );
          assert.ok(duringWrite.length > 0, 'polls went out while a status commit was being written');
        } else {
          // The behaviour the follow-ups replace: the record step sits between DELETE and poll.
          assert.ok(runner.passes >= 2, `passes: ${runner.passes}`);
          assert.ok(firstPoll >= firstWrite.end, 'the first poll waited for the record step');
        }
      } finally {
        await sandbox.stop();
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
