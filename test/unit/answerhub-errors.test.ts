import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerHubErrors, classify, errorText } from '../../controller/vendors/answerhub/errors.ts';
import { answerHubDriver } from '../../controller/vendors/answerhub/index.ts';
import { pollDelay, MARGIN_MS, MAX_POLL_MS } from '../../controller/vendors/answerhub/track.ts';
import { usersCsv } from '../../controller/vendors/answerhub/api.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';

const answer = (status: number, text: string) =>
  httpResponse({ status, body: Buffer.from(text), label: 'answerhub.schedule' });
/** The normalised error text of a JSON error body, as the driver reads it. */
const textOf = (raw: string) => errorText(answer(400, raw));

const body = (message: string) => textOf(JSON.stringify({ code: 400, message }));

test('each documented schedule 400 maps to its own code (sandbox wording and variants)', () => {
  const cases: Array<[string, string]> = [
    ['No user selected', 'ANSWERHUB_NO_USER_SELECTED'],
    ['File ID not specified', 'ANSWERHUB_FILE_ID_MISSING'],
    ['File ID does not exist', 'ANSWERHUB_FILE_NOT_FOUND'],
    ["fileId doesn't exist", 'ANSWERHUB_FILE_NOT_FOUND'],
    ['There is a job already scheduled for that timeframe', 'ANSWERHUB_TIMEFRAME_TAKEN'],
    ['The selected date is not eligible', 'ANSWERHUB_DATE_NOT_ELIGIBLE'],
    ['Empty operations list was submitted', 'ANSWERHUB_EMPTY_OPERATIONS'],
    ['Reassign user must be identified in exactly one way', 'ANSWERHUB_REASSIGN_AMBIGUOUS'],
    ['Reassign user with more than one way of identifying who they are', 'ANSWERHUB_REASSIGN_AMBIGUOUS'],
    ['The reassign user does not exist', 'ANSWERHUB_REASSIGN_NOT_FOUND'],
    ['Unknown operation: expected suspend, anonymize, delete or anon-delete', 'ANSWERHUB_SCHEDULE_REJECTED'],
  ];
  for (const [message, code] of cases) assert.equal(classify('schedule', 400, body(message)), code, message);
  // Other body shapes: plain text, an `error` field.
  assert.equal(
    classify('schedule', 400, textOf('HTTP/1.1 400 Bad Request: No user selected')),
    'ANSWERHUB_NO_USER_SELECTED',
  );
  assert.equal(
    classify('schedule', 400, textOf(JSON.stringify({ error: 'THE SELECTED DATE IS NOT ELIGIBLE' }))),
    'ANSWERHUB_DATE_NOT_ELIGIBLE',
  );
  const codes = new Set(cases.map(([, c]) => c));
  assert.equal(codes.size, 9);
});

test('the other calls: lookup 422, upload 400, job 404/400, delete 422/404/400, auth', () => {
  assert.equal(classify('lookup', 422, body('No user found')), 'ANSWERHUB_USER_NOT_FOUND');
  assert.equal(classify('lookup', 200, '{}'), undefined);
  assert.equal(classify('upload', 400, body('bad csv')), 'ANSWERHUB_UPLOAD_REJECTED');
  assert.equal(classify('upload', 201, '{}'), undefined);
  assert.equal(classify('job-get', 404, ''), 'ANSWERHUB_JOB_NOT_FOUND');
  assert.equal(classify('job-get', 400, ''), 'ANSWERHUB_JOB_ID_INVALID');
  assert.equal(classify('job-delete', 422, ''), 'ANSWERHUB_JOB_ALREADY_RAN');
  assert.equal(classify('job-delete', 404, ''), 'ANSWERHUB_JOB_NOT_FOUND');
  assert.equal(classify('job-delete', 400, ''), 'ANSWERHUB_JOB_ID_INVALID');
  assert.equal(classify('job-delete', 200, ''), undefined);
  for (const call of ['lookup', 'upload', 'schedule', 'job-get', 'job-delete'] as const) {
    assert.equal(classify(call, 401, ''), 'ANSWERHUB_UNAUTHORIZED');
    assert.equal(classify(call, 500, ''), undefined);
  }
});

test('every code has a message and a hint, and the driver declares them', () => {
  for (const [code, e] of Object.entries(answerHubErrors.table)) {
    assert.match(code, /^ANSWERHUB_/);
    assert.ok(e.message.length > 10 && e.hint.length > 10, code);
  }
  assert.equal(answerHubDriver.errors, answerHubErrors.table);
  assert.deepEqual(answerHubDriver.defaultRateLimits({} as never), [{ limit: 5, perSeconds: 1 }]);
});

test('errorText reads JSON fields, else the raw body', () => {
  assert.equal(textOf('{"message":"A."}'), 'a');
  assert.equal(textOf('Oops!'), 'oops');
});

test('pollDelay: scheduled time + margin while ahead, then growing and capped', () => {
  const now = 1_000_000;
  assert.deepEqual(pollDelay(now, new Date(now + 60_000).toISOString(), 10_000), {
    checkAfterMs: 60_000 + MARGIN_MS,
    nextIntervalMs: 10_000,
  });
  assert.deepEqual(pollDelay(now, new Date(now - 1).toISOString(), 10_000), {
    checkAfterMs: 10_000,
    nextIntervalMs: 20_000,
  });
  assert.deepEqual(pollDelay(now, undefined, MAX_POLL_MS), { checkAfterMs: MAX_POLL_MS, nextIntervalMs: MAX_POLL_MS });
});

test('the bulk CSV holds ids and usernames only', () => {
  assert.equal(usersCsv([{ id: 7 }, { username: 'pi,ero' }]), 'id,username\n7,\n,piero\n');
});
