import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { execute, type RequestRuntime, type VendorRuntime } from '../../controller/core/executor.ts';
import { plan } from '../../controller/core/planner.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { silentLogger } from '../../controller/log.ts';
import type { VendorHttp } from '../../controller/http/types.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';
import type { AnyDriver, Driver, DriverContext } from '../../controller/contracts/driver.ts';
import { Journal, JournalData } from '../../state/journal.ts';

/** A vendor that answers 200 to everything, after the caller's beforeSend (the slot is granted at once). */
function fakeHttp(slotGranted: () => Promise<void> = async () => {}): VendorHttp {
  return {
    async request(o) {
      await slotGranted();
      await o.beforeSend?.();
      return httpResponse({ status: 200, body: Buffer.from('{}'), label: 'fake' });
    },
  };
}

const submit = (ctx: DriverContext) =>
  ctx.http.request({ method: 'POST', url: 'http://127.0.0.1:9/jobs', safe: false });

function runtime(driver: Driver, concurrency = 2, http: VendorHttp = fakeHttp()): VendorRuntime {
  return {
    name: 'v1',
    driver: driver as AnyDriver,
    spec: { type: 'maestroqa', baseUrl: 'http://127.0.0.1:9', credentials: { apiToken: 'env:X' } } as never,
    http,
    secrets: {},
    concurrency,
    fingerprint: 'vf',
  };
}

function request(name: string): RequestRuntime {
  return {
    name,
    action: 'erasure',
    dueAt: '2026-12-20',
    justification: 'j',
    emails: [`${name}@example.com`],
    identifiers: {},
    approval: { approvers: [], commit: 'c' },
    fingerprint: name,
    vendors: ['v1'],
  };
}

const base: Omit<Driver, 'step' | 'recover'> = {
  type: 'maestroqa',
  actions: ['erasure'],
  defaultRateLimits: () => [{ limit: 10, perSeconds: 1 }],
  identifierKeys: [],
  errors: {},
  configSchema: undefined as never,
};

async function setup(names: string[], driver: Driver, http?: VendorHttp) {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-exec-'));
  const journal = await Journal.open(join(dir, 'journal.json'));
  const requests = new Map(names.map((n) => [n, request(n)]));
  const p = plan({
    now: Date.now(),
    requests: names.map((n) => ({
      name: n,
      action: 'erasure',
      dueAt: '2026-12-20',
      receivedAt: '2026-11-20',
      subjectKeys: [n],
      vendors: ['v1'],
      approved: true,
      fingerprint: n,
    })),
    tasks: [],
    openIntents: new Set(),
    vendors: new Map([['v1', { name: 'v1', available: true, fingerprint: 'vf', canCancel: false, drainMs: () => 0 }]]),
  });
  const run = () =>
    execute(p, {
      journal,
      vendors: new Map([['v1', runtime(driver, 2, http)]]),
      requests,
      now: Date.now,
      log: silentLogger,
      dataDir: dir,
      backoffMs: () => 1000,
      deadline: Date.now() + 10_000,
      degradedRetryMs: 1000,
    });
  const onDisk = async () => JournalData.parse(JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')));
  return { dir, journal, run, onDisk };
}

describe('executor', () => {
  it('never lets a journal write show an answered intent closed before its task result', async () => {
    let releaseA!: () => void;
    const aMayApply = new Promise<void>((r) => (releaseA = r));
    let snapshot: JournalData | undefined;
    const s = await setup(['a', 'b'], {
      ...base,
      async step(ctx, task) {
        await ctx.intent('submit', { request: task.request }, () => submit(ctx));
        if (task.request === 'a') {
          await aMayApply; // b completes and flushes the journal meanwhile
          snapshot = await s.onDisk();
        } else {
          queueMicrotask(() => setTimeout(releaseA, 50));
        }
        return { kind: 'completed', outcome: 'Erased', submissions: 1 };
      },
      async recover() {
        throw new Error('not reached');
      },
    } as Driver);
    await s.run();
    assert.ok(snapshot, 'a looked at the disk while its answer was not applied');
    const aIntent = Object.values(snapshot.intents).filter((i) => i.tasks.includes('a/v1'));
    const aTask = snapshot.tasks['a/v1'];
    assert.equal(aTask?.phase, 'Waiting', 'the result is not applied yet');
    assert.equal(aIntent.length, 1, 'so the intent must still be on disk');
    const final = await s.onDisk();
    assert.deepEqual(final.intents, {});
    assert.equal(final.tasks['a/v1']?.phase, 'Completed');
    await rm(s.dir, { recursive: true, force: true });
  });

  it('keeps the intent open when the driver fails after the vendor answered', async () => {
    const s = await setup(['a'], {
      ...base,
      async step(ctx) {
        await ctx.intent('submit', {}, () => submit(ctx));
        throw new LetheError('X_MALFORMED', 'answer could not be read');
      },
      async recover() {
        return { kind: 'completed', outcome: 'Erased' };
      },
    } as Driver);
    await s.run();
    const disk = await s.onDisk();
    assert.equal(Object.keys(disk.intents).length, 1, 'the next pass must recover, not resubmit');
    assert.equal(disk.tasks['a/v1']?.lastError?.code, 'X_MALFORMED');
    await rm(s.dir, { recursive: true, force: true });
  });

  it('closes the intent when the error proves the vendor did not act', async () => {
    const s = await setup(['a'], {
      ...base,
      async step(ctx) {
        await ctx.intent('submit', {}, async () => {
          await submit(ctx);
          throw new LetheError('X_REFUSED', 'vendor answered 400', { terminal: true, maybeDelivered: false });
        });
        return { kind: 'completed', outcome: 'Erased' };
      },
      async recover() {
        throw new Error('not reached');
      },
    } as Driver);
    await s.run();
    const disk = await s.onDisk();
    assert.deepEqual(disk.intents, {});
    assert.equal(disk.tasks['a/v1']?.phase, 'Stalled');
    await rm(s.dir, { recursive: true, force: true });
  });

  it('marks the vendor degraded on a vendor-scope error and leaves the task waiting', async () => {
    const s = await setup(['a', 'b'], {
      ...base,
      async step() {
        throw new LetheError('X_UNAUTHORIZED', 'token refused', { scope: 'vendor' });
      },
      async recover() {
        throw new Error('not reached');
      },
    } as Driver);
    await s.run();
    const disk = await s.onDisk();
    assert.equal(disk.degraded.v1?.code, 'X_UNAUTHORIZED');
    assert.ok(Object.values(disk.tasks).every((t) => t.phase === 'Waiting' && t.attempts === 0));
    await rm(s.dir, { recursive: true, force: true });
  });

  it('journals no intent while the call still waits for its rate-limit slot', async () => {
    let grant!: () => void;
    const granted = new Promise<void>((r) => (grant = r));
    let waiting!: () => void;
    const isWaiting = new Promise<void>((r) => (waiting = r));
    const s = await setup(
      ['a'],
      {
        ...base,
        async step(ctx) {
          await ctx.intent('submit', {}, () => submit(ctx));
          return { kind: 'completed', outcome: 'Erased', submissions: 1 };
        },
        async recover() {
          throw new Error('not reached');
        },
      } as Driver,
      fakeHttp(async () => {
        waiting();
        await granted;
      }),
    );
    const running = s.run();
    await isWaiting;
    await s.journal.flush();
    assert.deepEqual((await s.onDisk()).intents, {}, 'a crash now leaves nothing to recover: nothing was sent');
    grant();
    await running;
    const disk = await s.onDisk();
    assert.deepEqual(disk.intents, {});
    assert.equal(disk.tasks['a/v1']?.phase, 'Completed');
    await rm(s.dir, { recursive: true, force: true });
  });
});
