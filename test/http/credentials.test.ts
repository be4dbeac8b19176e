import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialFingerprint, resolveCredential } from '../../controller/http/credentials.ts';
import type { LetheError } from '../../controller/errors/types.ts';

const files: Record<string, string> = {
  '/s/token': 'file-secret-value\n',
  '/s/dg.json': '{"credentials": "dg-secret-value"}',
  '/s/bad.json': 'not json dg-secret-value',
  '/s/nokey.json': '{"other": "dg-secret-value"}',
  '/s/empty': '  \n',
};
const readFile = async (path: string): Promise<string> => {
  const v = files[path];
  if (v === undefined) throw Object.assign(new Error(`ENOENT: no such file, open '${path}'`), { code: 'ENOENT' });
  return v;
};
const env = { TOKEN: 'env-secret-value', EMPTY: '' };

async function failure(ref: string, options = {}): Promise<LetheError> {
  try {
    await resolveCredential(ref, env, readFile, options);
  } catch (err) {
    return err as LetheError;
  }
  throw new Error('resolved');
}

describe('resolveCredential', () => {
  it('reads env: and file: references', async () => {
    assert.equal(await resolveCredential('env:TOKEN', env, readFile), 'env-secret-value');
    assert.equal(await resolveCredential('file:/s/token', env, readFile), 'file-secret-value');
    assert.equal(
      await resolveCredential('file:/s/dg.json', env, readFile, { jsonKey: 'credentials' }),
      'dg-secret-value',
    );
  });

  it('fails clearly, naming the variable or path and never a value', async () => {
    const cases: [string, object, string, string][] = [
      ['env:MISSING', {}, 'CREDENTIAL_ENV_MISSING', 'MISSING'],
      ['env:EMPTY', {}, 'CREDENTIAL_EMPTY', 'EMPTY'],
      ['file:/s/none', {}, 'CREDENTIAL_FILE_UNREADABLE', '/s/none'],
      ['file:/s/empty', {}, 'CREDENTIAL_EMPTY', '/s/empty'],
      ['file:/s/bad.json', { jsonKey: 'credentials' }, 'CREDENTIAL_JSON_INVALID', '/s/bad.json'],
      ['file:/s/nokey.json', { jsonKey: 'credentials' }, 'CREDENTIAL_JSON_INVALID', 'credentials'],
      ['vault:x', {}, 'CREDENTIAL_REF_INVALID', 'env:NAME'],
      ['file:', {}, 'CREDENTIAL_REF_INVALID', 'file:PATH'],
    ];
    for (const [ref, options, code, named] of cases) {
      const err = await failure(ref, options);
      assert.equal(err.code, code, ref);
      assert.ok(err.message.includes(named), `${ref}: ${err.message}`);
      // Only a malformed reference needs a spec change; a missing variable or file is fixed in the
      // environment and read again at the next pass, so it is never terminal.
      assert.equal(err.terminal, code === 'CREDENTIAL_REF_INVALID', ref);
      assert.ok(!/secret-value/.test(err.message) && !/secret-value/.test(String(err.cause)), ref);
    }
  });
});

describe('credentialFingerprint', () => {
  it('is short, stable, distinct per credential and does not contain it', () => {
    const a = credentialFingerprint(['token-a']);
    assert.match(a, /^[0-9a-f]{8}$/);
    assert.equal(a, credentialFingerprint(['token-a']));
    assert.notEqual(a, credentialFingerprint(['token-b']));
    assert.notEqual(credentialFingerprint(['ab', 'c']), credentialFingerprint(['a', 'bc']));
  });
});
