import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { commitMessage } from '../../controller/core/commit-message.ts';
import { renderDashboard } from '../../controller/core/dashboard.ts';
import { computeStatus, renderStatus, type StatusInput } from '../../controller/core/status.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import type { TaskRecord } from '../../state/journal.ts';
import { approvedByDpo, erasureTask, statusInput, T0 } from '../support/status-input.ts';

const approved = approvedByDpo;
const input = (over: Partial<StatusInput> = {}) => statusInput('r1', ['a', 'b'], over);
const task = (vendor: string, over: Partial<TaskRecord>) => erasureTask('r1', vendor, over);
const cond = (s: PrivacyRequestStatus, type: string) => s.status.conditions.find((c) => c.type === type)!;

describe('status', () => {
  it('validates against its own schema and round-trips through YAML', () => {
    const s = computeStatus(input());
    assert.deepEqual(PrivacyRequestStatus.parse(parse(renderStatus(s))), s);
  });

  it('derives the request phase from the vendor tasks', () => {
    assert.equal(
      computeStatus(input({ approval: { ...approved, approved: false, reason: 'no merge' } })).status.phase,
      'AwaitingApproval',
    );
    assert.equal(computeStatus(input()).status.phase, 'Pending');
    assert.equal(
      computeStatus(input({ tasks: { a: task('a', { phase: 'InProgress', step: 'poll', submissions: 1 }) } })).status
        .phase,
      'InProgress',
    );
    const done = { phase: 'Completed' as const, step: 'done', completedAt: '2026-11-26T00:00:00.000Z' };
    assert.equal(computeStatus(input({ tasks: { a: task('a', done), b: task('b', done) } })).status.phase, 'Completed');
    assert.equal(
      computeStatus(input({ tasks: { a: task('a', done), b: task('b', { phase: 'Failed', step: 'done' }) } })).status
        .phase,
      'Failed',
    );
    assert.equal(
      computeStatus(input({ tasks: { a: task('a', done) } })).status.phase,
      'InProgress',
      'a finished, b has not started',
    );
    assert.equal(
      computeStatus(input({ request: undefined, source: undefined, withdrawn: true })).status.phase,
      'Withdrawn',
    );
    const skipped = {
      phase: 'Skipped' as const,
      step: 'start',
      outcome: 'Withdrawn',
      completedAt: '2026-11-26T00:00:00.000Z',
    };
    const cancelled = {
      phase: 'Cancelled' as const,
      step: 'done',
      outcome: 'Cancelled',
      completedAt: '2026-11-26T00:00:00.000Z',
    };
    const all = (over: Partial<TaskRecord>) => ({ a: task('a', over), b: task('b', over) });
    assert.equal(
      computeStatus(input({ tasks: all(skipped) })).status.phase,
      'Withdrawn',
      'every vendor skipped: nothing was done',
    );
    assert.equal(computeStatus(input({ tasks: all(cancelled) })).status.phase, 'Withdrawn');
    const part = computeStatus(input({ tasks: { a: task('a', done), b: task('b', skipped) } }));
    assert.equal(part.status.phase, 'Withdrawn', 'Completed only when every vendor confirmed');
    assert.equal(part.status.completedAt, undefined);
    assert.equal(cond(part, 'Ready').status, 'False');
    assert.equal(computeStatus(input({ problems: [{ code: 'X', message: 'bad' }] })).status.phase, 'Invalid');
  });

  it('keeps lastTransitionTime while a condition holds, so a quiet pass writes the same bytes', () => {
    const first = computeStatus(input());
    const again = computeStatus(input({ now: T0 + 3_600_000, previous: first }));
    assert.equal(renderStatus(again), renderStatus(first));
    const later = computeStatus(
      input({
        now: T0 + 7_200_000,
        previous: again,
        tasks: { a: task('a', { phase: 'Stalled', step: 'submit', lastError: { code: 'E', message: 'm' } }) },
      }),
    );
    assert.equal(cond(later, 'Stalled').status, 'True');
    assert.equal(cond(later, 'Stalled').lastTransitionTime, new Date(T0 + 7_200_000).toISOString());
    assert.equal(cond(later, 'Approved').lastTransitionTime, new Date(T0).toISOString());
  });

  it('flags Overdue past the due date, and completion after it as late', () => {
    const late = Date.parse('2026-12-21T00:00:01Z');
    assert.equal(cond(computeStatus(input({ now: Date.parse('2026-12-20T23:59:59Z') })), 'Overdue').status, 'False');
    assert.equal(cond(computeStatus(input({ now: late })), 'Overdue').reason, 'PastDue');
    const done = (at: string) => ({
      a: task('a', { phase: 'Completed', step: 'done', completedAt: at }),
      b: task('b', { phase: 'Completed', step: 'done', completedAt: at }),
    });
    assert.equal(
      cond(computeStatus(input({ now: late, tasks: done('2026-12-20T22:00:00.000Z') })), 'Overdue').reason,
      'CompletedOnTime',
    );
    assert.equal(
      cond(computeStatus(input({ now: late, tasks: done('2026-12-21T00:00:00.000Z') })), 'Overdue').reason,
      'CompletedLate',
    );
  });

  it('shows a degraded vendor as the reason a task waits', () => {
    const s = computeStatus(input({ degraded: { a: { code: 'MAESTROQA_UNAUTHORIZED' } } }));
    assert.equal(s.status.vendors.a!.lastError?.code, 'MAESTROQA_UNAUTHORIZED');
    assert.equal(s.status.vendors.b!.lastError, undefined);
  });

  it('renders a dashboard with overdue requests first and no timestamp', () => {
    const onTime = computeStatus(input({ name: 'b-on-time' }));
    const overdue = computeStatus(input({ name: 'z-overdue', now: Date.parse('2027-01-05T00:00:00Z') }));
    const md = renderDashboard([onTime, overdue]);
    assert.ok(md.indexOf('z-overdue') < md.indexOf('b-on-time'));
    assert.match(
      md,
      /\| \[z-overdue\]\(z-overdue\.yaml\) \| erasure \| gdpr \| Pending \| 2026-12-20 \| 0\/2 \| overdue \|/,
    );
    assert.doesNotMatch(md, /\d{2}:\d{2}/);
  });

  it('writes commit messages that count phases and carry trailers', () => {
    const msg = commitMessage(
      [
        { name: 'r2', from: 'InProgress', to: 'Completed' },
        { name: 'r1', to: 'AwaitingApproval' },
        { name: 'r3', from: 'Pending', to: 'Completed' },
      ],
      'cafe',
    );
    const [subject, , ...rest] = msg.split('\n');
    assert.equal(subject, 'lethe: 2 completed, 1 awaiting approval');
    assert.ok(rest.includes('- r2: InProgress -> Completed'));
    assert.ok(rest.includes('Lethe-Request: r1'));
    assert.ok(rest.includes('Lethe-Phase: r3=Completed'));
    assert.ok(rest.includes('Lethe-Observed-Commit: cafe'));
  });
});
