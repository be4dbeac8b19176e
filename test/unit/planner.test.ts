import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plan, seedTask, stallFingerprint, type PlanRequest, type PlanVendor } from '../../controller/core/planner.ts';
import type { TaskRecord } from '../../state/journal.ts';

const NOW = Date.parse('2026-11-25T10:00:00Z');

function req(name: string, over: Partial<PlanRequest> = {}): PlanRequest {
  return {
    name,
    action: 'erasure',
    dueAt: '2026-12-20',
    receivedAt: '2026-11-20',
    subjectKeys: [`s-${name}`],
    vendors: ['v1'],
    approved: true,
    fingerprint: `fp-${name}`,
    ...over,
  };
}

function vendor(name: string, over: Partial<PlanVendor> = {}): [string, PlanVendor] {
  return [
    name,
    { name, available: true, fingerprint: `vf-${name}`, canCancel: false, drainMs: (n) => n * 1000, ...over },
  ];
}

function task(request: string, vendorName: string, over: Partial<TaskRecord> = {}): TaskRecord {
  return { ...seedTask(request, vendorName, 'erasure'), ...over };
}

const vendors = (...v: Array<[string, PlanVendor]>) => new Map(v.length ? v : [vendor('v1')]);

describe('planner', () => {
  it('creates a task per approved request and vendor, and steps it at once', () => {
    const p = plan({
      now: NOW,
      requests: [req('a', { vendors: ['v1', 'v2'] })],
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    assert.deepEqual(
      p.changes.map((c) => c.kind === 'create' && c.key),
      ['a/v1', 'a/v2'],
    );
    assert.deepEqual(
      p.actions.map((a) => [a.kind, a.keys]),
      [
        ['step', ['a/v1']],
        ['step', ['a/v2']],
      ],
    );
  });

  it('never plans anything for an unapproved request', () => {
    const p = plan({
      now: NOW,
      requests: [req('a', { approved: false })],
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.requests[0]!.vendors, {});
  });

  it('pauses a started task whose request lost its approval (edited after approval)', () => {
    const p = plan({
      now: NOW,
      requests: [req('a', { approved: false })],
      tasks: [task('a', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1 })],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.requests[0]!.vendors.v1, { wait: 'AwaitingApproval' });
  });

  it('orders actions by earliest due date first', () => {
    const p = plan({
      now: NOW,
      requests: [
        req('late', { dueAt: '2026-12-30' }),
        req('early', { dueAt: '2026-12-01' }),
        req('mid', { dueAt: '2026-12-15' }),
      ],
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys[0]),
      ['early/v1', 'mid/v1', 'late/v1'],
    );
  });

  it('runs an access request before an erasure of the same subject at the same vendor', () => {
    const p = plan({
      now: NOW,
      requests: [
        req('erase', { subjectKeys: ['s'], dueAt: '2026-12-01' }),
        req('export', { action: 'access', subjectKeys: ['s'], dueAt: '2026-12-10' }),
      ],
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys[0]),
      ['export/v1'],
    );
    assert.deepEqual(p.requests.find((r) => r.name === 'erase')!.vendors.v1, { wait: 'SubjectBusy' });
  });

  it('lets the erasure start once the access request finished at that vendor', () => {
    const p = plan({
      now: NOW,
      requests: [req('erase', { subjectKeys: ['s'] }), req('export', { action: 'access', subjectKeys: ['s'] })],
      tasks: [task('export', 'v1', { action: 'access', phase: 'Completed', step: 'done' })],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys[0]),
      ['erase/v1'],
    );
  });

  it('never interleaves two requests on one subject at one vendor, but does at different vendors', () => {
    const p = plan({
      now: NOW,
      requests: [
        req('first', { subjectKeys: ['s'], vendors: ['v1', 'v2'] }),
        req('second', { subjectKeys: ['s', 'other'], dueAt: '2026-12-01', vendors: ['v1'] }),
      ],
      tasks: [task('first', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1 })],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    // `second` is more urgent, but `first` already holds the subject at v1.
    assert.deepEqual(p.actions.map((a) => a.keys[0]).sort(), ['first/v1', 'first/v2']);
  });

  it('matches subjects by any shared email key', () => {
    const p = plan({
      now: NOW,
      requests: [req('a', { subjectKeys: ['x', 'y'] }), req('b', { subjectKeys: ['z', 'y'], dueAt: '2026-12-01' })],
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys[0]),
      ['b/v1'],
    );
  });

  it('batches tasks waiting at the batch step up to the driver maximum', () => {
    const requests = Array.from({ length: 12 }, (_, i) => req(`r${String(i).padStart(2, '0')}`));
    const p = plan({
      now: NOW,
      requests,
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { batch: { step: 'start', max: 5 } })),
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys.length),
      [5, 5, 2],
    );
    assert.deepEqual(p.actions[0]!.keys, ['r00/v1', 'r01/v1', 'r02/v1', 'r03/v1', 'r04/v1']);
  });

  it('does not batch tasks that are past the batch step', () => {
    const p = plan({
      now: NOW,
      requests: [req('a'), req('b')],
      tasks: [
        task('a', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1 }),
        task('b', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1 }),
      ],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { batch: { step: 'start', max: 5 } })),
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys),
      [['a/v1'], ['b/v1']],
    );
  });

  it('waits for nextCheckAt and reports until when', () => {
    const later = NOW + 60_000;
    const p = plan({
      now: NOW,
      requests: [req('a')],
      tasks: [task('a', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1, nextCheckAt: later })],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.requests[0]!.vendors.v1, { wait: 'Scheduled', until: new Date(later).toISOString() });
    const due = plan({
      now: later,
      requests: [req('a')],
      tasks: [task('a', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1, nextCheckAt: later })],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.equal(due.actions.length, 1);
  });

  it('recovers open intents before anything else and never steps such a task', () => {
    const p = plan({
      now: NOW,
      requests: [req('a', { dueAt: '2026-12-30' }), req('b', { dueAt: '2026-12-01' })],
      tasks: [task('a', 'v1', { phase: 'InProgress', step: 'submit', submissions: 0 })],
      openIntents: new Set(['a/v1']),
      vendors: vendors(),
    });
    assert.deepEqual(
      p.actions.map((a) => [a.kind, a.keys[0]]),
      [
        ['recover', 'a/v1'],
        ['step', 'b/v1'],
      ],
    );
  });

  it('holds all tasks of an unavailable vendor without dropping them', () => {
    const p = plan({
      now: NOW,
      requests: [req('a')],
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { available: false })),
    });
    assert.equal(p.changes.length, 1, 'the task is still created');
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.requests[0]!.vendors.v1, { wait: 'VendorUnavailable' });
  });

  it('keeps a Stalled task stalled until its spec or vendor config changes', () => {
    const r = req('a');
    const v = vendor('v1');
    const stalled = task('a', 'v1', { phase: 'Stalled', step: 'submit', stalledOn: stallFingerprint(r, v[1]) });
    const same = plan({ now: NOW, requests: [r], tasks: [stalled], openIntents: new Set(), vendors: vendors(v) });
    assert.deepEqual(same.actions, []);
    assert.deepEqual(same.changes, []);
    const edited = plan({
      now: NOW,
      requests: [{ ...r, fingerprint: 'changed' }],
      tasks: [stalled],
      openIntents: new Set(),
      vendors: vendors(v),
    });
    assert.deepEqual(edited.changes, [{ kind: 'requeue', key: 'a/v1' }]);
    assert.equal(edited.actions.length, 1);
    const reconfigured = plan({
      now: NOW,
      requests: [r],
      tasks: [stalled],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { fingerprint: 'new' })),
    });
    assert.deepEqual(reconfigured.changes, [{ kind: 'requeue', key: 'a/v1' }]);
  });

  it('skips withdrawn tasks that never reached the vendor, and finishes those that did', () => {
    const p = plan({
      now: NOW,
      requests: [],
      tasks: [task('gone', 'v1'), task('gone', 'v2', { phase: 'InProgress', step: 'poll', submissions: 1 })],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    assert.deepEqual(p.changes, [
      { kind: 'skip', key: 'gone/v1', reason: 'Withdrawn' },
      { kind: 'withdraw', key: 'gone/v2' },
    ]);
    assert.deepEqual(
      p.actions.map((a) => [a.kind, a.keys[0]]),
      [['step', 'gone/v2']],
    );
  });

  it('cancels withdrawn work where the driver can cancel', () => {
    const p = plan({
      now: NOW,
      requests: [],
      tasks: [task('gone', 'v1', { phase: 'InProgress', step: 'scheduled', submissions: 1 })],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { canCancel: true })),
    });
    assert.deepEqual(
      p.actions.map((a) => a.kind),
      ['cancel'],
    );
  });

  it('treats a vendor removed from a request like a withdrawal for that vendor', () => {
    const p = plan({
      now: NOW,
      requests: [req('a', { vendors: ['v2'] })],
      tasks: [task('a', 'v1')],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    assert.ok(p.changes.some((c) => c.kind === 'skip' && c.key === 'a/v1'));
    assert.ok(p.changes.some((c) => c.kind === 'create' && c.key === 'a/v2'));
  });

  it('plans nothing for final tasks', () => {
    const p = plan({
      now: NOW,
      requests: [req('a')],
      tasks: [task('a', 'v1', { phase: 'Completed', step: 'done' })],
      openIntents: new Set(),
      vendors: vendors(),
    });
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.requests[0]!.vendors.v1, { wait: 'Final' });
  });

  it('computes ETAs from the calls ahead at each vendor and flags requests at risk', () => {
    const day = 24 * 3600 * 1000;
    const requests = [
      req('a', { dueAt: '2026-11-25' }),
      req('b', { dueAt: '2026-11-26' }),
      req('c', { dueAt: '2026-11-26' }),
    ];
    // One call per day: a needs 3 calls (today+3d), b 6, c 9.
    const p = plan({
      now: NOW,
      requests,
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { drainMs: (n) => n * day })),
    });
    const byName = Object.fromEntries(p.requests.map((r) => [r.name, r]));
    assert.equal(byName.a!.eta, '2026-11-28');
    assert.equal(byName.b!.eta, '2026-12-01');
    assert.equal(byName.c!.eta, '2026-12-04');
    assert.ok(byName.a!.atRisk && byName.c!.atRisk);
    const fast = plan({
      now: NOW,
      requests,
      tasks: [],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { drainMs: () => 0 })),
    });
    assert.ok(fast.requests.every((r) => !r.atRisk));
  });

  it('is pure: the same input gives the same plan', () => {
    const input = {
      now: NOW,
      requests: [req('a'), req('b', { subjectKeys: ['s-a'] })],
      tasks: [],
      openIntents: new Set<string>(),
      vendors: vendors(),
    };
    assert.deepEqual(plan(input), plan(input));
  });
});

describe('planner: withdrawal timing', () => {
  it('cancels at once when a request is withdrawn, then waits for nextCheckAt', () => {
    const later = NOW + 60_000;
    const fresh = task('gone', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1, nextCheckAt: later });
    const first = plan({
      now: NOW,
      requests: [],
      tasks: [fresh],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { canCancel: true })),
    });
    assert.deepEqual(first.changes, [{ kind: 'withdraw', key: 'gone/v1' }]);
    assert.deepEqual(
      first.actions.map((a) => a.kind),
      ['cancel'],
    );
    const t = { ...fresh, withdrawn: true };
    const early = plan({
      now: NOW,
      requests: [],
      tasks: [t],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { canCancel: true })),
    });
    assert.deepEqual(early.actions, []);
    const due = plan({
      now: later,
      requests: [],
      tasks: [t],
      openIntents: new Set(),
      vendors: vendors(vendor('v1', { canCancel: true })),
    });
    assert.deepEqual(
      due.actions.map((a) => a.kind),
      ['cancel'],
    );
  });
});

describe('planner: vendors "all" and risk', () => {
  it('gives a finished `vendors: all` request no task at a vendor added later', () => {
    const done = task('a', 'v1', { phase: 'Completed', step: 'done' });
    const later = plan({
      now: NOW,
      requests: [req('a', { vendors: ['v1', 'v2'], vendorsFromAll: true })],
      tasks: [done],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    assert.deepEqual(later.changes, []);
    // An explicit list is the team's decision: a new vendor in it gets its task.
    const explicit = plan({
      now: NOW,
      requests: [req('a', { vendors: ['v1', 'v2'] })],
      tasks: [done],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    assert.deepEqual(
      explicit.changes.map((c) => c.key),
      ['a/v2'],
    );
    // While work is still open, `all` picks the new vendor up.
    const open = plan({
      now: NOW,
      requests: [req('a', { vendors: ['v1', 'v2'], vendorsFromAll: true })],
      tasks: [task('a', 'v1', { phase: 'InProgress', step: 'poll', submissions: 1 })],
      openIntents: new Set(),
      vendors: vendors(vendor('v1'), vendor('v2')),
    });
    assert.deepEqual(
      open.changes.map((c) => c.key),
      ['a/v2'],
    );
  });

  it('flags a request at risk when its ETA falls within atRiskDays of the due date', () => {
    const day = 86_400_000;
    const input = {
      now: NOW,
      requests: [req('a', { dueAt: '2026-11-30' })],
      tasks: [],
      openIntents: new Set<string>(),
      vendors: vendors(vendor('v1', { drainMs: () => 2 * day })),
    };
    // ETA 2026-11-27: three days before the due date.
    assert.equal(plan({ ...input, atRiskDays: 2 }).requests[0]!.atRisk, false);
    assert.equal(plan({ ...input, atRiskDays: 3 }).requests[0]!.atRisk, false);
    assert.equal(plan({ ...input, atRiskDays: 4 }).requests[0]!.atRisk, true);
    assert.equal(plan(input).requests[0]!.eta, '2026-11-27');
  });
});
