import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { execute, type RequestRuntime, type VendorRuntime } from '../../controller/core/executor.ts';
import { plan, stallFingerprint, type PlanVendor } from '../../controller/core/planner.ts';
import { isTransient, TRANSIENT_CODES } from '../../controller/core/transient.ts';
import { lookup } from '../../controller/errors/catalogue.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { HttpError } from '../../controller/http/errors.ts';
import { silentLogger } from '../../controller/log.ts';
import type { AnyDriver, Driver } from '../../controller/contracts/driver.ts';
import { Journal, taskKey } from '../../state/journal.ts';

const HOUR = 3_600_000;
const vendor: PlanVendor = { name: 'v1', available: true, fingerprint: 'vf', canCancel: false, drainMs: () => 0 };
const planRequest = {
  name: 'a',
  action: 'erasure' as const,
  dueAt: '2026-12-20',
  receivedAt: '2026-11-20',
  subjectKeys: ['a'],
  vendors: ['v1'],
  approved: true,
  fingerprint: 'fa',
};
const request: RequestRuntime = {
  name: 'a',
  action: 'erasure',
  dueAt: '2026-12-20',
  justification: 'j',
  emails: ['a@example.com'],
  identifiers: {},
  approval: { approvers: [], commit: 'c' },
  fingerprint: 'fa',
  vendors: ['v1'],
};

function runtime(driver: Partial<Driver>): VendorRuntime {
  const full = {
    type: 'maestroqa',
    supportedActions: () => ['erasure'],
    defaultRateLimits: () => [{ limit: 10, perSeconds: 1 }],
    identifierKeys: [],
    errors: {},
    configSchema: undefined as never,
    ...driver,
  };
  return {
    name: 'v1',
    driver: full as unknown as AnyDriver,
    spec: {} as never,
    http: { request: async () => assert.fail('no call') },
    secrets: {},
    concurrency: 1,
    fingerprint: 'vf',
  };
}

/** A controller-less loop: plan, execute, as the reconciler does, with a clock the test moves. */
async function harness(driver: Partial<Driver>, retryWindowMs = 24 * HOUR) {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-transient-'));
  const journal = await Journal.open(join(dir, 'journal.json'));
  let now = Date.parse('2026-11-25T00:00:00Z');
  const lines: string[] = [];
  const log = { ...silentLogger, warn: (msg: string) => lines.push(msg) };
  const pass = async () => {
    const p = plan({
      now,
      requests: [planRequest],
      tasks: Object.values(journal.data.tasks),
      openIntents: new Set(Object.values(journal.data.intents).flatMap((i) => i.tasks)),
      vendors: new Map([['v1', vendor]]),
    });
    await execute(p, {
      journal,
      vendors: new Map([['v1', runtime(driver)]]),
      requests: new Map([['a', request]]),
      now: () => now,
      log,
      dataDir: dir,
      backoffMs: (n) => Math.min(2 ** n * 1000, 15 * 60_000),
      deadline: now + 60_000,
      degradedRetryMs: 1000,
      retryWindowMs,
    });
    return p;
  };
  return {
    journal,
    lines,
    pass,
    advance: (ms: number) => (now += ms),
    task: () => journal.task(taskKey('a', 'v1'))!,
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

const transientHttp = (code: string) => new HttpError(code as never, `${code} happened`, true, 1);

describe('transient faults are never final', () => {
  it('classifies by code, by cause at any depth, and by an explicit override', () => {
    for (const code of TRANSIENT_CODES) {
      assert.equal(isTransient(new LetheError(code, 'x')), true, code);
      assert.ok(lookup(code), `${code} is in the catalogue`);
    }
    const wrapped = new LetheError('VENDOR_ANSWER_MALFORMED', 'x', {
      terminal: true,
      cause: new LetheError('WRAP', 'y', { cause: transientHttp('HTTP_SCHEMA_MISMATCH') }),
    });
    assert.equal(isTransient(wrapped), true);
    assert.equal(isTransient(new LetheError('VENDOR_REJECTED', 'x', { terminal: true })), false);
    assert.equal(isTransient(new LetheError('VENDOR_SAYS_LATER', 'x', { terminal: true, transient: true })), true);
    assert.equal(isTransient(new LetheError('HTTP_SERVER_ERROR', 'x', { transient: false })), false);
    assert.equal(isTransient(new Error('plain')), false);
  });

  it('property: any run of transient failures shorter than the window leaves the task retrying, never final or stalled', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            code: fc.constantFrom(...TRANSIENT_CODES),
            // How a driver may present it: as is, wrapped as "terminal" with the cause, or marked transient.
            shape: fc.constantFrom('raw', 'wrapped', 'marked'),
            waitMs: fc.integer({ min: 0, max: 3 * HOUR }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (faults) => {
          let i = 0;
          const h = await harness({
            async step() {
              const f = faults[Math.min(i++, faults.length - 1)]!;
              const inner = transientHttp(f.code);
              if (f.shape === 'raw') throw inner;
              if (f.shape === 'wrapped')
                throw new LetheError('VENDOR_ANSWER_BAD', 'bad answer', { terminal: true, cause: inner });
              throw new LetheError('VENDOR_BUSY', 'busy', { terminal: true, transient: true });
            },
          });
          try {
            let elapsed = 0;
            for (const f of faults) {
              const t = h.task();
              if (t) {
                const wait = Math.max(f.waitMs, (t.nextCheckAt ?? 0) - Date.parse('2026-11-25T00:00:00Z') - elapsed);
                h.advance(wait);
                elapsed += wait;
              }
              if (elapsed >= 24 * HOUR) break;
              await h.pass();
              const after = h.task();
              assert.notEqual(after.phase, 'Stalled', `${f.code} (${f.shape}) after ${elapsed} ms`);
              assert.notEqual(after.phase, 'Failed');
              assert.ok(after.nextCheckAt !== undefined && after.failingSince !== undefined);
            }
          } finally {
            await h.close();
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('after the whole retry window the task stops for an operator, explained, and retries no more', async () => {
    let calls = 0;
    const h = await harness(
      {
        async step() {
          calls++;
          throw transientHttp('HTTP_SERVER_ERROR');
        },
      },
      HOUR,
    );
    try {
      for (let i = 0; i < 200 && h.task()?.phase !== 'Stalled'; i++) {
        await h.pass();
        h.advance(Math.max(0, (h.task().nextCheckAt ?? 0) - Date.parse('2026-11-25T00:00:00Z')) || 60_000);
      }
      const t = h.task();
      assert.equal(t.phase, 'Stalled');
      assert.equal(t.lastError?.code, 'RETRY_WINDOW_EXHAUSTED');
      assert.match(t.lastError!.message, /HTTP_SERVER_ERROR/);
      assert.ok(lookup('RETRY_WINDOW_EXHAUSTED')?.hint);
      const before = calls;
      for (let i = 0; i < 5; i++) {
        h.advance(HOUR);
        const p = await h.pass();
        assert.deepEqual(p.actions, [], 'a stalled task is not planned again');
      }
      assert.equal(calls, before);
      assert.equal(h.lines.filter((l) => l === 'task stalled').length, 1, 'warned once');
    } finally {
      await h.close();
    }
  });

  it('a recovery that cannot tell stalls once, resolves its intent as needs-operator, and rests until the request changes', async () => {
    let recoveries = 0;
    const h = await harness({
      async step() {
        throw new Error('not reached');
      },
      async recover() {
        recoveries++;
        throw new LetheError('SUBMISSION_UNCONFIRMED', 'may have been sent', { terminal: true });
      },
    });
    try {
      h.journal.putTask({
        request: 'a',
        vendor: 'v1',
        action: 'erasure',
        phase: 'InProgress',
        step: 'start',
        data: {},
        submissions: 0,
        attempts: 0,
        jobIds: [],
        evidence: {},
      });
      h.journal.putIntent('i1', {
        tasks: ['a/v1'],
        vendor: 'v1',
        name: 'submit',
        detail: {},
        at: '2026-11-25T00:00:00Z',
      });
      await h.pass();
      assert.equal(h.task().phase, 'Stalled');
      assert.equal(h.task().stalledOn, stallFingerprint(planRequest, vendor));
      assert.equal(h.journal.data.intents.i1?.needsOperator, true, 'kept for the driver, marked');
      for (let i = 0; i < 10; i++) {
        h.advance(10 * 60_000);
        const p = await h.pass();
        assert.deepEqual(p.actions, []);
        assert.equal(
          p.requests[0]!.vendors.v1 && 'wait' in p.requests[0]!.vendors.v1 ? p.requests[0]!.vendors.v1.wait : undefined,
          'Stalled',
        );
      }
      assert.equal(recoveries, 1);
      assert.equal(h.task().nextCheckAt, undefined, 'never due');
    } finally {
      await h.close();
    }
  });
});
