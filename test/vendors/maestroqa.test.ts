import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { absentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import { MaestroQaSpec } from '../../specs/index.ts';
import { maestroQa } from '../../controller/vendors/maestroqa/index.ts';
import { Journal, taskKey } from '../../state/journal.ts';
import { rebuiltJournal } from '../support/rebuilt-journal.ts';
import { vendorTestResources } from '../support/vendor-test.ts';
import { drive, type DriveRequest, type DriveResult } from '../support/drive.ts';

const VENDOR = 'maestroqa';
// 600 s nominal deep delete -> 60 ms; limits x10 so that 50 requests take seconds.
const { sandbox, dataDir } = vendorTestResources('mqa', {
  timeScale: 0.0001,
  seed: 7,
  limitScale: 10,
  generatedSubjects: 120,
  outcomes: { maestroqaErrorRate: 0 },
});

function spec(sb: Sandbox, extra: Record<string, unknown> = {}) {
  return MaestroQaSpec.parse({
    type: 'maestroqa',
    baseUrl: sb.config.vendors.maestroqa.baseUrl,
    credentials: { apiToken: 'env:MAESTROQA_TOKEN' },
    rateLimits: [
      { limit: 10, perSeconds: 1 },
      { limit: 300, perSeconds: 60 },
    ],
    pollIntervalSeconds: 0.05,
    maxPollIntervalSeconds: 0.4,
    ...extra,
  });
}

const secrets = (sb: Sandbox) => ({ apiToken: String(sb.config.vendors.maestroqa.credentials.apiToken) });
const bulk = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => `bulk${String(from + i).padStart(4, '0')}@example.com`);
const req = (name: string, emails: string[], identifiers?: Record<string, string>): DriveRequest => ({
  name,
  action: 'erasure',
  emails,
  ...(identifiers ? { identifiers } : {}),
});

async function run(
  sb: Sandbox,
  dir: string,
  requests: DriveRequest[],
  extra: Partial<Parameters<typeof drive>[0]> = {},
): Promise<DriveResult> {
  return drive({
    driver: maestroQa.create(),
    vendor: VENDOR,
    spec: spec(sb),
    secrets: secrets(sb),
    requests,
    dataDir: dir,
    maxSleepMs: 200,
    maxPasses: 200,
    ...extra,
  });
}

/** Nothing Lethe keeps or prints may hold a subject email. */
async function assertNoEmails(dir: string, result: DriveResult, emails: string[]): Promise<void> {
  const journal = await readFile(join(dir, 'journal.json'), 'utf8');
  const texts = [journal, JSON.stringify(result.tasks), result.log.join('\n')];
  for (const email of emails)
    for (const t of texts) assert.ok(!t.toLowerCase().includes(email.toLowerCase()), 'a subject email leaked');
}

/** What an operator's manifest edit does: the planner requeues the Stalled task. */
async function requeue(dir: string, request: string): Promise<void> {
  const journal = await Journal.open(join(dir, 'journal.json'));
  const t = journal.task(taskKey(request, VENDOR))!;
  journal.putTask({
    ...t,
    phase: t.submissions > 0 ? 'InProgress' : 'Waiting',
    attempts: 0,
    nextCheckAt: undefined,
    stalledOn: undefined,
    lastError: undefined,
  });
  await journal.flush();
}

const deletes = (sb: Sandbox) => sb.ledger().filter((e) => e.vendor === 'maestroqa' && e.method === 'DELETE');

describe('MaestroQA driver', () => {
  it('packs requests into calls of at most 5 emails and erases them (12 + 7 emails)', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [
      req('r-a', bulk(1, 3)),
      req('r-b', bulk(4, 3)),
      req('r-c', bulk(7, 3)),
      req('r-d', bulk(10, 3)),
      req('r-big', bulk(13, 7)),
    ];
    const result = await run(sb, dir, requests);
    for (const r of requests) {
      const t = result.tasks[r.name]!;
      assert.equal(t.phase, 'Completed', r.name);
      assert.equal(t.outcome, 'Erased');
      assert.equal(t.evidence.operationalDeletion, 'DELETE /data-deletion-request: 200, confirmation true');
      assert.match(t.evidence.deepDeletion!, /^GET \/data-deletion-check: status "completed" \(job \d+(, \d+)?\)$/);
      assert.match(t.evidence.auditLabel!, /^lethe:[a-z0-9,-]+$/);
      assert.ok(t.jobIds.length >= 1 && t.jobIds.every((id) => /^\d+$/.test(id)));
    }
    assert.equal(result.tasks['r-big']!.jobIds.length, 2, '7 emails need two calls');
    const calls = deletes(sb);
    assert.ok(calls.every((c) => c.subjects.length <= 5 && c.status === 200));
    assert.equal(
      calls.reduce((n, c) => n + c.subjects.length, 0),
      19,
    );
    assert.ok(calls.length <= 6, `${calls.length} calls for 19 emails`);
    assert.ok(
      calls.some((c) => c.subjects.length > 3),
      'requests share calls',
    );
    const stats = sb.stats().maestroqa;
    assert.equal(stats.duplicateSubmissions, 0);
    assert.equal(stats.rateLimitViolations, 0);
    await assertNoEmails(
      dir,
      result,
      requests.flatMap((r) => r.emails),
    );
  });

  it('a subject MaestroQA does not know is Erased only on its documented proofs (confirmation true, then completed), never NoDataHeld', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const email = absentAt('maestroqa')[0]!.email;
    const result = await run(sb, dir, [req('r-nodata', [email])]);
    const t = result.tasks['r-nodata']!;
    assert.equal(t.outcome, 'Erased');
    assert.match(t.evidence.operationalDeletion!, /confirmation true/);
    assert.match(t.evidence.deepDeletion!, /"completed"/);
    assert.equal(deletes(sb).length, 1);
    await assertNoEmails(dir, result, [email]);
  });

  for (const [what, path] of [
    ['another API version', '/maestroqa/api/v2'],
    ['a path below the API', '/maestroqa/api/v1/gdpr'],
    ['the host root', ''],
  ] as const) {
    it(`a wrong baseUrl (${what}) ends Stalled with MAESTROQA_NOT_FOUND, never Completed`, async () => {
      const sb = await sandbox();
      const dir = await dataDir();
      const emails = bulk(90, 1);
      const result = await drive({
        driver: maestroQa.create(),
        vendor: VENDOR,
        spec: spec(sb, { baseUrl: sb.url + path }),
        secrets: secrets(sb),
        requests: [req('r-wrong-url', emails)],
        dataDir: dir,
        maxSleepMs: 200,
        maxPasses: 6,
      });
      const t = result.tasks['r-wrong-url']!;
      assert.equal(t.phase, 'Stalled');
      assert.equal(t.lastError?.code, 'MAESTROQA_NOT_FOUND');
      assert.match(t.lastError!.message, /text\/html/);
      assert.equal(t.outcome, undefined);
      assert.equal(
        Object.keys(result.journal.data.intents).length,
        0,
        'a route 404 proves nothing was done: no open intent',
      );
      assert.equal(deletes(sb).filter((c) => c.status === 200).length, 0);
      await assertNoEmails(dir, result, emails);
    });
  }

  it('resubmits an errored deep delete and fails after maxSubmissions', async () => {
    const sb = await sandbox({ outcomes: { maestroqaErrorRate: 1 } });
    const dir = await dataDir();
    const emails = bulk(30, 1);
    const result = await run(sb, dir, [req('r-err', emails)]);
    const t = result.tasks['r-err']!;
    assert.equal(t.phase, 'Failed');
    assert.equal(t.lastError?.code, 'MAESTROQA_DEEP_DELETE_ERRORED');
    assert.match(t.lastError!.message, /3 submissions/);
    assert.equal(t.submissions, 3);
    assert.equal(t.jobIds.length, 3);
    assert.equal(deletes(sb).length, 3);
    assert.equal(sb.stats().maestroqa.duplicateSubmissions, 0);
    await assertNoEmails(dir, result, emails);
  });

  it('stalls on an unknown job id; the operator answers jobId "none" and it is resubmitted once', async () => {
    const sb = await sandbox({ delays: { maestroqaDeepDelete: 10_000_000 } });
    const dir = await dataDir();
    const emails = bulk(40, 2);
    const requests = [req('r-lost', emails)];
    await run(sb, dir, requests, { stopWhen: (tasks) => tasks['r-lost']?.step === 'poll' });
    sb.reset(); // MaestroQA forgets the job
    const stalled = await run(sb, dir, requests, { maxPasses: 5 });
    assert.equal(stalled.tasks['r-lost']!.phase, 'Stalled');
    assert.equal(stalled.tasks['r-lost']!.lastError?.code, 'MAESTROQA_JOB_NOT_FOUND');
    await requeue(dir, 'r-lost');
    const resumed = await run(sb, dir, [req('r-lost', emails, { jobId: 'none' })], { maxPasses: 4 });
    assert.equal(resumed.tasks['r-lost']!.step, 'poll');
    assert.equal(deletes(sb).length, 1, 'one new DELETE after the reset');
    // The same decision is not acted on twice.
    sb.reset();
    const again = await run(sb, dir, [req('r-lost', emails, { jobId: 'none' })], { maxPasses: 4 });
    assert.equal(again.tasks['r-lost']!.lastError?.code, 'MAESTROQA_JOB_NOT_FOUND');
    assert.equal(deletes(sb).length, 0);
    await assertNoEmails(dir, again, emails);
  });

  it('a lost answer is never resubmitted: Stalled, then the operator names the job from the audit log', async () => {
    const sb = await sandbox({ faults: 'maestroqa/delete:lost=1' });
    const dir = await dataDir();
    const emails = bulk(50, 1);
    const first = await run(sb, dir, [req('r-crash', emails)], { maxPasses: 6 });
    const t = first.tasks['r-crash']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'MAESTROQA_SUBMISSION_UNCONFIRMED');
    assert.match(t.lastError!.message, /lethe:r-crash/);
    assert.equal(deletes(sb).length, 1);
    assert.equal(sb.stats().maestroqa.duplicateSubmissions, 0);
    // The sandbox numbers jobs from 1001: what the audit log would show for the label.
    await requeue(dir, 'r-crash');
    const done = await run(sb, dir, [req('r-crash', emails, { jobId: '1001' })]);
    assert.equal(done.tasks['r-crash']!.outcome, 'Erased');
    assert.deepEqual(done.tasks['r-crash']!.jobIds, ['1001']);
    assert.equal(deletes(sb).length, 1);
    assert.equal(sb.stats().maestroqa.duplicateSubmissions, 0);
    await assertNoEmails(dir, done, emails);
  });

  it('a rebuilt journal resumes polling with the job ids from git', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = bulk(60, 2);
    const firstRun = await run(sb, dir, [req('r-rebuilt', emails)], {
      stopWhen: (tasks) => tasks['r-rebuilt']?.step === 'poll',
    });
    const jobIds = firstRun.tasks['r-rebuilt']!.jobIds;
    const fresh = await dataDir();
    await rebuiltJournal(fresh, { request: 'r-rebuilt', vendor: VENDOR, action: 'erasure', step: 'poll', jobIds });
    const result = await run(sb, fresh, [req('r-rebuilt', emails)]);
    assert.equal(result.tasks['r-rebuilt']!.outcome, 'Erased');
    assert.equal(deletes(sb).length, 1);
    await assertNoEmails(fresh, result, emails);
  });

  it('a refused token degrades the vendor (requests wait), and they finish once it is fixed', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = bulk(70, 1);
    const requests = [req('r-auth', emails)];
    const bad = await run(sb, dir, requests, { secrets: { apiToken: 'rotated-token' }, maxPasses: 3 });
    const t = bad.tasks['r-auth']!;
    assert.notEqual(t.phase, 'Failed');
    assert.notEqual(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'MAESTROQA_UNAUTHORIZED');
    assert.ok(bad.log.some((l) => l.includes('vendor degraded') && l.includes('MAESTROQA_UNAUTHORIZED')));
    assert.ok(!bad.log.join('\n').includes('rotated-token'));
    const good = await run(sb, dir, requests);
    assert.equal(good.tasks['r-auth']!.outcome, 'Erased');
    assert.equal(sb.stats().maestroqa.duplicateSubmissions, 0);
    await assertNoEmails(dir, good, emails);
  });

  it('50 requests: batched, no rate-limit violation, no duplicate', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = Array.from({ length: 50 }, (_, i) => req(`r-bulk-${String(i).padStart(2, '0')}`, bulk(71 + i, 1)));
    const result = await run(sb, dir, requests);
    assert.ok(requests.every((r) => result.tasks[r.name]!.outcome === 'Erased'));
    const stats = sb.stats().maestroqa;
    assert.equal(stats.rateLimitViolations, 0);
    assert.equal(stats.duplicateSubmissions, 0);
    assert.equal(deletes(sb).length, 10);
    await assertNoEmails(
      dir,
      result,
      requests.flatMap((r) => r.emails),
    );
  });
});
