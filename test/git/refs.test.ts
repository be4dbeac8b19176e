import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ASK_GIT, readBranchRef } from '../../controller/git/refs.ts';
import { alice, cleanup, commitFile, makeRepo, sh, tempDir } from './helpers.ts';

after(cleanup);

/** What `git rev-parse` answers for the same ref: the reader must never disagree with it. */
function revParse(dir: string, ref: string): string | undefined {
  try {
    return sh(dir, ['rev-parse', '--verify', '-q', `${ref}^{commit}`]);
  } catch {
    return undefined;
  }
}

describe('branch refs read from the repository files (no git process per pass)', () => {
  it('reads a loose branch, the same commit git names, and follows it when it moves', async () => {
    const dir = makeRepo();
    assert.equal(await readBranchRef(dir, 'refs/heads/main'), revParse(dir, 'refs/heads/main'));
    const next = commitFile(dir, 'a.yaml', 'a: 1\n', alice);
    assert.equal(await readBranchRef(dir, 'refs/heads/main'), next);
  });

  it('reads a packed branch, and a loose file written after packing wins over the packed line', async () => {
    const dir = makeRepo();
    sh(dir, ['branch', 'status']);
    sh(dir, ['pack-refs', '--all']);
    const packed = revParse(dir, 'refs/heads/status');
    assert.equal(await readBranchRef(dir, 'refs/heads/status'), packed);
    const next = commitFile(dir, 'b.yaml', 'b: 1\n', alice);
    sh(dir, ['update-ref', 'refs/heads/status', next]);
    assert.equal(await readBranchRef(dir, 'refs/heads/status'), next);
    assert.notEqual(next, packed);
  });

  it('reads a remote-tracking ref of a clone (packed by the clone)', async () => {
    const origin = makeRepo();
    const clone = join(tempDir(), 'clone');
    sh(origin, ['clone', '-q', '--no-checkout', origin, clone]);
    assert.equal(await readBranchRef(clone, 'refs/remotes/origin/main'), revParse(clone, 'refs/remotes/origin/main'));
    assert.notEqual(await readBranchRef(clone, 'refs/remotes/origin/main'), undefined);
  });

  it('a branch that does not exist is undefined, as rev-parse says (also where a directory of that name is)', async () => {
    const dir = makeRepo();
    sh(dir, ['branch', 'lethe/status']);
    for (const ref of ['refs/heads/nope', 'refs/heads/lethe', 'refs/heads/main/x']) {
      assert.equal(revParse(dir, ref), undefined);
      assert.equal(await readBranchRef(dir, ref), undefined, ref);
    }
    assert.equal(await readBranchRef(dir, 'refs/heads/lethe/status'), revParse(dir, 'refs/heads/lethe/status'));
  });

  it('asks git for anything it cannot be sure of: a symbolic ref, a worktree, reftable, odd names, junk', async () => {
    const dir = makeRepo();
    sh(dir, ['symbolic-ref', 'refs/heads/alias', 'refs/heads/main']);
    assert.equal(await readBranchRef(dir, 'refs/heads/alias'), ASK_GIT);

    const worktree = join(tempDir(), 'wt');
    sh(dir, ['worktree', 'add', '-q', '-b', 'side', worktree]);
    assert.equal(await readBranchRef(worktree, 'refs/heads/main'), ASK_GIT);

    for (const ref of [
      'HEAD',
      'main',
      'refs/tags/v1',
      'refs/heads/../../config',
      'refs/heads//x',
      'refs/heads/x/',
      'refs/heads/.x',
      'refs/heads/x.lock',
      'refs/heads',
      'refs/heads/é',
    ])
      assert.equal(await readBranchRef(dir, ref), ASK_GIT, ref);

    writeFileSync(join(dir, '.git', 'refs', 'heads', 'broken'), 'not an object id\n');
    assert.equal(await readBranchRef(dir, 'refs/heads/broken'), ASK_GIT);

    const table = makeRepo();
    mkdirSync(join(table, '.git', 'reftable'));
    assert.equal(await readBranchRef(table, 'refs/heads/main'), ASK_GIT);

    assert.equal(await readBranchRef(join(tempDir(), 'not-a-repo'), 'refs/heads/main'), ASK_GIT);
  });
});
