/**
 * What the controller keeps of each status between passes (status.ts StatusEntry): the text
 * deflated, and the dashboard row. Nothing may be lost on the way: the text comes back byte
 * for byte, the document parsed back is the one rendered, and the dashboard built from the
 * rows is the one built from the documents.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { renderDashboard, renderDashboardRows } from '../../controller/core/dashboard.ts';
import {
  computeStatus,
  renderStatus,
  statusDoc,
  statusEntry,
  statusText,
  type StatusInput,
} from '../../controller/core/status.ts';
import { erasureTask, statusInput } from '../support/status-input.ts';

const input = (name: string, over: Partial<StatusInput> = {}) => statusInput(name, ['a', 'b'], over);
const task = erasureTask;

/** One status of each kind a dashboard sorts: invalid, stalled, overdue, pending, completed, withdrawn. */
function variety() {
  return [
    computeStatus(input('pending')),
    computeStatus(
      input('stalled', {
        tasks: { a: task('stalled', 'a', { phase: 'Stalled', lastError: { code: 'MAESTROQA_AUTH', message: 'no' } }) },
      }),
    ),
    computeStatus(input('late', { now: Date.parse('2027-01-05T00:00:00Z') })),
    computeStatus(
      input('done', {
        tasks: {
          a: task('done', 'a', { phase: 'Completed', completedAt: '2026-11-24T00:00:00.000Z', outcome: 'erased' }),
          b: task('done', 'b', { phase: 'Completed', completedAt: '2026-11-24T00:00:00.000Z', outcome: 'erased' }),
        },
      }),
    ),
    computeStatus({
      ...input('broken'),
      request: undefined,
      approval: undefined,
      problems: [
        {
          code: 'UNKNOWN_FIELD',
          message: 'unknown field "spec.vendor"',
          file: 'requests/broken.yaml',
          line: 7,
          column: 3,
        },
      ],
    }),
    computeStatus({ ...input('gone'), request: undefined, withdrawn: true }),
  ];
}

describe('a kept status (text deflated plus a dashboard row)', () => {
  it('gives back the text byte for byte and the document as rendered', () => {
    for (const doc of variety()) {
      const text = renderStatus(doc);
      const entry = statusEntry(text, doc);
      assert.equal(statusText(entry), text);
      assert.deepEqual(statusDoc(entry), doc);
      assert.ok(
        entry.packed.length < text.length / 2,
        `${doc.metadata.name}: kept in ${entry.packed.length} of ${text.length} bytes`,
      );
    }
  });

  it('gives back any text byte for byte, whatever it holds (fast-check)', () => {
    const doc = computeStatus(input('any'));
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 3000 }), (text) => {
        assert.equal(statusText(statusEntry(text, doc)), text);
      }),
      { numRuns: 300 },
    );
  });

  it('renders the same dashboard from the rows as from the documents', () => {
    const docs = variety();
    const rows = docs.map((d) => statusEntry(renderStatus(d), d).row);
    const extra = { branch: 'main', root: 'abc', pending: [], ignoredStatus: ['status/odd.yaml'] };
    const expected = renderDashboard(docs, extra, { signedBy: 'SHA256:x' });
    assert.equal(renderDashboardRows(rows.reverse(), extra, { signedBy: 'SHA256:x' }), expected);
    // The order a DPO reads: invalid, stalled, overdue first.
    const order = expected
      .split('\n')
      .filter((l) => l.startsWith('| ['))
      .map((l) => /\[([^\]]+)\]/.exec(l)![1]);
    assert.deepEqual(order.slice(0, 3), ['broken', 'stalled', 'late']);
  });
});
