import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ApprovedTree, pendingChanges } from '../../controller/git/approved-tree.ts';
import { GitSource } from '../../controller/git/source.ts';
import { TrustRoot, TRUST_ROOT_FILE } from '../../controller/git/trust-root.ts';
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
} from './helpers.ts';

after(cleanup);

/** A repository whose first commit (a README) precedes the one adding lethe.yaml, by Alice. */
function repo(): string {
  const dir = tempDir();
  sh(dir, ['init', '-q', '-b', 'main']);
  commitFile(dir, 'README.md', 'hello\n', rita);
  write(dir, 'vendors/v.yaml', 'kind: VendorConnection\nbaseUrl: https://vendor.example\n');
  write(dir, 'lethe.yaml', config([alice]));
  sh(dir, ['add', '.'], alice);
  sh(dir, ['commit', '-q', '-m', 'set up'], alice);
  return dir;
}

async function tree(dir: string, o: { pinned?: string; dataDir?: string; warn?: string[] } = {}) {
  const dataDir = o.dataDir ?? tempDir();
  const source = await GitSource.open({ repo: dir, branch: 'main', dataDir, identity: lethe });
  const trust = new TrustRoot({
    dataDir,
    branch: 'main',
    pinned: o.pinned,
    record: true,
    log: { warn: (m) => o.warn?.push(m) },
  });
  return { t: new ApprovedTree(source, trust), dataDir };
}

describe('approved tree', () => {
  it('trusts the first commit adding lethe.yaml, records it, and keeps approved content while unapproved edits are pending', async () => {
    const dir = repo();
    const root = head(dir);
    openPr(dir, 'r1', 'requests/a.yaml', 'spec: 1\n');
    mergePr(dir, 'r1', alice);
    commitFile(dir, 'vendors/v.yaml', 'kind: VendorConnection\nbaseUrl: https://attacker.example\n', mallory);
    commitFile(dir, 'vendors/new.yaml', 'kind: VendorConnection\n', mallory);
    sh(dir, ['rm', '-q', 'requests/a.yaml'], mallory);
    sh(dir, ['commit', '-q', '-m', 'withdraw'], mallory);
    const { t, dataDir } = await tree(dir);
    const s = await t.at(head(dir));
    assert.equal(s.root, root);
    assert.equal(JSON.parse(readFileSync(join(dataDir, TRUST_ROOT_FILE), 'utf8')).root, root);
    assert.ok(s.approved.has('requests/a.yaml'), 'an unapproved deletion withdraws nothing');
    assert.ok(!s.approved.has('vendors/new.yaml'), 'an unapproved vendor does not exist');
    assert.notEqual(s.approved.get('vendors/v.yaml')!.blob, s.current.get('vendors/v.yaml'));
    assert.deepEqual(
      pendingChanges(s).map((p) => `${p.path} ${p.change} ${p.author?.email}`),
      [
        'requests/a.yaml delete mallory@corp.example',
        'vendors/new.yaml add mallory@corp.example',
        'vendors/v.yaml edit mallory@corp.example',
      ],
    );
    // An approved revert clears what is pending; the walk continues from where it was.
    sh(dir, ['checkout', '-q', '-b', 'fix', 'main']);
    commitFile(dir, 'vendors/v.yaml', 'kind: VendorConnection\nbaseUrl: https://vendor.example\n', rita);
    sh(dir, ['checkout', '-q', 'main']);
    mergePr(dir, 'fix', alice);
    const next = await t.at(head(dir));
    assert.deepEqual(
      pendingChanges(next).map((p) => p.path),
      ['requests/a.yaml', 'vendors/new.yaml'],
    );
  });

  it('judges a lethe.yaml change by the policy before it: an attacker cannot make themselves an approver', async () => {
    const dir = repo();
    commitFile(dir, 'lethe.yaml', config([alice, mallory], '    mode: trailer'), mallory, 'policy');
    openPr(dir, 'own', 'requests/m.yaml', 'spec: m\n', rita);
    mergePr(dir, 'own', mallory, mallory, `Merge own\n\nApproved-by: ${mallory.name} <${mallory.email}>`);
    openPr(dir, 'good', 'requests/g.yaml', 'spec: g\n', rita);
    mergePr(dir, 'good', alice);
    const { t } = await tree(dir);
    const s = await t.at(head(dir));
    assert.deepEqual(
      s.config.spec.approval.approvers.map((a) => a.email),
      [alice.email],
    );
    assert.equal(s.config.spec.approval.mode, 'merge');
    assert.ok(!s.approved.has('requests/m.yaml'));
    assert.match(s.refused.get('requests/m.yaml')!.evidence.reason, /mallory@corp\.example> is not a listed approver/);
    assert.ok(s.approved.get('requests/g.yaml')!.evidence.approved);
    // Once Alice approves the policy change, it governs what comes after it.
    sh(dir, ['checkout', '-q', '-b', 'policy', 'main~3']);
    commitFile(dir, 'lethe.yaml', config([alice, mallory]), rita, 'add mallory');
    sh(dir, ['checkout', '-q', 'main']);
    sh(dir, ['merge', '-q', '--no-ff', '-X', 'theirs', '-m', 'Merge policy', 'policy'], alice);
    openPr(dir, 'later', 'requests/l.yaml', 'spec: l\n', rita);
    mergePr(dir, 'later', mallory);
    const s2 = await t.at(head(dir));
    assert.ok(
      s2.approved.get('requests/l.yaml')?.evidence.approved,
      s2.refused.get('requests/l.yaml')?.evidence.reason,
    );
    assert.ok(!s2.approved.has('requests/m.yaml'), 'an earlier refusal is not approved retroactively');
  });

  it('does not let a non-approver move an approved file (rename) or bring it back under another name', async () => {
    const dir = repo();
    openPr(dir, 'r1', 'requests/a.yaml', 'spec: 1\n');
    mergePr(dir, 'r1', alice);
    sh(dir, ['mv', 'requests/a.yaml', 'requests/b.yaml'], mallory);
    sh(dir, ['commit', '-q', '-m', 'move'], mallory);
    const { t } = await tree(dir);
    const s = await t.at(head(dir));
    assert.ok(s.approved.has('requests/a.yaml') && !s.approved.has('requests/b.yaml'));
  });

  it('refuses a pinned root that is not on the branch, and stops when the recorded root is gone from history', async () => {
    const dir = repo();
    sh(dir, ['checkout', '-q', '-b', 'elsewhere']);
    const off = commitFile(dir, 'x.txt', 'x\n', mallory);
    sh(dir, ['checkout', '-q', 'main']);
    const { t: pinnedOff } = await tree(dir, { pinned: off });
    await assert.rejects(pinnedOff.at(head(dir)), { code: 'TRUST_ROOT_NOT_ON_BRANCH' });

    const { t, dataDir } = await tree(dir);
    await t.at(head(dir));
    assert.ok(existsSync(join(dataDir, TRUST_ROOT_FILE)));
    // A force-push rewrites history: a new "first commit adding lethe.yaml" made by Mallory.
    sh(dir, ['checkout', '-q', '--orphan', 'rewritten']);
    sh(dir, ['rm', '-rq', '--cached', '.']);
    commitFile(dir, 'lethe.yaml', config([mallory]), mallory, 'new root');
    sh(dir, ['branch', '-f', 'main', 'rewritten']);
    sh(dir, ['checkout', '-q', 'main']);
    const { t: again } = await tree(dir, { dataDir });
    await assert.rejects(again.at(head(dir)), { code: 'TRUST_ROOT_LOST' });
    // The operator inspects and pins deliberately: accepted, and recorded.
    const warn: string[] = [];
    const { t: pinned } = await tree(dir, { dataDir, pinned: head(dir), warn });
    assert.equal((await pinned.at(head(dir))).root, head(dir));
    assert.deepEqual(warn, ['root of trust changed by the operator']);
  });
});
