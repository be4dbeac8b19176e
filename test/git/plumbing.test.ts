/**
 * hashBlobs streams its input to `git fast-import` (it used to build one buffer of every
 * blob): many blobs beyond the pipe's buffer must all arrive intact, and a git that fails
 * must reject, not hang on a pipe nobody reads.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hashBlobs } from '../../controller/git/plumbing.ts';
import { cleanup, makeRepo, sh } from './helpers.ts';

after(cleanup);

describe('hashBlobs', () => {
  it('writes thousands of blobs (megabytes of input) through one streamed fast-import, each exactly', async () => {
    const dir = makeRepo();
    // 1,000 distinct texts of about 2 KB (2 MB: thirty times a pipe's buffer), one
    // repeated, one with multi-byte characters, one empty.
    const contents = Array.from({ length: 1000 }, (_, i) => `status ${i}\n${'x'.repeat(2000 + (i % 7))}\n`);
    contents.push(contents[5]!, 'naïve — ünïcödé ✓\n', '');
    const ids = await hashBlobs(dir, contents);
    assert.equal(ids.length, contents.length);
    assert.equal(ids[1000], ids[5]);
    for (const i of [0, 1, 999, 1001, 1002]) {
      const stored = execFileSync('git', ['cat-file', 'blob', ids[i]!], { cwd: dir, encoding: 'utf8' });
      assert.equal(stored, contents[i]);
      const own = execFileSync('git', ['hash-object', '--stdin'], { cwd: dir, input: contents[i], encoding: 'utf8' });
      assert.equal(ids[i], own.trim(), 'the id git itself gives these bytes');
    }
    const packed = sh(dir, ['count-objects', '-v']);
    assert.match(packed, /in-pack: 100[0-9]/, 'one pack, not loose objects');
    // Nothing missing: a second call writes nothing and returns the same ids.
    assert.deepEqual(await hashBlobs(dir, contents), ids);
  });

  it('rejects with GIT_FAILED when fast-import fails, without hanging on a full pipe', async () => {
    const dir = makeRepo();
    // objects/pack as a file: cat-file still answers "missing", fast-import cannot write its pack.
    rmSync(join(dir, '.git/objects/pack'), { recursive: true, force: true });
    writeFileSync(join(dir, '.git/objects/pack'), '');
    const big = Array.from({ length: 200 }, (_, i) => `${i}${'y'.repeat(50_000)}`);
    await assert.rejects(hashBlobs(dir, big), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'GIT_FAILED');
      assert.match(err.message, /fast-import/);
      return true;
    });
  });
});
