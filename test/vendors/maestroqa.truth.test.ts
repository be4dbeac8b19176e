import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { maestroQa } from '../../controller/vendors/maestroqa/index.ts';
import { MaestroQaSpec } from '../../specs/index.ts';
import {
  erasureTask,
  html,
  json,
  raw,
  RESET,
  runTask,
  scriptedHttp,
  sequence,
  SUCCESS_OUTCOMES,
  TIMEOUT,
  type Answer,
  type Exchange,
} from '../support/scripted-vendor.ts';

/**
 * MaestroQA truth table (seed 000). Decision points: the deletion call and the deep-delete
 * status check. Whatever they answer, the task may end `Erased` only when the deletion call
 * got the documented success (200, `confirmation: true`, a job id) and that job's status
 * check answered `completed`; it never ends `NoDataHeld` (the seed defines no such answer),
 * and no deletion is sent while an earlier one may have been acted on, unless the vendor
 * said that job `errored` (its documented retry).
 */

const spec = MaestroQaSpec.parse({
  type: 'maestroqa',
  baseUrl: 'https://app.maestroqa.com/api/v1',
  credentials: { apiToken: 'env:MAESTROQA_TOKEN' },
  pollIntervalSeconds: 1,
  maxPollIntervalSeconds: 4,
});

const jobId = fc.integer({ min: 1, max: 999_999 }).map(String);
const vendorError = (status: number) => json(status, { error: 'vendor error' }, `${status} json`);

/** Every kind of answer the deletion call can meet, documented or not. */
const deleteAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 6, arbitrary: jobId.map((id) => json(200, { confirmation: true, id, status: 'pending' }, 'delete ok')) },
  jobId.map((id) => json(200, { confirmation: true, id: Number(id) }, 'delete ok (numeric id)')),
  jobId.map((id) => json(200, { confirmation: false, id }, 'delete unconfirmed')),
  fc.constantFrom<Answer>(
    json(200, {}, '200 {}'),
    json(200, { confirmation: true }, '200 no id'),
    json(200, { id: '5' }, '200 no confirmation'),
    json(200, { confirmation: 'true', id: '5' }, '200 confirmation as string'),
    json(200, { confirmation: true, id: '' }, '200 empty id'),
    json(200, [], '200 array'),
    html(200, '200 html'),
    raw(200, '', 'application/json', '200 empty'),
    html(404, '404 html (wrong route)'),
    json(404, { error: 'No user found for the given emails' }, '404 json'),
    json(404, { status: 'not found' }, '404 status not found'),
    raw(404, '', 'text/plain', '404 empty'),
    json(404, { errors: [{ status: '404', title: 'Not Found' }] }, '404 json:api'),
    vendorError(400),
    vendorError(401),
    vendorError(403),
    vendorError(405),
    vendorError(429),
    vendorError(500),
    html(502, '502 html'),
    vendorError(503),
    TIMEOUT,
    RESET,
  ),
  fc.jsonValue().map((v) => json(200, v, '200 arbitrary json')),
);

/** Every kind of answer the status check can meet. */
const checkAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(json(200, { status: 'completed' }, 'check completed')) },
  { weight: 2, arbitrary: fc.constant(json(200, { status: 'pending' }, 'check pending')) },
  fc.constantFrom<Answer>(
    json(200, { status: 'errored' }, 'check errored'),
    json(200, { status: 'error' }, 'check error'),
    json(200, { status: 'not found' }, 'check not found'),
    json(404, { status: 'not found' }, '404 not found'),
    json(200, { status: 'COMPLETED' }, 'check COMPLETED'),
    json(200, { status: 'done' }, 'check done'),
    json(200, { status: 'completed ' }, 'check completed+space'),
    json(200, { state: 'completed' }, 'check wrong field'),
    json(200, { status: true }, 'check status bool'),
    json(200, {}, 'check {}'),
    html(200, 'check 200 html'),
    html(404, 'check 404 html'),
    json(404, { error: 'Not found' }, 'check 404 json'),
    vendorError(400),
    vendorError(401),
    vendorError(500),
    vendorError(503),
    TIMEOUT,
    RESET,
  ),
  fc.string({ maxLength: 12 }).map((s) => json(200, { status: s }, 'check arbitrary word')),
  fc.jsonValue().map((v) => json(200, v, 'check arbitrary json')),
);

const script = fc.record({
  deletes: fc.array(deleteAnswer, { minLength: 1, maxLength: 4 }),
  checks: fc.array(checkAnswer, { minLength: 1, maxLength: 6 }),
});

/** The seed's success answer to the deletion call, judged on the exchange itself. */
function documentedDeletion(a: Answer): string | undefined {
  if (
    a.kind !== 'response' ||
    a.status !== 200 ||
    typeof a.json !== 'object' ||
    a.json === null ||
    Array.isArray(a.json)
  )
    return undefined;
  const body = a.json as Record<string, unknown>;
  if (body.confirmation !== true) return undefined;
  if (typeof body.id === 'string' && /^[A-Za-z0-9_-]+$/.test(body.id)) return body.id;
  if (typeof body.id === 'number' && Number.isInteger(body.id) && body.id >= 0) return String(body.id);
  return undefined;
}

const isCheck = (e: Exchange) => e.method === 'GET' && e.url.includes('/data-deletion-check/');
const isDelete = (e: Exchange) => e.method === 'DELETE';
const checkWord = (a: Answer): unknown =>
  a.kind === 'response' && a.status === 200 && typeof a.json === 'object' && a.json !== null
    ? (a.json as { status?: unknown }).status
    : undefined;

/** A DELETE answered 400/401/403/404/429 provably did nothing; anything else may have. */
const provablyRefused = (a: Answer) => a.kind === 'response' && [400, 401, 403, 404, 429].includes(a.status);

let runs = 0;
async function play(s: { deletes: Answer[]; checks: Answer[] }) {
  const log: Exchange[] = [];
  const nextDelete = sequence(s.deletes);
  const nextCheck = sequence(s.checks);
  const http = scriptedHttp((call) => (call.method === 'DELETE' ? nextDelete() : nextCheck()), log);
  const end = await runTask({
    driver: maestroQa.create(),
    spec,
    vendor: `mqa-truth-${++runs}`,
    secrets: { apiToken: 'token-under-test' },
    task: erasureTask(),
    http,
    maxSteps: 14,
  });
  return { end, log };
}

describe('MaestroQA truth table', () => {
  it('only the documented answers (confirmation true, then completed) yield a success outcome; never NoDataHeld', async () => {
    let erased = 0;
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const { end, log } = await play(s);
        assert.notEqual(end.outcome, 'NoDataHeld');
        if (end.outcome === undefined || !SUCCESS_OUTCOMES.has(end.outcome)) return;
        assert.equal(end.outcome, 'Erased');
        erased++;
        const proven = log.flatMap((e, i) => {
          const id = isDelete(e) ? documentedDeletion(e.answer) : undefined;
          if (id === undefined) return [];
          const completed = log
            .slice(i + 1)
            .some(
              (c) => isCheck(c) && c.url.endsWith(`/${encodeURIComponent(id)}`) && checkWord(c.answer) === 'completed',
            );
          return completed && end.jobIds.at(-1) === id ? [id] : [];
        });
        assert.ok(
          proven.length > 0,
          `Erased without proof: ${log.map((e) => `${e.method} ${e.answer.tag}`).join(' | ')}`,
        );
        assert.match(end.evidence.deepDeletion ?? '', /"completed"/);
        assert.match(end.evidence.operationalDeletion ?? '', /confirmation true/);
      }),
      { numRuns: 400 },
    );
    assert.ok(erased > 0, 'the table reached success at least once (the property is not vacuous)');
  });

  it('never sends a deletion while an earlier one may have been acted on, unless that job errored', async () => {
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const { log } = await play(s);
        let live = false;
        for (const e of log) {
          if (isDelete(e)) {
            assert.equal(live, false, `second deletion: ${log.map((x) => `${x.method} ${x.answer.tag}`).join(' | ')}`);
            live = !provablyRefused(e.answer);
          } else if (isCheck(e) && (checkWord(e.answer) === 'errored' || checkWord(e.answer) === 'error')) {
            live = false;
          }
        }
      }),
      { numRuns: 400 },
    );
  });

  it('wrong routes, undocumented 404s and unknown status words end Stalled with a code, not pending or complete', async () => {
    const cases: Array<[string, Answer[], Answer[], string]> = [
      ['404 html on delete', [html(404)], [json(200, { status: 'completed' }, 'ok')], 'MAESTROQA_NOT_FOUND'],
      [
        '404 json on delete',
        [json(404, { error: 'No user found' }, '404')],
        [json(200, { status: 'completed' }, 'ok')],
        'MAESTROQA_NOT_FOUND',
      ],
      ['404 html on check', [json(200, { confirmation: true, id: '7' }, 'ok')], [html(404)], 'MAESTROQA_NOT_FOUND'],
      [
        'unknown word',
        [json(200, { confirmation: true, id: '7' }, 'ok')],
        [json(200, { status: 'archived' }, 'word')],
        'MAESTROQA_UNKNOWN_STATUS',
      ],
      [
        'not found word',
        [json(200, { confirmation: true, id: '7' }, 'ok')],
        [json(200, { status: 'not found' }, 'nf')],
        'MAESTROQA_JOB_NOT_FOUND',
      ],
      [
        'confirmation false',
        [json(200, { confirmation: false, id: '7' }, 'unconfirmed')],
        [json(200, { status: 'completed' }, 'ok')],
        'MAESTROQA_NOT_CONFIRMED',
      ],
      ['lost answer', [RESET], [json(200, { status: 'completed' }, 'ok')], 'MAESTROQA_SUBMISSION_UNCONFIRMED'],
    ];
    for (const [name, deletes, checks, code] of cases) {
      const { end, log } = await play({ deletes, checks });
      assert.equal(end.phase, 'Stalled', name);
      assert.equal(end.code, code, name);
      assert.equal(log.filter(isDelete).length, 1, name);
    }
    const ok = await play({
      deletes: [json(200, { confirmation: true, id: '7' }, 'ok')],
      checks: [json(200, { status: 'pending' }, 'p'), json(200, { status: 'completed' }, 'c')],
    });
    assert.equal(ok.end.outcome, 'Erased');
  });
});
