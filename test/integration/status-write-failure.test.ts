import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openController } from '../../controller/core/app.ts';
import type { BlobWriter } from '../../controller/git/plumbing.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { bulkRequests, createBenchRepo, maestroqaYaml, quietLogger } from '../bench/lib.ts';
import { DUMMY_ENV, NOWHERE } from '../bench/noop.ts';

const REQUESTS = 1_200;
const NO_SPACE = 'git fast-import: No space left on device';

/** The controller's own writer, failing at the nth status handed over, or when closed. */
function failing(real: BlobWriter, at: number | 'close'): BlobWriter {
  let added = 0;
  return {
    add: (text: string) => (++added === at ? Promise.reject(new Error(NO_SPACE)) : real.add(text)),
    close: async () => {
      await real.close();
      if (at === 'close') throw new Error(NO_SPACE);
    },
  } as BlobWriter;
}

const statusFiles = (repo: string): string[] =>
  execFileSync('git', ['ls-tree', '-r', '--name-only', 'HEAD', '--', 'status/'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter((p) => p.endsWith('.yaml'));

/**
 * The record step hands each status text to git as it renders the next. When git refuses
 * one (disk full, a killed process), nothing of the pass is committed, so nothing of it may
 * count as recorded either: the next pass writes every status again. Before, the statuses
 * already handed over were kept as if committed, and the next pass, finding them
 * unchanged, never wrote them (with a refusal at the 700th, 501 of 1,200 reached git).
 */
describe('status texts git refuses', () => {
  for (const at of [700, 'close'] as const) {
    it(`${at === 'close' ? 'when the writer closes' : `at the ${at}th status`}: nothing committed, the next pass writes every status`, {
      timeout: 120_000,
    }, async () => {
      const root = await mkdtemp(join(tmpdir(), 'lethe-status-write-'));
      try {
        const repo = await createBenchRepo({
          dir: join(root, 'repo'),
          vendors: { maestroqa: maestroqaYaml({ baseUrl: NOWHERE, disabled: true }) },
          approved: bulkRequests(REQUESTS, ['maestroqa']),
        });
        const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
        const controller = await openController({
          repo,
          dataDir: join(root, 'data'),
          drivers: createDriverTable(),
          env: DUMMY_ENV,
          log: quietLogger(),
          push: false,
        });
        const blobWriter = controller.source.blobWriter.bind(controller.source);
        controller.source.blobWriter = () => failing(blobWriter(), at);
        await assert.rejects(controller.reconciler.pass(), (err: Error) => err.message === NO_SPACE);
        assert.equal(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim(), head);

        controller.source.blobWriter = blobWriter;
        const next = await controller.reconciler.pass();
        assert.ok(next.commit, 'the next pass commits');
        assert.equal(statusFiles(repo).length, REQUESTS);
        assert.equal(controller.reconciler.currentStatuses().length, REQUESTS);
        await controller.close();
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
