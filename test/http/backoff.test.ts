import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelayMs, parseRetryAfter } from '../../controller/http/backoff.ts';
import { seeded } from './helpers.ts';

describe('backoffDelayMs (full jitter)', () => {
  it('stays in [0, min(cap, base * 2^retry)) for every retry and random value', () => {
    const rand = seeded(7);
    for (let retry = 0; retry < 200; retry++) {
      for (let k = 0; k < 20; k++) {
        const d = backoffDelayMs(retry, 100, 30_000, rand);
        const ceiling = Math.min(30_000, 100 * 2 ** retry);
        assert.ok(Number.isInteger(d) && d >= 0 && d < ceiling, `retry ${retry}: ${d}`);
      }
    }
  });

  it('respects the cap and never overflows at huge retry counts', () => {
    for (const retry of [52, 53, 1023, 1024, 1075, 100_000, Number.MAX_SAFE_INTEGER]) {
      const d = backoffDelayMs(retry, 250, 10_000, () => 0.999999);
      assert.ok(Number.isFinite(d) && d <= 10_000 && d >= 9_990, `retry ${retry}: ${d}`);
    }
    assert.equal(
      backoffDelayMs(5000, 0, 10_000, () => 0.5),
      0,
      'base 0 gives 0, not NaN',
    );
    assert.equal(
      backoffDelayMs(3, 100, 0, () => 0.5),
      0,
      'cap 0 gives 0',
    );
  });

  it('is deterministic for an injected random source, and spans the range', () => {
    const a = Array.from({ length: 10 }, (_, i) => backoffDelayMs(i, 100, 5_000, seeded(42)));
    const b = Array.from({ length: 10 }, (_, i) => backoffDelayMs(i, 100, 5_000, seeded(42)));
    assert.deepEqual(a, b);
    assert.equal(
      backoffDelayMs(4, 100, 5_000, () => 0),
      0,
    );
    assert.equal(
      backoffDelayMs(4, 100, 5_000, () => 0.5),
      800,
    );
  });

  it('clamps a misbehaving random source into [0, ceiling)', () => {
    assert.equal(
      backoffDelayMs(2, 100, 5_000, () => -3),
      0,
    );
    assert.ok(backoffDelayMs(2, 100, 5_000, () => 1) < 400);
    assert.ok(backoffDelayMs(2, 100, 5_000, () => 17) < 400);
  });

  it('rejects invalid arguments', () => {
    assert.throws(() => backoffDelayMs(-1, 100, 1000, Math.random), RangeError);
    assert.throws(() => backoffDelayMs(1.5, 100, 1000, Math.random), RangeError);
    assert.throws(() => backoffDelayMs(1, -1, 1000, Math.random), RangeError);
    assert.throws(() => backoffDelayMs(1, 1, Number.NaN, Math.random), RangeError);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-11-20T10:00:00Z');
  it('reads delta-seconds', () => {
    assert.equal(parseRetryAfter('0', now, 60_000), 0);
    assert.equal(parseRetryAfter('7', now, 60_000), 7_000);
    assert.equal(parseRetryAfter(' 2 ', now, 60_000), 2_000);
    assert.equal(parseRetryAfter('1.5', now, 60_000), 1_500);
  });
  it('reads HTTP dates in all three RFC 9110 forms', () => {
    assert.equal(parseRetryAfter('Fri, 20 Nov 2026 10:00:30 GMT', now, 60_000), 30_000);
    assert.equal(parseRetryAfter('Friday, 20-Nov-26 10:00:05 GMT', now, 60_000), 5_000);
    assert.equal(
      parseRetryAfter('Fri Nov 20 10:00:10 2026', now - new Date(now).getTimezoneOffset() * 60_000, 60_000),
      10_000,
    );
  });
  it('clamps past dates to 0 and long waits to the cap', () => {
    assert.equal(parseRetryAfter('Fri, 20 Nov 2026 09:00:00 GMT', now, 60_000), 0);
    assert.equal(parseRetryAfter('86400', now, 60_000), 60_000);
    assert.equal(parseRetryAfter('9'.repeat(400), now, 60_000), 60_000);
  });
  it('ignores absent and invalid values', () => {
    for (const v of [undefined, '', '  ', '-1', '5 min', 'soon', '1e3', 'NaN', 'Fri, 99 Foo 2026 99:99:99 GMT']) {
      assert.equal(parseRetryAfter(v, now, 60_000), undefined, String(v));
    }
  });
});
