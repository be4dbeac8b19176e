import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { GitSource } from '../../controller/git/source.ts';
import { alice, cleanup, commitFile, head, lethe, makeRepo, sh, tempDir, write } from './helpers.ts';

after(cleanup);

const open = (dir: string) => GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });

describe('git source reads', () => {
  it('changedPaths reports adds, modifications, deletions and renames', async () => {
    const dir = makeRepo();
    commitFile(dir, 'requests/a.yaml', 'a: 1\n', alice);
    commitFile(dir, 'requests/b.yaml', 'b: 1\nsome more text for rename detection\n', alice);
    commitFile(dir, 'requests/c.yaml', 'c: 1\n', alice);
    const from = head(dir);
    commitFile(dir, 'requests/a.yaml', 'a: 2\n', alice);
    sh(dir, ['mv', 'requests/b.yaml', 'requests/b2.yaml'], alice);
    sh(dir, ['rm', '-q', 'requests/c.yaml'], alice);
    write(dir, 'requests/d.yaml', 'd: 1\n');
    sh(dir, ['add', '.'], alice);
    sh(dir, ['commit', '-q', '-m', 'more'], alice);
    const git = await open(dir);
    const changes = await git.changedPaths(from, head(dir));
    assert.notEqual(changes, 'all');
    if (changes === 'all') return;
    assert.deepEqual([...changes.changed].sort(), ['requests/a.yaml', 'requests/b2.yaml', 'requests/d.yaml']);
    assert.deepEqual([...changes.deleted].sort(), ['requests/b.yaml', 'requests/c.yaml']);
    assert.equal(await git.changedPaths(undefined, head(dir)), 'all');
  });

  it("changedPaths is 'all' after history was rewritten or for an unknown commit", async () => {
    const dir = makeRepo();
    commitFile(dir, 'requests/a.yaml', 'a: 1\n', alice);
    const old = head(dir);
    sh(dir, ['commit', '-q', '--amend', '-m', 'rewritten'], alice);
    const git = await open(dir);
    assert.equal(await git.changedPaths(old, head(dir)), 'all');
    assert.equal(await git.changedPaths('0123456789012345678901234567890123456789', head(dir)), 'all');
  });

  it('lists and reads many files at a commit, ignoring the dirty working tree', async () => {
    const dir = makeRepo();
    for (let i = 0; i < 500; i++) write(dir, `requests/r${i}.yaml`, `name: r${i}\nnote: "with spaces and ünïcode"\n`);
    write(dir, 'requests/with space.yaml', 'x\n');
    write(dir, 'requests/empty.yaml', '');
    sh(dir, ['add', '.'], alice);
    sh(dir, ['commit', '-q', '-m', 'many'], alice);
    write(dir, 'requests/r0.yaml', 'dirty, uncommitted\n');
    const git = await open(dir);
    const commit = head(dir);
    const paths = await git.listFiles(commit, (p) => p.startsWith('requests/'));
    assert.equal(paths.length, 502);
    const files = await git.readFiles(commit, [...paths, 'requests/missing.yaml']);
    assert.equal(files.size, 502);
    assert.equal(files.get('requests/r0.yaml'), 'name: r0\nnote: "with spaces and ünïcode"\n');
    assert.equal(files.get('requests/r499.yaml'), 'name: r499\nnote: "with spaces and ünïcode"\n');
    assert.equal(files.get('requests/with space.yaml'), 'x\n');
    assert.equal(files.get('requests/empty.yaml'), '');
    const ids = await git.blobIds(commit, ['requests/r1.yaml', 'requests/missing.yaml']);
    assert.deepEqual([...ids.keys()], ['requests/r1.yaml']);
    assert.equal(ids.get('requests/r1.yaml'), sh(dir, ['rev-parse', `${commit}:requests/r1.yaml`]));
  });

  it('eachFile hands over every file as its blob arrives: shared blobs once per path, missing ones left out, a failing reader stops it', async () => {
    const dir = makeRepo();
    // Large enough that git's answers arrive in many chunks, multi-byte characters at their edges.
    for (let i = 0; i < 300; i++)
      write(dir, `requests/r${i}.yaml`, `name: r${i}\nnote: "${'ünïcode '.repeat(50 + i)}"\n`);
    write(dir, 'requests/same-1.yaml', 'same\n');
    write(dir, 'requests/same-2.yaml', 'same\n');
    write(dir, 'requests/empty.yaml', '');
    sh(dir, ['add', '.'], alice);
    sh(dir, ['commit', '-q', '-m', 'many'], alice);
    const git = await open(dir);
    const commit = head(dir);
    const paths = await git.listFiles(commit, (p) => p.startsWith('requests/'));
    const ids = await git.blobIds(commit, paths);
    const missing = '0123456789012345678901234567890123456789';
    const seen = new Map<string, string>();
    await git.eachFile([...ids, ['requests/gone.yaml', missing]], (path, id, text) => {
      assert.equal(id, ids.get(path));
      assert.ok(!seen.has(path), 'each path once');
      seen.set(path, text);
    });
    assert.deepEqual(new Map([...seen].sort()), new Map([...(await git.readFiles(commit, paths))].sort()));
    assert.equal(seen.get('requests/same-2.yaml'), 'same\n');
    assert.equal(seen.get('requests/empty.yaml'), '');
    let calls = 0;
    await assert.rejects(
      git.eachFile([...ids], () => {
        if (++calls === 2) throw new Error('stop here');
      }),
      /stop here/,
    );
    assert.equal(calls, 2, 'nothing is handed over after a failure');
  });

  it('remote mode clones into the data directory and fetches only when the remote head moved', async () => {
    const work = makeRepo();
    const origin = tempDir();
    sh(origin, ['init', '-q', '--bare', '-b', 'main']);
    sh(work, ['push', '-q', origin, 'main']);
    const dataDir = tempDir();
    const git = await GitSource.open({ remote: origin, branch: 'main', dataDir, identity: lethe });
    assert.equal(git.dir, `${dataDir}/repo`);
    assert.equal(await git.remoteHead(), head(work));
    assert.equal(await git.sync(), head(work));
    const next = commitFile(work, 'requests/a.yaml', 'a\n', alice);
    sh(work, ['push', '-q', origin, 'main']);
    assert.equal(await git.remoteHead(), next);
    assert.equal(await git.sync(), next);
    assert.equal((await git.readFiles(next, ['requests/a.yaml'])).get('requests/a.yaml'), 'a\n');
  });
});
