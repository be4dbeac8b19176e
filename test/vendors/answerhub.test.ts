import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ManualClock, presentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import { AnswerHubSpec } from '../../specs/index.ts';
import { LetheError } from '../../controller/errors/types.ts';
import type { DriverContext } from '../../controller/contracts/driver.ts';
import { answerHubDriver } from '../../controller/vendors/answerhub/index.ts';
import type { TaskRecord } from '../../state/journal.ts';
import { rebuiltJournal } from '../support/rebuilt-journal.ts';
import { vendorTestResources } from '../support/vendor-test.ts';
import { drive, type DriveRequest, type DriveResult } from '../support/drive.ts';

const VENDOR = 'answerhub';
const S = '/answerhub/services/v2';
const [alice, , dan, frank, ines, jack, leo] = presentAt('answerhub').map((s) => s.email);
const HENRY = 'henry.dubois@example.com';
// Jobs run at (scheduled time - now) x 0.0001: at once, while the driver waits for the slot.
const { sandbox, dataDir } = vendorTestResources('ah', { timeScale: 0.0001, seed: 4, generatedSubjects: 20 });

function spec(sb: Sandbox, extra: Record<string, unknown> = {}) {
  return AnswerHubSpec.parse({
    type: 'answerhub',
    baseUrl: sb.config.vendors.answerhub.baseUrl,
    credentials: { username: 'env:AH_USER', password: 'env:AH_PASSWORD' },
    scheduleWindow: { leadMinutes: 0 },
    ...extra,
  });
}

const secrets = (sb: Sandbox) => ({
  username: String(sb.config.vendors.answerhub.credentials.username),
  password: String(sb.config.vendors.answerhub.credentials.password),
});
const req = (name: string, emails: string[], identifiers?: Record<string, string>): DriveRequest => ({
  name,
  action: 'erasure',
  emails,
  ...(identifiers ? { identifiers } : {}),
});

type Extra = Partial<Parameters<typeof drive>[0]>;
async function run(
  sb: Sandbox,
  dir: string,
  requests: DriveRequest[],
  extra: Extra = {},
  specExtra: Record<string, unknown> = {},
): Promise<DriveResult> {
  return drive({
    driver: answerHubDriver,
    vendor: VENDOR,
    spec: spec(sb, specExtra),
    secrets: secrets(sb),
    requests,
    dataDir: dir,
    maxSleepMs: 500,
    maxPasses: 120,
    ...extra,
  });
}

async function sbCall(
  sb: Sandbox,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const c = sb.config.vendors.answerhub.credentials;
  const res = await fetch(sb.url + S + path, {
    method,
    headers: {
      authorization: 'Basic ' + Buffer.from(`${c.username}:${c.password}`).toString('base64'),
      'content-type': 'application/json',
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

const TEMPLATES = {
  lookup: ['GET', '/users/gdpr/'],
  upload: ['POST', '/upload.json'],
  schedule: ['POST', '/schedule.json'],
  'job-delete': ['DELETE', '/jobs/gdpr/{id}'],
} as const;
const routes = (sb: Sandbox, call: keyof typeof TEMPLATES) =>
  sb
    .ledger()
    .filter((e) => e.vendor === VENDOR && e.method === TEMPLATES[call][0] && e.route.includes(TEMPLATES[call][1]));
const atStep =
  (step: string, ...names: string[]) =>
  (t: Record<string, TaskRecord>) =>
    names.every((n) => t[n]?.step === step && (t[n]?.jobIds.length ?? 0) > 0);

/** The executor names the phase Cancelled only for tasks it marked withdrawn; the outcome is what the driver decides. */
function assertCancelled(t: TaskRecord): void {
  assert.equal(t.outcome, 'Cancelled');
  assert.ok(t.phase === 'Cancelled' || t.phase === 'Completed');
}

/** Nothing Lethe keeps or prints may hold a subject email. */
async function assertNoEmails(dir: string, result: DriveResult, emails: string[]): Promise<void> {
  const journal = await readFile(join(dir, 'journal.json'), 'utf8');
  const texts = [journal, JSON.stringify(result.tasks), result.log.join('\n')];
  for (const email of emails)
    for (const t of texts) assert.ok(!t.toLowerCase().includes(email.toLowerCase()), 'an email leaked');
}

describe('answerhub driver against the sandbox', { concurrency: true }, () => {
  it('looks up, completes NoDataHeld on 422, schedules an individual job and polls it to Erased', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const r = await run(sb, dir, [req('ah-one', [alice!]), req('ah-none', [HENRY])]);
    assert.equal(r.tasks['ah-none']!.phase, 'Completed');
    assert.equal(r.tasks['ah-none']!.outcome, 'NoDataHeld');
    assert.equal(r.tasks['ah-none']!.submissions, 0);
    const one = r.tasks['ah-one']!;
    assert.equal(one.phase, 'Completed');
    assert.equal(one.outcome, 'Erased');
    assert.equal(one.jobIds.length, 1);
    assert.equal(one.evidence.operation, 'anon-delete');
    assert.equal(one.evidence.jobStatus, 'finished');
    assert.equal(routes(sb, 'upload').length, 0);
    assert.deepEqual(
      routes(sb, 'schedule').map((e) => e.status),
      [201],
    );
    assert.equal(
      (await sbCall(sb, 'GET', `/users/gdpr/${encodeURIComponent(alice!)}.json`)).status,
      422,
      'the user is gone',
    );
    const job = await sbCall(sb, 'GET', `/jobs/gdpr/${one.jobIds[0]}.json`);
    assert.equal(job.json.status, 'FINISHED');
    assert.deepEqual(job.json.operations, ['anon-delete']);
    assert.equal(sb.stats().answerhub.duplicateSubmissions, 0);
    await assertNoEmails(dir, r, [alice!, HENRY]);
  });

  it('a wrong baseUrl (a path the sandbox does not serve): Stalled with ANSWERHUB_ENDPOINT_NOT_FOUND, never Completed, nothing scheduled', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    for (const baseUrl of [`${sb.config.vendors.answerhub.baseUrl}/answerhub`, `${sb.url}/not-answerhub`]) {
      const r = await run(sb, dir, [req(`ah-wrong-${baseUrl.length}`, [alice!])], { maxPasses: 3 }, { baseUrl });
      const t = r.tasks[`ah-wrong-${baseUrl.length}`]!;
      assert.equal(t.phase, 'Stalled', baseUrl);
      assert.equal(t.lastError?.code, 'ANSWERHUB_ENDPOINT_NOT_FOUND');
    }
    assert.equal(routes(sb, 'schedule').length, 0);
  });

  it('the bulk CSV reaches the plugin as a multipart file upload (the sandbox refuses anything else)', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const r = await run(sb, dir, [req('ah-mp-1', [dan!]), req('ah-mp-2', [frank!])]);
    assert.equal(r.tasks['ah-mp-1']!.outcome, 'Erased');
    assert.equal(r.tasks['ah-mp-2']!.outcome, 'Erased');
    assert.deepEqual(
      routes(sb, 'upload').map((e) => e.status),
      [201],
    );
    assert.equal(sb.stats().answerhub.duplicateSubmissions, 0);
  });

  it('bulk: ~20 requests due together become one CSV upload and one job, within the rate limit', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const emails = Array.from({ length: 20 }, (_, i) => `bulk${String(i + 1).padStart(4, '0')}@example.com`);
    const requests = emails.map((e, i) => req(`ah-bulk-${i}`, [e]));
    const r = await run(sb, dir, requests);
    for (const q of requests) {
      assert.equal(r.tasks[q.name]!.phase, 'Completed', q.name);
      assert.equal(r.tasks[q.name]!.outcome, 'Erased');
      assert.equal(r.tasks[q.name]!.evidence.bulkJob, 'shared by 20 requests');
    }
    const jobIds = new Set(Object.values(r.tasks).flatMap((t) => t.jobIds));
    assert.equal(jobIds.size, 1);
    assert.deepEqual(
      routes(sb, 'upload').map((e) => e.status),
      [201],
    );
    assert.deepEqual(
      routes(sb, 'schedule').map((e) => e.status),
      [201],
    );
    const job = await sbCall(sb, 'GET', `/jobs/gdpr/${[...jobIds][0]}.json`);
    assert.equal(job.json.fileId, 1);
    assert.equal(job.json.status, 'FINISHED');
    const stats = sb.stats().answerhub;
    assert.equal(stats.rateLimitViolations, 0);
    assert.equal(stats.duplicateSubmissions, 0);
    assert.equal(stats.sent429, 0);
    await assertNoEmails(dir, r, emails);
  });

  it('formatted dates: a minute-aligned MM/dd/yyyy HH:mm job with the configured operation', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const r = await run(
      sb,
      dir,
      [req('ah-fmt', [leo!])],
      { stopWhen: atStep('poll', 'ah-fmt') },
      { dateFormat: 'formatted', erasureOperation: 'anonymize' },
    );
    const t = r.tasks['ah-fmt']!;
    const job = await sbCall(sb, 'GET', `/jobs/gdpr/${t.jobIds[0]}.json`);
    assert.equal(job.json.date.timeStamp % 60_000, 0);
    assert.equal(new Date(job.json.date.timeStamp).toISOString(), t.evidence.scheduledFor);
    assert.deepEqual(job.json.operations, ['anonymize']);
    assert.ok(job.json.date.timeStamp > Date.parse(t.startedAt!));
    await assertNoEmails(dir, r, [leo!]);
  });

  it('"already scheduled for that timeframe" moves to the next allowed slot', async () => {
    // Real time: the occupying jobs stay pending.
    const sb = await sandbox({ timeScale: 1 });
    const dir = await dataDir();
    // Occupy the two minutes the driver will try first (formatted dates are minute slots).
    const m = Math.ceil((Date.now() + 5_000) / 60_000) * 60_000;
    for (const [i, user] of ['danokafor', 'frankmuller'].entries()) {
      const res = await sbCall(sb, 'POST', '/jobs/gdpr/schedule.json', {
        user: { username: user },
        operations: ['suspend'],
        date: { timeStamp: m + i * 60_000 },
      });
      assert.equal(res.status, 201);
    }
    const r = await run(
      sb,
      dir,
      [req('ah-taken', [jack!])],
      { stopWhen: atStep('poll', 'ah-taken') },
      { dateFormat: 'formatted' },
    );
    const t = r.tasks['ah-taken']!;
    const job = await sbCall(sb, 'GET', `/jobs/gdpr/${t.jobIds[0]}.json`);
    assert.ok(job.json.date.timeStamp >= m + 120_000 && job.json.date.timeStamp <= m + 180_000);
    const statuses = routes(sb, 'schedule').map((e) => e.status);
    assert.ok(statuses.filter((s) => s === 400).length >= 1);
    assert.equal(statuses.at(-1), 201);
    assert.equal(sb.stats().answerhub.duplicateSubmissions, 0);
    await assertNoEmails(dir, r, [jack!, dan!, frank!]);
  });

  it('"date not eligible" moves on, and gives up with a terminal error after bounded tries', async () => {
    const limits = { answerhub: [{ limit: 1000, windowMs: 1000 }] };
    // The vendor's clock runs 70 s ahead: the first two slots are in its past.
    const ahead = await sandbox({ clock: new ManualClock(Date.now() + 70_000), limits });
    const dir1 = await dataDir();
    const r1 = await run(ahead, dir1, [req('ah-late', [ines!])], { stopWhen: atStep('poll', 'ah-late') });
    assert.deepEqual(
      routes(ahead, 'schedule').map((e) => e.status),
      [400, 400, 201],
    );
    assert.equal(r1.tasks['ah-late']!.jobIds.length, 1);
    // An hour ahead: no slot of the bounded search is eligible.
    const far = await sandbox({ clock: new ManualClock(Date.now() + 3_600_000), limits });
    const dir2 = await dataDir();
    const r2 = await run(far, dir2, [req('ah-never', [ines!])], {
      stopWhen: (t) => t['ah-never']?.phase === 'Stalled',
    });
    const t = r2.tasks['ah-never']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'ANSWERHUB_DATE_NOT_ELIGIBLE');
    assert.equal(routes(far, 'schedule').length, 8);
    assert.equal(far.stats().answerhub.duplicateSubmissions, 0);
    await assertNoEmails(dir1, r1, [ines!]);
    await assertNoEmails(dir2, r2, [ines!]);
  });

  it('an unknown userId is "No user selected"; a malformed identifier is refused before any call', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const stalled = (n: string) => (t: Record<string, TaskRecord>) => t[n]?.phase === 'Stalled';
    const r = await run(sb, dir, [req('ah-ghost', [alice!], { userId: '99999' })], { stopWhen: stalled('ah-ghost') });
    assert.equal(r.tasks['ah-ghost']!.lastError?.code, 'ANSWERHUB_NO_USER_SELECTED');
    assert.deepEqual(
      routes(sb, 'schedule').map((e) => e.status),
      [400],
    );
    assert.equal(routes(sb, 'lookup').length, 0, 'an identifier needs no lookup');
    const dir2 = await dataDir();
    const r2 = await run(sb, dir2, [req('ah-badid', [alice!], { userId: 'abc' })], { stopWhen: stalled('ah-badid') });
    assert.equal(r2.tasks['ah-badid']!.lastError?.code, 'ANSWERHUB_BAD_IDENTIFIER');
    assert.equal(routes(sb, 'schedule').length, 1);
    for (const t of [r.tasks['ah-ghost']!, r2.tasks['ah-badid']!]) assert.ok(!t.lastError!.message.includes('@'));
    await assertNoEmails(dir, r, [alice!]);
    await assertNoEmails(dir2, r2, [alice!]);
  });

  it('withdrawal: a pending individual job is deleted (200) -> Cancelled', async () => {
    const sb = await sandbox({ timeScale: 1 });
    const dir = await dataDir();
    const requests = [req('ah-wd', [jack!])];
    // A 10 minute lead (in real time) keeps the job pending.
    const specExtra = { scheduleWindow: { leadMinutes: 10 } };
    const r1 = await run(sb, dir, requests, { stopWhen: atStep('poll', 'ah-wd') }, specExtra);
    const jobId = r1.tasks['ah-wd']!.jobIds[0]!;
    const r2 = await run(sb, dir, requests, { withdrawn: ['ah-wd'] }, specExtra);
    const t = r2.tasks['ah-wd']!;
    assertCancelled(t);
    assert.deepEqual(
      routes(sb, 'job-delete').map((e) => e.status),
      [200],
    );
    assert.equal((await sbCall(sb, 'GET', `/jobs/gdpr/${jobId}.json`)).status, 404);
    assert.equal(
      (await sbCall(sb, 'GET', `/users/gdpr/${encodeURIComponent(jack!)}.json`)).status,
      200,
      'the user was not erased',
    );
    await assertNoEmails(dir, r2, [jack!]);
  });

  it('withdrawal: a job already deleted at the vendor (404) -> Cancelled', async () => {
    const sb = await sandbox({ timeScale: 1 });
    const dir = await dataDir();
    const requests = [req('ah-gone', [leo!])];
    const specExtra = { scheduleWindow: { leadMinutes: 10 } };
    const r1 = await run(sb, dir, requests, { stopWhen: atStep('poll', 'ah-gone') }, specExtra);
    assert.equal((await sbCall(sb, 'DELETE', `/jobs/gdpr/${r1.tasks['ah-gone']!.jobIds[0]}.json`)).status, 200);
    const r2 = await run(sb, dir, requests, { withdrawn: ['ah-gone'] }, specExtra);
    assertCancelled(r2.tasks['ah-gone']!);
    assert.match(r2.tasks['ah-gone']!.evidence.withdrawal!, /ANSWERHUB_JOB_NOT_FOUND/);
    assert.deepEqual(
      routes(sb, 'job-delete').map((e) => e.status),
      [200, 404],
    );
    await assertNoEmails(dir, r2, [leo!]);
  });

  it('withdrawal after the job ran (422): tracked to the end, evidence says too late', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [req('ah-late-wd', [frank!])];
    const r1 = await run(sb, dir, requests, { stopWhen: atStep('poll', 'ah-late-wd') });
    const jobId = r1.tasks['ah-late-wd']!.jobIds[0]!;
    for (let i = 0; i < 100 && (await sbCall(sb, 'GET', `/jobs/gdpr/${jobId}.json`)).json.status !== 'FINISHED'; i++)
      await new Promise((r) => setTimeout(r, 100));
    const r2 = await run(sb, dir, requests, { withdrawn: ['ah-late-wd'] });
    const t = r2.tasks['ah-late-wd']!;
    assert.equal(t.phase, 'Completed');
    assert.equal(t.outcome, 'Erased');
    assert.match(t.evidence.withdrawal!, /too late/);
    assert.deepEqual(
      routes(sb, 'job-delete').map((e) => e.status),
      [422],
    );
    await assertNoEmails(dir, r2, [frank!]);
  });

  it("withdrawing one request of a shared bulk job does not cancel the others' job", async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [req('ah-share-a', [alice!]), req('ah-share-b', [ines!])];
    const specExtra = { scheduleWindow: { leadMinutes: 0 } };
    const r1 = await run(sb, dir, requests, { stopWhen: atStep('poll', 'ah-share-a', 'ah-share-b') }, specExtra);
    assert.equal(r1.tasks['ah-share-a']!.jobIds[0], r1.tasks['ah-share-b']!.jobIds[0]);
    const r2 = await run(sb, dir, requests, { withdrawn: ['ah-share-a'] }, specExtra);
    assert.equal(routes(sb, 'job-delete').length, 0);
    for (const n of ['ah-share-a', 'ah-share-b']) assert.equal(r2.tasks[n]!.outcome, 'Erased');
    assert.match(r2.tasks['ah-share-a']!.evidence.withdrawal!, /shared/);
    await assertNoEmails(dir, r2, [alice!, ines!]);
  });

  it('a crash between sending a schedule and recording its answer: confirmed by lookup, never resubmitted', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [req('ah-crash', [dan!])];
    // The vendor acts, then the process "dies" before the answer is journaled.
    const crashing = {
      ...answerHubDriver,
      step: (ctx: DriverContext<'answerhub'>, task: Parameters<typeof answerHubDriver.step>[1]) =>
        answerHubDriver.step(
          {
            ...ctx,
            intent: (name, detail, send) =>
              ctx.intent(name, detail, async () => {
                await send();
                throw new LetheError('SIMULATED_CRASH', 'process died');
              }),
          },
          task,
        ),
    };
    const r1 = await run(sb, dir, requests, {
      driver: crashing,
      stopWhen: (t) => t['ah-crash']?.lastError?.code === 'SIMULATED_CRASH',
    });
    assert.equal(Object.keys(r1.journal.data.intents).length, 1, 'the schedule intent is still open');
    const r2 = await run(sb, dir, requests);
    const t = r2.tasks['ah-crash']!;
    assert.equal(t.phase, 'Completed');
    assert.equal(t.outcome, 'Erased');
    assert.match(t.evidence.confirmedBy!, /no AnswerHub user/);
    assert.deepEqual(
      routes(sb, 'schedule').map((e) => e.status),
      [201],
    );
    assert.equal(sb.stats().answerhub.duplicateSubmissions, 0);
    await assertNoEmails(dir, r2, [dan!]);
  });

  it('a lost answer for a suspend job stalls as unconfirmed until an operator names the job', async () => {
    const sb = await sandbox({ faults: 'answerhub/schedule:lost=1' });
    const dir = await dataDir();
    const specExtra = { erasureOperation: 'suspend' };
    const r1 = await run(
      sb,
      dir,
      [req('ah-susp', [jack!])],
      { stopWhen: (t) => t['ah-susp']?.phase === 'Stalled' },
      specExtra,
    );
    const t1 = r1.tasks['ah-susp']!;
    assert.equal(t1.lastError?.code, 'ANSWERHUB_SCHEDULE_UNCONFIRMED');
    assert.equal(routes(sb, 'schedule').length, 1, 'never resubmitted');
    // The operator finds job 1 in the admin console and records it in the manifest.
    const r2 = await run(sb, dir, [req('ah-susp', [jack!], { jobId: '1' })], {}, specExtra);
    const t2 = r2.tasks['ah-susp']!;
    assert.equal(t2.phase, 'Completed');
    assert.deepEqual(t2.jobIds, ['1']);
    assert.equal(routes(sb, 'schedule').length, 1);
    assert.equal(sb.stats().answerhub.duplicateSubmissions, 0);
    await assertNoEmails(dir, r2, [jack!]);
  });

  it('a journal rebuilt from git tracks the recorded job; a schedule step without a job id stalls unconfirmed', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [req('ah-rebuilt', [alice!]), req('ah-rebuilt-nojob', [ines!])];
    const first = await run(sb, dir, [requests[0]!], { stopWhen: atStep('poll', 'ah-rebuilt') });
    const jobIds = first.tasks['ah-rebuilt']!.jobIds;
    const fresh = await dataDir();
    for (const [name, step, ids] of [
      ['ah-rebuilt', 'poll', jobIds],
      ['ah-rebuilt-nojob', 'schedule', []],
    ] as const) {
      await rebuiltJournal(fresh, { request: name, vendor: VENDOR, action: 'erasure', step, jobIds: [...ids] });
    }
    const r = await run(sb, fresh, requests, {
      stopWhen: (t) => t['ah-rebuilt']?.phase === 'Completed' && t['ah-rebuilt-nojob']?.phase === 'Stalled',
    });
    assert.equal(r.tasks['ah-rebuilt']!.outcome, 'Erased');
    assert.equal(r.tasks['ah-rebuilt-nojob']!.lastError?.code, 'ANSWERHUB_SCHEDULE_UNCONFIRMED');
    assert.deepEqual(
      routes(sb, 'schedule').map((e) => e.status),
      [201],
    );
    await assertNoEmails(fresh, r, [alice!, ines!]);
  });
});
