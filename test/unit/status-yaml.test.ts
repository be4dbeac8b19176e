import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { parseRendered, parseStatusYaml } from '../../controller/audit/status-yaml.ts';
import { renderStatus } from '../../controller/core/status.ts';
import type { PrivacyRequestStatus } from '../../specs/index.ts';

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom(
    '123',
    '0x1f',
    '1e3',
    'true',
    'null',
    '~',
    '2026-11-02',
    'a: b',
    '- x',
    '#c',
    "it's",
    '"q"',
    ' lead',
    'trail ',
    '',
    'multi\nline',
    '.inf',
    '0o17',
    '+1',
    '12abc',
    'x #y',
  ),
);
const name = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);

const doc = fc.record({
  name,
  phase: fc.constantFrom('Pending', 'InProgress', 'Completed', 'Failed', 'Withdrawn', 'AwaitingApproval', 'Invalid'),
  message: text,
  reason: text,
  jobIds: fc.array(text, { maxLength: 3 }),
  evidence: fc.dictionary(fc.oneof(name, text), text, { maxKeys: 3 }),
  attempts: fc.nat(1000),
  approvers: fc.array(fc.record({ name: text, email: text }), { maxLength: 2 }),
  errors: fc.array(fc.record({ code: fc.constantFrom('X_Y', 'GIT_FAILED'), message: text, line: fc.nat(99) }), {
    maxLength: 2,
  }),
});

describe('parseStatusYaml', () => {
  it('reads every status file the controller renders exactly as the YAML parser does', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const status: PrivacyRequestStatus = {
          apiVersion: 'lethe/v1',
          kind: 'PrivacyRequestStatus',
          metadata: { name: d.name },
          status: {
            phase: d.phase,
            receivedAt: '2026-11-02',
            approval: { approved: true, mode: 'merge', approvers: d.approvers, reason: d.reason },
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'Completed',
                message: d.message,
                lastTransitionTime: '2026-11-02T10:00:00.000Z',
              },
            ],
            vendors: {
              acme: {
                phase: 'Completed',
                step: 'done',
                attempts: d.attempts,
                ...(d.jobIds.length ? { jobIds: d.jobIds } : {}),
                ...(Object.keys(d.evidence).length ? { evidence: d.evidence } : {}),
              },
            },
            ...(d.errors.length ? { errors: d.errors } : {}),
          },
        };
        const rendered = renderStatus(status);
        assert.deepEqual(parseStatusYaml(rendered), parse(rendered));
      }),
      { numRuns: 400 },
    );
  });

  it('takes the fast path for what the controller writes', () => {
    const rendered = renderStatus({
      apiVersion: 'lethe/v1',
      kind: 'PrivacyRequestStatus',
      metadata: { name: '2026-11-0042' },
      status: {
        phase: 'Completed',
        approval: {
          approved: false,
          mode: 'merge',
          approvers: [],
          reason: 'merged into main in 85190250f974 by Data Protection Officer <dpo@example.com>',
        },
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Completed',
            message: 'Completed: 2/2 vendors done',
            lastTransitionTime: '2026-11-02T10:00:00.000Z',
          },
        ],
        vendors: {
          maestroqa: {
            phase: 'Completed',
            step: 'done',
            attempts: 1,
            jobIds: ['1001'],
            evidence: { auditLabel: 'lethe:2026-11-0042,2026-11-0044', resources: '1' },
          },
        },
      },
    });
    assert.deepEqual(parseRendered(rendered), parse(rendered));
  });

  it('leaves hand-written YAML it does not know to the general parser', () => {
    for (const y of [
      'a: {b: 1}\n',
      'a: |\n  x\n  y\n',
      'a: &x 1\nb: *x\n',
      'a:\n- 1\n- [2]\n',
      'a: !!str 1\n',
      'a: 1\na: 2\n',
      'a:\n  b: 1\n c: 2\n',
      'a: "\\x41"\n',
    ]) {
      let expected: unknown;
      try {
        expected = parse(y);
      } catch {
        expected = undefined;
      }
      assert.deepEqual(parseStatusYaml(y), expected, y);
    }
  });
});
