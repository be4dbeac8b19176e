// The test layout docs/development.md states is the one on disk, and no test depends on a
// path outside the repository (a fresh clone anywhere must pass `npm install && npm test`).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function files(dir: string, keep: (name: string) => boolean): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = `${dir}/${entry}`;
    if (entry === 'fixtures' || entry === 'node_modules') return [];
    return statSync(join(ROOT, path)).isDirectory() ? files(path, keep) : keep(entry) ? [path] : [];
  });
}

/** The folders of the layout table in docs/development.md (rows starting with | `test/<folder>/`). */
function documentedFolders(): string[] {
  const page = readFileSync(join(ROOT, 'docs/development.md'), 'utf8');
  return [...page.matchAll(/^\| `(test\/[a-z0-9-]+)\/` \|/gm)].map((m) => m[1]!);
}

/** Paths that exist only on some machine: absolute home, work or temp paths, or the folder beside the repository. */
const OUTSIDE = /\/work\/|\.\.\/shared\/|['"`]\/(home|Users|tmp|root|var|etc|opt)\//;

describe('test layout', () => {
  it('every test file is in a folder docs/development.md describes, and every such folder has tests', () => {
    const folders = documentedFolders();
    assert.ok(folders.length >= 6, `layout table not found: ${folders.join(', ')}`);
    const tests = files('test', (name) => name.endsWith('.test.ts'));
    const misplaced = tests.filter((path) => !folders.some((folder) => path.startsWith(`${folder}/`)));
    assert.deepEqual(misplaced, [], 'move the file, or describe its folder in docs/development.md');
    const empty = folders.filter((folder) => !tests.some((path) => path.startsWith(`${folder}/`)));
    assert.deepEqual(empty, []);
  });

  it('no test names a path outside the repository', () => {
    const sources = files('test', (name) => /\.(ts|mts|js|mjs)$/.test(name)).filter(
      (path) => !path.startsWith('test/structure/'),
    );
    assert.ok(sources.length > 50);
    const offenders = sources.filter((path) => OUTSIDE.test(readFileSync(join(ROOT, path), 'utf8')));
    assert.deepEqual(offenders, [], 'copy what the test needs into test/fixtures/ with a note of its source');
  });
});
