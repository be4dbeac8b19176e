import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { MALLOC_TUNABLE, runGit, spawnGit, streamGit } from '../../controller/git/exec.ts';
import { cleanup, makeRepo } from './helpers.ts';

after(cleanup);

// A git alias that prints the environment variable it sees: what every git process the
// controller starts runs with.
const PRINT = ['-c', 'alias.tunables=!printenv GLIBC_TUNABLES', 'tunables'];
const TUNABLE = MALLOC_TUNABLE;

function spawned(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnGit(dir, PRINT);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
    child.stdin.end();
  });
}

describe('git processes keep freed memory (fast-import of 10,000 blobs: 13 s -> 0.2 s)', () => {
  it('the setting keeps both the trim and the mmap threshold fixed (the trim threshold alone made reads 3x slower)', () => {
    assert.match(TUNABLE, /glibc\.malloc\.trim_threshold=67108864/);
    assert.match(TUNABLE, /glibc\.malloc\.mmap_threshold=33554432/);
  });

  it('runGit, streamGit and spawnGit all pass the malloc thresholds', async () => {
    const dir = makeRepo();
    assert.equal((await runGit(dir, PRINT)).stdout.toString().trim(), TUNABLE);
    let streamed = '';
    await streamGit(dir, PRINT, (text) => (streamed += text));
    assert.equal(streamed.trim(), TUNABLE);
    assert.equal(await spawned(dir), TUNABLE);
  });

  it("keeps the operator's own tunables and appends to them", async () => {
    const dir = makeRepo();
    const before = process.env.GLIBC_TUNABLES;
    process.env.GLIBC_TUNABLES = 'glibc.malloc.arena_max=2';
    try {
      assert.equal((await runGit(dir, PRINT)).stdout.toString().trim(), `glibc.malloc.arena_max=2:${TUNABLE}`);
    } finally {
      if (before === undefined) delete process.env.GLIBC_TUNABLES;
      else process.env.GLIBC_TUNABLES = before;
    }
  });
});
