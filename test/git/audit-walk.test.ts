import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { audit } from '../../controller/audit/audit.ts';
import { ObjectReader } from '../../controller/git/object-reader.ts';
import { historyReader, walkHistory, type AuditCommit } from '../../controller/audit/walk.ts';
import { HistoryIndex } from '../../controller/git/history.ts';
import {
  alice,
  bob,
  cleanup,
  commitFile,
  head,
  makeRepo,
  mallory,
  mergePr,
  openPr,
  rita,
  sh,
  write,
} from './helpers.ts';

after(cleanup);

/**
 * The audit reads the history once: its own walk (with rename detection) also feeds the
 * approval's HistoryIndex. These tests hold that walk to what the two separate `git log`
 * reads gave before, on a history with the shapes that differ between them: renames (pure
 * and edited), deletions, merges of side branches, Approved-by trailers.
 */
function richHistory(): { dir: string; mid: string; tip: string } {
  const dir = makeRepo();
  commitFile(dir, 'requests/a.yaml', 'name: a\nsubject: one\n', rita);
  commitFile(dir, 'requests/b.yaml', 'name: b\nsubject: two\nmore: lines\nto: keep\nit: similar\n', rita);
  openPr(dir, 'pr-c', 'requests/c.yaml', 'name: c\n');
  const mid = mergePr(dir, 'pr-c', alice);
  // A pure rename, approved by trailer.
  mkdirSync(join(dir, 'requests/archive'));
  sh(dir, ['mv', 'requests/a.yaml', 'requests/archive/a.yaml'], bob);
  sh(
    dir,
    [
      'commit',
      '-q',
      '-m',
      'Archive a\n\nApproved-by: Alice Approver <alice@corp.example>\nApproved-by: Bob Approver <bob@corp.example>',
    ],
    bob,
  );
  // A rename with an edit, next to an unrelated change that sorts between the two paths.
  sh(dir, ['mv', 'requests/b.yaml', 'requests/z.yaml'], mallory);
  write(dir, 'requests/z.yaml', 'name: b\nsubject: two\nmore: lines\nto: keep\nit: similar\nand: edited\n');
  write(dir, 'requests/m.yaml', 'name: m\n');
  sh(dir, ['add', '-A'], mallory);
  sh(dir, ['commit', '-q', '-m', 'Move b, add m'], mallory);
  commitFile(dir, 'status/c.yaml', 'phase: Completed\n', { name: 'Lethe', email: 'lethe@corp.example' });
  sh(dir, ['rm', '-q', 'requests/c.yaml'], rita);
  sh(dir, ['commit', '-q', '-m', 'Drop c'], rita);
  openPr(dir, 'pr-d', 'requests/d.yaml', 'name: d\n');
  const tip = mergePr(dir, 'pr-d', bob);
  return { dir, mid, tip };
}

/** Everything the approval gate reads from an index, in comparable form. */
function snapshot(index: HistoryIndex, paths: string[]): unknown {
  return {
    head: index.head,
    chain: [...index.chain],
    positions: index.chain.map((sha) => index.position(sha)),
    introductions: paths.map((p) => index.introduction(p) ?? null),
    arrivals: index.chain.map((sha) => index.arrivedWith(sha).map((c) => ({ ...c, changes: [...c.changes] }))),
  };
}

const PATHS = [
  'lethe.yaml',
  'requests/a.yaml',
  'requests/archive/a.yaml',
  'requests/b.yaml',
  'requests/z.yaml',
  'requests/m.yaml',
  'requests/c.yaml',
  'requests/d.yaml',
  'status/c.yaml',
];

describe('the audit reads the history once', () => {
  it('builds the approval history index from its own walk exactly as git log builds it, from scratch and incrementally', async () => {
    const { dir, mid, tip } = richHistory();
    const commits = await walkHistory(dir, [tip], { renames: true });
    for (const steps of [[tip], [mid, tip]]) {
      const fromGit = new HistoryIndex(dir);
      const fromWalk = new HistoryIndex(dir, historyReader(commits));
      for (const step of steps) {
        await fromGit.update(step);
        await fromWalk.update(step);
        assert.deepEqual(snapshot(fromWalk, PATHS), snapshot(fromGit, PATHS));
      }
    }
    // The pure rename kept the approval trailer and the introduction of a.yaml's content.
    const index = new HistoryIndex(dir, historyReader(commits));
    await index.update(tip);
    const archived = index.introduction('requests/archive/a.yaml')!;
    assert.equal(archived.path, 'requests/a.yaml');
    const renameCommit = [...commits.values()].find((c) => c.subject === 'Archive a')!;
    assert.deepEqual(renameCommit.approvedBy, [
      'Alice Approver <alice@corp.example>',
      'Bob Approver <bob@corp.example>',
    ]);
  });

  it('lists each change with rename detection as git lists it without: the source deleted, the target added, in path order', async () => {
    const { dir, tip } = richHistory();
    const withRenames = await walkHistory(dir, [tip], { renames: true });
    const without = await walkHistory(dir, [tip]);
    assert.deepEqual([...withRenames.keys()], [...without.keys()]);
    const view = (c: AuditCommit) => ({ ...c, raw: undefined, changes: [...c.changes] });
    for (const [sha, commit] of without) assert.deepEqual(view(withRenames.get(sha)!), view(commit));
    const moved = [...withRenames.values()].find((c) => c.subject === 'Move b, add m')!;
    assert.deepEqual(
      [...moved.changes],
      [
        ['requests/b.yaml', null],
        ['requests/m.yaml', moved.changes.get('requests/m.yaml')],
        ['requests/z.yaml', moved.changes.get('requests/z.yaml')],
      ],
    );
    assert.ok(moved.raw.some((r) => r.status === 'R' && r.from === 'requests/b.yaml' && r.path === 'requests/z.yaml'));
  });

  it('reads every requested object once and skips missing ones; the walk starts at the commit the ref names', async () => {
    const { dir, tip } = richHistory();
    const commits = await walkHistory(dir, ['HEAD'], { renames: true });
    assert.equal(commits.keys().next().value, tip);
    const seen: string[] = [];
    const objects = new Map<string, string>();
    const reader = new ObjectReader(dir, (id, bytes) => {
      seen.push(id);
      objects.set(id, bytes.toString('utf8'));
    });
    const blob = [...commits.values()].flatMap((c) => [...c.changes.values()]).find((b): b is string => b !== null)!;
    reader.request(tip);
    reader.request(blob);
    reader.request(tip);
    reader.request('0123456789012345678901234567890123456789');
    await reader.close();
    assert.deepEqual(seen, [tip, blob]);
    assert.match(objects.get(tip)!, /^tree [0-9a-f]{40}\n/);
    assert.equal(objects.size, 2);
  });

  it('reports a ref that names no commit (a missing branch, a blob, a range, an option) as AUDIT_REF_MISSING', async () => {
    const { dir } = richHistory();
    await assert.rejects(
      audit({ dir, ref: 'no-such-branch' }),
      (err: Error & { code?: string }) => err.code === 'AUDIT_REF_MISSING',
    );
    const blob = sh(dir, ['rev-parse', 'HEAD:lethe.yaml']);
    await assert.rejects(
      audit({ dir, ref: blob }),
      (err: Error & { code?: string }) => err.code === 'AUDIT_REF_MISSING',
    );
    // Not a ref but options or ranges: refused as before, never handed to git log as such.
    for (const ref of [`HEAD~1..HEAD`, '^HEAD', 'HEAD^@', `--output=${join(dir, 'leak')}`]) {
      await assert.rejects(
        audit({ dir, ref }),
        (err: Error & { code?: string }) => err.code === 'AUDIT_REF_MISSING',
        ref,
      );
    }
    assert.equal(existsSync(join(dir, 'leak')), false);
    assert.equal((await audit({ dir, ref: 'HEAD~1' })).statusHead, head(dir, 'HEAD~1'));
    assert.equal((await audit({ dir, ref: head(dir) })).statusHead, head(dir));
  });
});
