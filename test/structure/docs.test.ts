// The documentation stays true: docs/reference/ equals what the code generates, every
// relative link in the repository's markdown resolves to a file of this repository (none
// leaves it), and the README stays short enough to read.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { freshPages, GENERATED, ROOT } from '../../scripts/docs.ts';

const SKIPPED = new Set(['node_modules', '.git', 'test/fixtures']);

/** Every markdown file of the repository (vendor documents copied as fixtures excepted), repository-relative. */
function markdownFiles(dir = ''): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((entry) => {
    const path = dir === '' ? entry : `${dir}/${entry}`;
    if (SKIPPED.has(path) || SKIPPED.has(entry)) return [];
    return statSync(join(ROOT, path)).isDirectory() ? markdownFiles(path) : entry.endsWith('.md') ? [path] : [];
  });
}

/** Link targets of a markdown text: inline links and images, without their #fragment. */
function links(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

describe('documentation', () => {
  it('docs/reference/ equals a fresh generation (run npm run docs after changing the code it documents)', async () => {
    const pages = await freshPages();
    assert.deepEqual([...pages.keys()].sort(), Object.keys(GENERATED).sort());
    for (const [path, text] of pages) {
      assert.equal(readFileSync(join(ROOT, path), 'utf8'), text, `${path} drifted: run npm run docs`);
    }
  });

  it('every relative link resolves inside the repository', () => {
    const files = markdownFiles();
    assert.ok(files.includes('README.md') && files.includes('docs/concepts.md'), files.join(', '));
    const broken: string[] = [];
    for (const file of files) {
      for (const target of links(readFileSync(join(ROOT, file), 'utf8'))) {
        if (/^(https?:|mailto:)/.test(target) || target.startsWith('#')) continue;
        const path = resolve(ROOT, dirname(file), decodeURI(target.split('#')[0]!));
        const inside = !relative(ROOT, path).startsWith('..');
        if (!inside || !existsSync(path))
          broken.push(`${file} -> ${target}${inside ? '' : ' (outside the repository)'}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('the README stays a front page (under about 12 KB)', () => {
    const size = statSync(join(ROOT, 'README.md')).size;
    assert.ok(size <= 12_500, `README.md is ${size} bytes: move detail to docs/`);
  });
});
