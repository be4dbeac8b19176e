import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { CallOptions } from '../../controller/http/types.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';
import { classify, errorText } from '../../controller/vendors/answerhub/errors.ts';
import { answerHubDriver } from '../../controller/vendors/answerhub/index.ts';
import type { AnyDriver } from '../../controller/contracts/driver.ts';
import { AnswerHubSpec } from '../../specs/index.ts';
import {
  HTML_404,
  JSON_404,
  runTask,
  Script,
  scriptArb,
  SERVER_ERROR,
  SUCCESS,
  type Reply,
  type Variant,
} from '../support/truth-table.ts';

/**
 * AnswerHub truth table (seed 004): the user lookup, the schedule call and the job look are
 * fed generated answers. Only a finished job (or, after a lost schedule answer, the
 * documented "no such user" 422) may give Erased; only a 422 gives NoDataHeld; at most one
 * job is ever scheduled.
 */

function fakeAnswerHub(script: Script, userKnown: boolean) {
  let userExists = userKnown;
  const jobs = new Map<string, { slot: number; status: 'PENDING' | 'FINISHED' }>();
  let scheduled = 0;
  const meanings: Array<{ route: string; meaning: string }> = [];
  const mean = (route: string, meaning: string) => meanings.push({ route, meaning });
  const pluginError = (status: number, message: string, code: number | string = status): Reply => ({
    status,
    body: { code, message },
  });

  function handler(call: CallOptions, now: number): Reply {
    const path = new URL(call.url).pathname;
    const name = /\/users\/gdpr\/upload\.json$/.test(path)
      ? 'upload'
      : /\/users\/gdpr\//.test(path)
        ? 'lookup'
        : /schedule\.json$/.test(path)
          ? 'schedule'
          : call.method === 'GET'
            ? 'job-get'
            : 'job-delete';
    const v = script.next(name);
    const generic: Partial<Record<Variant, Reply>> = {
      'route-404-html': HTML_404,
      'route-404-json': JSON_404,
      'server-error': SERVER_ERROR,
      reset: { fault: 'reset', delivered: false },
      'ok-html': { status: 200, text: '<html><body>AnswerHub</body></html>', contentType: 'text/html' },
    };
    if (generic[v]) {
      mean(name, 'noise');
      return generic[v]!;
    }
    const fault = (delivered: boolean): Reply => ({ fault: v === 'timeout' ? 'timeout' : 'reset', delivered });
    if (name === 'lookup') {
      const noUser = v === 'not-found' || (v === 'documented' && !userExists);
      mean('lookup', noUser ? 'no-user' : v === 'documented' ? 'user' : 'noise');
      if (noUser) return pluginError(422, 'No user found with that email');
      if (v === 'documented') return { status: 200, body: { id: 7, username: 'someone', email: 'x@example.com' } };
      if (v === 'ok-unexpected') return { status: 200, body: { user: { id: 7 } } };
      if (v === 'ok-partial') return { status: 200, body: {} };
      if (v === 'unknown-word') return { status: 422, text: 'Unprocessable', contentType: 'text/plain' };
      return fault(false);
    }
    if (name === 'schedule') {
      if (v === 'not-found') return (mean('schedule', 'refused'), pluginError(400, 'No user selected'));
      if (v === 'unknown-word')
        return (mean('schedule', 'refused'), pluginError(400, 'Something unforeseen happened', 'GDPR-17'));
      const body = call.body as { date: { timeStamp: number } };
      const id = String(100 + ++scheduled);
      jobs.set(id, { slot: body.date.timeStamp, status: 'PENDING' });
      mean('schedule', 'scheduled');
      if (v === 'documented') return { status: 201, body: { id: Number(id), status: 'PENDING' } };
      if (v === 'ok-unexpected') return { status: 201, body: {} };
      if (v === 'ok-partial') return { status: 201, body: { status: 'PENDING' } };
      return fault(true);
    }
    if (name === 'job-get') {
      const id = /\/(\d+)\.json$/.exec(path)?.[1] ?? '';
      const job = jobs.get(id);
      if (!job || v === 'not-found') return (mean('job-get', 'noise'), pluginError(404, 'Job does not exist'));
      if (job.status === 'PENDING' && now >= job.slot) {
        job.status = 'FINISHED';
        userExists = false;
      }
      if (v === 'documented') {
        mean('job-get', job.status === 'FINISHED' ? 'finished' : 'pending');
        return { status: 200, body: { id: Number(id), status: job.status, operations: ['anon-delete'] } };
      }
      mean('job-get', 'noise');
      if (v === 'ok-unexpected') return { status: 200, body: { id: 999, status: 'FINISHED' } };
      if (v === 'ok-partial') return { status: 200, body: { id: Number(id) } };
      if (v === 'unknown-word') return { status: 200, body: { id: Number(id), status: 'PAUSED' } };
      return fault(false);
    }
    mean(name, 'noise');
    return { status: 405, text: 'Method Not Allowed', contentType: 'text/plain' };
  }
  return { handler, meanings, scheduled: () => scheduled, jobs };
}

const spec = (baseUrl = 'https://answers.example.com') =>
  AnswerHubSpec.parse({ type: 'answerhub', baseUrl, credentials: { username: 'env:U', password: 'env:P' } });

describe('AnswerHub truth table (fast-check)', () => {
  it('erasure: success only on the documented answers; at most one job scheduled', async () => {
    await fc.assert(
      fc.asyncProperty(scriptArb, fc.boolean(), async (variants, known) => {
        const script = new Script(variants);
        const vendor = fakeAnswerHub(script, known);
        const clock = { now: Date.UTC(2026, 0, 5, 10) };
        const end = await runTask({
          driver: answerHubDriver as AnyDriver,
          spec: spec(),
          secrets: { username: 'admin', password: 'pw' },
          action: 'erasure',
          emails: ['subject@example.com'],
          handler: (c) => vendor.handler(c, clock.now),
          clock,
        });
        assert.ok(vendor.scheduled() <= 1, `jobs scheduled: ${vendor.scheduled()}`);
        assert.notEqual(end.phase, 'Failed', `never Failed (${end.code})`);
        if (end.outcome !== undefined) assert.ok(SUCCESS.has(end.outcome), `outcome ${end.outcome}`);
        const decisive = vendor.meanings.filter((m) => m.route === 'job-get' || m.route === 'lookup').at(-1)?.meaning;
        if (end.outcome === 'Erased') {
          assert.ok(
            decisive === 'finished' || (decisive === 'no-user' && end.evidence.confirmedBy !== undefined),
            `Erased on ${decisive}`,
          );
          if (decisive === 'finished')
            assert.deepEqual(
              [...vendor.jobs.values()].map((j) => j.status),
              ['FINISHED'],
            );
        }
        if (end.outcome === 'NoDataHeld') {
          assert.equal(vendor.scheduled(), 0);
          assert.equal(decisive, 'no-user');
        }
        if (variants.every((v) => v === 'documented')) assert.equal(end.phase, 'Completed');
      }),
      { numRuns: 300 },
    );
  });

  it('a wrong baseUrl (every route a web server 404): Stalled with ANSWERHUB_ENDPOINT_NOT_FOUND, nothing scheduled', async () => {
    for (const page of [
      HTML_404,
      JSON_404,
      { status: 405, text: 'Method Not Allowed', contentType: 'text/plain' } as Reply,
    ]) {
      const methods: string[] = [];
      const end = await runTask({
        driver: answerHubDriver as AnyDriver,
        spec: spec('https://answers.example.com/wrong'),
        secrets: { username: 'a', password: 'b' },
        action: 'erasure',
        emails: ['s@example.com'],
        handler: (c) => (methods.push(c.method), page),
        clock: { now: 0 },
      });
      assert.equal(end.phase, 'Stalled');
      assert.equal(end.code, 'ANSWERHUB_ENDPOINT_NOT_FOUND');
      assert.ok(!methods.includes('POST'));
    }
  });
});

/** The seed's eight schedule errors (a-h), by its own wording. */
const EIGHT: Array<[string, string]> = [
  ['No user selected', 'ANSWERHUB_NO_USER_SELECTED'],
  ['File ID not specified', 'ANSWERHUB_FILE_ID_MISSING'],
  ['File ID does not exist', 'ANSWERHUB_FILE_NOT_FOUND'],
  ['There is a job already scheduled for that timeframe', 'ANSWERHUB_TIMEFRAME_TAKEN'],
  ['The selected date is not eligible', 'ANSWERHUB_DATE_NOT_ELIGIBLE'],
  ['Empty operations list was submitted', 'ANSWERHUB_EMPTY_OPERATIONS'],
  ['Reassign user with more than one way of identifying who they are', 'ANSWERHUB_REASSIGN_AMBIGUOUS'],
  ['The reassign user does not exist', 'ANSWERHUB_REASSIGN_NOT_FOUND'],
];

describe('AnswerHub schedule errors (fast-check)', () => {
  const classified = (raw: string) =>
    classify(
      'schedule',
      400,
      errorText(httpResponse({ status: 400, body: Buffer.from(raw), label: 'answerhub.schedule' })),
    );
  const recase = (s: string, flips: boolean[]) =>
    [...s].map((c, i) => (flips[i % flips.length] ? c.toUpperCase() : c.toLowerCase())).join('');

  it('each of the eight keeps its code whatever the case, punctuation, field or wrapping', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...EIGHT),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('', '.', '!', ' (400)', ': please retry'),
        fc.constantFrom('message', 'error', 'detail', 'plain'),
        fc.constantFrom('', 'Error: ', 'HTTP/1.1 400 Bad Request - '),
        ([wording, code], flips, suffix, field, prefix) => {
          const text = `${prefix}${recase(wording, flips)}${suffix}`;
          const raw = field === 'plain' ? text : JSON.stringify({ code: 400, [field]: text });
          assert.equal(classified(raw), code, raw);
        },
      ),
    );
  });

  it('unrecognised or ambiguous wording is ANSWERHUB_SCHEDULE_REJECTED (a stall naming the vendor code), never a guess', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z ]{0,40}$/), (words) => {
        const code = classified(JSON.stringify({ code: 'E1', message: words }));
        const matching = EIGHT.filter(
          ([w]) => classified(JSON.stringify({ message: w })) !== undefined && words.includes(w.toLowerCase()),
        );
        if (matching.length === 0 && !/user|file|schedul|time ?frame|eligible|operation|reassign/.test(words))
          assert.equal(code, 'ANSWERHUB_SCHEDULE_REJECTED');
      }),
    );
    // Two documented wordings in one message: ambiguous.
    assert.equal(
      classified(
        JSON.stringify({
          message: 'The selected date is not eligible; there is a job already scheduled for that timeframe',
        }),
      ),
      'ANSWERHUB_SCHEDULE_REJECTED',
    );
    assert.equal(
      classified(JSON.stringify({ message: 'Operation failed: quota exceeded' })),
      'ANSWERHUB_SCHEDULE_REJECTED',
    );
  });
});
