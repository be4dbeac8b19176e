import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  explainStatus,
  renderDashboard,
  renderStatusTable,
  sortForDisplay,
  statusReason,
} from '../../controller/core/dashboard.ts';
import { computeStatus, type StatusInput } from '../../controller/core/status.ts';
import type { ApprovalEvidence } from '../../specs/index.ts';
import { erasureTask, statusInput, T0 } from '../support/status-input.ts';

const selfMerged: ApprovalEvidence = {
  approved: false,
  mode: 'merge',
  approvers: [],
  commit: 'abc123',
  reason:
    'merged into main in abc123 has 0 of 1 required approvals; not counted: Riley <riley@example.com> authored the request',
};

const status = (name: string, over: Partial<StatusInput> = {}) =>
  computeStatus(statusInput(name, ['maestroqa', 'elasticpath'], over));
const task = erasureTask;

describe('dashboard reasons', () => {
  const invalid = status('a-invalid', {
    request: undefined,
    approval: undefined,
    problems: [
      {
        code: 'INVALID_DATE',
        message: 'spec.receivedAt: month 13 is invalid',
        file: 'requests/a-invalid.yaml',
        line: 8,
        column: 15,
      },
    ],
  });
  const stalled = status('b-stalled', {
    tasks: {
      maestroqa: task('b-stalled', 'maestroqa', {
        phase: 'Stalled',
        step: 'submit',
        submissions: 1,
        lastError: { code: 'MAESTROQA_UNAUTHORIZED', message: 'the API token was refused' },
      }),
    },
  });
  const waiting = status('c-busy', { waits: { elasticpath: 'SubjectBusy' } });
  const unapproved = status('d-self-merged', { approval: selfMerged });
  const degraded = status('e-degraded', {
    degraded: {
      maestroqa: {
        code: 'CREDENTIAL_ENV_MISSING',
        message: "environment variable MAESTROQA_API_TOKEN (named by the vendor's credentials) is not set",
      },
    },
  });
  const fine = status('f-fine');

  it('says why: first error, stalled code and fix, who merged and why it did not count, what it waits for', () => {
    assert.equal(
      statusReason(invalid),
      'requests/a-invalid.yaml:8:15 INVALID_DATE: spec.receivedAt: month 13 is invalid',
    );
    assert.match(statusReason(stalled), /^stalled at maestroqa: MAESTROQA_UNAUTHORIZED — \S/);
    assert.equal(
      statusReason(waiting),
      'waiting: elasticpath (another request of the same subject is under way there)',
    );
    assert.match(statusReason(unapproved), /^awaiting approval: .*Riley <riley@example.com> authored the request$/);
    assert.match(
      statusReason(degraded),
      /^waiting: maestroqa: vendor degraded \(environment variable MAESTROQA_API_TOKEN .*is not set\)/,
    );
    assert.equal(statusReason(fine), '');
  });

  it('puts Invalid and Stalled first, and the reason in the dashboard and in lethe status', () => {
    const order = sortForDisplay([fine, waiting, unapproved, stalled, degraded, invalid]).map((s) => s.metadata.name);
    assert.deepEqual(order.slice(0, 2), ['a-invalid', 'b-stalled']);
    const md = renderDashboard([fine, waiting, unapproved, stalled, degraded, invalid]);
    assert.match(md, /\| Request \| Action \| Regulation \| Phase \| Due \| Vendors done \| Attention \| Reason \|/);
    assert.ok(
      md.includes(
        '| [a-invalid](a-invalid.yaml) |  |  | Invalid |  | 0/0 | invalid | requests/a-invalid.yaml:8:15 INVALID_DATE',
      ),
    );
    assert.ok(md.indexOf('a-invalid') < md.indexOf('b-stalled') && md.indexOf('b-stalled') < md.indexOf('f-fine'));
    const table = renderStatusTable([fine, invalid]);
    assert.match(table.split('\n')[0]!, /REASON$/);
    assert.match(table.split('\n')[1]!, /^a-invalid .*INVALID_DATE/);
  });

  it('lethe status --explain tells one request in full, with fixes', () => {
    const text = explainStatus(unapproved);
    assert.match(text, /^d-self-merged: AwaitingApproval \(erasure, gdpr\), due 2026-12-20/);
    assert.match(text, /approval \(merge\): NOT approved — .*authored the request/);
    assert.match(text, /Approved=False \(NotApproved, since .*\)[\s\S]*what to do: /);
    const s = explainStatus(stalled);
    assert.match(s, /maestroqa: Stalled, step submit/);
    assert.ok(s.includes('last error MAESTROQA_UNAUTHORIZED: the API token was refused\n    fix: '));
  });

  it('a waiting reason is stable across passes: no time in it, so a quiet pass writes the same bytes', () => {
    const again = status('c-busy', { now: T0 + 3_600_000, previous: waiting, waits: { elasticpath: 'SubjectBusy' } });
    assert.deepEqual(again, waiting);
  });
});
