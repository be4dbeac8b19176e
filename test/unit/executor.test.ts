import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  execute,
  type ExecuteOptions,
  type FollowUpOptions,
  type RequestRuntime,
  type VendorRuntime,
} from '../../controller/core/executor.ts';
import { plan } from '../../controller/core/planner.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { silentLogger } from '../../controller/log.ts';
import type { VendorHttp } from '../../controller/http/types.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';
import type { AnyDriver, Driver, DriverContext, StepResult } from '../../controller/contracts/driver.ts';
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

async function setup(
  names: string[],
  driver: Driver,
  http?: VendorHttp,
  extra: Partial<Pick<ExecuteOptions, 'followUp' | 'deadline' | 'now'>> = {},
) {
  const batch = driver.batch;
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
    vendors: new Map([
      ['v1', { name: 'v1', available: true, fingerprint: 'vf', canCancel: false, drainMs: () => 0, batch }],
    ]),
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
      ...extra,
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

/** Real-time follow-ups, as `lethe run` gives them, with a switch to wrap the pass up. */
function followUps(withinMs = 5_000): FollowUpOptions & { wrap(): void; sleeps: number[] } {
  let wrapped = false;
  const sleeps: number[] = [];
  const sleeping = new Set<() => void>();
  return {
    withinMs,
    sleeps,
    // As the Runner does on a trigger or a stop: every wait ends now.
    wrap: () => {
      wrapped = true;
      for (const wake of sleeping) wake();
    },
    wrapUp: () => wrapped,
    sleep: (ms, signal) =>
      new Promise<void>((resolve) => {
        sleeps.push(ms);
        const wake = () => {
          clearTimeout(timer);
          sleeping.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        sleeping.add(wake);
        signal.addEventListener('abort', wake, { once: true });
      }),
  };
}

/** Submits once, then asks to be polled `pollMs` later, `polls` times before it completes. */
function pollingDriver(o: { pollMs: number; polls: number; calls: string[] }): Driver {
  return {
    ...base,
    async step(ctx, task) {
      if (task.state.step === 'start') {
        await ctx.intent('submit', {}, () => submit(ctx));
        o.calls.push(`submit ${task.request}`);
        return { kind: 'continue', step: 'poll', data: { left: o.polls }, submissions: 1, checkAfterMs: o.pollMs };
      }
      o.calls.push(`poll ${task.request}`);
      const left = Number((task.state.data as { left: number }).left) - 1;
      if (left > 0) return { kind: 'continue', step: 'poll', data: { left }, checkAfterMs: o.pollMs };
      return { kind: 'completed', outcome: 'Erased' };
    },
    async recover() {
      throw new Error('not reached');
    },
  } as Driver;
}

describe('executor follow-ups', () => {
  it('polls a task due again soon in the same pass, after its wait', async () => {
    const calls: string[] = [];
    const f = followUps();
    const s = await setup(['a', 'b'], pollingDriver({ pollMs: 40, polls: 2, calls }), undefined, { followUp: f });
    const started = Date.now();
    const report = await s.run();
    assert.deepEqual(calls.sort(), ['poll a', 'poll a', 'poll b', 'poll b', 'submit a', 'submit b']);
    assert.ok(Date.now() - started >= 80, 'each poll waited for its check time');
    const disk = await s.onDisk();
    assert.equal(disk.tasks['a/v1']?.phase, 'Completed');
    assert.equal(disk.tasks['b/v1']?.phase, 'Completed');
    assert.equal(report.cut, false);
    await rm(s.dir, { recursive: true, force: true });
  });

  it('without follow-ups the task keeps its check time for the next pass', async () => {
    const calls: string[] = [];
    const s = await setup(['a'], pollingDriver({ pollMs: 40, polls: 1, calls }));
    await s.run();
    assert.deepEqual(calls, ['submit a']);
    const t = (await s.onDisk()).tasks['a/v1'];
    assert.equal(t?.phase, 'InProgress');
    assert.ok(t?.nextCheckAt !== undefined);
    await rm(s.dir, { recursive: true, force: true });
  });

  it('leaves a check beyond the horizon or the deadline to the next pass', async () => {
    for (const extra of [
      { followUp: followUps(1_000), pollMs: 5_000 },
      { followUp: followUps(60_000), pollMs: 5_000, deadline: Date.now() + 2_000 },
    ]) {
      const calls: string[] = [];
      const s = await setup(['a'], pollingDriver({ pollMs: extra.pollMs, polls: 1, calls }), undefined, extra);
      const started = Date.now();
      await s.run();
      assert.ok(Date.now() - started < 1_500, 'the pass did not wait');
      assert.deepEqual(calls, ['submit a']);
      assert.equal((await s.onDisk()).tasks['a/v1']?.phase, 'InProgress');
      await rm(s.dir, { recursive: true, force: true });
    }
  });

  it('stops waiting as soon as the pass is asked to wrap up; the journal keeps the check', async () => {
    const calls: string[] = [];
    const f = followUps(60_000);
    const s = await setup(['a'], pollingDriver({ pollMs: 30_000, polls: 1, calls }), undefined, {
      followUp: f,
      deadline: Date.now() + 120_000,
    });
    let ended = false;
    const running = s.run().then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(ended, false, 'the pass waits for the poll due in 30 s');
    assert.ok(f.sleeps.length >= 1 && f.sleeps.every((ms) => ms > 20_000), 'waiting for the check time');
    const started = Date.now();
    f.wrap();
    await running;
    assert.ok(Date.now() - started < 1_000, 'the pass ended at once');
    assert.deepEqual(calls, ['submit a']);
    assert.equal((await s.onDisk()).tasks['a/v1']?.phase, 'InProgress');
    await rm(s.dir, { recursive: true, force: true });
  });

  it('never follows up a task whose submission has no recorded answer: the next pass recovers it', async () => {
    let steps = 0;
    const f = followUps();
    const s = await setup(
      ['a'],
      {
        ...base,
        async step(ctx) {
          steps++;
          // The vendor answered but the answer could not be read: maybe delivered.
          await ctx.intent('submit', {}, () => submit(ctx));
          throw new LetheError('X_MALFORMED', 'answer could not be read', { retryAfterMs: 10 });
        },
        async recover() {
          throw new Error('not in this pass');
        },
      } as Driver,
      undefined,
      { followUp: f },
    );
    await s.run();
    assert.equal(steps, 1, 'no second submission in the same pass');
    assert.equal(Object.keys((await s.onDisk()).intents).length, 1);
    await rm(s.dir, { recursive: true, force: true });
  });

  it('hands due follow-ups at the batch step to the driver together', async () => {
    let clock = Date.now();
    const batches: string[][] = [];
    const f = followUps();
    // Takes two subjects a call; the others come back a moment later (MaestroQA's left-overs).
    const submitSome = async (ctx: DriverContext, tasks: { request: string }[]): Promise<StepResult[]> => {
      batches.push(tasks.map((t) => t.request));
      await submit(ctx);
      return tasks.map((_, i) =>
        i < 2
          ? { kind: 'completed', outcome: 'Erased', submissions: 1 }
          : { kind: 'continue', step: 'start', checkAfterMs: 30 },
      );
    };
    const s = await setup(
      ['a', 'b', 'c', 'd', 'e'],
      {
        ...base,
        batch: { step: 'start', max: 5 },
        stepBatch: submitSome,
        // A single task's step is a batch of one, as in MaestroQA's driver.
        step: async (ctx, task) => (await submitSome(ctx, [task]))[0]!,
        async recover() {
          throw new Error('not reached');
        },
      } as Driver,
      undefined,
      // A clock that moves a millisecond at every task recorded, as on a loaded machine, and
      // otherwise only when the executor sleeps: recording a batch's answers one by one must
      // not spread its tasks over different due times.
      {
        followUp: {
          ...f,
          sleep: async (ms) => {
            clock += ms;
          },
        },
        now: () => clock,
      },
    );
    const putTask = s.journal.putTask.bind(s.journal);
    s.journal.putTask = (t) => {
      clock++;
      putTask(t);
    };
    await s.run();
    assert.deepEqual(batches, [['a', 'b', 'c', 'd', 'e'], ['c', 'd', 'e'], ['e']]);
    assert.ok(Object.values((await s.onDisk()).tasks).every((t) => t.phase === 'Completed'));
    await rm(s.dir, { recursive: true, force: true });
  });
});
