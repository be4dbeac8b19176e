import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { mailchimp } from '../../controller/vendors/mailchimp/index.ts';
import { MailchimpSpec } from '../../specs/index.ts';
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
 * Mailchimp truth table. Decision points: the member lookup (GET member), the audience
 * lookup (GET list) and the permanent delete (POST .../actions/delete-permanent). Whatever
 * they answer, the task ends `Erased` only after a documented member answer (200, this
 * hash and list) followed by a 204 to the delete, or by a problem+json 404 to the member
 * lookup after the delete; `NoDataHeld` only after problem+json 404s on the member and a
 * 200 for this very audience, with no delete sent. A second delete is sent only after a
 * documented member answer said the member is still there.
 */

const LIST = 'a1b2c3d4e5';
const EMAIL = 'Subject.One@Example.com';
const HASH = createHash('md5').update(EMAIL.toLowerCase()).digest('hex');

const spec = MailchimpSpec.parse({
  type: 'mailchimp',
  baseUrl: 'https://us21.api.mailchimp.com',
  listId: LIST,
  credentials: { apiKey: 'env:MAILCHIMP_API_KEY' },
});

const problem = (status: number, title: string, tag: string, body: Record<string, unknown> = {}): Answer =>
  raw(
    status,
    JSON.stringify({
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title,
      status,
      detail: `${EMAIL} is not here`,
      instance: 'a-uuid',
      ...body,
    }),
    'application/problem+json; charset=utf-8',
    tag,
  );

const MEMBER_404 = problem(404, 'Resource Not Found', 'member 404 problem');
const memberOk = (status: string) =>
  json(200, { id: HASH, email_address: EMAIL, status, list_id: LIST }, `member 200 ${status}`);

/** Every kind of answer a member lookup can meet. */
const memberAnswer: fc.Arbitrary<Answer> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .constantFrom('subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional', 'archived')
      .map(memberOk),
  },
  { weight: 3, arbitrary: fc.constant(MEMBER_404) },
  fc.constantFrom<Answer>(
    json(
      200,
      { id: 'f'.repeat(32), email_address: 'other@example.com', status: 'subscribed', list_id: LIST },
      'member 200 another hash',
    ),
    json(200, { id: HASH, status: 'subscribed', list_id: 'zzzzzzzzzz' }, 'member 200 another list'),
    json(200, { email_address: EMAIL, status: 'subscribed' }, 'member 200 no id'),
    json(200, {}, 'member 200 {}'),
    json(200, [], 'member 200 []'),
    html(200, 'member 200 html'),
    raw(200, '', 'application/json', 'member 200 empty'),
    html(404, 'member 404 html'),
    json(404, { error: 'Not Found' }, 'member 404 bare json'),
    problem(404, 'Resource Not Found', 'member 404 problem, status 200 inside', { status: 200 }),
    raw(
      404,
      JSON.stringify({ title: 'Resource Not Found', status: 404 }),
      'application/json',
      'member 404 problem fields as plain json',
    ),
    problem(400, 'Invalid Resource', 'member 400'),
    problem(401, 'API Key Invalid', 'member 401'),
    problem(403, 'Forbidden', 'member 403'),
    problem(405, 'Method Not Allowed', 'member 405'),
    problem(429, 'Too Many Requests', 'member 429'),
    problem(500, 'Internal Server Error', 'member 500'),
    html(502, 'member 502 html'),
    TIMEOUT,
    RESET,
  ),
  fc.jsonValue().map((v) => json(200, v, 'member 200 arbitrary json')),
);

/** Every kind of answer the audience lookup can meet. */
const listAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(json(200, { id: LIST, name: 'Newsletter' }, 'list 200')) },
  fc.constantFrom<Answer>(
    json(200, { id: 'otherlist1' }, 'list 200 another id'),
    json(200, {}, 'list 200 {}'),
    html(200, 'list 200 html'),
    problem(404, 'Resource Not Found', 'list 404 problem'),
    html(404, 'list 404 html'),
    problem(401, 'API Key Invalid', 'list 401'),
    problem(500, 'Internal Server Error', 'list 500'),
    TIMEOUT,
  ),
);

/** Every kind of answer the permanent delete can meet. */
const deleteAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(raw(204, '', 'application/json', 'delete 204')) },
  fc.constantFrom<Answer>(
    json(200, {}, 'delete 200 {}'),
    json(200, { deleted: true }, 'delete 200 deleted'),
    html(200, 'delete 200 html'),
    raw(202, '', 'application/json', 'delete 202'),
    problem(404, 'Resource Not Found', 'delete 404 problem'),
    html(404, 'delete 404 html'),
    problem(400, 'Forgotten Email Not Subscribed', 'delete 400'),
    problem(401, 'API Key Invalid', 'delete 401'),
    problem(405, 'Method Not Allowed', 'delete 405'),
    problem(429, 'Too Many Requests', 'delete 429'),
    problem(500, 'Internal Server Error', 'delete 500'),
    html(503, 'delete 503 html'),
    TIMEOUT,
    RESET,
  ),
);

const script = fc.record({
  members: fc.array(memberAnswer, { minLength: 1, maxLength: 6 }),
  lists: fc.array(listAnswer, { minLength: 1, maxLength: 3 }),
  deletes: fc.array(deleteAnswer, { minLength: 1, maxLength: 4 }),
});

const isDelete = (e: Exchange) => e.method === 'POST';
const isMember = (e: Exchange) => e.method === 'GET' && e.url.includes('/members/');
const isList = (e: Exchange) => e.method === 'GET' && !e.url.includes('/members/');
const status = (a: Answer) => (a.kind === 'response' ? a.status : undefined);
const tags = (log: Exchange[]) => log.map((e) => `${e.method} ${e.answer.tag}`).join(' | ');

/** The documented answers, judged on the exchange itself (not on the driver's reading of it). */
function documentedMember(a: Answer): boolean {
  if (a.kind !== 'response' || a.status !== 200 || typeof a.json !== 'object' || a.json === null) return false;
  const m = a.json as Record<string, unknown>;
  return m.id === HASH && m.list_id === LIST && typeof m.status === 'string';
}
function documentedAbsent(a: Answer): boolean {
  if (a.kind !== 'response' || a.status !== 404 || !(a.contentType ?? '').startsWith('application/problem+json'))
    return false;
  const p = JSON.parse(a.body ?? '{}') as Record<string, unknown>;
  return p.status === 404 && ['type', 'title', 'detail', 'instance'].every((k) => typeof p[k] === 'string');
}
const documentedList = (a: Answer) =>
  a.kind === 'response' && a.status === 200 && (a.json as { id?: unknown } | undefined)?.id === LIST;
const deleted204 = (a: Answer) => status(a) === 204;
/** A POST answered 400/401/403/405/429 provably did nothing; anything else may have. */
const provablyRefused = (a: Answer) => a.kind === 'response' && [400, 401, 403, 405, 429].includes(a.status);

let runs = 0;
async function play(s: { members: Answer[]; lists: Answer[]; deletes: Answer[] }) {
  const log: Exchange[] = [];
  const next = { member: sequence(s.members), list: sequence(s.lists), delete: sequence(s.deletes) };
  const http = scriptedHttp(
    (call) => (call.method === 'POST' ? next.delete() : call.url.includes('/members/') ? next.member() : next.list()),
    log,
  );
  const end = await runTask({
    driver: mailchimp.create(),
    spec,
    vendor: `mc-truth-${++runs}`,
    secrets: { apiKey: 'key-under-test-us21' },
    task: erasureTask({}, [EMAIL]),
    http,
    maxSteps: 12,
  });
  return { end, log };
}

describe('Mailchimp truth table', () => {
  it('only the documented answers yield a success outcome: Erased after a member and a 204 (or a later problem+json 404), NoDataHeld after 404s and this audience', async () => {
    const seen = new Set<string>();
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const { end, log } = await play(s);
        if (end.outcome === undefined || !SUCCESS_OUTCOMES.has(end.outcome)) return;
        seen.add(end.outcome);
        const firstDelete = log.findIndex(isDelete);
        if (end.outcome === 'NoDataHeld') {
          assert.equal(firstDelete, -1, `NoDataHeld after a delete: ${tags(log)}`);
          const members = log.filter(isMember);
          assert.ok(
            members.length > 0 && documentedAbsent(members.at(-1)!.answer),
            `NoDataHeld without a problem+json 404: ${tags(log)}`,
          );
          assert.ok(
            documentedList(log.filter(isList).at(-1)?.answer ?? TIMEOUT),
            `NoDataHeld without the audience: ${tags(log)}`,
          );
          return;
        }
        assert.equal(end.outcome, 'Erased', tags(log));
        assert.ok(
          firstDelete > 0 && log.slice(0, firstDelete).some((e) => isMember(e) && documentedMember(e.answer)),
          `Erased without a member found first: ${tags(log)}`,
        );
        const lastDelete = log.map(isDelete).lastIndexOf(true);
        const proven =
          deleted204(log[lastDelete]!.answer) ||
          log.slice(lastDelete + 1).some((e) => isMember(e) && documentedAbsent(e.answer));
        assert.ok(proven, `Erased without proof: ${tags(log)}`);
      }),
      { numRuns: 500 },
    );
    assert.deepEqual(
      [...seen].sort(),
      ['Erased', 'NoDataHeld'],
      'the table reached both outcomes (the property is not vacuous)',
    );
  });

  it('sends a second delete only after a member lookup said the member is still there', async () => {
    await fc.assert(
      fc.asyncProperty(script, async (s) => {
        const { log } = await play(s);
        let live = false;
        for (const e of log) {
          if (isDelete(e)) {
            assert.equal(live, false, `second delete while the first may have acted: ${tags(log)}`);
            live = !provablyRefused(e.answer);
          } else if (isMember(e) && documentedMember(e.answer)) live = false;
        }
      }),
      { numRuns: 500 },
    );
  });

  it('answers from somewhere else stall with a code; a 204 is the only delete answer taken as done', async () => {
    const cases: Array<[string, Answer[], Answer[], Answer[], string]> = [
      [
        'html 404 on member',
        [html(404)],
        [json(200, { id: LIST }, 'l')],
        [raw(204, '', 'application/json', 'd')],
        'MAILCHIMP_ENDPOINT_NOT_FOUND',
      ],
      [
        'bare json 404 on member',
        [json(404, { error: 'Not Found' }, 'nf')],
        [json(200, { id: LIST }, 'l')],
        [raw(204, '', 'application/json', 'd')],
        'MAILCHIMP_ENDPOINT_NOT_FOUND',
      ],
      [
        'member of another list',
        [json(200, { id: HASH, status: 'subscribed', list_id: 'other' }, 'm')],
        [json(200, { id: LIST }, 'l')],
        [raw(204, '', 'application/json', 'd')],
        'MAILCHIMP_ANSWER_MISMATCH',
      ],
      [
        'audience of another id',
        [MEMBER_404],
        [json(200, { id: 'other' }, 'l')],
        [raw(204, '', 'application/json', 'd')],
        'MAILCHIMP_ANSWER_MISMATCH',
      ],
      [
        'delete 400',
        [memberOk('subscribed')],
        [json(200, { id: LIST }, 'l')],
        [problem(400, 'Invalid Resource', 'd')],
        'MAILCHIMP_REJECTED',
      ],
      [
        'delete 404, member still there',
        [memberOk('subscribed')],
        [json(200, { id: LIST }, 'l')],
        [problem(404, 'Resource Not Found', 'd')],
        'MAILCHIMP_DELETE_NOT_CONFIRMED',
      ],
    ];
    for (const [name, members, lists, deletes, code] of cases) {
      const { end } = await play({ members, lists, deletes });
      assert.equal(end.phase, 'Stalled', name);
      assert.equal(end.code, code, name);
    }
    // A 200 to the delete is not the documented 204: the member is asked again, and while it is there nothing completes.
    const ok200 = await play({
      members: [memberOk('subscribed')],
      lists: [json(200, { id: LIST }, 'l')],
      deletes: [json(200, {}, 'd200')],
    });
    assert.notEqual(ok200.end.phase, 'Completed');
    const done = await play({
      members: [memberOk('archived')],
      lists: [json(200, { id: LIST }, 'l')],
      deletes: [raw(204, '', 'application/json', 'd')],
    });
    assert.equal(done.end.outcome, 'Erased');
    assert.equal(done.end.evidence.deletePermanent, '1 answered 204');
  });
});
