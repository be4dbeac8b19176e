import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { withPrevious } from '../../controller/git/chain.ts';
import { checkCommitSignature, findSigner, parseSshPublicKey } from '../../controller/git/signing.ts';
import { GitSource } from '../../controller/git/source.ts';
import { bob, cleanup, commitFile, head, lethe, makeKey, makeRepo, sh, tempDir } from './helpers.ts';

after(cleanup);

const rawCommit = (dir: string, sha: string): Buffer =>
  spawnSync('git', ['cat-file', 'commit', sha], { cwd: dir }).stdout;

describe('status commit signing and chaining', () => {
  it('puts Lethe-Previous-Status into the trailer block, or starts one', () => {
    const sha = 'a'.repeat(40);
    assert.equal(
      withPrevious('lethe: x\n\n- r: A\n\nLethe-Request: r\nLethe-Phase: r=A\n', sha),
      `lethe: x\n\n- r: A\n\nLethe-Request: r\nLethe-Phase: r=A\nLethe-Previous-Status: ${sha}\n`,
    );
    assert.equal(withPrevious('lethe: withdraw\n', sha), `lethe: withdraw\n\nLethe-Previous-Status: ${sha}\n`);
    assert.equal(
      withPrevious(`s\n\nK: v\nLethe-Previous-Status: ${'b'.repeat(40)}\n`, sha),
      `s\n\nK: v\nLethe-Previous-Status: ${sha}\n`,
    );
    assert.equal(withPrevious('s\n\nK: v\n', undefined), 's\n\nK: v\n');
  });

  it('signs again and re-chains status commits it replays onto commits pushed meanwhile', async () => {
    const key = makeKey();
    const work = makeRepo();
    const origin = tempDir();
    sh(origin, ['init', '-q', '--bare', '-b', 'main']);
    sh(work, ['remote', 'add', 'origin', origin]);
    sh(work, ['push', '-q', '-u', 'origin', 'main']);
    const source = await GitSource.open({
      remote: origin,
      branch: 'main',
      dataDir: tempDir(),
      identity: lethe,
      pushRetry: { attempts: 5, budgetMs: 5_000, baseDelayMs: 10 },
    });
    source.useSigner(await findSigner(key.dir, key.pub));
    await source.sync();
    const first = await source.writeStatus(new Map([['status/a.yaml', '1\n']]), 'lethe: one\n');
    assert.equal(first.pushed, true);
    sh(work, ['pull', '-q', 'origin', 'main']);
    commitFile(work, 'requests/b.yaml', 'b\n', bob);
    sh(work, ['push', '-q', 'origin', 'main']);
    const second = await source.writeStatus(new Map([['status/a.yaml', '2\n']]), 'lethe: two\n');
    assert.equal(second.pushed, true, JSON.stringify(second.pushError));
    const tip = head(origin, 'main');
    assert.notEqual(tip, second.commit, 'replayed onto the new head');
    assert.equal(
      sh(origin, ['log', '-1', '--format=%(trailers:key=Lethe-Previous-Status,valueonly)', 'main']).trim(),
      first.commit,
    );
    const check = checkCommitSignature(rawCommit(origin, tip));
    assert.equal(check.status, 'good');
    assert.ok(check.status === 'good' && check.key.blob.equals(parseSshPublicKey(key.pub)!.blob));
    assert.equal(
      checkCommitSignature(rawCommit(origin, `${tip}~1`)).status,
      'none',
      "Bob's commit is his own, unsigned",
    );
  });

  it('refuses a declared key whose private half is missing, and lethe keygen makes a usable pair', async () => {
    const dir = tempDir();
    await assert.rejects(findSigner(dir, makeKey().pub), { code: 'STATUS_SIGNING_KEY_MISSING' });
    await assert.rejects(findSigner(dir, 'ssh-rsa AAAAB3NzaC1yc2E'), { code: 'STATUS_SIGNING_KEY_INVALID' });
    const out = spawnSync(process.execPath, ['controller/cli/bin.mjs', 'keygen', '--secrets-dir', dir], {
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    const line = /signingKey: "(ssh-ed25519 [^"]+)"/.exec(out.stdout)?.[1];
    assert.ok(line, out.stdout);
    const signer = await findSigner(dir, line);
    assert.equal(statSync(signer.keyFile).mode & 0o077, 0, 'the private key is readable by its owner only');
  });
});
