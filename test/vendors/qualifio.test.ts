import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FIXTURE_SUBJECTS, startSandbox, type Sandbox } from '../../examples/sandbox/index.ts';
import { QualifioSpec } from '../../specs/vendor-connection.ts';
import { rebuildTasks } from '../../controller/core/rebuild.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { Journal } from '../../state/journal.ts';
import { readExportIndex, verifyExport } from '../../controller/exports/index.ts';
import { Dispatchers } from '../../controller/http/dispatchers.ts';
import { createVendorHttp } from '../../controller/http/vendor-http.ts';
import type { AnyDriver, DriverContext, TaskInput } from '../../controller/contracts/driver.ts';
import type { Logger } from '../../controller/contracts/log.ts';
import { callbackUrlFor, parseQualifioCallback, qualifioDriver } from '../../controller/vendors/qualifio/index.ts';
import { drive, type DriveOptions, type DriveResult } from '../support/drive.ts';

const VENDOR = 'qualifio-main';
const subject = (first: string) => FIXTURE_SUBJECTS.find((s) => s.email.startsWith(`${first}.`))!.email;
const TOKEN = 'sandbox-qualifio-token';
const JUSTIFICATION = 'Art. 15 request received by mail from the subject';

describe('Qualifio driver against the sandbox', () => {
  let sb: Sandbox;
  let dataDir: string;
  const used = new Set<string>();
  const driver = qualifioDriver as AnyDriver;

  const specOf = (extra: Record<string, unknown> = {}) =>
    QualifioSpec.parse({
      type: 'qualifio',
      baseUrl: sb.config.vendors.qualifio.baseUrl,
      clientId: 2449,
      dpoUserId: 7001,
      credentials: { apiToken: 'env:QUALIFIO_TOKEN' },
      ...extra,
    });

  function run(
    requests: DriveOptions['requests'],
    extra: Partial<DriveOptions> = {},
    spec = specOf(),
  ): Promise<DriveResult> {
    for (const r of requests) for (const e of r.emails) used.add(e);
    return drive({
      driver,
      vendor: VENDOR,
      spec,
      secrets: { apiToken: TOKEN },
      requests,
      dataDir,
      maxSleepMs: 500,
      maxPasses: 40,
      ...extra,
    });
  }

  /** No subject email in task records, the journal, the harness log or error messages. */
  async function assertNoEmails(r: DriveResult): Promise<void> {
    const journal = await readFile(join(dataDir, 'journal.json'), 'utf8');
    const haystacks = [JSON.stringify(r.tasks), journal, r.log.join('\n')];
    for (const h of haystacks)
      for (const e of used) assert.ok(!h.toLowerCase().includes(e.toLowerCase()), `an email leaked`);
    for (const h of haystacks) assert.ok(!h.includes(JUSTIFICATION), 'the justification leaked');
  }

  const creates = () => sb.ledger().filter((e) => e.method === 'POST' && e.route.includes('/v1/gdpr/rules/'));
  const validates = () => sb.ledger().filter((e) => e.method === 'PUT' && e.route.endsWith('/validate'));

  /** Erases a subject's profiles through another client of the same account; returns the rule id. */
  async function eraseElsewhere(email: string): Promise<string> {
    const base = `${sb.config.vendors.qualifio.baseUrl}/v1/gdpr`;
    const headers = { 'x-api-token': TOKEN, 'content-type': 'application/json' };
    const profiles = (await (
      await fetch(`${base}/profiles?clientId=2449&email=${encodeURIComponent(email)}`, { headers })
    ).json()) as Array<{ id: number }>;
    const body = {
      ruleType: 'GDPR_ForgottenRight',
      clientId: 2449,
      ruleTypePayload: { profiles: profiles.map((p) => p.id) },
      justification: 'another tool',
      userId: 7001,
    };
    const rule = (await (
      await fetch(`${base}/rules/forgottenRight?clientId=2449`, { method: 'POST', headers, body: JSON.stringify(body) })
    ).json()) as { _id: string };
    await fetch(`${base}/rules/${rule._id}/validate?clientId=2449`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ dpo: 7001 }),
    });
    // Slowly: this client shares the token's rate limit with Lethe.
    for (let i = 0; i < 40; i++) {
      await new Promise((res) => setTimeout(res, 250));
      const got = (await (await fetch(`${base}/rules/${rule._id}?clientId=2449`, { headers })).json()) as {
        ruleStatus?: { status: string };
      };
      if (got.ruleStatus?.status === 'FINISHED') return rule._id;
    }
    throw new Error('competing rule did not finish');
  }

  before(async () => {
    sb = await startSandbox({ port: 0, timeScale: 0.004, seed: 8 });
  });
  after(async () => {
    await sb.stop();
  });
  beforeEach(async () => {
    sb.reset();
    dataDir = await mkdtemp(join(tmpdir(), 'lethe-qualifio-'));
  });

  it('access, one profile: rule created, validated on git approval, archive exported and indexed', async () => {
    const r = await run([
      {
        name: 'req-access-one',
        action: 'access',
        emails: [subject('alice')],
        justification: JUSTIFICATION,
        approvers: ['Dana DPO'],
      },
    ]);
    const t = r.tasks['req-access-one']!;
    assert.equal(t.phase, 'Completed');
    assert.equal(t.outcome, 'Exported');
    assert.equal(t.jobIds.length, 1);
    assert.match(
      t.evidence.qualifioValidation!,
      /^validated by dpo user 7001 on git approval by Dana DPO at commit 0123456$/,
    );
    const dir = join(dataDir, 'exports', 'req-access-one', VENDOR);
    assert.deepEqual(await verifyExport(dir), []);
    const index = await readExportIndex(dir);
    assert.equal(index?.files.length, 1);
    assert.equal(index!.files[0]!.sha256, t.evidence.archiveSha256);
    const archive = JSON.parse(await readFile(join(dir, index!.files[0]!.name), 'utf8'));
    assert.equal(archive.rule, t.jobIds[0]);
    assert.equal(archive.profiles.length, 1);
    assert.equal(creates().length, 1);
    assert.equal(sb.stats().qualifio.duplicateSubmissions, 0);
    assert.equal(sb.stats().qualifio.rateLimitViolations, 0);
    await assertNoEmails(r);
  });

  it('access, several profiles of two emails: one rule with all of them; zero profiles: NoDataHeld', async () => {
    const r = await run([
      { name: 'req-access-many', action: 'access', emails: [subject('bob'), subject('dan')] },
      { name: 'req-access-none', action: 'access', emails: [subject('henry'), subject('carol')] },
    ]);
    assert.equal(r.tasks['req-access-many']!.outcome, 'Exported');
    assert.equal(r.tasks['req-access-none']!.outcome, 'NoDataHeld');
    assert.deepEqual(r.tasks['req-access-none']!.jobIds, []);
    const dir = join(dataDir, 'exports', 'req-access-many', VENDOR);
    const index = await readExportIndex(dir);
    const archive = JSON.parse(await readFile(join(dir, index!.files[0]!.name), 'utf8'));
    assert.equal(archive.profiles.length, 5, 'bob has 2 profiles, dan 3');
    assert.equal(creates().length, 1, 'no rule for the subject Qualifio does not know');
    await assertNoEmails(r);
  });

  it('erasure: forgottenRight rule validated and finished, profiles gone', async () => {
    const r = await run([
      { name: 'req-erase', action: 'erasure', emails: [subject('grace')], justification: JUSTIFICATION },
    ]);
    const t = r.tasks['req-erase']!;
    assert.equal(t.outcome, 'Erased');
    assert.ok(t.evidence.qualifioValidation);
    assert.equal(creates()[0]!.route, '/qualifio/v1/gdpr/rules/forgottenRight');
    const again = await run([{ name: 'req-erase-again', action: 'erasure', emails: [subject('grace')] }]);
    assert.equal(again.tasks['req-erase-again']!.outcome, 'NoDataHeld', 'the profile was erased');
    assert.equal(sb.stats().qualifio.duplicateSubmissions, 0);
    await assertNoEmails(again);
  });

  it('test mode: a dry-run rule (ruleTypePayload.test) erases nothing, outcome DryRun', async () => {
    const r = await run(
      [{ name: 'req-dry', action: 'erasure', emails: [subject('kim')] }],
      {},
      specOf({ mode: 'test' }),
    );
    assert.equal(r.tasks['req-dry']!.outcome, 'DryRun');
    const live = await run([{ name: 'req-dry-live', action: 'erasure', emails: [subject('kim')] }]);
    assert.equal(live.tasks['req-dry-live']!.outcome, 'Erased', 'the dry run left the profiles in place');
    assert.equal(sb.stats().qualifio.duplicateSubmissions, 0);
    await assertNoEmails(live);
  });

  it('crash after the rule was created, before validation: restart finds and validates it, never creates twice', async () => {
    // Dies right after Qualifio answered the creation: the intent stays open, nothing recorded.
    const crashing: AnyDriver = {
      ...qualifioDriver,
      step: (ctx: DriverContext<'qualifio'>, task: TaskInput) =>
        qualifioDriver.step(
          {
            ...ctx,
            intent: (name, detail, send) =>
              ctx.intent(name, detail, async () => {
                await send();
                throw new Error('crash');
              }),
          },
          task,
        ),
    } as AnyDriver;
    const reqs = [
      { name: 'req-crash', action: 'erasure' as const, emails: [subject('dan')], justification: JUSTIFICATION },
    ];
    const first = await run(reqs, { driver: crashing, stopWhen: (t) => t['req-crash']?.lastError !== undefined });
    assert.equal(creates().length, 1);
    assert.equal(validates().length, 0);
    assert.equal(Object.keys(first.journal.data.intents).length, 1, 'the create intent is open');
    const second = await run(reqs);
    const t = second.tasks['req-crash']!;
    assert.equal(t.outcome, 'Erased');
    assert.equal(creates().length, 1, 'one create in the sandbox ledger');
    assert.equal(validates().length, 1);
    assert.equal(sb.stats().qualifio.duplicateSubmissions, 0);
    assert.equal(t.jobIds.length, 1);
    assert.ok(
      sb.ledger().some((e) => e.route.endsWith('/v1/gdpr/rules') && e.method === 'GET'),
      'recovery listed the rules',
    );
    await assertNoEmails(second);
  });

  it("more rules than one listing page: a lost creation is not found, the task stalls (never a second rule); the operator's ruleId resumes it", async () => {
    const base = `${sb.config.vendors.qualifio.baseUrl}/v1/gdpr`;
    const headers = { 'x-api-token': TOKEN, 'content-type': 'application/json' };
    const kim = (await (
      await fetch(`${base}/profiles?clientId=2449&email=${encodeURIComponent(subject('kim'))}`, { headers })
    ).json()) as Array<{ id: number }>;
    // Another tool's dry runs fill the listing's first page.
    for (let i = 0; i < 10; i++) {
      await new Promise((res) => setTimeout(res, 120));
      const body = {
        ruleType: 'GDPR_ForgottenRight',
        clientId: 2449,
        ruleTypePayload: { profiles: [kim[0]!.id], test: true },
        justification: `other tool ${i}`,
        userId: 7001,
      };
      assert.equal(
        (
          await fetch(`${base}/rules/forgottenRight?clientId=2449`, {
            method: 'POST',
            headers,
            body: JSON.stringify(body),
          })
        ).status,
        200,
      );
    }
    const crashing: AnyDriver = {
      ...qualifioDriver,
      step: (ctx: DriverContext<'qualifio'>, task: TaskInput) =>
        qualifioDriver.step(
          {
            ...ctx,
            intent: (name, detail, send) =>
              ctx.intent(name, detail, async () => {
                await send();
                throw new Error('crash');
              }),
          },
          task,
        ),
    } as AnyDriver;
    const mine = () => creates().filter((e) => e.subjects.length > 0 && e.status === 200).length - 10;
    const reqs = [
      { name: 'req-paged', action: 'erasure' as const, emails: [subject('dan')], justification: JUSTIFICATION },
    ];
    await run(reqs, { driver: crashing, stopWhen: (t) => t['req-paged']?.lastError !== undefined });
    assert.equal(mine(), 1);
    const stalled = await run(reqs, { maxPasses: 3 });
    const t = stalled.tasks['req-paged']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'QUALIFIO_CREATE_UNCONFIRMED');
    assert.equal(mine(), 1, 'no second rule');
    // The operator finds the rule (here: page 2 of the listing) and names it.
    const page2 = (await (await fetch(`${base}/rules?clientId=2449&page=2`, { headers })).json()) as Array<{
      _id: string;
      justification: string;
    }>;
    const rule = page2.find((r) => r.justification.startsWith('[lethe:req-paged] '))!;
    const done = await run([{ ...reqs[0]!, identifiers: { ruleId: rule._id } }]);
    assert.equal(done.tasks['req-paged']!.outcome, 'Erased');
    assert.deepEqual(done.tasks['req-paged']!.jobIds, [rule._id]);
    assert.equal(mine(), 1);
    assert.equal(sb.stats().qualifio.duplicateSubmissions, 0);
    await assertNoEmails(done);
  });

  it('journal lost before the status reached git: a fresh controller takes the rule up, never creates twice', async () => {
    const reqs = [
      { name: 'req-lost', action: 'access' as const, emails: [subject('dan')], justification: JUSTIFICATION },
    ];
    await run(reqs, { stopWhen: (t) => t['req-lost']?.step === 'validate' || t['req-lost']?.step === 'poll' });
    assert.equal(creates().length, 1);
    // A new machine: no journal, and no status file recorded the rule.
    dataDir = await mkdtemp(join(tmpdir(), 'lethe-qualifio-'));
    const again = await run(reqs);
    assert.equal(again.tasks['req-lost']!.outcome, 'Exported');
    assert.equal(creates().length, 1, 'the rule found by its [lethe:<request>] marker was taken up');
    assert.equal(sb.stats().qualifio.duplicateSubmissions, 0);
    await assertNoEmails(again);
  });

  it('lost answer to the creation (sandbox fault): recovered in the next pass, one rule', async () => {
    const faulty = await startSandbox({ port: 0, timeScale: 0.004, seed: 9, faults: 'qualifio/export-create:lost=1' });
    try {
      used.add(subject('ines'));
      const r = await drive({
        driver,
        vendor: VENDOR,
        secrets: { apiToken: TOKEN },
        dataDir,
        maxSleepMs: 500,
        maxPasses: 40,
        spec: QualifioSpec.parse({
          type: 'qualifio',
          baseUrl: faulty.config.vendors.qualifio.baseUrl,
          clientId: 2449,
          dpoUserId: 7001,
          credentials: { apiToken: 'env:T' },
        }),
        requests: [{ name: 'req-lost', action: 'access', emails: [subject('ines')] }],
      });
      assert.equal(r.tasks['req-lost']!.outcome, 'Exported');
      const posts = faulty.ledger().filter((e) => e.method === 'POST');
      assert.equal(posts.length, 1);
      assert.equal(faulty.stats().qualifio.duplicateSubmissions, 0);
      await assertNoEmails(r);
    } finally {
      await faulty.stop();
    }
  });

  it('journal lost while polling: rebuilt from the status in git, resumes from the recorded rule id', async () => {
    const reqs = [{ name: 'req-rebuilt', action: 'access' as const, emails: [subject('bob')] }];
    const first = await run(reqs, { stopWhen: (t) => t['req-rebuilt']?.step === 'poll' });
    const was = first.tasks['req-rebuilt']!;
    assert.equal(was.jobIds.length, 1);
    await rm(join(dataDir, 'journal.json'));
    const journal = await Journal.open(join(dataDir, 'journal.json'));
    const doc = {
      metadata: { name: 'req-rebuilt' },
      status: {
        action: 'access',
        vendors: {
          [VENDOR]: { phase: 'InProgress', step: 'poll', jobIds: was.jobIds, attempts: 1, evidence: was.evidence },
        },
      },
    };
    assert.equal(rebuildTasks(journal, [doc as never], Date.now()), 1);
    await journal.flush();
    const second = await run(reqs);
    const t = second.tasks['req-rebuilt']!;
    assert.equal(t.outcome, 'Exported');
    assert.deepEqual(t.jobIds, was.jobIds);
    assert.equal(creates().length, 1);
    assert.equal(validates().length, 1);
    assert.deepEqual(await verifyExport(join(dataDir, 'exports', 'req-rebuilt', VENDOR)), []);
    await assertNoEmails(second);
  });

  it('callBackUrl: the sandbox calls back the URL built for the task, and the path maps back to it', async () => {
    const seen: string[] = [];
    const hook: Server = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/`;
      const r = await run(
        [{ name: 'req-callback', action: 'erasure', emails: [subject('alice')] }],
        {},
        specOf({ callBackUrl: base }),
      );
      assert.equal(r.tasks['req-callback']!.outcome, 'Erased');
      for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
      assert.deepEqual(seen, ['GET /hooks/qualifio/qualifio-main/req-callback']);
      assert.deepEqual(parseQualifioCallback(seen[0]!.slice(4)), { vendor: VENDOR, request: 'req-callback' });
      assert.equal(sb.stats().qualifio.callbacks, 1);
      await assertNoEmails(r);
    } finally {
      await new Promise((r) => hook.close(r));
    }
  });

  it('a wrong baseUrl (a path the sandbox does not serve): Stalled with QUALIFIO_ENDPOINT_NOT_FOUND, never Completed, no rule', async () => {
    for (const [i, baseUrl] of [`${sb.config.vendors.qualifio.baseUrl}/api`, `${sb.url}/not-qualifio`].entries()) {
      const name = `req-wrong-base-${i}`;
      const r = await run(
        [{ name, action: 'erasure', emails: [subject('alice')] }],
        { maxPasses: 3 },
        specOf({ baseUrl }),
      );
      assert.equal(r.tasks[name]!.phase, 'Stalled', baseUrl);
      assert.equal(r.tasks[name]!.lastError?.code, 'QUALIFIO_ENDPOINT_NOT_FOUND');
    }
    assert.equal(creates().length, 0);
  });

  it('a validation Qualifio answers REJECTED (the profiles were erased meanwhile): Stalled with QUALIFIO_VALIDATION_REFUSED, not polled forever', async () => {
    const email = subject('bob');
    // Before Lethe validates its rule, another rule erases the same profiles (straight at the sandbox).
    const competing: AnyDriver = {
      ...qualifioDriver,
      step: async (ctx: DriverContext<'qualifio'>, task: TaskInput) => {
        if (task.state.step === 'validate' && competitor.length === 0)
          competitor.push(await eraseElsewhere(email).catch((e: Error) => `failed: ${e.message}`));
        return qualifioDriver.step(ctx, task);
      },
    } as AnyDriver;
    const competitor: string[] = [];
    const r = await run([{ name: 'req-rejected', action: 'erasure', emails: [email] }], {
      driver: competing,
      maxPasses: 4,
    });
    const t = r.tasks['req-rejected']!;
    assert.doesNotMatch(competitor[0]!, /failed/);
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'QUALIFIO_VALIDATION_REFUSED');
    assert.match(t.lastError!.message, /REJECTED/);
    assert.notEqual(t.outcome, 'Erased');
    assert.equal(t.step, 'validate', 'never went on to poll the rule');
    assert.equal(t.evidence.qualifioValidation, undefined, 'no validation is claimed');
  });

  it('401: the vendor is degraded (vendor scope), the task waits, no rule created', async () => {
    const r = await run([{ name: 'req-unauth', action: 'erasure', emails: [subject('alice')] }], {
      secrets: { apiToken: 'wrong-token' },
      maxPasses: 2,
    });
    const t = r.tasks['req-unauth']!;
    assert.equal(t.lastError?.code, 'QUALIFIO_UNAUTHORIZED');
    assert.ok(t.phase === 'Waiting' || t.phase === 'InProgress', `phase ${t.phase}`);
    assert.equal(r.journal.data.degraded[VENDOR]?.code, 'QUALIFIO_UNAUTHORIZED');
    assert.equal(creates().length, 0);
    assert.ok(!t.lastError!.message.includes('wrong-token'));
    await assertNoEmails(r);
  });

  it('400 on creation (unknown profile id): Stalled with QUALIFIO_BAD_REQUEST, intent closed; a malformed profileId is terminal too', async () => {
    const r = await run(
      [
        {
          name: 'req-bad-profile',
          action: 'erasure',
          emails: [subject('henry')],
          identifiers: { profileId: '999999' },
        },
      ],
      { maxPasses: 3 },
    );
    const t = r.tasks['req-bad-profile']!;
    assert.equal(t.phase, 'Stalled');
    assert.equal(t.lastError?.code, 'QUALIFIO_BAD_REQUEST');
    assert.deepEqual(r.journal.data.intents, {}, 'a refused creation leaves no open intent');
    assert.equal(creates().length, 1);
    const bad = await run(
      [{ name: 'req-bad-id', action: 'erasure', emails: [subject('henry')], identifiers: { profileId: 'abc' } }],
      { maxPasses: 3 },
    );
    assert.equal(bad.tasks['req-bad-id']!.lastError?.code, 'QUALIFIO_BAD_IDENTIFIER');
    await assertNoEmails(bad);
  });

  it('404 when validating an unknown rule: terminal QUALIFIO_RULE_NOT_FOUND', async () => {
    const dispatchers = new Dispatchers();
    const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };
    const ctx: DriverContext<'qualifio'> = {
      vendor: VENDOR,
      spec: specOf(),
      http: createVendorHttp({
        vendor: VENDOR,
        rate: { key: VENDOR, windows: [{ limit: 5, perSeconds: 1 }] },
        secrets: [TOKEN],
        dispatchers,
      }),
      secrets: { apiToken: TOKEN },
      now: () => new Date(),
      log: silent,
      intent: (_n, _d, send) => send(),
      exportDir: () => Promise.reject(new Error('unused')),
    };
    const task: TaskInput = {
      request: 'req-404',
      action: 'erasure',
      dueAt: '2026-12-31',
      justification: JUSTIFICATION,
      subject: { emails: [subject('alice')], identifiers: {} },
      approval: { approvers: ['Dana'], commit: 'abcdef0' },
      state: { step: 'validate', data: { ruleId: 'ffffffffffffffffffffffff' }, submissions: 1 },
    };
    try {
      await assert.rejects(qualifioDriver.step(ctx, task), (err: unknown) => {
        assert.ok(err instanceof LetheError);
        assert.equal(err.code, 'QUALIFIO_RULE_NOT_FOUND');
        assert.equal(err.terminal, true);
        assert.ok(!err.message.includes('@'));
        return true;
      });
      assert.equal(validates()[0]?.status, 404);
    } finally {
      await dispatchers.close();
    }
  });

  it('every error code used is in the driver errors table', async () => {
    const src =
      (await readFile(new URL('../../controller/vendors/qualifio/index.ts', import.meta.url), 'utf8')) +
      (await readFile(new URL('../../controller/vendors/qualifio/api.ts', import.meta.url), 'utf8')) +
      (await readFile(new URL('../../controller/vendors/qualifio/errors.ts', import.meta.url), 'utf8'));
    for (const code of new Set(src.match(/QUALIFIO_[A-Z_]+(?=')/g) ?? [])) {
      assert.ok(code in qualifioDriver.errors, code);
    }
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
});

describe('Qualifio callback paths', () => {
  it('builds and parses callback URLs; rejects anything else', () => {
    const url = callbackUrlFor('https://lethe.example.org/hooks/', 'qualifio-eu', 'req-2026-0001');
    assert.equal(url, 'https://lethe.example.org/hooks/qualifio/qualifio-eu/req-2026-0001');
    assert.deepEqual(parseQualifioCallback(new URL(url).pathname), { vendor: 'qualifio-eu', request: 'req-2026-0001' });
    assert.deepEqual(parseQualifioCallback('/qualifio/q/r?status=FINISHED'), { vendor: 'q', request: 'r' });
    assert.deepEqual(parseQualifioCallback('/qualifio/q/r/'), { vendor: 'q', request: 'r' });
    for (const bad of [
      '/',
      '/qualifio/q',
      '/qualifio/q/r/extra',
      '/qualifio/Q/r',
      '/qualifio/../r',
      '/qualifio/q/r%2F..',
      '/other/q/r',
    ]) {
      assert.equal(parseQualifioCallback(bad), undefined, bad);
    }
  });
});
