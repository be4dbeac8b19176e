import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RateWindow } from '../../specs/index.ts';
import {
  drainSchedule,
  drainTimeMs,
  earliestAllowed,
  insertSorted,
  prune,
  type WindowLog,
} from '../../controller/http/sliding-window.ts';
import { maxInWindow, seeded } from './helpers.ts';

const maestro: RateWindow[] = [
  { limit: 1, perSeconds: 1 },
  { limit: 30, perSeconds: 60 },
];
const log = (sent: number[], open = 0, pausedUntil = 0): WindowLog => ({ sent, open, pausedUntil });

/** The definition, checked point by point. */
function allowedAt(windows: RateWindow[], l: WindowLog, t: number, margin: number): boolean {
  if (t < l.pausedUntil) return false;
  return windows.every(
    (w) => l.sent.filter((s) => s > t - (w.perSeconds * 1000 + margin) && s <= t).length + l.open < w.limit,
  );
}

describe('earliestAllowed', () => {
  it('allows now on an empty log', () => {
    assert.equal(earliestAllowed(maestro, log([]), 5_000, 0), 5_000);
  });
  it('uses an open-left window: a call exactly one window ago no longer counts', () => {
    assert.equal(earliestAllowed([{ limit: 1, perSeconds: 1 }], log([1_000]), 1_500, 0), 2_000);
    assert.ok(allowedAt([{ limit: 1, perSeconds: 1 }], log([1_000]), 2_000, 0));
    assert.ok(!allowedAt([{ limit: 1, perSeconds: 1 }], log([1_000]), 1_999, 0));
  });
  it('adds the margin to every window', () => {
    assert.equal(earliestAllowed([{ limit: 1, perSeconds: 1 }], log([1_000]), 1_500, 20), 2_020);
  });
  it('takes the most restrictive window', () => {
    const sent = Array.from({ length: 30 }, (_, i) => i * 1_000);
    assert.equal(earliestAllowed(maestro, log(sent), 29_500, 0), 60_000);
  });
  it('counts open calls as sent now, and is Infinity while they fill a window', () => {
    assert.equal(earliestAllowed(maestro, log([], 1), 0, 0), Infinity);
    assert.equal(earliestAllowed([{ limit: 3, perSeconds: 1 }], log([100, 200], 1), 300, 0), 1_100);
  });
  it('honours a pause', () => {
    assert.equal(earliestAllowed(maestro, log([], 0, 9_000), 1_000, 0), 9_000);
  });
  it('matches the definition on random logs (brute force)', () => {
    const rand = seeded(3);
    for (let trial = 0; trial < 300; trial++) {
      const windows: RateWindow[] = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => ({
        limit: 1 + Math.floor(rand() * 4),
        perSeconds: (1 + Math.floor(rand() * 20)) / 10,
      }));
      const now = 5_000;
      const sent = Array.from({ length: Math.floor(rand() * 8) }, () => now - Math.floor(rand() * 2_500)).sort(
        (a, b) => a - b,
      );
      const l = log(sent, Math.floor(rand() * 2), rand() < 0.2 ? now + Math.floor(rand() * 500) : 0);
      const margin = Math.floor(rand() * 3) * 5;
      const got = earliestAllowed(windows, l, now, margin);
      let expected = Infinity;
      for (let t = now; t <= now + 10_000; t++) {
        if (allowedAt(windows, l, t, margin)) {
          expected = t;
          break;
        }
      }
      assert.equal(got, expected, JSON.stringify({ windows, l, margin }));
    }
  });
});

describe('drainTimeMs', () => {
  it('is 0 for no call and for one call on a free limiter', () => {
    assert.equal(drainTimeMs(maestro, log([]), 0, 0, 20), 0);
    assert.equal(drainTimeMs(maestro, log([]), 1, 0, 20), 0);
  });
  it('computes MaestroQA exactly: 30 calls a minute, one a second', () => {
    assert.equal(drainTimeMs(maestro, log([]), 30, 0, 0), 29_000);
    assert.equal(drainTimeMs(maestro, log([]), 31, 0, 0), 60_000);
    assert.equal(drainTimeMs(maestro, log([]), 31, 0, 20), 60_020);
    assert.equal(drainTimeMs(maestro, log([]), 61, 0, 0), 120_000);
  });
  it('starts from the current log, pause and open calls', () => {
    assert.equal(drainTimeMs(maestro, log([9_500]), 1, 10_000, 0), 500);
    assert.equal(drainTimeMs(maestro, log([], 1), 1, 10_000, 0), 1_000);
    assert.equal(drainTimeMs(maestro, log([], 0, 12_000), 2, 10_000, 0), 3_000);
  });
  it('yields a schedule that never violates a window, and no faster one exists', () => {
    const windows: RateWindow[] = [
      { limit: 3, perSeconds: 1 },
      { limit: 5, perSeconds: 4 },
    ];
    const times: number[] = [];
    const l = { sent: times, open: 0, pausedUntil: 0 };
    for (let i = 0; i < 40; i++) times.push(earliestAllowed(windows, l, times.at(-1) ?? 0, 0));
    assert.equal(drainTimeMs(windows, log([]), 40, 0, 0), times.at(-1));
    assert.ok(maxInWindow(times, 1_000) <= 3);
    assert.ok(maxInWindow(times, 4_000) <= 5);
    // 40 calls at 5 per 4 s need at least 7 full windows after the first burst.
    assert.ok(times.at(-1)! >= 7 * 4_000);
  });
  it('does not mutate the log it is given', () => {
    const sent = [1, 2];
    drainTimeMs(maestro, log(sent, 1), 5, 10, 0);
    assert.deepEqual(sent, [1, 2]);
  });
});

describe('drainSchedule', () => {
  it('gives, for every queue position k, exactly drainTimeMs(k), in one pass', () => {
    const cases: Array<[RateWindow[], WindowLog, number]> = [
      [maestro, log([]), 0],
      [maestro, log([9_500, 9_900], 1, 10_200), 10_000],
      [
        [
          { limit: 3, perSeconds: 1 },
          { limit: 5, perSeconds: 4 },
        ],
        log([0, 100]),
        200,
      ],
      [[{ limit: 25, perSeconds: 1 }], log([], 3), 5_000],
    ];
    for (const [windows, l, now] of cases) {
      for (const margin of [0, 50]) {
        const schedule = drainSchedule(windows, l, 70, now, margin);
        assert.equal(schedule.length, 70);
        schedule.forEach((offset, i) =>
          assert.equal(offset, drainTimeMs(windows, l, i + 1, now, margin), `k=${i + 1}`),
        );
        assert.ok(
          schedule.every((x, i) => i === 0 || x >= schedule[i - 1]!),
          'never decreasing',
        );
      }
    }
    assert.deepEqual(drainSchedule(maestro, log([]), 0, 0, 0), []);
  });
});

describe('prune and insertSorted', () => {
  it('drops only entries no window can see', () => {
    assert.deepEqual(prune([0, 39_980, 40_000, 50_000], maestro, 100_000, 20), [40_000, 50_000]);
    const keep = [90_000];
    assert.equal(prune(keep, maestro, 100_000, 20), keep);
  });
  it('keeps ascending order', () => {
    const s = [1, 5, 9];
    insertSorted(s, 6);
    insertSorted(s, 0);
    insertSorted(s, 10);
    insertSorted(s, 5);
    assert.deepEqual(s, [0, 1, 5, 5, 6, 9, 10]);
  });
});
