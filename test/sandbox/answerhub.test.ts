import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { absentAt, presentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import type { ManualClock } from '../../examples/sandbox/clock.ts';
import { authHeaders, call, manualSandbox } from './helpers.ts';

const S = '/answerhub/services/v2';
const [u1, u2, u3, u4] = presentAt('answerhub');

describe('sandbox: AnswerHub', () => {
  let sb: Sandbox;
  let clock: ManualClock;
  before(async () => ({ sb, clock } = await manualSandbox()));
  after(() => sb.stop());

  const BOUNDARY = 'test-boundary-7c1';
  /** A CSV as a file upload: multipart/form-data with a file part named `file`. */
  const multipart = (csv: string, disposition = 'form-data; name="file"; filename="users.csv"') =>
    `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\nContent-Type: text/csv\r\n\r\n${csv}\r\n--${BOUNDARY}--\r\n`;
  const ah = (
    method: string,
    path: string,
    init: { json?: unknown; body?: string; headers?: Record<string, string> } = {},
  ) => {
    clock.advance(200);
    const body = init.body === undefined ? {} : { body: multipart(init.body) };
    const type: Record<string, string> =
      init.body === undefined ? {} : { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` };
    return call(sb, method, S + path, {
      ...init,
      ...body,
      headers: init.headers ?? { ...authHeaders(sb, 'answerhub'), ...type },
    });
  };
  const lookup = (email: string) => ah('GET', `/users/gdpr/${encodeURIComponent(email)}.json`);
  /** A distinct minute per call, so slot conflicts only happen where a test wants them. */
  let minute = 10;
  const inMinutes = () => ({ timeStamp: clock.now() + ++minute * 60_000 });

  it('user lookup: 200 with the id, 422 for an unknown email, 401 without credentials', async () => {
    const r = await lookup(u1!.email);
    assert.equal(r.status, 200);
    assert.ok(Number.isInteger(r.json.id));
    assert.equal((await lookup(absentAt('answerhub')[0]!.email)).status, 422);
    assert.equal((await ah('GET', `/users/gdpr/${encodeURIComponent(u1!.email)}.json`, { headers: {} })).status, 401);
  });

  it('upload: 201 fileId for email / id / username / username+id files; 400 for bad files', async () => {
    const id = (await lookup(u2!.email)).json.id;
    for (const csv of [`email\n${u2!.email}`, `id\n${id}`, `username\nsomeone`, `username,id\nsomeone,${id}`]) {
      const r = await ah('POST', '/users/gdpr/upload.json', { body: csv });
      assert.equal(r.status, 201, csv);
      assert.ok(Number.isInteger(r.json.fileId));
    }
    for (const csv of ['', 'email', 'phone\n123', 'email,id\nx@example.com', 'id\nabc']) {
      assert.equal(
        (await ah('POST', '/users/gdpr/upload.json', { body: csv || ' ' })).status,
        400,
        JSON.stringify(csv),
      );
    }
  });

  it('upload: only a file upload is accepted (a raw text/csv body, a part without filename or of another name: 400)', async () => {
    const post = (body: string, type: string) => {
      clock.advance(200);
      return call(sb, 'POST', `${S}/users/gdpr/upload.json`, {
        body,
        headers: { ...authHeaders(sb, 'answerhub'), 'content-type': type },
      });
    };
    const csv = `email\n${u2!.email}`;
    assert.equal((await post(csv, 'text/csv')).status, 400, 'raw CSV body');
    assert.equal(
      (await post(multipart(csv, 'form-data; name="file"'), `multipart/form-data; boundary=${BOUNDARY}`)).status,
      400,
      'no filename',
    );
    assert.equal(
      (
        await post(
          multipart(csv, 'form-data; name="users"; filename="u.csv"'),
          `multipart/form-data; boundary=${BOUNDARY}`,
        )
      ).status,
      400,
      'wrong field',
    );
    assert.equal((await post(multipart(csv), 'multipart/form-data')).status, 400, 'no boundary');
    assert.equal((await post(multipart(csv), `multipart/form-data; boundary=${BOUNDARY}`)).status, 201);
  });

  it('schedule: 201, PENDING until the scheduled time, then FINISHED and the user is gone', async () => {
    const id = (await lookup(u1!.email)).json.id;
    const at = clock.now() + 5 * 60_000;
    const dupsBefore = sb.stats().answerhub.duplicateSubmissions;
    const r = await ah('POST', '/jobs/gdpr/schedule.json', {
      json: { user: { id }, operations: ['anon-delete'], date: { timeStamp: at } },
    });
    assert.equal(r.status, 201);
    assert.equal(r.json.status, 'PENDING');
    assert.equal(sb.stats().answerhub.duplicateSubmissions, dupsBefore, 'a first submission is no duplicate');
    clock.advance(4 * 60_000);
    assert.equal((await ah('GET', `/jobs/gdpr/${r.json.id}.json`)).json.status, 'PENDING');
    clock.advance(60_000);
    const done = await ah('GET', `/jobs/gdpr/${r.json.id}.json`);
    assert.equal(done.status, 200);
    assert.equal(done.json.status, 'FINISHED');
    assert.equal((await lookup(u1!.email)).status, 422);
    // Scheduling again for a user whose job finished is a duplicate submission.
    const before = sb.stats().answerhub.duplicateSubmissions;
    await ah('POST', '/jobs/gdpr/schedule.json', { json: { user: { id }, operations: ['delete'], date: inMinutes() } });
    assert.equal(sb.stats().answerhub.duplicateSubmissions, before + 1);
  });

  it('schedule: the formatted date (UTC) and bulk jobs through a file', async () => {
    const d = new Date(clock.now() + 3 * 3600_000);
    const p = (n: number) => String(n).padStart(2, '0');
    const formatted = `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
    const file = (await ah('POST', '/users/gdpr/upload.json', { body: `email\n${u3!.email}\n${u4!.email}` })).json
      .fileId;
    const r = await ah('POST', '/jobs/gdpr/schedule.json', {
      json: { fileId: file, operations: ['suspend', 'anonymize'], date: { formatted } },
    });
    assert.equal(r.status, 201);
    clock.advance(3 * 3600_000);
    assert.equal((await ah('GET', `/jobs/gdpr/${r.json.id}.json`)).json.status, 'FINISHED');
    assert.equal((await lookup(u3!.email)).status, 422, 'anonymised: the email no longer finds the user');
  });

  it('schedule: the eight documented 400s', async () => {
    const id = (await lookup(u2!.email)).json.id;
    const ok = { user: { id }, operations: ['suspend'] };
    const taken = inMinutes();
    assert.equal((await ah('POST', '/jobs/gdpr/schedule.json', { json: { ...ok, date: taken } })).status, 201);
    const cases: [string, unknown, RegExp][] = [
      ['a no user', { operations: ['suspend'], date: inMinutes() }, /No user selected/],
      ['b file id not specified', { fileId: '', operations: ['suspend'], date: inMinutes() }, /File ID not specified/],
      [
        'c file id does not exist',
        { fileId: 9999, operations: ['suspend'], date: inMinutes() },
        /File ID does not exist/,
      ],
      ['d timeframe taken', { ...ok, date: taken }, /already scheduled/],
      ['e date not eligible', { ...ok, date: { timeStamp: clock.now() - 60_000 } }, /not eligible/],
      ['f empty operations', { user: { id }, operations: [], date: inMinutes() }, /Empty operations/],
      [
        'g reassign user with two identifiers',
        { ...ok, date: inMinutes(), reassignUser: { id, username: 'piero' } },
        /more than one way/,
      ],
      [
        'h reassign user does not exist',
        { ...ok, date: inMinutes(), reassignUser: { username: 'piero' } },
        /reassign user does not exist/,
      ],
    ];
    for (const [name, body, message] of cases) {
      const r = await ah('POST', '/jobs/gdpr/schedule.json', { json: body });
      assert.equal(r.status, 400, name);
      assert.match(r.json.message, message, name);
    }
    assert.equal(
      (await ah('POST', '/jobs/gdpr/schedule.json', { json: { ...ok, date: { formatted: '13/45/2026 10:00' } } }))
        .status,
      400,
    );
  });

  it('get job: 404 unknown, 400 invalid id; delete: 200 pending, 404 already deleted, 422 finished, 400 invalid', async () => {
    assert.equal((await ah('GET', '/jobs/gdpr/9999.json')).status, 404);
    assert.equal((await ah('GET', '/jobs/gdpr/511s.json')).status, 400);
    const id = (await lookup(u2!.email)).json.id;
    const job = (
      await ah('POST', '/jobs/gdpr/schedule.json', {
        json: { user: { id }, operations: ['suspend'], date: inMinutes() },
      })
    ).json.id;
    assert.equal((await ah('DELETE', `/jobs/gdpr/${job}.json`)).status, 200);
    assert.equal((await ah('DELETE', `/jobs/gdpr/${job}.json`)).status, 404);
    assert.equal((await ah('GET', `/jobs/gdpr/${job}.json`)).status, 404);
    assert.equal((await ah('DELETE', '/jobs/gdpr/511s.json')).status, 400);
    const next = (
      await ah('POST', '/jobs/gdpr/schedule.json', {
        json: { user: { id }, operations: ['suspend'], date: { timeStamp: clock.now() + 60_000 } },
      })
    ).json.id;
    clock.advance(120_000);
    assert.equal((await ah('DELETE', `/jobs/gdpr/${next}.json`)).status, 422);
  });
});
