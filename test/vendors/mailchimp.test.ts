// The Mailchimp driver against the sandbox simulator (real HTTP on 127.0.0.1), asserting on
// the sandbox ledger: who was deleted, how often, and what a wrong connection does.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { absentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import { mailchimp } from '../../controller/vendors/mailchimp/index.ts';
import { MailchimpSpec } from '../../specs/index.ts';
import { drive, type DriveRequest, type DriveResult } from '../support/drive.ts';
import { rebuiltJournal } from '../support/rebuilt-journal.ts';
import { vendorTestResources } from '../support/vendor-test.ts';

const VENDOR = 'newsletter';
const { sandbox, dataDir } = vendorTestResources('mc', { timeScale: 0.01, seed: 5, generatedSubjects: 24 });

// The seeded audience (examples/sandbox/population.ts): statuses follow the population order.
const ALICE = 'alice.martin@example.com'; // subscribed
const BOB = 'bob.nguyen@example.com'; // unsubscribed
const CAROL = 'carol.smith@example.com'; // cleaned
const INES = 'ines.garcia@example.com'; // archived
const HENRY = absentAt('mailchimp').find((s) => s.email.startsWith('henry'))!.email;
const bulk = (n: number) => `bulk${String(n).padStart(4, '0')}@example.com`;

const spec = (sb: Sandbox, extra: Record<string, unknown> = {}) =>
  MailchimpSpec.parse({
    type: 'mailchimp',
    baseUrl: sb.config.vendors.mailchimp.baseUrl,
    listId: String(sb.config.vendors.mailchimp.credentials.listId),
    credentials: { apiKey: 'env:MAILCHIMP_API_KEY' },
    ...extra,
  });
const secrets = (sb: Sandbox) => ({ apiKey: String(sb.config.vendors.mailchimp.credentials.apiKey) });
const erase = (name: string, emails: string[]): DriveRequest => ({ name, action: 'erasure', emails });

function run(
  sb: Sandbox,
  dir: string,
  requests: DriveRequest[],
  extra: Partial<Parameters<typeof drive>[0]> = {},
  specExtra: Record<string, unknown> = {},
): Promise<DriveResult> {
  return drive({
    driver: mailchimp.create(),
    vendor: VENDOR,
    spec: spec(sb, specExtra),
    secrets: secrets(sb),
    requests,
    dataDir: dir,
    maxSleepMs: 100,
    maxPasses: 40,
    ...extra,
  });
}

const routes = (sb: Sandbox, name: string) =>
  sb.ledger().filter((e) => e.vendor === 'mailchimp' && e.route.endsWith(name));
const deletes = (sb: Sandbox) => routes(sb, '/actions/delete-permanent');
const md5 = (email: string) => createHash('md5').update(email.toLowerCase()).digest('hex');

/** What Mailchimp answers for a member now, asked straight at the sandbox. */
async function memberStatus(sb: Sandbox, email: string): Promise<number> {
  const auth = `Basic ${Buffer.from(`anyone:${secrets(sb).apiKey}`).toString('base64')}`;
  const res = await fetch(`${sb.config.vendors.mailchimp.baseUrl}/3.0/lists/${spec(sb).listId}/members/${md5(email)}`, {
    headers: { authorization: auth },
  });
  await res.arrayBuffer();
  return res.status;
}

async function assertNoEmails(dir: string, result: DriveResult, emails: string[]): Promise<void> {
  const journal = await readFile(join(dir, 'journal.json'), 'utf8');
  for (const text of [journal, JSON.stringify(result.tasks), result.log.join('\n')]) {
    for (const email of emails) {
      assert.ok(!text.toLowerCase().includes(email.toLowerCase()), 'a subject email leaked');
      assert.ok(!text.includes(md5(email)), 'a subscriber hash (an email in disguise) leaked');
    }
  }
}

describe('Mailchimp driver', () => {
  it('permanently deletes members whatever their status (archived included), and a subject not on the list is NoDataHeld', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const requests = [
      erase('mc-alice', [ALICE]),
      erase('mc-ines', [INES]),
      erase('mc-henry', [HENRY]),
      erase('mc-two', [BOB, CAROL]),
    ];
    const result = await run(sb, dir, requests);
    assert.equal(result.tasks['mc-alice']!.outcome, 'Erased');
    assert.equal(
      result.tasks['mc-ines']!.outcome,
      'Erased',
      'an archived member still holds data: deleted permanently',
    );
    assert.equal(result.tasks['mc-two']!.outcome, 'Erased');
    assert.equal(result.tasks['mc-henry']!.outcome, 'NoDataHeld');
    assert.match(result.tasks['mc-henry']!.evidence.lookup!, /audience a1b2c3d4e5 exists/);
    assert.deepEqual(
      deletes(sb).map((e) => e.status),
      [204, 204, 204, 204],
    );
    for (const email of [ALICE, INES, BOB, CAROL])
      assert.equal(await memberStatus(sb, email), 404, 'gone from the audience');
    assert.equal(sb.stats().mailchimp.duplicateSubmissions, 0);
    assert.equal(sb.stats().mailchimp.sent429, 0);
    await assertNoEmails(dir, result, [ALICE, INES, HENRY, BOB, CAROL]);
  });

  it('hashes the lowercase email: a subject written in capitals is found and deleted, not reported as absent', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const result = await run(sb, dir, [erase('mc-caps', [ALICE.toUpperCase()])]);
    assert.equal(result.tasks['mc-caps']!.outcome, 'Erased');
    assert.equal(await memberStatus(sb, ALICE), 404);
  });

  it('access exports the member as Mailchimp returns it; nobody found is NoDataHeld with no file', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const result = await run(sb, dir, [
      { name: 'mc-access', action: 'access', emails: [BOB] },
      { name: 'mc-access-none', action: 'access', emails: [HENRY] },
    ]);
    assert.equal(result.tasks['mc-access']!.outcome, 'Exported');
    const exportDir = join(dir, 'exports', 'mc-access', VENDOR);
    const files = (await readdir(exportDir)).filter((f) => f.endsWith('.json') && f.startsWith('member_'));
    assert.deepEqual(files, ['member_1.json']);
    const member = JSON.parse(await readFile(join(exportDir, files[0]!), 'utf8'));
    assert.equal(member.email_address, BOB);
    assert.equal(member.status, 'unsubscribed');
    assert.equal(result.tasks['mc-access-none']!.outcome, 'NoDataHeld');
    assert.equal(deletes(sb).length, 0, 'access never deletes');
    assert.equal(await memberStatus(sb, BOB), 200);
  });

  for (const [what, baseUrl] of [
    ['the host root (no /mailchimp)', (sb: Sandbox) => sb.url],
    ['a path with /3.0 already', (sb: Sandbox) => `${sb.config.vendors.mailchimp.baseUrl}/3.0`],
  ] as const) {
    it(`a wrong baseUrl (${what}) stalls with MAILCHIMP_ENDPOINT_NOT_FOUND, never NoDataHeld`, async () => {
      const sb = await sandbox();
      const dir = await dataDir();
      const result = await run(
        sb,
        dir,
        [erase('mc-wrong-url', [HENRY]), erase('mc-wrong-url-2', [ALICE])],
        { maxPasses: 6 },
        { baseUrl: baseUrl(sb) },
      );
      for (const name of ['mc-wrong-url', 'mc-wrong-url-2']) {
        const task = result.tasks[name]!;
        assert.equal(task.phase, 'Stalled', name);
        assert.equal(task.lastError?.code, 'MAILCHIMP_ENDPOINT_NOT_FOUND', name);
        assert.equal(task.outcome, undefined);
      }
      assert.equal(deletes(sb).length, 0);
    });
  }

  it('an unknown audience id never turns a member 404 into NoDataHeld', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const result = await run(sb, dir, [erase('mc-wrong-list', [HENRY])], { maxPasses: 4 }, { listId: 'ffffffffff' });
    const task = result.tasks['mc-wrong-list']!;
    assert.equal(task.outcome, undefined, 'not completed');
    // The health check asks for the audience first: the connection is degraded, the task waits.
    assert.equal(result.journal.data.degraded[VENDOR]?.code, 'MAILCHIMP_LIST_NOT_FOUND');
    assert.equal(routes(sb, '/members/{subscriber_hash}').length, 0);
    assert.ok(routes(sb, '/3.0/lists/{list_id}').every((e) => e.status === 404));
  });

  it('someone without the API key deletes nothing: 401 problem+json, the task waits, the member stays', async () => {
    const sb = await sandbox();
    const dir = await dataDir();
    const result = await drive({
      driver: mailchimp.create(),
      vendor: VENDOR,
      spec: spec(sb),
      secrets: { apiKey: 'guessed-key-us21' },
      requests: [erase('mc-no-key', [ALICE])],
      dataDir: dir,
      maxPasses: 3,
      maxSleepMs: 50,
    });
    const task = result.tasks['mc-no-key']!;
    assert.equal(task.outcome, undefined);
    assert.equal(result.journal.data.degraded[VENDOR]?.code, 'MAILCHIMP_UNAUTHORIZED');
    assert.equal(deletes(sb).length, 0);
    assert.ok(
      sb
        .ledger()
        .filter((e) => e.vendor === 'mailchimp')
        .every((e) => e.status === 401 && e.authOk === false),
    );
    assert.equal(await memberStatus(sb, ALICE), 200, 'the member is untouched');
  });

  it('a lost answer to the permanent delete is resolved by asking for the member: never sent twice', async () => {
    const sb = await sandbox({ faults: 'mailchimp/delete-permanent:lost=1' });
    const dir = await dataDir();
    const result = await run(sb, dir, [erase('mc-lost', [ALICE])]);
    const task = result.tasks['mc-lost']!;
    assert.equal(task.outcome, 'Erased');
    assert.equal(task.evidence.absentAfterDelete, '1', 'proven by the member lookup, not by the lost 204');
    assert.equal(deletes(sb).length, 1, 'the delete is not repeated');
    assert.equal(sb.stats().mailchimp.duplicateSubmissions, 0);
    await assertNoEmails(dir, result, [ALICE]);
  });

  it('a journal rebuilt from git after the delete step: the members are looked up again, a deleted one is Erased (not NoDataHeld), a remaining one is deleted', async () => {
    const sb = await sandbox();
    // Carol was deleted before the crash (straight at the sandbox, as the lost pass did); Alice was not.
    const auth = `Basic ${Buffer.from(`x:${secrets(sb).apiKey}`).toString('base64')}`;
    const gone = await fetch(
      `${sb.config.vendors.mailchimp.baseUrl}/3.0/lists/${spec(sb).listId}/members/${md5(CAROL)}/actions/delete-permanent`,
      { method: 'POST', headers: { authorization: auth } },
    );
    assert.equal(gone.status, 204);
    const dir = await dataDir();
    await rebuiltJournal(dir, {
      request: 'mc-rebuilt-gone',
      vendor: VENDOR,
      action: 'erasure',
      step: 'delete',
      jobIds: [],
    });
    await rebuiltJournal(dir, {
      request: 'mc-rebuilt-left',
      vendor: VENDOR,
      action: 'erasure',
      step: 'delete',
      jobIds: [],
    });
    const result = await run(sb, dir, [erase('mc-rebuilt-gone', [CAROL]), erase('mc-rebuilt-left', [ALICE])]);
    assert.equal(result.tasks['mc-rebuilt-gone']!.outcome, 'Erased');
    assert.match(result.tasks['mc-rebuilt-gone']!.evidence.recovery!, /journal rebuilt/);
    assert.equal(result.tasks['mc-rebuilt-left']!.outcome, 'Erased');
    assert.equal(await memberStatus(sb, ALICE), 404);
    assert.deepEqual(
      deletes(sb).map((e) => e.status),
      [204, 204],
      'one delete each, none repeated',
    );
  });

  it('10 calls in flight at most: the simulator refuses the 11th with 429 problem+json, the driver never reaches it', async () => {
    const sb = await sandbox();
    const auth = `Basic ${Buffer.from(`x:${secrets(sb).apiKey}`).toString('base64')}`;
    const url = `${sb.config.vendors.mailchimp.baseUrl}/3.0/lists/${spec(sb).listId}/members/${md5(ALICE)}`;
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        fetch(url, { headers: { authorization: auth } }).then(async (r) => ({
          status: r.status,
          type: r.headers.get('content-type'),
          body: await r.json(),
        })),
      ),
    );
    const refused = answers.filter((a) => a.status === 429);
    assert.ok(refused.length > 0, 'more than 10 simultaneous calls are refused');
    assert.match(refused[0]!.type ?? '', /^application\/problem\+json/);
    assert.equal(refused[0]!.body.title, 'Too Many Requests');

    const sb2 = await sandbox();
    const dir = await dataDir();
    const requests = Array.from({ length: 24 }, (_, i) => erase(`mc-bulk-${i}`, [bulk(i + 1)]));
    const result = await run(sb2, dir, requests, { maxPasses: 60 }, { concurrency: 10 });
    assert.ok(requests.every((r) => result.tasks[r.name]!.outcome === 'Erased'));
    assert.equal(sb2.stats().mailchimp.sent429, 0, 'concurrency 10 stays within the connection limit');
    assert.equal(deletes(sb2).length, 24);
  });

  it('the connection refuses more than 10 simultaneous calls as configuration', () => {
    const parsed = MailchimpSpec.safeParse({
      type: 'mailchimp',
      baseUrl: 'https://us21.api.mailchimp.com',
      listId: 'a1b2c3d4e5',
      credentials: { apiKey: 'env:K' },
      concurrency: 11,
    });
    assert.equal(parsed.success, false);
  });
});
