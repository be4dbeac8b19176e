/**
 * The status tests' common input: one approved erasure received on 2026-11-20 and due
 * 2026-12-20, seen at T0, with nothing done yet. Each test overrides what it is about.
 */
import { seedTask } from '../../controller/core/planner.ts';
import type { StatusInput } from '../../controller/core/status.ts';
import type { ApprovalEvidence } from '../../specs/index.ts';
import type { TaskRecord } from '../../state/journal.ts';

export const T0 = Date.parse('2026-11-25T10:00:00Z');

export const approvedByDpo: ApprovalEvidence = {
  approved: true,
  mode: 'merge',
  approvers: [{ name: 'Dana DPO', email: 'dpo@example.com' }],
  commit: 'abc123',
  approvedAt: '2026-11-21T09:00:00.000Z',
  specCommit: 'def456',
  reason: 'merged by Dana DPO',
};

export function statusInput(name: string, vendors: string[], over: Partial<StatusInput> = {}): StatusInput {
  return {
    name,
    source: `requests/${name}.yaml`,
    now: T0,
    request: {
      action: 'erasure',
      regulation: 'gdpr',
      receivedAt: '2026-11-20',
      dueAt: '2026-12-20',
      subjectRef: 'hmac-sha256:00',
      vendors,
    },
    approval: approvedByDpo,
    tasks: {},
    withdrawn: false,
    degraded: {},
    ...over,
  };
}

/** A journal task of the request `name` at `vendor`, as seeded, with `over` applied. */
export const erasureTask = (name: string, vendor: string, over: Partial<TaskRecord>): TaskRecord => ({
  ...seedTask(name, vendor, 'erasure'),
  ...over,
});
