import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addMonths, daysUntil, dueDate, isOverdue } from '../../controller/deadlines.ts';

const OTHER = { days: 30, extensionDays: 30 };
const gdpr = (receivedAt: string, months?: number | null) =>
  dueDate(
    {
      regulation: 'gdpr',
      receivedAt,
      extension: months === undefined ? undefined : { reason: 'r', ...(months === null ? {} : { months }) },
    },
    OTHER,
  );

test('GDPR: one calendar month, every month end of a common year', () => {
  const cases: [string, string][] = [
    ['2026-01-31', '2026-02-28'],
    ['2026-01-30', '2026-02-28'],
    ['2026-01-29', '2026-02-28'],
    ['2026-01-28', '2026-02-28'],
    ['2026-02-28', '2026-03-28'],
    ['2026-03-31', '2026-04-30'],
    ['2026-04-30', '2026-05-30'],
    ['2026-05-31', '2026-06-30'],
    ['2026-06-30', '2026-07-30'],
    ['2026-07-31', '2026-08-31'],
    ['2026-08-31', '2026-09-30'],
    ['2026-09-30', '2026-10-30'],
    ['2026-10-31', '2026-11-30'],
    ['2026-11-30', '2026-12-30'],
    ['2026-12-31', '2027-01-31'],
    ['2026-12-01', '2027-01-01'],
    ['2026-11-20', '2026-12-20'],
  ];
  for (const [received, due] of cases) assert.equal(gdpr(received), due, received);
});

test('GDPR: leap years 2024, 2028 and 2000 have 29 February; 2100 does not', () => {
  assert.equal(gdpr('2024-01-31'), '2024-02-29');
  assert.equal(gdpr('2024-01-30'), '2024-02-29');
  assert.equal(gdpr('2024-01-29'), '2024-02-29');
  assert.equal(gdpr('2028-01-31'), '2028-02-29');
  assert.equal(gdpr('2000-01-31'), '2000-02-29');
  assert.equal(gdpr('2100-01-31'), '2100-02-28');
  assert.equal(gdpr('2100-01-29'), '2100-02-28');
  assert.equal(gdpr('2024-02-29'), '2024-03-29');
});

test('GDPR: extensions add months to the receipt date, clamped once', () => {
  assert.equal(gdpr('2026-11-30', null), '2027-02-28');
  assert.equal(gdpr('2026-11-30', 2), '2027-02-28');
  assert.equal(gdpr('2026-11-30', 1), '2027-01-30');
  assert.equal(gdpr('2027-11-30', 2), '2028-02-29');
  assert.equal(gdpr('2026-10-31', 1), '2026-12-31');
  assert.equal(gdpr('2026-12-31', 2), '2027-03-31');
  assert.equal(gdpr('2026-12-31', 1), '2027-02-28');
});

test('addMonths crosses years both ways', () => {
  assert.equal(addMonths('2026-12-15', 1), '2027-01-15');
  assert.equal(addMonths('2026-11-15', 14), '2028-01-15');
  assert.equal(addMonths('2026-03-31', -1), '2026-02-28');
});

test('CCPA: 45 calendar days, 90 with an extension, across year ends and leap days', () => {
  const ccpa = (receivedAt: string, extended = false) =>
    dueDate({ regulation: 'ccpa', receivedAt, extension: extended ? { reason: 'r' } : undefined }, OTHER);
  assert.equal(ccpa('2026-11-20'), '2027-01-04');
  assert.equal(ccpa('2026-12-31'), '2027-02-14');
  assert.equal(ccpa('2026-11-20', true), '2027-02-18');
  assert.equal(ccpa('2024-01-20'), '2024-03-05');
  assert.equal(ccpa('2023-01-20'), '2023-03-06');
  assert.equal(ccpa('2026-11-28', true), '2027-02-26');
});

test('other: days and extension days from lethe.yaml', () => {
  const other = (receivedAt: string, extended: boolean, cfg = OTHER) =>
    dueDate({ regulation: 'other', receivedAt, extension: extended ? { reason: 'r' } : undefined }, cfg);
  assert.equal(other('2026-11-16', false), '2026-12-16');
  assert.equal(other('2026-11-16', true), '2027-01-15');
  assert.equal(other('2026-12-20', false, { days: 15, extensionDays: 0 }), '2027-01-04');
  assert.equal(other('2026-12-20', true, { days: 15, extensionDays: 0 }), '2027-01-04');
});

test('daysUntil and isOverdue count UTC dates: overdue from the day after the due date', () => {
  assert.equal(daysUntil('2026-12-20', new Date('2026-12-20T23:59:59Z')), 0);
  assert.equal(isOverdue('2026-12-20', new Date('2026-12-20T23:59:59.999Z')), false);
  assert.equal(isOverdue('2026-12-20', new Date('2026-12-21T00:00:00Z')), true);
  assert.equal(daysUntil('2026-12-20', new Date('2026-12-21T00:00:00Z')), -1);
  assert.equal(daysUntil('2027-01-04', new Date('2026-12-31T12:00:00Z')), 4);
  assert.equal(daysUntil('2024-03-01', new Date('2024-02-28T00:00:00Z')), 2);
  // A time zone offset in the input instant does not shift the day: only UTC counts.
  assert.equal(isOverdue('2026-12-20', new Date('2026-12-21T01:00:00+02:00')), false);
});
