/**
 * The git log reader cuts its stream into commit records wherever the pipe's chunks end
 * (controller/git/history.ts recordSplitter): no cut may lose, merge or split a record,
 * including a record much larger than a chunk (one merge of thousands of files).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { readCommits, recordSplitter } from '../../controller/git/history.ts';
import { alice, cleanup, makeRepo, sh, write } from './helpers.ts';

after(cleanup);

function split(text: string, cuts: number[]): string[] {
  const out: string[] = [];
  const records = recordSplitter((r) => out.push(r));
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => Math.min(c, text.length)))].sort((a, b) => a - b)) {
    records.push(text.slice(at, cut));
    at = cut;
  }
  records.push(text.slice(at));
  records.end();
  return out;
}

describe('git log records from a chunked stream', () => {
  it('every record once, whole and in order, wherever the chunks end', () => {
    const record = fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !s.includes('\x01'));
    fc.assert(
      fc.property(fc.array(record, { maxLength: 12 }), fc.array(fc.nat(800), { maxLength: 40 }), (records, cuts) => {
        const text = records.map((r) => `\x01${r}`).join('');
        assert.deepEqual(split(text, cuts), records);
      }),
      { numRuns: 500 },
    );
  });

  it('one chunk per character and one chunk for everything give the same records', () => {
    const text = '\x01a\0b\0\x01\x01c\nd\0\x01e';
    const each = Array.from({ length: text.length }, (_, i) => i);
    assert.deepEqual(split(text, each), ['a\0b\0', 'c\nd\0', 'e']);
    assert.deepEqual(split(text, []), ['a\0b\0', 'c\nd\0', 'e']);
  });

  it('reads a commit of 3,000 files (a record of many pipe chunks) with every change', async () => {
    const dir = makeRepo();
    for (let i = 0; i < 3_000; i++) write(dir, `requests/many/r-${String(i).padStart(5, '0')}.yaml`, `n: ${i}\n`);
    sh(dir, ['add', '-A'], alice);
    sh(dir, ['commit', '-q', '-m', 'three thousand requests'], alice);
    const tip = sh(dir, ['rev-parse', 'HEAD']);
    const commits = await readCommits(dir, [tip]);
    assert.equal(commits.size, 2);
    const big = commits.get(tip)!;
    assert.equal(big.changes.length, 3_000);
    assert.ok(big.changes.every((c) => c.status === 'A' && /^requests\/many\/r-\d{5}\.yaml$/.test(c.path)));
    assert.equal(new Set(big.changes.map((c) => c.path)).size, 3_000);
  });
});
