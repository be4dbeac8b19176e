import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { evaluateApproval } from '../../controller/git/approval.ts';
import { GitSource } from '../../controller/git/source.ts';
import { alice, bob, cleanup, head, lethe, makeRepo, openPr, policy, sh, tempDir, type Who } from './helpers.ts';

after(() => {
  execFileSync('gpgconf', ['--kill', 'gpg-agent'], { stdio: 'ignore' });
  cleanup();
});

const keys = new Map<string, string>();

function genKey(who: Who): string {
  execFileSync(
    'gpg',
    ['--batch', '--passphrase', '', '--quick-gen-key', `${who.name} <${who.email}>`, 'ed25519', 'sign', 'never'],
    { stdio: 'ignore' },
  );
  const colons = execFileSync('gpg', ['--batch', '--with-colons', '--list-keys', who.email], { encoding: 'utf8' });
  return /^fpr:+([0-9A-F]{40}):/m.exec(colons)![1]!;
}

before(() => {
  // A throwaway keyring: the signing and the controller's verification both use it.
  const home = tempDir();
  chmodSync(home, 0o700);
  process.env.GNUPGHOME = home;
  keys.set(alice.email, genKey(alice));
  keys.set(bob.email, genKey(bob));
});

function signedMerge(dir: string, branch: string, merger: Who, key: string): void {
  sh(
    dir,
    ['-c', `user.signingkey=${key}`, 'merge', '-q', '--no-ff', `-S${key}`, '-m', `Merge ${branch}`, branch],
    merger,
  );
}

async function evaluate(dir: string, signingKey: string) {
  const git = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
  const p = policy({ requireSignedCommits: true, approvers: [{ ...alice, signingKey }, bob] });
  return evaluateApproval(git, { path: 'requests/a.yaml', head: head(dir), policy: p, controllerIdentity: lethe });
}

describe('signed approvals', () => {
  it('approves a merge signed with the approver key (fingerprint or its 16-digit suffix)', async () => {
    const dir = makeRepo();
    openPr(dir, 'req', 'requests/a.yaml', 'spec: 1\n');
    signedMerge(dir, 'req', alice, keys.get(alice.email)!);
    const full = await evaluate(dir, keys.get(alice.email)!);
    assert.equal(full.approved, true, full.reason);
    assert.equal(full.signed, true);
    assert.equal((await evaluate(dir, keys.get(alice.email)!.slice(-16).toLowerCase())).approved, true);
  });

  it("rejects a merge signed with someone else's key, and an unsigned merge", async () => {
    const dir = makeRepo();
    openPr(dir, 'req', 'requests/a.yaml', 'spec: 1\n');
    signedMerge(dir, 'req', alice, keys.get(bob.email)!);
    const wrongKey = await evaluate(dir, keys.get(alice.email)!);
    assert.equal(wrongKey.approved, false);
    assert.equal(wrongKey.signed, false);
    assert.match(wrongKey.reason, /not an approving approver's signingKey/);

    const unsigned = makeRepo();
    openPr(unsigned, 'req', 'requests/a.yaml', 'spec: 1\n');
    sh(unsigned, ['merge', '-q', '--no-ff', '-m', 'merge', 'req'], alice);
    const none = await evaluate(unsigned, keys.get(alice.email)!);
    assert.equal(none.approved, false);
    assert.match(none.reason, /no good signature/);
  });
});
