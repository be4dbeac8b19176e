import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { catalogue, lookup } from '../../controller/errors/catalogue.ts';

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const p = join(dir, e);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Codes the code base raises: LetheError/HttpError constructors, *Error('CODE' factories, defineErrors sets (.error/.message), failed results, problems. */
function raisedCodes(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [
    /\b\w*Error\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
    /\.(?:error|message)\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
    /kind: 'failed', code: '([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
    /\bproblem\(\s*'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
    /\bcode: '([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g,
  ];
  for (const file of [...sources('controller'), ...sources('state')]) {
    const text = readFileSync(file, 'utf8');
    for (const re of patterns) for (const m of text.matchAll(re)) found.set(m[1]!, file);
  }
  return found;
}

describe('error catalogue', () => {
  it('has a message and a fix hint for every code, and no code defined twice', () => {
    const seen = new Map<string, string>();
    for (const { source, table } of catalogue()) {
      for (const [code, entry] of Object.entries(table)) {
        assert.match(code, /^[A-Z][A-Z0-9_]+$/);
        assert.ok(entry.message.trim().length > 10, `${code}: message`);
        assert.ok(entry.hint.trim().length > 10, `${code}: hint`);
        assert.ok(!seen.has(code), `${code} is defined by ${seen.get(code)} and ${source}`);
        seen.set(code, source);
      }
    }
    assert.ok(seen.size > 100);
  });

  it('knows every code the controller can raise', () => {
    const raised = raisedCodes();
    assert.ok(raised.size > 50, `found ${raised.size} codes`);
    const missing = [...raised].filter(([code]) => !lookup(code)).map(([code, file]) => `${code} (${file})`);
    assert.deepEqual(missing, []);
  });
});
