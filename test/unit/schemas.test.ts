import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { exportJsonSchemas } from '../../controller/manifests/json-schema.ts';
import { PrivacyRequest, VendorConnection } from '../../specs/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMAS = join(ROOT, 'examples/privacy-repo/.schemas');
const update = process.env.UPDATE_GOLDEN === '1';

test('committed JSON Schemas equal a fresh export', () => {
  const fresh = exportJsonSchemas();
  assert.deepEqual(readdirSync(SCHEMAS).sort(), [...fresh.keys()].sort());
  for (const [file, text] of fresh) {
    if (update) writeFileSync(join(SCHEMAS, file), text);
    assert.equal(
      readFileSync(join(SCHEMAS, file), 'utf8'),
      text,
      `${file} drifted: run lethe schema --out examples/privacy-repo/.schemas`,
    );
  }
});

const request = {
  apiVersion: 'lethe/v1',
  kind: 'PrivacyRequest',
  metadata: { name: '2026-11-0042' },
  spec: {
    action: 'erasure',
    regulation: 'gdpr',
    receivedAt: '2026-11-20',
    subject: { emails: ['jane@example.com'] },
    vendors: ['maestroqa'],
    justification: 'ticket',
  },
};

test('PrivacyRequest: accepts a minimal request, "all", and an extension', () => {
  assert.ok(PrivacyRequest.safeParse(request).success);
  assert.ok(PrivacyRequest.safeParse({ ...request, spec: { ...request.spec, vendors: 'all' } }).success);
  assert.ok(
    PrivacyRequest.safeParse({ ...request, spec: { ...request.spec, extension: { reason: 'volume', months: 2 } } })
      .success,
  );
});

test('PrivacyRequest: rejects what the schema forbids', () => {
  const bad = (spec: Record<string, unknown>) =>
    PrivacyRequest.safeParse({ ...request, spec: { ...request.spec, ...spec } }).success;
  assert.equal(bad({ action: 'delete' }), false);
  assert.equal(bad({ receivedAt: '2026-02-29' }), false);
  assert.equal(bad({ vendors: [] }), false);
  assert.equal(bad({ vendors: 'some' }), false);
  assert.equal(bad({ subject: { emails: [] } }), false);
  assert.equal(bad({ justification: '   ' }), false);
  assert.equal(bad({ extension: { reason: 'x', months: 3 } }), false);
  assert.equal(bad({ extra: true }), false);
});

test('VendorConnection: credentials are references, never secrets', () => {
  const vendor = (token: string) =>
    VendorConnection.safeParse({
      apiVersion: 'lethe/v1',
      kind: 'VendorConnection',
      metadata: { name: 'maestroqa' },
      spec: { type: 'maestroqa', credentials: { apiToken: token } },
    }).success;
  assert.equal(vendor('env:MAESTROQA_API_TOKEN'), true);
  assert.equal(vendor('file:/run/secrets/token'), true);
  assert.equal(vendor('abcd1234'), false);
  assert.equal(vendor('env:1BAD'), false);
});
