import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkRepository, formatText, parseManifest, type ParsedManifest } from '../../controller/manifests/index.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';

const DRIVERS = createDriverTable();

// Each case directory holds `repo/` (files laid over the valid base repository) and
// `expected.txt` (the exact `lethe validate` text). UPDATE_GOLDEN=1 rewrites the goldens.
const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
const BASE = join(FIXTURES, 'base');
const CASES = join(FIXTURES, 'invalid');
const EMAIL = /[A-Za-z0-9._+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}/g;

function files(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.set(relative(dir, join(d, e.name)).split('\\').join('/'), readFileSync(join(d, e.name), 'utf8'));
    }
  };
  walk(dir);
  return out;
}

function check(overlay: Map<string, string>) {
  const all = new Map([...files(BASE), ...overlay]);
  const parsed: ParsedManifest[] = [...all].map(([path, text]) => parseManifest(path, text));
  return checkRepository(parsed, DRIVERS);
}

const cases = readdirSync(CASES).sort();

test('there are at least 40 invalid fixture cases', () => {
  assert.ok(cases.length >= 40, `${cases.length} cases`);
});

for (const name of cases) {
  test(`invalid fixture ${name}`, () => {
    const overlay = files(join(CASES, name, 'repo'));
    const model = check(overlay);
    const output = formatText(model.problems);
    const golden = join(CASES, name, 'expected.txt');
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(golden)) writeFileSync(golden, output);
    assert.equal(output, readFileSync(golden, 'utf8'));

    assert.ok(
      model.problems.some((p) => overlay.has(p.file)),
      'the case is rejected, located in its own files',
    );
    for (const p of model.problems) assert.ok(p.line >= 1 && p.column >= 1);
    // Personal data and secrets never reach a message, whatever the file held.
    const secrets = [...overlay.values()].flatMap((t) => [
      ...(t.match(EMAIL) ?? []),
      ...(t.match(/SECRET-\w+|dXNlcjpodW50ZXIy/g) ?? []),
    ]);
    for (const s of secrets) assert.ok(!output.includes(s), `output must not contain ${s}`);
    // The valid files beside the broken one still make it into the model.
    if (!model.problems.some((p) => p.file === 'requests/base-ok.yaml')) {
      assert.deepEqual(model.requests.get('base-ok')?.vendors, ['maestroqa']);
    }
  });
}
