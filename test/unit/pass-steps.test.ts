/**
 * The pass's steps one at a time (controller/core/pass/): each takes its dependencies and
 * the memory between passes explicitly, so each runs here without a repository or a vendor.
 * The whole pass is covered by test/integration/.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PassMemory } from '../../controller/core/pass/memory.ts';
import { planInputStep } from '../../controller/core/pass/plan-input.ts';
import { recordStep, requestsToRecord } from '../../controller/core/pass/record.ts';
import type { Approved, Snapshot, Sourced, StepDeps } from '../../controller/core/pass/types.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { checkRepository, parseManifest } from '../../controller/manifests/index.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import type { ApprovalEvidence } from '../../specs/index.ts';
import { Journal } from '../../state/journal.ts';

const config = `apiVersion: lethe/v1
kind: LetheConfig
metadata: { name: t }
spec:
  approval: { approvers: [{ email: dpo@example.com }] }
`;

const vendor = (name: string) => `apiVersion: lethe/v1
kind: VendorConnection
metadata: { name: ${name} }
spec:
  type: maestroqa
  credentials: { apiToken: env:${name.toUpperCase().replace('-', '_')}_TOKEN }
`;

const request = (name: string) => `apiVersion: lethe/v1
kind: PrivacyRequest
metadata:
  name: ${name}
spec:
  action: erasure
  regulation: gdpr
  receivedAt: "2026-11-20"
  subject:
    emails: ["${name}@example.com"]
  vendors: all
  justification: ticket 1
`;

function model() {
  const files = [
    parseManifest('lethe.yaml', config),
    parseManifest('vendors/mq-eu.yaml', vendor('mq-eu')),
    parseManifest('vendors/mq-us.yaml', vendor('mq-us')),
    parseManifest('requests/r1.yaml', request('r1')),
    parseManifest('requests/r2.yaml', request('r2')),
    parseManifest(
      'requests/bad.yaml',
      'apiVersion: lethe/v1\nkind: PrivacyRequest\nmetadata: { name: bad }\nspec: {}\n',
    ),
  ];
  const m = checkRepository(files, createDriverTable());
  assert.deepEqual(
    [...new Set(m.problems.map((p) => p.file))],
    ['requests/bad.yaml'],
    'the fixture is valid but for bad.yaml',
  );
  return m;
}

const approvedEvidence: ApprovalEvidence = {
  approved: true,
  mode: 'merge',
  approvers: [{ name: 'DPO', email: 'dpo@example.com' }],
  reason: 'merged',
  commit: 'c1',
};
const waiting: ApprovalEvidence = { approved: false, mode: 'merge', approvers: [], reason: 'not approved' };

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function journal(): Promise<Journal> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-steps-'));
  dirs.push(dir);
  return Journal.open(join(dir, 'journal.json'));
}

describe('requestsToRecord: which statuses the record step recomputes', () => {
  it('all on the first pass, a new day or a vendor change; else only what changed, what waits for approval differently, and what failed to commit', async () => {
    const j = await journal();
    let now = Date.parse('2026-11-21T10:00:00Z');
    const d = { now: () => now, journal: j } as unknown as StepDeps;
    const mem = new PassMemory('salt');
    const m = model();
    const sourced = (changedPaths: Sourced['changedPaths']): Sourced => ({
      head: 'h',
      state: {} as Sourced['state'],
      changedPaths,
      model: m,
      config: m.config!,
      reused: false,
    });
    const approved = (pending: Array<[string, string]> = []): Approved => ({
      approvals: new Map(),
      pending: [],
      pendingByRequest: new Map(pending),
    });
    const names = (s: Set<string>) => [...s].sort();

    assert.deepEqual(names(requestsToRecord(d, mem, sourced('all'), approved())), ['bad', 'r1', 'r2']);
    assert.deepEqual(names(requestsToRecord(d, mem, sourced(['requests/r2.yaml']), approved())), ['r2']);
    assert.deepEqual(
      names(requestsToRecord(d, mem, sourced([]), approved([['r1', 'lethe.yaml changed']]))),
      ['r1'],
      'a pending change appears',
    );
    assert.deepEqual(
      names(requestsToRecord(d, mem, sourced([]), approved([['r1', 'lethe.yaml changed']]))),
      [],
      'and is not news twice',
    );
    assert.deepEqual(names(requestsToRecord(d, mem, sourced([]), approved())), ['r1'], 'it goes away');
    assert.deepEqual(names(requestsToRecord(d, mem, sourced(['vendors/mq-us.yaml']), approved())), ['bad', 'r1', 'r2']);
    now += 86_400_000;
    assert.deepEqual(
      names(requestsToRecord(d, mem, sourced([]), approved())),
      ['bad', 'r1', 'r2'],
      'due dates move with the day',
    );
    mem.unrecordedSince.set('r2', now);
    assert.deepEqual(
      names(requestsToRecord(d, mem, sourced([]), approved())),
      ['r2'],
      'a status whose commit failed is written again',
    );
  });
});

/** Credentials for every vendor but mq-us, whose environment variable is not set. */
const wiringWithoutMqUs = {
  secrets: async (name: string) => {
    if (name === 'mq-us') throw new LetheError('CREDENTIAL_ENV_MISSING', 'environment variable MQ_US_TOKEN is not set');
    return { apiToken: 'token' };
  },
  http: () => ({}) as never,
  drainEstimate: () => () => 0,
};

type TestLog = { debug(): void; info(): void; warn(m: string): void; error(m: string): void };

function stepDeps(j: Journal, log: TestLog, source: unknown): StepDeps {
  return {
    journal: j,
    drivers: createDriverTable(),
    wiring: wiringWithoutMqUs,
    now: () => Date.parse('2026-11-21T10:00:00Z'),
    log,
    salt: 'salt',
    source,
  } as unknown as StepDeps;
}

/** r1 approved, r2 as given; `dirty` the requests whose inputs changed since the last pass. */
function snapshotOf(r2: ApprovalEvidence, dirty: string[] = []): Snapshot {
  const m = model();
  return {
    head: 'h',
    model: m,
    config: m.config!,
    approvals: new Map([
      ['requests/r1.yaml', approvedEvidence],
      ['requests/r2.yaml', r2],
    ]),
    pending: [],
    pendingByRequest: new Map(),
    dirty: new Set(dirty),
    recorded: new Set(),
    root: 'root',
  };
}

describe('planInputStep: the plan from a snapshot, the journal and the wiring', () => {
  const setup = async () => {
    const j = await journal();
    const logs: string[] = [];
    const log = { debug() {}, info() {}, warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
    const d = stepDeps(j, log, { statusHead: async () => undefined });
    return { j, d, snapshot: snapshotOf(waiting), logs };
  };

  it('starts the approved request at every vendor it can reach; the unapproved one waits; a vendor without credentials is degraded, named, and its task waits', async () => {
    const { j, d, snapshot, logs } = await setup();
    const planned = await planInputStep(d, new PassMemory('salt'), snapshot);
    const created = planned.plan.changes
      .filter((c) => c.kind === 'create')
      .map((c) => c.key)
      .sort();
    assert.deepEqual(created, ['r1/mq-eu', 'r1/mq-us']);
    assert.deepEqual([...planned.vendors.keys()], ['mq-eu'], 'only a wired vendor can be called');
    assert.equal(planned.requests.get('r1')?.emails[0], 'r1@example.com');
    assert.equal(j.data.degraded['mq-us']?.code, 'CREDENTIAL_ENV_MISSING');
    assert.match(j.data.degraded['mq-us']?.message ?? '', /MQ_US_TOKEN/);
    assert.deepEqual(logs, ['vendor connection degraded: credentials unavailable; its requests wait']);
    assert.deepEqual(planned.plan.requests.find((r) => r.name === 'r1')?.vendors['mq-us'], {
      wait: 'VendorUnavailable',
    });
  });

  it('for lethe plan (no credentials in a pull-request job) nothing is degraded and the plan assumes the vendors are there', async () => {
    const { j, d, snapshot } = await setup();
    const planned = await planInputStep(d, new PassMemory('salt'), snapshot, { planning: true, assumeApproved: true });
    assert.deepEqual(j.data.degraded, {});
    const created = planned.plan.changes
      .filter((c) => c.kind === 'create')
      .map((c) => c.key)
      .sort();
    assert.deepEqual(created, ['r1/mq-eu', 'r1/mq-us', 'r2/mq-eu', 'r2/mq-us']);
  });
});

describe('planInputStep between passes', () => {
  it('a quiet pass reuses each request as built; new evidence, or a dry run assuming approval, is planned from scratch', async () => {
    const j = await journal();
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const d = stepDeps(j, quiet, { statusHead: async () => undefined });
    const mem = new PassMemory('salt');
    const snapshot = snapshotOf(waiting);
    const creates = (p: { plan: { changes: Array<{ kind: string; key?: string }> } }) =>
      p.plan.changes
        .filter((c) => c.kind === 'create')
        .map((c) => c.key)
        .sort();

    const first = await planInputStep(d, mem, snapshot);
    const second = await planInputStep(d, mem, snapshot);
    assert.equal(second.requests.get('r1'), first.requests.get('r1'), 'nothing changed: the same runtime');
    assert.deepEqual(creates(second), ['r1/mq-eu', 'r1/mq-us']);

    // The DPO's merge lands: r2's evidence is new, r1's is the same object.
    const merged: ApprovalEvidence = { ...approvedEvidence, commit: 'c2' };
    const approvedNow = { ...snapshot, approvals: new Map([...snapshot.approvals, ['requests/r2.yaml', merged]]) };
    const third = await planInputStep(d, mem, approvedNow);
    assert.deepEqual(creates(third), ['r1/mq-eu', 'r1/mq-us', 'r2/mq-eu', 'r2/mq-us']);
    assert.deepEqual(third.requests.get('r2')?.approval, { approvers: ['DPO <dpo@example.com>'], commit: 'c2' });
    assert.equal(third.requests.get('r1'), first.requests.get('r1'));

    // `lethe plan` on the pull request, then a pass on the branch where r2 still waits.
    const dry = await planInputStep(d, mem, snapshot, { planning: true, assumeApproved: true });
    assert.deepEqual(creates(dry), ['r1/mq-eu', 'r1/mq-us', 'r2/mq-eu', 'r2/mq-us']);
    const after = await planInputStep(d, mem, snapshot);
    assert.deepEqual(creates(after), ['r1/mq-eu', 'r1/mq-us'], 'an assumption of a dry run never carries over');
    assert.deepEqual(after.requests.get('r2')?.approval, { approvers: [], commit: '' });
  });
});

describe('recordStep: statuses from the last plan', () => {
  it("each request's status says why it waits at a vendor, from its own entry of the last plan", async () => {
    const j = await journal();
    const written: Map<string, { blob: string }>[] = [];
    const blobs = new Map<string, string>();
    const log = { debug() {}, info() {}, warn() {}, error() {} };
    const source = {
      branch: 'main',
      historyRewritten: async () => undefined,
      statusHead: async () => undefined,
      blobWriter: () => ({
        add: async (text: string) => {
          const id = `blob-${blobs.size}`;
          blobs.set(id, text);
          return id;
        },
        close: async () => undefined,
      }),
      writeStatus: async (files: Map<string, { blob: string }>) => {
        written.push(files);
        return { commit: 'c2', pushed: false };
      },
    };
    const d = stepDeps(j, log, source);
    const snapshot = snapshotOf(approvedEvidence, ['r1', 'r2']);
    const mem = new PassMemory('salt');
    const { plan } = await planInputStep(d, mem, snapshot);
    // r2 no longer waits at mq-us in the last plan: only r1's status may say it does.
    const r2 = plan.requests.find((r) => r.name === 'r2')!;
    r2.vendors['mq-us'] = { next: 'create' };
    mem.lastPlan = plan;
    await recordStep(d, mem, snapshot);
    const text = (path: string) => blobs.get(written[0]!.get(path)?.blob ?? '') ?? '';
    assert.match(text('status/r1.yaml'), /waiting: mq-us \(vendor disabled or unavailable\)/);
    assert.match(text('status/r2.yaml'), /kind: PrivacyRequestStatus/);
    assert.doesNotMatch(text('status/r2.yaml'), /waiting:/);
  });
});
