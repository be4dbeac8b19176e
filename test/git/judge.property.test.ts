import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { judgeArrival } from '../../controller/git/approval.ts';
import type { CommitInfo } from '../../controller/git/history.ts';
import type { ApprovalPolicy } from '../../specs/lethe-config.ts';

const PATH = 'requests/r.yaml';
const BLOB = 'b'.repeat(40);
const people = ['dpo@x.example', 'lead@x.example', 'mallory@x.example', 'rita@x.example', 'lethe@x.example'];
const approvers = [{ email: 'dpo@x.example' }, { email: 'lead@x.example' }, { email: 'lethe@x.example' }];
const controller = { name: 'Lethe', email: 'lethe@x.example' };

const commit = (
  sha: string,
  author: string,
  parents: number,
  writes: boolean,
  trailers: string[] = [],
): CommitInfo => ({
  sha,
  parents: Array.from({ length: parents }, (_, i) => `p${i}${sha}`),
  authorName: author,
  authorEmail: author,
  committerName: author,
  committerEmail: author,
  time: 1_700_000_000,
  approvedBy: trailers,
  changes: writes ? [{ status: 'A', path: PATH, blob: BLOB }] : [],
  entry: 0,
});

const arbArrival = fc.record({
  merger: fc.constantFrom(...people),
  isMerge: fc.boolean(),
  writers: fc.array(fc.record({ author: fc.constantFrom(...people), merge: fc.boolean() }), {
    minLength: 0,
    maxLength: 4,
  }),
  trailers: fc.array(fc.constantFrom(...people), { maxLength: 3 }),
  mode: fc.constantFrom<ApprovalPolicy['mode']>('merge', 'trailer', 'github-review'),
  minApprovals: fc.integer({ min: 1, max: 3 }),
});

describe('judgeArrival (property)', () => {
  it('never approves through the controller, a non-approver or a content author, and merge mode needs a reviewed merge', () => {
    fc.assert(
      fc.property(arbArrival, (a) => {
        const approval = commit(
          'c',
          a.merger,
          a.isMerge ? 2 : 1,
          true,
          a.trailers.map((t) => `X <${t}>`),
        );
        const side = a.writers.map((w, i) => commit(`s${i}`, w.author, w.merge ? 2 : 1, true));
        const policy: ApprovalPolicy = {
          mode: a.mode,
          protectedBranch: 'main',
          approvers,
          minApprovals: a.minApprovals,
          requireSignedCommits: false,
        };
        const { evidence } = judgeArrival(
          { commit: approval, writers: [approval, ...side], path: PATH, blob: BLOB },
          policy,
          controller,
        );
        const authors = new Set([...side.map((c) => c.authorEmail), ...(a.isMerge ? [] : [a.merger])]);
        for (const p of evidence.approvers) {
          assert.notEqual(p.email, controller.email);
          assert.ok(
            approvers.some((x) => x.email === p.email),
            p.email,
          );
          assert.ok(!authors.has(p.email), `${p.email} authored the content`);
        }
        if (evidence.approved) {
          assert.ok(evidence.approvers.length >= a.minApprovals);
          // github-review: the approved tree judges lethe.yaml and vendors/ here, exactly as
          // merge mode (typed Approved-by trailers alone must never approve a control-plane change).
          if (a.mode === 'merge' || a.mode === 'github-review') {
            assert.ok(a.isMerge && side.length > 0, `${a.mode} mode: a merge whose side wrote the content`);
            assert.equal(evidence.approvers[0]!.email, a.merger);
            // Unsigned: trailers never count, so exactly the merger.
            assert.equal(evidence.approvers.length, 1);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
