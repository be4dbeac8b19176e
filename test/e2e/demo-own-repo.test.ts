import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { subjectRef } from '../../controller/core/subject.ts';
import { gitAs } from '../../examples/demo/git-as.ts';
import { runDemo } from '../../examples/demo/main.ts';
import { pointAtSandbox } from '../../examples/demo/sandbox-wiring.ts';
import { createScratchRepo, removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { startSandbox } from '../../examples/sandbox/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEEP = '2026-11-0048'; // priya.nair at elasticpath: the quickest request of the examples
const OMIT = Array.from({ length: 9 }, (_, i) => `2026-11-${String(42 + i).padStart(4, '0')}`).filter(
  (n) => n !== KEEP,
);

/** A free port the demo's sandbox can take, with the sandbox config the vendors must point at. */
async function sandboxAtFixedPort() {
  const probe = await startSandbox({ port: 0 });
  const port = Number(new URL(probe.url).port);
  const config = probe.config;
  await probe.stop();
  return { port, config };
}

describe('npm start -- --repo DIR --port N (the demo on your own repository)', () => {
  it('without a configured salt works on a scratch copy; with one it writes in place and keeps every subjectRef', async () => {
    const { port, config } = await sandboxAtFixedPort();
    const repo = await createScratchRepo({ rewriteVendor: pointAtSandbox(config), omit: OMIT });
    const state = mkdtempSync(join(tmpdir(), 'lethe-state-'));
    const saved = { salt: process.env.LETHE_SUBJECT_SALT, xdg: process.env.XDG_STATE_HOME };
    process.env.XDG_STATE_HOME = state;
    delete process.env.LETHE_SUBJECT_SALT;
    try {
      const before = await gitAs(repo.work, undefined, ['rev-parse', 'HEAD']);
      const copy = await runDemo([
        '--repo',
        repo.work,
        '--port',
        String(port),
        '--quiet',
        '--time-scale',
        '0.02',
        '--timeout-seconds',
        '90',
      ]);
      assert.notEqual(copy.repoDir, repo.work, 'a scratch copy was used');
      assert.equal(await gitAs(repo.work, undefined, ['rev-parse', 'HEAD']), before, 'the repository is unchanged');
      assert.equal(copy.statuses.find((s) => s.metadata.name === KEEP)?.status.phase, 'Completed');

      process.env.LETHE_SUBJECT_SALT = 'the-team-salt';
      const inPlace = await runDemo([
        '--repo',
        repo.work,
        '--port',
        String(port),
        '--quiet',
        '--time-scale',
        '0.02',
        '--timeout-seconds',
        '90',
      ]);
      assert.equal(inPlace.repoDir, repo.work);
      assert.equal(inPlace.exitCode, 0);
      const status = parseYaml(await gitAs(repo.work, undefined, ['show', `main:status/${KEEP}.yaml`])) as {
        status: { subjectRef: string; phase: string };
      };
      assert.equal(status.status.subjectRef, subjectRef('the-team-salt', ['priya.nair@example.com']));
      assert.equal(status.status.phase, 'Completed');
      const origin = await gitAs(repo.origin, undefined, ['rev-parse', 'main']);
      assert.equal(origin, before, 'nothing was pushed');
    } finally {
      if (saved.salt === undefined) delete process.env.LETHE_SUBJECT_SALT;
      else process.env.LETHE_SUBJECT_SALT = saved.salt;
      if (saved.xdg === undefined) delete process.env.XDG_STATE_HOME;
      else process.env.XDG_STATE_HOME = saved.xdg;
      rmSync(state, { recursive: true, force: true });
      await removeScratchRepo(repo);
    }
  });

  it('bad flags are a usage error (exit 2) with the usage line, never a stack trace', () => {
    const bad = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', '--port', 'abc'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--port abc is not valid\nusage: npm start -- /);
    assert.ok(!bad.stderr.includes('    at '), 'no stack trace');
    const unknown = spawnSync(process.execPath, ['--import', 'tsx', 'examples/demo/main.ts', '--repository', 'x'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /Unknown option '--repository'/);
  });
});
