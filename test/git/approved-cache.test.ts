import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { APPROVED_TREE_CACHE_FILE, ApprovedTreeCache } from '../../controller/git/approved-cache.ts';
import { ApprovedTree, type ApprovedState } from '../../controller/git/approved-tree.ts';
import { GitSource } from '../../controller/git/source.ts';
import { TrustRoot } from '../../controller/git/trust-root.ts';
import {
  alice,
  cleanup,
  config,
  commitFile,
  head,
  lethe,
  mallory,
  mergePr,
  openPr,
  rita,
  sh,
  tempDir,
  write,
  type Who,
} from './helpers.ts';

after(cleanup);

function repo(): string {
  const dir = tempDir();
  sh(dir, ['init', '-q', '-b', 'main']);
  write(dir, 'vendors/v.yaml', 'kind: VendorConnection\nbaseUrl: https://vendor.example\n');
  write(dir, 'lethe.yaml', config([alice]));
  sh(dir, ['add', '.'], alice);
  sh(dir, ['commit', '-q', '-m', 'set up'], alice);
  return dir;
}

async function tree(dir: string, dataDir: string, o: { pinned?: string; warn?: string[]; at?: string } = {}) {
  const source = await GitSource.open({ repo: dir, branch: 'main', dataDir, identity: lethe });
  const log = { warn: (m: string) => o.warn?.push(m) };
  const trust = new TrustRoot({ dataDir, branch: 'main', pinned: o.pinned, record: true, log });
  return new ApprovedTree(source, trust, { cache: new ApprovedTreeCache(dataDir, 'main', true), log });
}

/** Everything a pass reads from the approved state, in a comparable form. */
function view(s: ApprovedState) {
  const sorted = <V>(m: ReadonlyMap<string, V>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    root: s.root,
    head: s.head,
    approved: sorted(s.approved),
    current: sorted(s.current),
    refused: sorted(s.refused),
    config: s.config,
  };
}

const cacheFile = (dataDir: string) => join(dataDir, APPROVED_TREE_CACHE_FILE);
const readCache = (dataDir: string) =>
  JSON.parse(readFileSync(cacheFile(dataDir), 'utf8')) as {
    commit: string;
    root: string;
    evidence: { reason: string }[];
  };

/** Marks every cached evidence: a result that carries the mark was continued from the cache. */
function mark(dataDir: string): void {
  const file = readCache(dataDir);
  for (const e of file.evidence) e.reason = `CACHED ${e.reason}`;
  writeFileSync(cacheFile(dataDir), JSON.stringify(file));
}
const fromCache = (s: ApprovedState) => [...s.approved.values()].some((e) => e.evidence.reason.startsWith('CACHED'));

type Step =
  | { kind: 'pr'; path: string; content: string; merger: Who }
  | { kind: 'push'; path: string; content: string; who: Who }
  | { kind: 'delete'; path: string; who: Who }
  | { kind: 'policy'; approvers: readonly Who[]; who: Who };

const paths = ['requests/a.yaml', 'requests/b.yaml', 'requests/c.yaml', 'vendors/v.yaml', 'vendors/w.yaml'];
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('pr' as const),
    path: fc.constantFrom(...paths),
    content: fc.constantFrom('x: 1\n', 'x: 2\n', 'x: 3\n'),
    merger: fc.constantFrom(alice, mallory),
  }),
  fc.record({
    kind: fc.constant('push' as const),
    path: fc.constantFrom(...paths),
    content: fc.constantFrom('x: 1\n', 'x: 4\n'),
    who: fc.constantFrom(alice, mallory),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    path: fc.constantFrom(...paths),
    who: fc.constantFrom(alice, mallory),
  }),
  fc.record({
    kind: fc.constant('policy' as const),
    approvers: fc.constantFrom([alice], [alice, mallory], [mallory]),
    who: fc.constantFrom(alice, mallory),
  }),
);

let branches = 0;
/** Plays one step; a step that would change nothing (git refuses an empty commit) is skipped. */
function play(dir: string, step: Step): void {
  const has = (path: string, content: string) =>
    existsSync(join(dir, path)) && readFileSync(join(dir, path), 'utf8') === content;
  if ((step.kind === 'pr' || step.kind === 'push') && has(step.path, step.content)) return;
  if (step.kind === 'policy' && has('lethe.yaml', config(step.approvers))) return;
  if (step.kind === 'pr') {
    const branch = `pr-${++branches}`;
    openPr(dir, branch, step.path, step.content, rita);
    mergePr(dir, branch, step.merger);
  } else if (step.kind === 'push') {
    commitFile(dir, step.path, step.content, step.who);
  } else if (step.kind === 'delete') {
    if (!existsSync(join(dir, step.path))) return;
    sh(dir, ['rm', '-q', step.path], step.who);
    sh(dir, ['commit', '-q', '-m', `delete ${step.path}`], step.who);
  } else {
    // A policy change reviewed on a branch and merged by `who`: approved only when `who` may approve it.
    const branch = `policy-${++branches}`;
    sh(dir, ['checkout', '-q', '-b', branch, 'main']);
    commitFile(dir, 'lethe.yaml', config(step.approvers), rita, 'policy');
    sh(dir, ['checkout', '-q', 'main']);
    mergePr(dir, branch, step.who);
  }
}

describe('approved-tree cache', () => {
  it('a start continued from the cache gives the same tree as a cold walk, over random histories (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbStep, { minLength: 1, maxLength: 6 }),
        fc.array(arbStep, { minLength: 0, maxLength: 6 }),
        async (before, later) => {
          const dir = repo();
          for (const step of before) play(dir, step);
          const middle = head(dir);
          const warmDir = tempDir();
          await (await tree(dir, warmDir)).at(middle);
          assert.equal(readCache(warmDir).commit, middle);
          for (const step of later) play(dir, step);
          const warm = await (await tree(dir, warmDir)).at(head(dir));
          const cold = await (await tree(dir, tempDir())).at(head(dir));
          assert.deepEqual(view(warm), view(cold));
          // The cache now stands at the head (a governed change since, or the first walk to write it).
          assert.equal(readCache(warmDir).commit, head(dir));
        },
      ),
      { numRuns: 6 },
    );
  });

  it('a restart continues from the cached walk and judges only the commits after it', async () => {
    const dir = repo();
    openPr(dir, 'r1', 'requests/a.yaml', 'x: 1\n');
    mergePr(dir, 'r1', alice);
    const dataDir = tempDir();
    await (await tree(dir, dataDir)).at(head(dir));
    mark(dataDir);
    openPr(dir, 'r2', 'requests/b.yaml', 'x: 2\n');
    mergePr(dir, 'r2', alice);
    const s = await (await tree(dir, dataDir)).at(head(dir));
    assert.ok(s.approved.get('requests/a.yaml')!.evidence.reason.startsWith('CACHED'), 'continued from the cache');
    assert.ok(!s.approved.get('requests/b.yaml')!.evidence.reason.startsWith('CACHED'), 'the new merge was judged');
    assert.equal(readCache(dataDir).commit, head(dir));
  });

  it('does not use a cache written under another root of trust (another policy)', async () => {
    const dir = repo();
    const first = head(dir);
    // Mallory's policy change is not approved under the first root, but is the pinned root's own content.
    commitFile(dir, 'lethe.yaml', config([mallory]), mallory, 'policy');
    const second = head(dir);
    openPr(dir, 'r1', 'requests/a.yaml', 'x: 1\n');
    mergePr(dir, 'r1', mallory);
    const dataDir = tempDir();
    const underFirst = await (await tree(dir, dataDir)).at(head(dir));
    assert.equal(underFirst.root, first);
    assert.ok(!underFirst.approved.has('requests/a.yaml'), 'mallory is no approver under the first root');
    mark(dataDir);
    const warn: string[] = [];
    const pinned = await (await tree(dir, dataDir, { pinned: second, warn })).at(head(dir));
    assert.equal(pinned.root, second);
    assert.ok(!fromCache(pinned), 'the cache of the other root is not used');
    assert.ok(pinned.approved.get('requests/a.yaml')?.evidence.approved, 'judged under the pinned root');
    assert.ok(warn.includes('approved-tree cache ignored, rebuilding from git'));
    assert.equal(readCache(dataDir).root, second, 'rewritten for the root in force');
  });

  it('does not use a cache whose commit is not on the branch (history rewritten), nor one for another branch', async () => {
    const dir = repo();
    const dataDir = tempDir();
    sh(dir, ['checkout', '-q', '-b', 'side', 'main']);
    openPr(dir, 'r1', 'requests/a.yaml', 'x: 1\n');
    sh(dir, ['checkout', '-q', 'side']);
    sh(dir, ['merge', '-q', '--no-ff', '-m', 'Merge r1', 'r1'], alice);
    const off = head(dir);
    sh(dir, ['checkout', '-q', 'main']);
    // A walk to a commit that main never had (as after a force-push removed it), cached.
    const dropped = await (await tree(dir, dataDir)).at(off);
    assert.ok(dropped.approved.has('requests/a.yaml'));
    assert.equal(readCache(dataDir).commit, off);
    mark(dataDir);
    const warn: string[] = [];
    const s = await (await tree(dir, dataDir, { warn })).at(head(dir));
    assert.ok(!s.approved.has('requests/a.yaml') && !fromCache(s), 'nothing of the dropped history');
    assert.ok(warn.includes('approved-tree cache ignored, rebuilding from git'));

    const file = JSON.parse(readFileSync(cacheFile(dataDir), 'utf8')) as Record<string, unknown>;
    writeFileSync(cacheFile(dataDir), JSON.stringify({ ...file, branch: 'other' }));
    const other = await (await tree(dir, dataDir)).at(head(dir));
    assert.deepEqual(view(other), view(s));
  });

  it('rebuilds a corrupt or truncated cache from git and writes a good one', async () => {
    const dir = repo();
    openPr(dir, 'r1', 'requests/a.yaml', 'x: 1\n');
    mergePr(dir, 'r1', alice);
    commitFile(dir, 'requests/a.yaml', 'x: 666\n', mallory);
    const dataDir = tempDir();
    const cold = await (await tree(dir, dataDir)).at(head(dir));
    const good = readFileSync(cacheFile(dataDir), 'utf8');
    for (const broken of [
      good.slice(0, good.length / 2),
      '{}',
      'null',
      good.replace('"format":1', '"format":2'),
      JSON.stringify({ ...JSON.parse(good), evidence: [] }),
    ]) {
      writeFileSync(cacheFile(dataDir), broken);
      const warn: string[] = [];
      const s = await (await tree(dir, dataDir, { warn })).at(head(dir));
      assert.deepEqual(view(s), view(cold));
      assert.deepEqual(warn, ['approved-tree cache ignored, rebuilding from git']);
      assert.equal(readFileSync(cacheFile(dataDir), 'utf8'), good);
    }
  });
});
