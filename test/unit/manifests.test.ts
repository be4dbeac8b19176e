import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  checkRepository,
  loadRepositoryFromDisk,
  manifestKind,
  MAX_MANIFEST_BYTES,
  parseManifest,
} from '../../controller/manifests/index.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';

const DRIVERS = createDriverTable();

const EXAMPLE = fileURLToPath(new URL('../../examples/privacy-repo/', import.meta.url));
const MIXED = fileURLToPath(new URL('../fixtures/mixed-repo/', import.meta.url));

test('manifestKind: only lethe.yaml, vendors/*.y(a)ml and requests/**/*.y(a)ml', () => {
  assert.equal(manifestKind('lethe.yaml'), 'LetheConfig');
  assert.equal(manifestKind('vendors/a.yml'), 'VendorConnection');
  assert.equal(manifestKind('vendors/sub/a.yaml'), undefined);
  assert.equal(manifestKind('requests/2026/11/a.yaml'), 'PrivacyRequest');
  assert.equal(manifestKind('status/a.yaml'), undefined);
  assert.equal(manifestKind('README.md'), undefined);
  assert.equal(manifestKind('requests/notes.txt'), undefined);
});

test('the example repository is valid, with "all" expanded per action', async () => {
  const { model } = await loadRepositoryFromDisk(EXAMPLE, DRIVERS);
  assert.deepEqual(model.problems, []);
  assert.equal(model.vendors.size, 5);
  assert.ok(model.requests.size >= 8);
  assert.equal(model.config?.spec.approval.approvers.length, 2);
  assert.deepEqual(model.requests.get('2026-11-0049')?.vendors, ['user-service']);
  assert.deepEqual(model.requests.get('2026-11-0046')?.vendors, ['qualifio', 'user-service']);
});

test('a mixed repository: valid files proceed, invalid ones are reported per file', async () => {
  const { model } = await loadRepositoryFromDisk(MIXED, DRIVERS);
  assert.deepEqual([...model.requests.keys()].sort(), ['good-1', 'good-2']);
  assert.deepEqual([...model.vendors.keys()], ['maestroqa']);
  assert.deepEqual([...model.invalidRequests.keys()].sort(), ['requests/bad-vendor.yaml', 'requests/broken.yaml']);
  assert.equal(model.invalidRequests.get('requests/bad-vendor.yaml')?.name, 'bad-vendor');
  assert.ok(
    model.problems.every((p) => !p.file.startsWith('status/')),
    'status/ is never read',
  );
});

test('parseManifest is pure and locates problems; checkRepository reuses cached parses', () => {
  const text = 'apiVersion: lethe/v1\nkind: PrivacyRequest\nmetadata:\n  name: a\nspec:\n  action: erasure\n';
  const a = parseManifest('requests/a.yaml', text);
  assert.deepEqual(parseManifest('requests/a.yaml', text).problems, a.problems);
  assert.equal(a.kind, 'PrivacyRequest');
  assert.equal(a.name, 'a');
  assert.equal(a.value, undefined);
  assert.deepEqual(
    a.problems.map((p) => [p.line, p.column, p.code, p.name]),
    [
      [6, 3, 'MISSING_FIELD', 'a'],
      [6, 3, 'MISSING_FIELD', 'a'],
      [6, 3, 'MISSING_FIELD', 'a'],
      [6, 3, 'MISSING_FIELD', 'a'],
      [6, 3, 'MISSING_FIELD', 'a'],
    ],
  );
  const model = checkRepository([a], DRIVERS);
  assert.ok(model.problems.some((p) => p.code === 'CONFIG_MISSING'));
  assert.equal(model.invalidRequests.get('requests/a.yaml')?.problems.length, 5);
});

test('files over the size cap are rejected before parsing', () => {
  const parsed = parseManifest('requests/big.yaml', `# ${'x'.repeat(MAX_MANIFEST_BYTES)}\n`);
  assert.deepEqual(
    parsed.problems.map((p) => [p.file, p.line, p.column, p.code]),
    [['requests/big.yaml', 1, 1, 'FILE_TOO_LARGE']],
  );
});

test('__proto__ keys never pollute objects', () => {
  parseManifest(
    'requests/p.yaml',
    'apiVersion: lethe/v1\n__proto__: {polluted: true}\nspec: {constructor: {prototype: {polluted: true}}}\n',
  );
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('parseManifest refuses paths that are not manifests', () => {
  assert.throws(() => parseManifest('status/a.yaml', ''), /not a manifest path/);
});

test('a parse keeps the text, not a node index; a cross-check problem found later is still located', () => {
  const vendor = parseManifest(
    'vendors/acme.yaml',
    'apiVersion: lethe/v1\nkind: VendorConnection\nmetadata:\n  name: acme\nspec:\n  type: maestroqa\n  baseUrl: https://acme.example\n  credentials:\n    apiToken: env:ACME_TOKEN\n',
  );
  const text = [
    'apiVersion: lethe/v1',
    'kind: PrivacyRequest',
    'metadata:',
    '  name: r1',
    'spec:',
    '  action: erasure',
    '  regulation: gdpr',
    '  receivedAt: "2026-11-20"',
    '  justification: asked by email',
    '  subject:',
    '    emails: [someone@example.com]',
    '  vendors:',
    '    - acme',
    '    - acmee',
    '',
  ].join('\n');
  const request = parseManifest('requests/r1.yaml', text);
  assert.deepEqual(request.problems, [], 'valid on its own');
  assert.ok(!('index' in request) && !('index' in vendor), 'no node index is kept with a parsed manifest');
  assert.equal(request.text, text);
  const model = checkRepository([request, vendor], DRIVERS);
  const unknown = model.problems.find((p) => p.code === 'UNKNOWN_VENDOR');
  assert.deepEqual(unknown && [unknown.file, unknown.line, unknown.column, unknown.name], [
    'requests/r1.yaml',
    14,
    7,
    'r1',
  ]);
  assert.match(unknown!.message, /spec\.vendors\[1\]/);
  // The same model again: locating parses the text again, it does not depend on a kept index.
  assert.deepEqual(checkRepository([request, vendor], DRIVERS).problems, model.problems);
});
