// The import boundaries a newcomer relies on (issue 13): who may import whom. Each rule
// names the files it governs and the imports they may not have; a violation lists
// `file -> import` so the fix is obvious. The checker itself is tested on a synthetic tree
// first, so that a rule which silently matches nothing cannot pass.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Packages and node: modules that do IO: schemas must stay pure, so specs/ imports none of them. */
const IO_MODULES = [
  'fs',
  'fs/promises',
  'child_process',
  'net',
  'http',
  'https',
  'tls',
  'dgram',
  'undici',
  'simple-git',
  'lowdb',
  'chokidar',
  'proper-lockfile',
  'prom-client',
  '@octokit/rest',
];

interface Rule {
  name: string;
  /** Repository-relative path prefixes of the files the rule governs. */
  files: string[];
  /** Whether a file governed by the rule may import `target` (repo-relative path or bare module). */
  forbids(target: string): boolean;
}

const under = (path: string, ...prefixes: string[]) => prefixes.some((p) => path === p || path.startsWith(`${p}/`));
const bare = (target: string) => target.replace(/^node:/, '');

const RULES: Rule[] = [
  {
    name: 'controller/contracts/ imports nothing else of the controller',
    files: ['controller/contracts'],
    forbids: (target) => under(target, 'controller') && !under(target, 'controller/contracts'),
  },
  {
    name: 'specs/ imports no IO and nothing of the controller or state',
    files: ['specs'],
    forbids: (target) =>
      IO_MODULES.some((m) => bare(target) === m || bare(target).startsWith(`${m}/`)) ||
      under(target, 'controller', 'state'),
  },
  {
    name: 'vendors never import core, git or the CLI',
    files: ['controller/vendors'],
    forbids: (target) => under(target, 'controller/core', 'controller/git', 'controller/cli'),
  },
  {
    name: 'http never imports vendors',
    files: ['controller/http'],
    forbids: (target) => under(target, 'controller/vendors'),
  },
  {
    name: 'the product (controller/, specs/, state/) never imports examples/',
    files: ['controller', 'specs', 'state'],
    forbids: (target) => under(target, 'examples'),
  },
];

/** Every module specifier of a TypeScript/JavaScript source: static, re-export, side-effect and dynamic imports. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of source.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** A relative specifier as a repository-relative path; a bare one (package, node:) as is. */
function resolveTarget(file: string, specifier: string): string {
  if (!specifier.startsWith('.')) return specifier;
  return normalize(join(dirname(file), specifier))
    .split('\\')
    .join('/');
}

function violations(files: ReadonlyMap<string, string>, rules: readonly Rule[] = RULES): string[] {
  const found: string[] = [];
  for (const [file, source] of files) {
    for (const rule of rules) {
      if (!rule.files.some((prefix) => under(file, prefix))) continue;
      for (const specifier of specifiers(source)) {
        if (rule.forbids(resolveTarget(file, specifier))) found.push(`${rule.name}: ${file} -> ${specifier}`);
      }
    }
  }
  return found.sort();
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir)).sort()) {
    const path = `${dir}/${entry}`;
    if (statSync(join(root, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (/\.(ts|mts|js|mjs)$/.test(entry)) out.push(path);
  }
  return out;
}

function repositorySources(): Map<string, string> {
  const files = new Map<string, string>();
  for (const dir of ['controller', 'specs', 'state']) {
    for (const path of sourceFiles(dir)) files.set(path, readFileSync(join(root, path), 'utf8'));
  }
  return files;
}

describe('import boundaries', () => {
  it('the checker sees every kind of import and every rule can fire', () => {
    assert.deepEqual(
      specifiers(
        [
          "import type { A } from '../a.ts';",
          "import {\n  B,\n  type C,\n} from './b.ts';",
          "export { D } from '../../d.ts';",
          "import './side-effect.ts';",
          "const m = await import('node:fs');",
        ].join('\n'),
      ),
      ['../a.ts', './b.ts', '../../d.ts', './side-effect.ts', 'node:fs'],
    );
    const synthetic = new Map([
      ['controller/contracts/driver.ts', "import type { X } from '../core/x.ts';\nimport type { Y } from './y.ts';"],
      ['specs/common.ts', "import { readFileSync } from 'node:fs';\nimport { z } from 'zod';"],
      ['specs/status.ts', "import { git } from 'simple-git';"],
      ['controller/vendors/acme/index.ts', "import { REBUILT } from '../../core/rebuild.ts';"],
      [
        'controller/vendors/acme.ts',
        "import { commit } from '../git/push.ts';\nimport { main } from '../cli/main.ts';",
      ],
      ['controller/http/layer.ts', "import { DRIVERS } from '../vendors/registry.ts';"],
      ['state/journal.ts', "import { demo } from '../examples/demo/main.ts';"],
      [
        'controller/core/app.ts',
        "import { DRIVERS } from '../vendors/registry.ts';\nimport type { Logger } from '../contracts/log.ts';",
      ],
    ]);
    const found = violations(synthetic);
    assert.equal(found.length, 8, found.join('\n'));
    for (const rule of RULES)
      assert.ok(
        found.some((v) => v.startsWith(rule.name)),
        `rule never fired: ${rule.name}`,
      );
    assert.ok(!found.some((v) => v.includes('controller/core/app.ts')), 'core may import vendors and contracts');
  });

  it('the repository keeps every boundary', () => {
    const files = repositorySources();
    assert.ok(files.has('controller/contracts/driver.ts') && files.size > 50, `scanned only ${files.size} files`);
    assert.deepEqual(violations(files), []);
  });

  it('controller/contracts/ holds types only: type imports, no functions or classes', () => {
    const contracts = [...repositorySources()].filter(([path]) => path.startsWith('controller/contracts/'));
    assert.ok(contracts.length >= 3);
    for (const [path, source] of contracts) {
      assert.doesNotMatch(source, /^import (?!type )/m, `${path}: a value import`);
      assert.doesNotMatch(
        source,
        /^export (async )?(function|class)\b/m,
        `${path}: runtime code belongs outside contracts/`,
      );
    }
  });
});
