// The driver registry's promises (issue 13): core/ and the CLI know no vendor, drivers keep
// no module-level state, every controller gets its own drivers, and validation, callbacks
// and credentials go through the table the controller was given.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wakeFromCallback } from '../../controller/core/app.ts';
import { loadRepositoryFromDisk } from '../../controller/manifests/index.ts';
import { defineDriver } from '../../controller/vendors/define.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { seedTask } from '../../controller/core/planner.ts';
import { Journal, taskKey } from '../../state/journal.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function sources(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const entry of readdirSync(join(root, dir)).sort()) {
    const path = `${dir}/${entry}`;
    if (statSync(join(root, path)).isDirectory()) for (const [p, s] of sources(path)) out.set(p, s);
    else if (/\.(ts|mts|js|mjs)$/.test(entry)) out.set(path, readFileSync(join(root, path), 'utf8'));
  }
  return out;
}

/** `apiproxy` also matches "API Proxy", "api-proxy": a vendor name however it is spelled. */
function spelledAnyWay(type: string): RegExp {
  return new RegExp(type.split('').join('[\\s_-]?'), 'i');
}

function vendorMentions(files: ReadonlyMap<string, string>, types: readonly string[]): string[] {
  const found: string[] = [];
  for (const [path, source] of files) {
    source.split('\n').forEach((line, i) => {
      for (const type of types) if (spelledAnyWay(type).test(line)) found.push(`${path}:${i + 1} names ${type}`);
    });
  }
  return found;
}

/** Top-level `let`/`var` or a top-level Map/Set/WeakMap being built: state shared by every controller. */
function moduleState(files: ReadonlyMap<string, string>): string[] {
  const found: string[] = [];
  for (const [path, source] of files) {
    source.split('\n').forEach((line, i) => {
      if (/^(export )?(let|var)\s/.test(line) || /^(export )?const \w+(: [^=]+)? = new (Weak)?Map\b/.test(line))
        found.push(`${path}:${i + 1}`);
    });
  }
  return found;
}

const TYPES = Object.keys(createDriverTable());

describe('driver registry', () => {
  it('the checks fire on a synthetic tree', () => {
    const synthetic = new Map([
      ['controller/core/wiring.ts', "if (spec.type === 'apiproxy') {}"],
      ['controller/cli/commands/run.ts', '// Qualifio calls back'],
      ['controller/core/listener.ts', '// the API Proxy credentials'],
      ['controller/core/ok.ts', '// a vendor callback'],
    ]);
    assert.equal(vendorMentions(synthetic, TYPES).length, 3);
    const state = new Map([
      [
        'controller/vendors/acme/auth.ts',
        'const tokens = new Map<string, string>();\nlet last = 0;\nconst OK = new Set([1]);',
      ],
    ]);
    assert.deepEqual(moduleState(state), ['controller/vendors/acme/auth.ts:1', 'controller/vendors/acme/auth.ts:2']);
  });

  it('controller/core/ and controller/cli/ name no vendor', () => {
    assert.ok(TYPES.length >= 5, `registry lists ${TYPES.length} types`);
    const files = new Map([...sources('controller/core'), ...sources('controller/cli')]);
    assert.ok(files.size > 20);
    assert.deepEqual(vendorMentions(files, TYPES), []);
  });

  it('core imports no vendor module; the CLI only the registry', () => {
    const offending: string[] = [];
    for (const [path, source] of [...sources('controller/core'), ...sources('controller/cli')]) {
      for (const m of source.matchAll(/from\s*['"]([^'"]*\/vendors\/[^'"]*)['"]/g)) {
        if (path.startsWith('controller/core/') || !m[1]!.endsWith('/vendors/registry.ts'))
          offending.push(`${path} -> ${m[1]}`);
      }
    }
    assert.deepEqual(offending, []);
  });

  it('drivers keep no module-level state', () => {
    assert.deepEqual(moduleState(sources('controller/vendors')), []);
  });

  it('each table is a fresh set of drivers, consistent with its definitions', () => {
    const a = createDriverTable();
    const b = createDriverTable();
    for (const type of TYPES as (keyof typeof a)[]) {
      assert.equal(a[type].type, type);
      assert.ok(a[type].actions.length > 0, `${type} declares no action`);
    }
    // A stateful driver is a new object per table (a stateless one may be shared).
    assert.notEqual(a.maestroqa, b.maestroqa);
  });

  it('a driver that contradicts its definition is refused with a catalogue code', () => {
    const base = createDriverTable().qualifio;
    const wrongType = defineDriver('maestroqa', () => ({ ...base, type: 'qualifio' }) as never);
    assert.throws(
      () => wrongType.create(),
      (err: unknown) => err instanceof LetheError && err.code === 'DRIVER_DEFINITION_INVALID' && err.terminal,
    );
    const batchWithoutStep = defineDriver('qualifio', () => ({ ...base, batch: { step: 'start', max: 2 } }));
    assert.throws(() => batchWithoutStep.create(), /batch without stepBatch/);
  });

  it('validation reads the injected table, not a global one', async () => {
    const example = fileURLToPath(new URL('../../examples/privacy-repo/', import.meta.url));
    const real = createDriverTable();
    const { model } = await loadRepositoryFromDisk(example, real);
    assert.deepEqual(model.problems, []);
    const addressed = (m: typeof model) =>
      [...m.requests.values()].filter((r) => r.vendors.includes('qualifio')).length;
    assert.ok(addressed(model) > 0);
    // The same repository against a table whose driver performs optout only.
    const optoutOnly = { ...real, qualifio: { ...real.qualifio, actions: ['optout'] as const } };
    const altered = (await loadRepositoryFromDisk(example, optoutOnly)).model;
    assert.ok(altered.problems.some((p) => p.code === 'VENDOR_ACTION_UNSUPPORTED'));
    assert.ok(
      [...altered.requests.values()].every(
        (r) => !r.vendors.includes('qualifio') || r.request?.spec.action === 'optout',
      ),
    );
  });

  it('a callback wakes the task its driver names, and only a live one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-callback-'));
    try {
      const journal = await Journal.open(join(dir, 'journal.json'));
      const drivers = createDriverTable();
      const key = taskKey('req-1', 'q');
      journal.putTask({ ...seedTask('req-1', 'q', 'access'), nextCheckAt: 4_000_000_000_000 });
      assert.equal(wakeFromCallback(drivers, journal, '/callback/unknown/q/req-1'), false);
      assert.equal(journal.task(key)!.nextCheckAt, 4_000_000_000_000);
      assert.equal(wakeFromCallback(drivers, journal, '/callback/qualifio/q/req-1'), true);
      assert.equal(journal.task(key)!.nextCheckAt, undefined);
      assert.equal(wakeFromCallback(drivers, journal, '/callback/qualifio/q/req-unknown'), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
