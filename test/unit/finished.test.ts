import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { allTasksFinal, finishedPlanRequest } from '../../controller/core/pass/finished.ts';
import { seedTask } from '../../controller/core/planner.ts';
import {
  checkRepository,
  loadRepositoryFromDisk,
  type FinishedEntry,
  type RepositoryModel,
} from '../../controller/manifests/index.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { VENDOR_PHASES } from '../../specs/index.ts';
import { taskKey, type TaskRecord } from '../../state/journal.ts';

const DRIVERS = createDriverTable();
const EXAMPLE = fileURLToPath(new URL('../../examples/privacy-repo/', import.meta.url));
const FINAL = new Set(['Completed', 'Failed', 'Cancelled', 'Skipped']);

/** A finished entry standing for a whole one: checkRepository never reads its facts. */
function finishedOf(model: RepositoryModel, name: string): FinishedEntry {
  const entry = model.requests.get(name)!;
  const spec = entry.request!.spec;
  return {
    path: entry.path,
    vendors: entry.vendors,
    finished: {
      name,
      blob: '0'.repeat(40),
      action: spec.action,
      regulation: spec.regulation,
      receivedAt: spec.receivedAt,
      dueAt: spec.receivedAt,
      fingerprint: 'f',
      vendorsFromAll: spec.vendors === 'all',
    },
  };
}

describe('checkRepository with finished requests carried', () => {
  it('gives the model of the whole repository, in file order, for any set of them (fast-check)', async () => {
    const { parsed, model: whole } = await loadRepositoryFromDisk(EXAMPLE, DRIVERS);
    const names = [...whole.requests.keys()];
    fc.assert(
      fc.property(fc.subarray(names), (finishedNames) => {
        const carried = new Map(finishedNames.map((n) => [n, finishedOf(whole, n)]));
        const paths = new Set([...carried.values()].map((e) => e.path));
        const model = checkRepository(
          parsed.filter((p) => !paths.has(p.path)),
          DRIVERS,
          [],
          carried,
        );
        assert.deepEqual([...model.requests.keys()], names);
        for (const [name, entry] of model.requests) {
          assert.equal(entry.path, whole.requests.get(name)!.path);
          assert.deepEqual(entry.vendors, whole.requests.get(name)!.vendors);
          assert.equal(entry.finished !== undefined, carried.has(name));
        }
        assert.deepEqual(model.problems, whole.problems);
        assert.deepEqual([...model.vendors.keys()], [...whole.vendors.keys()]);
      }),
      { numRuns: 60 },
    );
  });
});

describe('allTasksFinal: a request is finished only when every vendor has a final task', () => {
  const lookup = (tasks: TaskRecord[]) => {
    const byKey = new Map(tasks.map((t) => [taskKey(t.request, t.vendor), t]));
    return { task: (key: string) => byKey.get(key) };
  };
  const task = (vendor: string, phase: TaskRecord['phase']): TaskRecord => ({
    ...seedTask('r', vendor, 'erasure'),
    phase,
  });

  it('every phase, at one vendor and at two', () => {
    for (const a of VENDOR_PHASES) {
      assert.equal(allTasksFinal(lookup([task('x', a)]), 'r', ['x']), FINAL.has(a), a);
      for (const b of VENDOR_PHASES) {
        const both = allTasksFinal(lookup([task('x', a), task('y', b)]), 'r', ['x', 'y']);
        assert.equal(both, FINAL.has(a) && FINAL.has(b), `${a} ${b}`);
      }
    }
  });

  it('a vendor without a task, no vendor at all, or a final task of another request is not finished', () => {
    assert.equal(allTasksFinal(lookup([task('x', 'Completed')]), 'r', ['x', 'y']), false);
    assert.equal(allTasksFinal(lookup([]), 'r', []), false);
    assert.equal(allTasksFinal(lookup([task('x', 'Completed')]), 'other', ['x']), false);
  });
});

describe('finishedPlanRequest', () => {
  it('plans from the kept facts, with no subject: its tasks are final, nothing is sent', () => {
    const entry: FinishedEntry = {
      path: 'requests/r.yaml',
      vendors: ['x', 'y'],
      finished: {
        name: 'r',
        blob: 'b',
        action: 'optout',
        regulation: 'ccpa',
        receivedAt: '2026-11-01',
        dueAt: '2026-12-16',
        fingerprint: 'fp',
        vendorsFromAll: true,
        subjectRef: 'ref',
      },
    };
    assert.deepEqual(finishedPlanRequest(entry, true), {
      name: 'r',
      action: 'optout',
      dueAt: '2026-12-16',
      receivedAt: '2026-11-01',
      subjectKeys: [],
      vendors: ['x', 'y'],
      vendorsFromAll: true,
      approved: true,
      fingerprint: 'fp',
    });
    assert.equal(finishedPlanRequest(entry, false).approved, false);
  });
});
