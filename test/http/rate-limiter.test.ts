import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Memory } from 'lowdb';
import { RateLimiter, RateLimitWaitError, type Slot } from '../../controller/http/rate-limiter.ts';
import { RateLog, type RateLogFile, type RateLogSink, type RateLogState } from '../../state/rate-log.ts';
import { ManualClock, flush, maxInWindow } from './helpers.ts';

const maestro = [
  { limit: 1, perSeconds: 1 },
  { limit: 30, perSeconds: 60 },
];

/** Acquires, marks sent at grant time and releases: records when each call went out. */
function call(
  limiter: RateLimiter,
  clock: ManualClock,
  out: number[],
  priority?: number,
  tag?: string,
  order?: string[],
): Promise<void> {
  return limiter.acquire(priority === undefined ? {} : { priority }).then((slot) => {
    out.push(clock.now());
    if (tag !== undefined) order?.push(tag);
    slot.sent();
    slot.release();
  });
}

describe('RateLimiter (injected clock)', () => {
  it('never lets 50 concurrent callers exceed any window', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: maestro, clock, marginMs: 20 });
    const times: number[] = [];
    const all = Promise.all(Array.from({ length: 50 }, () => call(limiter, clock, times)));
    await clock.advance(200_000);
    await all;
    assert.equal(times.length, 50);
    assert.ok(maxInWindow(times, 1_000 + 20) <= 1);
    assert.ok(maxInWindow(times, 60_000 + 20) <= 30);
    // And it is not slower than the limits require: the 31st call waits exactly one minute.
    assert.equal(times[30]! - times[0]!, 60_020);
  });

  it('serves waiters by priority, FIFO among equals', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 1, perSeconds: 1 }], clock, marginMs: 0 });
    const times: number[] = [];
    const order: string[] = [];
    await call(limiter, clock, times);
    const waits = [
      call(limiter, clock, times, 5, 'p5', order),
      call(limiter, clock, times, 1, 'p1-first', order),
      call(limiter, clock, times, undefined, 'none', order),
      call(limiter, clock, times, 3, 'p3', order),
      call(limiter, clock, times, 1, 'p1-second', order),
    ];
    await clock.advance(10_000);
    await Promise.all(waits);
    assert.deepEqual(order, ['p1-first', 'p1-second', 'p3', 'p5', 'none']);
  });

  it('holds everyone during a 429 pause', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 10, perSeconds: 1 }], clock, marginMs: 0 });
    const times: number[] = [];
    limiter.pause(clock.now() + 5_000);
    const p = call(limiter, clock, times);
    await clock.advance(4_999);
    assert.equal(times.length, 0);
    await clock.advance(1);
    await p;
    assert.equal(times.length, 1);
    assert.equal(limiter.nextFreeAt(), clock.now());
  });

  it('counts a granted call that is not yet sent as sent now, until it is', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 1, perSeconds: 1 }], clock, marginMs: 0 });
    const slot = await limiter.acquire();
    const t0 = clock.now();
    let second = 0;
    const p = limiter.acquire().then((s) => {
      second = clock.now();
      s.release();
    });
    await clock.advance(3_000); // a slow connect: the first call has still not left
    assert.equal(second, 0);
    slot.sent();
    await clock.advance(999);
    assert.equal(second, 0);
    await clock.advance(1);
    await p;
    assert.equal(second - t0, 4_000);
  });

  it('keeps a never-sent slot at its grant time', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 1, perSeconds: 1 }], clock, marginMs: 0 });
    const t0 = clock.now();
    (await limiter.acquire()).release();
    assert.equal(limiter.nextFreeAt(), t0 + 1_000);
  });

  it('bounds calls in flight', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 100, perSeconds: 1 }], clock, concurrency: 2 });
    const slots: Slot[] = [];
    const waits = Array.from({ length: 4 }, () => limiter.acquire().then((s) => slots.push(s)));
    await clock.advance(0);
    assert.equal(slots.length, 2);
    slots[0]!.sent();
    slots[0]!.release();
    await clock.advance(0);
    assert.equal(slots.length, 3);
    for (const s of slots) s.release();
    await clock.advance(0);
    await Promise.all(waits);
    assert.equal(slots.length, 4);
  });

  it('gives up at the deadline, at once when the deadline cannot be met, and on abort', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 1, perSeconds: 10 }], clock, marginMs: 0 });
    (await limiter.acquire()).release();
    await assert.rejects(
      limiter.acquire({ deadline: clock.now() + 5_000 }),
      (e: RateLimitWaitError) => e.reason === 'deadline',
    );
    assert.equal(limiter.waiting, 0);

    const holder = new RateLimiter({ key: 'h', windows: [{ limit: 1, perSeconds: 1 }], clock, marginMs: 0 });
    (await holder.acquire()).release();
    const queued = Array.from({ length: 3 }, () =>
      holder.acquire({ deadline: clock.now() + 1_500 }).then(
        (s) => (s.release(), 'ok'),
        (e: RateLimitWaitError) => e.reason,
      ),
    );
    await clock.advance(2_000);
    assert.deepEqual(await Promise.all(queued), ['ok', 'deadline', 'deadline']);

    const ac = new AbortController();
    const aborted = limiter.acquire({ signal: ac.signal });
    await clock.advance(100);
    assert.equal(limiter.waiting, 1);
    ac.abort();
    await assert.rejects(aborted, (e: RateLimitWaitError) => e.reason === 'aborted');
    assert.equal(limiter.waiting, 0);
  });

  it('answers nextFreeAt and drainTimeMs from its log', async () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter({ key: 'k', windows: maestro, clock, marginMs: 20 });
    assert.equal(limiter.drainTimeMs(31), 60_020);
    const s = await limiter.acquire();
    s.sent();
    s.release();
    assert.equal(limiter.nextFreeAt(), 1_020);
    assert.equal(limiter.drainTimeMs(30), 60_020);
  });

  it('does not hand out a slot before the write covering it has completed', async () => {
    const clock = new ManualClock();
    let release!: () => void;
    const saved: RateLogState[] = [];
    const sink: RateLogSink = {
      load: () => undefined,
      save: (_k, state) => {
        saved.push(structuredClone(state));
        return new Promise<void>((r) => (release = r));
      },
    };
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 5, perSeconds: 1 }], clock, sink });
    let granted = false;
    const p = limiter.acquire().then((s) => {
      granted = true;
      return s;
    });
    await clock.advance(0);
    assert.equal(granted, false);
    assert.deepEqual(saved[0]!.open, [clock.now()]);
    release();
    await p;
    assert.equal(granted, true);
  });

  it('fails the caller, not the limiter, when the write fails', async () => {
    const clock = new ManualClock();
    const sink: RateLogSink = { load: () => undefined, save: () => Promise.reject(new Error('disk full')) };
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 1, perSeconds: 1 }], clock, marginMs: 0, sink });
    await assert.rejects(limiter.acquire(), /disk full/);
    // The grant still counts: the limiter errs on the side of the vendor.
    assert.equal(limiter.nextFreeAt(), clock.now() + 1_000);
  });

  it('coalesces the writes of many concurrent grants', async () => {
    const clock = new ManualClock();
    let writes = 0;
    const memory = new Memory<RateLogFile>();
    const counting = { read: () => memory.read(), write: async (d: RateLogFile) => (writes++, memory.write(d)) };
    const log = await RateLog.fromAdapter(counting, 'test', clock.now());
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 100, perSeconds: 1 }], clock, sink: log });
    const slots = await Promise.all(Array.from({ length: 40 }, () => limiter.acquire()));
    assert.equal(slots.length, 40);
    assert.ok(writes <= 2, `${writes} writes`);
    await flush();
  });
});

describe('RateLimiter deadlines while calls are in flight', () => {
  it('does not reject a deadline just because open calls make the next slot unknown', async () => {
    const clock = new ManualClock();
    const limiter = new RateLimiter({ key: 'k', windows: [{ limit: 1, perSeconds: 1 }], clock, marginMs: 0 });
    const slot = await limiter.acquire();
    const p = limiter.acquire({ deadline: clock.now() + 5_000 });
    await clock.advance(100);
    slot.sent();
    slot.release();
    await clock.advance(1_000);
    (await p).release();
  });
});
