import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FIXTURE_SUBJECTS, type Sandbox } from '../../examples/sandbox/index.ts';
import type { ManualClock } from '../../examples/sandbox/clock.ts';
import { authHeaders, call, eventually, manualSandbox } from './helpers.ts';

const bob = FIXTURE_SUBJECTS.find((s) => s.email.startsWith('bob.'))!; // two profiles
const dan = FIXTURE_SUBJECTS.find((s) => s.email.startsWith('dan.'))!; // three profiles
const grace = FIXTURE_SUBJECTS.find((s) => s.email.startsWith('grace.'))!;

describe('sandbox: Qualifio', () => {
  let sb: Sandbox;
  let clock: ManualClock;
  let callbacks: string[];
  let hook: Server;
  let hookUrl: string;
  let cid: number;
  let dpo: number;

  before(async () => {
    ({ sb, clock } = await manualSandbox());
    cid = Number(sb.config.vendors.qualifio.credentials.clientId);
    dpo = Number(sb.config.vendors.qualifio.credentials.dpoUserId);
    callbacks = [];
    hook = createServer((req, res) => {
      callbacks.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/done`;
  });
  after(async () => {
    await sb.stop();
    await new Promise((r) => hook.close(r));
  });

  const q = (method: string, path: string, json?: unknown, headers = authHeaders(sb, 'qualifio')) => {
    clock.advance(200);
    return call(sb, method, `/qualifio/v1/gdpr${path}`, { headers, json });
  };
  const profilesOf = async (email: string) =>
    (await q('GET', `/profiles?clientId=${cid}&email=${encodeURIComponent(email)}`)).json as { id: number }[];
  const ruleBody = (ruleType: string, profiles: number[], extra: Record<string, unknown> = {}) => ({
    ruleType,
    clientId: cid,
    ruleTypePayload: { profiles },
    justification: 'request 2026-01-0001',
    userId: dpo,
    ...extra,
  });

  it('profiles: several per email, [] for an absent one, 400/401/403', async () => {
    const p = await q('GET', `/profiles?clientId=${cid}&email=${encodeURIComponent(dan.email)}`);
    assert.equal(p.status, 200);
    assert.equal(p.json.length, 3);
    assert.equal(p.json[0].email, dan.email);
    assert.match(p.json[0].trigramme, /\|/);
    assert.deepEqual((await q('GET', `/profiles?clientId=${cid}&email=henry.dubois%40example.com`)).json, []);
    assert.equal((await q('GET', `/profiles?email=${encodeURIComponent(dan.email)}`)).status, 400);
    assert.equal((await q('GET', `/profiles?clientId=${cid}`)).status, 400);
    assert.equal((await q('GET', `/profiles?clientId=1&email=x%40example.com`)).status, 403);
    assert.equal((await q('GET', `/profiles?clientId=${cid}&email=x%40example.com`, undefined, {})).status, 401);
    assert.equal(
      (await q('GET', `/profiles?clientId=${cid}&email=x%40example.com`, undefined, { 'x-api-token': 'nope' })).status,
      401,
    );
  });

  it('export: NEW -> validate -> APPROVED -> FINISHED with an archive, downloadable, callback called', async () => {
    const ids = (await profilesOf(bob.email)).map((p) => p.id);
    assert.equal(ids.length, 2);
    const created = await q(
      'POST',
      `/rules/exportData?clientId=${cid}`,
      ruleBody('GDPR_ExportData', ids, { callBackUrl: hookUrl }),
    );
    assert.equal(created.status, 200);
    assert.equal(created.json.ruleStatus.status, 'NEW');
    assert.match(created.json._id, /^[0-9a-f]{24}$/);
    assert.deepEqual(
      created.json.ruleTypePayload.profiles.map((p: { crmId: number }) => p.crmId),
      ids,
    );
    const id = created.json._id as string;

    clock.advance(600_000);
    assert.equal(
      (await q('GET', `/rules/${id}?clientId=${cid}`)).json.ruleStatus.status,
      'NEW',
      'nothing happens before validation',
    );
    const v = await q('PUT', `/rules/${id}/validate?clientId=${cid}`, { dpo });
    assert.equal(v.status, 200);
    assert.equal(v.json.ruleStatus.status, 'APPROVED');
    assert.equal(v.json.ruleStatus.acceptedBy, dpo);
    clock.advance(120_000);
    const fin = await q('GET', `/rules/${id}?clientId=${cid}`);
    assert.equal(fin.json.ruleStatus.status, 'FINISHED');
    assert.match(fin.json.archive, /^[0-9a-f]{24}$/);
    await eventually(() => callbacks.length === 1);
    assert.equal(callbacks[0], 'GET /done');

    const a = await q('GET', `/rules/${id}/archive/${fin.json.archive}?clientId=${cid}`);
    assert.equal(a.status, 200);
    assert.equal(a.json._id, fin.json.archive);
    assert.ok(a.json.url.startsWith(sb.url));
    const dl = await fetch(a.json.url);
    assert.equal(dl.status, 200);
    const archive = (await dl.json()) as { profiles: { email: string }[] };
    assert.equal(archive.profiles.length, 2);
    assert.equal(archive.profiles[0]!.email, bob.email);
    assert.equal((await q('GET', `/rules/${id}/archive/${fin.json.archive}?clientId=${cid}`)).json.downloadCount, 1);
    assert.equal((await q('GET', `/rules/${id}/archive/000000000000000000000000?clientId=${cid}`)).status, 404);
    assert.equal(sb.stats().qualifio.callbacks, 1);
  });

  it('validate: 404 unknown rule, 400 without dpo, 403 wrong dpo, 200 unchanged when repeated', async () => {
    const un = await q('PUT', `/rules/ffffffffffffffffffffffff/validate?clientId=${cid}`, { dpo });
    assert.equal(un.status, 404);
    assert.equal(un.json.statusCode, 404);
    const ids = (await profilesOf(grace.email)).map((p) => p.id);
    const id = (await q('POST', `/rules/exportData?clientId=${cid}`, ruleBody('GDPR_ExportData', ids))).json._id;
    assert.equal((await q('PUT', `/rules/${id}/validate?clientId=${cid}`, {})).status, 400);
    assert.equal((await q('PUT', `/rules/${id}/validate?clientId=${cid}`, { dpo: dpo + 1 })).status, 403);
    const first = await q('PUT', `/rules/${id}/validate?clientId=${cid}`, { dpo });
    const again = await q('PUT', `/rules/${id}/validate?clientId=${cid}`, { dpo });
    assert.equal(again.status, 200);
    assert.equal(again.json.ruleStatus.acceptedAt, first.json.ruleStatus.acceptedAt);
    assert.equal((await q('GET', `/rules/ffffffffffffffffffffffff?clientId=${cid}`)).status, 404);
  });

  it('rule create: 400 for a wrong ruleType, empty or unknown profiles, missing fields', async () => {
    const id = (await profilesOf(grace.email))[0]!.id;
    assert.equal(
      (await q('POST', `/rules/exportData?clientId=${cid}`, ruleBody('GDPR_ForgottenRight', [id]))).status,
      400,
    );
    assert.equal(
      (await q('POST', `/rules/forgottenRight?clientId=${cid}`, ruleBody('GDPR_ForgottenRight', []))).status,
      400,
    );
    assert.equal(
      (await q('POST', `/rules/forgottenRight?clientId=${cid}`, ruleBody('GDPR_ForgottenRight', [999999]))).status,
      400,
    );
    assert.equal(
      (
        await q('POST', `/rules/forgottenRight?clientId=${cid}`, {
          ruleType: 'GDPR_ForgottenRight',
          ruleTypePayload: { profiles: [id] },
        })
      ).status,
      400,
    );
    assert.equal((await q('POST', `/rules/forgottenRight`, ruleBody('GDPR_ForgottenRight', [id]))).status, 400);
  });

  it('forgottenRight: test:true erases nothing; a live rule removes every profile; duplicates counted', async () => {
    const ids = (await profilesOf(dan.email)).map((p) => p.id);
    const dry = await q(
      'POST',
      `/rules/forgottenRight?clientId=${cid}`,
      ruleBody('GDPR_ForgottenRight', ids, { ruleTypePayload: { profiles: ids, test: true } }),
    );
    assert.equal(dry.status, 200);
    assert.equal(dry.json.ruleTypePayload.test, true);
    await q('PUT', `/rules/${dry.json._id}/validate?clientId=${cid}`, { dpo });
    clock.advance(120_000);
    assert.equal((await q('GET', `/rules/${dry.json._id}?clientId=${cid}`)).json.ruleStatus.status, 'FINISHED');
    assert.equal((await profilesOf(dan.email)).length, 3, 'a dry run erases nothing');

    const before = sb.stats().qualifio.duplicateSubmissions;
    const live = await q('POST', `/rules/forgottenRight?clientId=${cid}`, ruleBody('GDPR_ForgottenRight', ids));
    assert.equal(sb.stats().qualifio.duplicateSubmissions, before, 'a dry run does not make the live rule a duplicate');
    await q('POST', `/rules/forgottenRight?clientId=${cid}`, ruleBody('GDPR_ForgottenRight', ids));
    assert.equal(sb.stats().qualifio.duplicateSubmissions, before + 1);
    await q('PUT', `/rules/${live.json._id}/validate?clientId=${cid}`, { dpo });
    clock.advance(120_000);
    const fin = await q('GET', `/rules/${live.json._id}?clientId=${cid}`);
    assert.equal(fin.json.ruleStatus.status, 'FINISHED');
    assert.equal(fin.json.archive, undefined);
    assert.deepEqual(await profilesOf(dan.email), []);
  });

  it('lists the client rules (to find one created before a crash)', async () => {
    const list = await q('GET', `/rules?clientId=${cid}`);
    assert.equal(list.status, 200);
    assert.ok(list.json.length >= 4);
    assert.ok(list.json.every((r: { clientId: number }) => r.clientId === cid));
    assert.equal((await q('GET', `/rules`)).status, 400);
  });
});
