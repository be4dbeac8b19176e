import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { jsonSchemaOf } from '../../controller/manifests/json-schema.ts';
import { renderRequestManifest } from '../../controller/manifests/render-request.ts';

// Common validators (ajv-cli through js-yaml, Python's jsonschema through PyYAML) read YAML
// 1.1, where a bare 2026-11-20 is a date object that JSON Schema calls "not a string".
const REQUESTS = fileURLToPath(new URL('../../examples/privacy-repo/requests/2026/11/', import.meta.url));
const asYaml11 = (text: string) =>
  parse(text, { version: '1.1', customTags: ['timestamp'] }) as { spec: { receivedAt: unknown } };

test('a bare date is a date object in YAML 1.1: the reason dates are quoted', () => {
  assert.ok(asYaml11('spec: { receivedAt: 2026-11-20 }').spec.receivedAt instanceof Date);
});

test('the example requests and lethe new write dates a YAML 1.1 reader keeps as strings', () => {
  for (const file of readdirSync(REQUESTS)) {
    assert.equal(typeof asYaml11(readFileSync(join(REQUESTS, file), 'utf8')).spec.receivedAt, 'string', file);
  }
  const text = renderRequestManifest(
    {
      name: '2026-11-0001',
      action: 'erasure',
      regulation: 'gdpr',
      receivedAt: '2026-11-20',
      vendors: 'all',
      justification: 'ticket',
    },
    { emails: ['a@example.com'] },
  );
  assert.equal(asYaml11(text).spec.receivedAt, '2026-11-20');
});

test('the JSON Schema documents receivedAt as a quoted string with a date pattern', () => {
  const schema = jsonSchemaOf('privacy-request.schema.json') as any;
  const received = schema.properties.spec.properties.receivedAt;
  assert.equal(received.type, 'string');
  assert.equal(received.format, 'date');
  assert.equal(received.pattern, '^\\d{4}-\\d{2}-\\d{2}$');
  assert.match(received.description, /quoted string "YYYY-MM-DD"/);
});
