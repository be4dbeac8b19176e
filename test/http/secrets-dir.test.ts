import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveCredential } from '../../controller/http/credentials.ts';
import { parseManifest } from '../../controller/manifests/index.ts';
import { readSecretFile, resolveSecretsDir } from '../../controller/secrets-dir.ts';

const root = mkdtempSync(join(tmpdir(), 'lethe-secrets-'));
after(() => rmSync(root, { recursive: true, force: true }));
const dir = join(root, 'secrets');
mkdirSync(join(dir, 'sub'), { recursive: true });
writeFileSync(join(dir, 'token'), 'inside-secret\n');
writeFileSync(join(dir, 'sub', 'nested'), 'nested-secret\n');
writeFileSync(join(root, 'outside'), 'outside-secret\n');
symlinkSync(join(root, 'outside'), join(dir, 'escape'));
symlinkSync(join(dir, 'token'), join(dir, 'alias'));

const read = (ref: string, env: Record<string, string> = {}) =>
  resolveCredential(ref, env, (p) => readSecretFile(dir, p));

describe('secrets directory', () => {
  it('resolves --secrets-dir, then LETHE_SECRETS_DIR, then $CREDENTIALS_DIRECTORY, then <data dir>/secrets', () => {
    const env = { LETHE_SECRETS_DIR: '/a', CREDENTIALS_DIRECTORY: '/b' };
    assert.equal(resolveSecretsDir({ flag: '/f', env, dataDir: '/d' }), '/f');
    assert.equal(resolveSecretsDir({ env, dataDir: '/d' }), '/a');
    assert.equal(resolveSecretsDir({ env: { CREDENTIALS_DIRECTORY: '/b' }, dataDir: '/d' }), '/b');
    assert.equal(resolveSecretsDir({ env: {}, dataDir: '/d' }), '/d/secrets');
  });

  it('reads files inside it, relative or absolute, and symlinks that stay inside', async () => {
    assert.equal(await read('file:token'), 'inside-secret');
    assert.equal(await read('file:sub/nested'), 'nested-secret');
    assert.equal(await read(`file:${join(dir, 'token')}`), 'inside-secret');
    assert.equal(await read('file:alias'), 'inside-secret');
  });

  it('refuses absolute paths elsewhere, "..", and symlinks leading out, naming the path and never the content', async () => {
    for (const ref of [
      'file:/etc/passwd',
      `file:${join(root, 'outside')}`,
      'file:../outside',
      'file:sub/../../outside',
      'file:escape',
    ]) {
      await assert.rejects(read(ref), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'CREDENTIAL_PATH_OUTSIDE', ref);
        assert.ok(!err.message.includes('outside-secret') && !err.message.includes('root:'), ref);
        return true;
      });
    }
  });

  it("refuses env: references to the controller's own LETHE_* settings", async () => {
    await assert.rejects(read('env:LETHE_SUBJECT_SALT', { LETHE_SUBJECT_SALT: 'salt' }), {
      code: 'CREDENTIAL_ENV_FORBIDDEN',
    });
    await assert.rejects(read('env:lethe_webhook_secret', { lethe_webhook_secret: 's' }), {
      code: 'CREDENTIAL_ENV_FORBIDDEN',
    });
    assert.equal(await read('env:VENDOR_TOKEN', { VENDOR_TOKEN: 'v' }), 'v');
  });

  it('lethe validate reports each refused reference at its file:line with a hint', () => {
    const text = [
      'apiVersion: lethe/v1',
      'kind: VendorConnection',
      'metadata:',
      '  name: maestroqa',
      'spec:',
      '  type: maestroqa',
      '  baseUrl: https://app.maestroqa.com/api/v1',
      '  credentials:',
      '    apiToken: env:LETHE_SUBJECT_SALT',
      '',
    ].join('\n');
    const m = parseManifest('vendors/maestroqa.yaml', text);
    assert.deepEqual(
      m.problems.map((p) => `${p.file}:${p.line} ${p.code}`),
      ['vendors/maestroqa.yaml:9 CREDENTIAL_REF_REFUSED'],
    );
    const dotted = parseManifest(
      'vendors/maestroqa.yaml',
      text.replace('env:LETHE_SUBJECT_SALT', 'file:../../etc/passwd'),
    );
    assert.deepEqual(
      dotted.problems.map((p) => `${p.line} ${p.code}`),
      ['9 CREDENTIAL_REF_REFUSED'],
    );
    assert.match(dotted.problems[0]!.message, /"\.\." is refused/);
  });
});
