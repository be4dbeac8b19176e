import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanup, tempDir } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const lethe = (...args: string[]) =>
  spawnSync(process.execPath, ['controller/cli/bin.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  });
const temp = tempDir;
after(cleanup);

describe('git errors that help', () => {
  it('git: outside a repository, and a branch that does not exist, say what to do', () => {
    const dir = temp();
    const outside = lethe('reconcile', '--once', '--repo', dir, '--data', join(dir, 'data'));
    assert.equal(outside.status, 3);
    assert.match(outside.stderr, /GIT_NOT_A_REPOSITORY .* is not inside a git repository/);
    assert.ok(!outside.stderr.includes('fatal:'), outside.stderr);
    spawnSync('git', ['init', '-q', '-b', 'trunk', dir]);
    spawnSync(
      'git',
      ['-c', 'user.name=A', '-c', 'user.email=a@example.com', 'commit', '-q', '--allow-empty', '-m', 'init'],
      { cwd: dir },
    );
    const branch = lethe('reconcile', '--once', '--repo', dir, '--data', join(dir, 'data'));
    assert.equal(branch.status, 3);
    assert.match(
      branch.stderr,
      /GIT_BRANCH_MISSING branch main does not exist in .*; branches here: trunk\. Pass --branch NAME/,
    );
    assert.match(branch.stderr, /hint: Pass --branch NAME/);
  });
});
