import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WEEKDAYS } from '../../specs/index.ts';
import {
  dateField,
  formatDate,
  granularityMs,
  MIN_AHEAD_MS,
  nextSlot,
  type ScheduleWindow,
} from '../../controller/vendors/answerhub/slot.ts';

const MIN = 60_000;
const all: ScheduleWindow = { days: [...WEEKDAYS], startHour: 0, endHour: 24, leadMinutes: 5 };
const at = (iso: string) => new Date(iso);
const slot = (now: string, w: Partial<ScheduleWindow>, step = MIN, notBefore?: string) =>
  nextSlot(at(now), { ...all, ...w }, step, notBefore ? at(notBefore) : undefined).toISOString();

// 2026-01-05 is a Monday.
test('an open window: now + lead, rounded up to the minute', () => {
  assert.equal(slot('2026-01-05T10:00:30Z', {}), '2026-01-05T10:06:00.000Z');
  assert.equal(slot('2026-01-05T10:00:00Z', {}), '2026-01-05T10:05:00.000Z');
});

test('second granularity (timeStamp) keeps seconds; never closer than MIN_AHEAD_MS', () => {
  assert.equal(slot('2026-01-05T10:00:00.200Z', { leadMinutes: 0 }, 1000), '2026-01-05T10:00:06.000Z');
  const now = Date.parse('2026-01-05T10:00:00Z');
  assert.ok(Date.parse(slot('2026-01-05T10:00:00Z', { leadMinutes: 0 }, 1000)) - now >= MIN_AHEAD_MS);
  assert.equal(slot('2026-01-05T10:00:00Z', { leadMinutes: 0 }, MIN), '2026-01-05T10:01:00.000Z');
});

test('before the window opens: today at startHour', () => {
  assert.equal(slot('2026-01-05T01:00:00Z', { startHour: 2, endHour: 4 }), '2026-01-05T02:00:00.000Z');
});

test('end of window is exclusive: after or at endHour moves to the next day', () => {
  assert.equal(slot('2026-01-05T03:54:00Z', { startHour: 2, endHour: 4 }), '2026-01-05T03:59:00.000Z');
  assert.equal(slot('2026-01-05T03:55:00Z', { startHour: 2, endHour: 4 }), '2026-01-06T02:00:00.000Z');
  assert.equal(slot('2026-01-05T05:00:00Z', { startHour: 2, endHour: 4 }), '2026-01-06T02:00:00.000Z');
});

test('endHour 24 runs until midnight and across it', () => {
  assert.equal(slot('2026-01-05T23:50:00Z', { startHour: 22, endHour: 24 }), '2026-01-05T23:55:00.000Z');
  assert.equal(slot('2026-01-05T23:58:00Z', { startHour: 22, endHour: 24 }), '2026-01-06T22:00:00.000Z');
  assert.equal(slot('2026-01-05T23:58:00Z', {}), '2026-01-06T00:03:00.000Z');
});

test('midnight: a window starting at 0 opens at 00:00 of the next allowed day', () => {
  assert.equal(slot('2026-01-05T20:00:00Z', { startHour: 0, endHour: 6 }), '2026-01-06T00:00:00.000Z');
});

test('leadMinutes crossing days', () => {
  assert.equal(slot('2026-01-05T23:00:00Z', { leadMinutes: 1440 }), '2026-01-06T23:00:00.000Z');
  assert.equal(slot('2026-01-05T23:30:00Z', { leadMinutes: 60, startHour: 0, endHour: 1 }), '2026-01-06T00:30:00.000Z');
  assert.equal(
    slot('2026-01-05T23:30:00Z', { leadMinutes: 120, startHour: 0, endHour: 1 }),
    '2026-01-07T00:00:00.000Z',
  );
});

test('weekday sets: weekend-only, a single day, skipping a whole week', () => {
  const weekend = { days: ['sat', 'sun'] as ScheduleWindow['days'], startHour: 1, endHour: 5 };
  assert.equal(slot('2026-01-05T10:00:00Z', weekend), '2026-01-10T01:00:00.000Z'); // Mon -> Sat
  assert.equal(slot('2026-01-10T03:00:00Z', weekend), '2026-01-10T03:05:00.000Z'); // inside Saturday's window
  assert.equal(slot('2026-01-11T06:00:00Z', weekend), '2026-01-17T01:00:00.000Z'); // Sunday after the window
  const monday = { days: ['mon'] as ScheduleWindow['days'], startHour: 9, endHour: 10 };
  assert.equal(slot('2026-01-05T09:56:00Z', monday), '2026-01-12T09:00:00.000Z'); // next Monday, 7 days on
  assert.equal(slot('2026-01-05T08:00:00Z', monday), '2026-01-05T09:00:00.000Z');
});

test('notBefore pushes the slot (the next try after a refusal), staying in the window', () => {
  assert.equal(slot('2026-01-05T10:00:00Z', {}, MIN, '2026-01-05T10:06:00Z'), '2026-01-05T10:06:00.000Z');
  assert.equal(
    slot('2026-01-05T03:00:00Z', { startHour: 2, endHour: 4 }, MIN, '2026-01-05T04:00:00Z'),
    '2026-01-06T02:00:00.000Z',
  );
  assert.equal(slot('2026-01-05T10:00:00Z', {}, MIN, '2026-01-05T09:00:00Z'), '2026-01-05T10:05:00.000Z');
});

test('every slot over a week of starting points is inside the window and after the lead', () => {
  const w: ScheduleWindow = { days: ['tue', 'thu', 'sat'], startHour: 3, endHour: 7, leadMinutes: 90 };
  const start = Date.parse('2026-01-05T00:00:00Z');
  for (let t = start; t < start + 8 * 24 * 3600_000; t += 17 * MIN) {
    const s = nextSlot(new Date(t), w, MIN);
    const d = new Date(s);
    assert.ok(s.getTime() >= t + 90 * MIN);
    assert.ok(['tue', 'thu', 'sat'].includes(WEEKDAYS[(d.getUTCDay() + 6) % 7]!));
    assert.ok(d.getUTCHours() >= 3 && d.getUTCHours() < 7);
    assert.equal(s.getTime() % MIN, 0);
    // Earliest: one minute earlier is not a valid slot (either too soon or outside the window).
    const prev = s.getTime() - MIN;
    const p = new Date(prev);
    const prevOk =
      prev >= t + 90 * MIN &&
      p.getUTCHours() >= 3 &&
      p.getUTCHours() < 7 &&
      ['tue', 'thu', 'sat'].includes(WEEKDAYS[(p.getUTCDay() + 6) % 7]!);
    assert.ok(!prevOk);
  }
});

test('both date formats', () => {
  const d = at('2026-03-07T04:09:00Z');
  assert.equal(formatDate(d), '03/07/2026 04:09');
  assert.deepEqual(dateField(d, 'formatted'), { formatted: '03/07/2026 04:09' });
  assert.deepEqual(dateField(d, 'timeStamp'), { timeStamp: d.getTime() });
  assert.equal(granularityMs('formatted'), MIN);
  assert.equal(granularityMs('timeStamp'), 1000);
});
