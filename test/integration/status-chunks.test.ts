/**
 * The record step hands status texts to git in chunks of 1,000 (record.ts
 * STATUS_TEXTS_HELD) instead of holding them all until its commit. A first pass over more
 * requests than one chunk must still make ONE commit holding every status, byte for byte
 * what the controller renders; a checked-out status/ must match it (the files are written by
 * git from the blob ids); and a restarted controller must find nothing to write.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openController } from '../../controller/core/app.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { bulkRequests, createBenchRepo, elasticpathYaml, maestroqaYaml, quietLogger } from '../bench/lib.ts';
import { DUMMY_ENV, NOWHERE } from '../bench/noop.ts';

const N = 1_203;
const git = (dir: string, args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8' });

describe('a first pass over more statuses than one chunk', () => {
  let root: string;
  let repo: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'lethe-status-chunks-'));
    repo = await createBenchRepo({
      dir: join(root, 'repo'),
      vendors: {
        maestroqa: maestroqaYaml({ baseUrl: NOWHERE, disabled: true }),
        elasticpath: elasticpathYaml({ baseUrl: NOWHERE, disabled: true }),
      },
      approved: bulkRequests(N, ['maestroqa', 'elasticpath']),
    });
  });
  after(() => rm(root, { recursive: true, force: true }));

  const open = (dataDir: string) =>
    openController({
      repo,
      dataDir: join(root, dataDir),
      drivers: createDriverTable(),
      env: DUMMY_ENV,
      log: quietLogger(),
      push: false,
    });

  it('commits every status in one commit, the checked-out files match it, and a restart writes nothing', async () => {
    const before = git(repo, ['rev-parse', 'HEAD']).trim();
    const c = await open('data');
    try {
      await c.reconciler.pass();
      const after = git(repo, ['rev-parse', 'HEAD']).trim();
      assert.equal(git(repo, ['rev-list', '--count', `${before}..${after}`]).trim(), '1', 'one commit');
      const files = git(repo, ['ls-tree', '-r', '--name-only', after, '--', 'status/']).trim().split('\n');
      assert.equal(files.length, N + 1, 'a status per request, and the dashboard');
      // The working tree and the index match the commit: nothing to commit, nothing missing.
      assert.equal(git(repo, ['status', '--porcelain', '--', 'status/']), '');
      const name = 'bench-01203';
      const committed = git(repo, ['show', `${after}:status/${name}.yaml`]);
      assert.equal(readFileSync(join(repo, `status/${name}.yaml`), 'utf8'), committed);
      assert.match(committed, /^ {2}name: bench-01203$/m);
      assert.match(committed, /^ {2}phase: Pending$/m);
      const statuses = c.reconciler.currentStatuses();
      assert.equal(statuses.length, N);
      assert.equal(statuses.find((s) => s.metadata.name === name)?.status.source, `requests/bench/${name}.yaml`);
      // The same controller again: nothing changed, nothing written.
      await c.reconciler.pass();
      assert.equal(git(repo, ['rev-parse', 'HEAD']).trim(), after);
    } finally {
      await c.close();
    }
    // A restart (the same data directory) reads status/ back and finds every status current.
    const head = git(repo, ['rev-parse', 'HEAD']).trim();
    const again = await open('data');
    try {
      await again.reconciler.pass();
      assert.equal(git(repo, ['rev-parse', 'HEAD']).trim(), head, 'a restart makes no commit');
    } finally {
      await again.close();
    }
  });
});
