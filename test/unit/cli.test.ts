import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const lethe = (...args: string[]) =>
  spawnSync(process.execPath, ['controller/cli/bin.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });

test('lethe validate: the example repository exits 0', () => {
  const r = lethe('validate', '--repo', 'examples/privacy-repo');
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('lethe validate: an invalid repository exits 1 with located lines', () => {
  const r = lethe('validate', '--repo', 'test/fixtures/mixed-repo');
  assert.equal(r.status, 1);
  const located = r.stdout.split('\n').filter((l) => !l.startsWith('  ') && l !== '');
  assert.deepEqual(located, [
    'requests/bad-vendor.yaml:11:13 UNKNOWN_VENDOR spec.vendors[0]: no vendor named "zendesk" in vendors/',
    'requests/broken.yaml:6:11 INVALID_VALUE spec.action: Invalid option: expected one of "erasure"|"access"|"optout"',
  ]);
  assert.ok(r.stdout.includes('\n  hint: '));
  assert.ok(!r.stdout.includes('@example.com'));
});

test('lethe validate --format json: an array of located problems', () => {
  const r = lethe('validate', '--repo', 'test/fixtures/mixed-repo', '--format', 'json');
  assert.equal(r.status, 1);
  const rows = JSON.parse(r.stdout) as { file: string; line: number; column: number; code: string }[];
  assert.deepEqual(
    rows.map((p) => `${p.file}:${p.line}:${p.column} ${p.code}`),
    ['requests/bad-vendor.yaml:11:13 UNKNOWN_VENDOR', 'requests/broken.yaml:6:11 INVALID_VALUE'],
  );
  assert.deepEqual(Object.keys(rows[0]!), ['file', 'line', 'column', 'code', 'message', 'hint']);
});

test('usage errors exit 2; an unreadable repository exits 3', () => {
  assert.equal(lethe('validate', '--format', 'xml').status, 2);
  assert.equal(lethe('validate', '--bogus').status, 2);
  assert.equal(lethe('schema').status, 2);
  assert.equal(lethe('validate', '--repo', 'does/not/exist').status, 3);
});
