import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openController } from '../../controller/core/app.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { bulkRequests, createBenchRepo, maestroqaYaml, quietLogger } from '../bench/lib.ts';
import { DUMMY_ENV, NOWHERE } from '../bench/noop.ts';

/** More than two chunks of status texts (record.ts writes them to git 1,000 at a time). */
const REQUESTS = 2_100;

const statusFiles = (repo: string): string[] =>
  execFileSync('git', ['ls-tree', '-r', '--name-only', 'HEAD', '--', 'status/'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter((p) => p.endsWith('.yaml'));

/**
 * The record step hands status texts to git a chunk at a time while it renders the rest.
 * When git refuses a chunk (disk full, a killed process), nothing of the pass is committed,
 * so nothing of it may count as recorded either: the next pass writes every status again.
 * Before, the statuses of the chunks already rendered were kept as if committed, and the
 * next pass, finding them unchanged, never wrote them.
 */
describe('a status chunk git refuses', () => {
  it('commits nothing, and the next pass writes every status', { timeout: 120_000 }, async () => {
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
      const writeBlobs = controller.source.writeBlobs.bind(controller.source);
      let chunks = 0;
      controller.source.writeBlobs = async (texts) => {
        if (++chunks === 2) throw new Error('git fast-import: No space left on device');
        return writeBlobs(texts);
      };
      await assert.rejects(controller.reconciler.pass(), /No space left on device/);
      assert.equal(execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim(), head);

      controller.source.writeBlobs = writeBlobs;
      const next = await controller.reconciler.pass();
      assert.ok(next.commit, 'the next pass commits');
      assert.equal(statusFiles(repo).length, REQUESTS);
      assert.equal(controller.reconciler.currentStatuses().length, REQUESTS);
      await controller.close();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
