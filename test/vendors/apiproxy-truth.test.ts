import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { CallOptions } from '../../controller/http/types.ts';
import { apiProxyDriver } from '../../controller/vendors/apiproxy/index.ts';
import type { AnyDriver } from '../../controller/contracts/driver.ts';
import { ApiProxySpec } from '../../specs/index.ts';
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
 * API Proxy truth table (seed 002, the seed's own connection object): the test, access,
 * delete and opt-out queries are fed generated answers. A listed status is the success
 * signal (DataGrail), but never on an HTML page; a transient fault (5xx, reset, timeout,
 * truncated body) never ends a task; a delete the API processed is never sent again.
 */

const SEED = readFileSync(new URL('../fixtures/apiproxy/seed-connection.json', import.meta.url), 'utf8');
const BUDGET_S = 300;

function fakeApi(script: Script, present: boolean) {
  let subject = present;
  let optedOut = false;
  const processed: Record<string, number> = { delete: 0, optout: 0 };
  const meanings: Array<{ route: string; meaning: string }> = [];
  const mean = (route: string, meaning: string) => meanings.push({ route, meaning });

  function handler(call: CallOptions): Reply {
    const path = new URL(call.url).pathname;
    const name = path.endsWith('/health-check')
      ? 'test'
      : path.endsWith('/optout')
        ? 'optout'
        : call.method === 'DELETE'
          ? 'delete'
          : path.includes('get-phone')
            ? 'identifiers'
            : 'access';
    const v: Variant = script.next(name);
    const generic: Partial<Record<Variant, Reply>> = {
      'route-404-html': HTML_404,
      'server-error': SERVER_ERROR,
      reset: { fault: 'reset', delivered: false },
      'ok-html': { status: 200, text: '<!doctype html><html><body>Portal</body></html>', contentType: 'text/html' },
    };
    if (generic[v]) {
      mean(name, 'noise');
      return generic[v]!;
    }
    const fault = (delivered: boolean): Reply => ({ fault: v === 'timeout' ? 'timeout' : 'reset', delivered });
    switch (name) {
      case 'test':
        mean('test', v === 'documented' ? 'healthy' : 'noise');
        if (v === 'documented' || v === 'ok-unexpected' || v === 'ok-partial') return { status: 200, text: 'ok' };
        if (v === 'route-404-json' || v === 'not-found') return JSON_404;
        if (v === 'unknown-word') return { status: 418, text: 'teapot' };
        return fault(false);
      case 'access':
      case 'identifiers': {
        if (v === 'documented') {
          mean(name, subject ? 'data' : 'empty');
          return { status: 200, body: subject ? [{ first_name: 'Peter', friends: ['Samir'] }] : [] };
        }
        mean(name, 'noise');
        if (v === 'not-found' || v === 'route-404-json') return JSON_404;
        if (v === 'ok-unexpected') return { status: 200, body: { users: [] } };
        if (v === 'ok-partial') return { status: 200, text: '[{"first_name": "Pe', contentType: 'application/json' };
        if (v === 'unknown-word') return { status: 200, body: ['Peter'] };
        return fault(false);
      }
      default: {
        // delete / optout: the status is the only signal (seed 002).
        // A JSON 404 on a query that lists 404 is, by DataGrail's contract ("the status code is
        // the only signal"), the API's "no such subject": Lethe cannot tell it from a gateway's.
        // The test queries catch a wrong base URL; an HTML page is always refused.
        if (v === 'route-404-json') return (mean(name, 'no-subject'), JSON_404);
        const before = subject;
        const act = () => {
          processed[name]!++;
          if (name === 'delete') subject = false;
          else optedOut = true;
        };
        if (v === 'not-found') return (mean(name, 'no-subject'), { status: 404, body: { error: 'no such user' } });
        act();
        if (v === 'documented')
          return (
            mean(name, before ? 'done' : 'no-subject'),
            before ? { status: 200, body: {} } : { status: 404, body: { error: 'no such user' } }
          );
        if (v === 'ok-unexpected') return (mean(name, 'done'), { status: 200, text: 'done' });
        if (v === 'ok-partial') return (mean(name, 'noise'), { status: 202, text: '' });
        if (v === 'unknown-word') return (mean(name, 'noise'), { status: 409, body: { error: 'conflict' } });
        mean(name, 'noise');
        return fault(true);
      }
    }
  }
  return { handler, meanings, processed, optedOut: () => optedOut };
}

const spec = (text = SEED) =>
  ApiProxySpec.parse({
    type: 'apiproxy',
    connection: JSON.parse(text),
    credentials: { credentials: 'env:C' },
    jobTimeoutSeconds: BUDGET_S,
  });

describe('API Proxy truth table (fast-check)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-apiproxy-truth-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const action of ['erasure', 'access', 'optout'] as const) {
    it(`${action}: success only on a listed status of the API (never an HTML page); transient faults never end the task`, async () => {
      await fc.assert(
        fc.asyncProperty(scriptArb, fc.boolean(), async (variants, present) => {
          const script = new Script(variants);
          const api = fakeApi(script, present);
          const end = await runTask({
            driver: apiProxyDriver as AnyDriver,
            spec: spec(),
            secrets: { credentials: 'dXNlcjpwdw==' },
            action,
            emails: ['subject@example.com'],
            handler: api.handler,
            clock: { now: Date.UTC(2026, 0, 5) },
            healthCheck: true,
            exportDir: dir,
            maxSteps: 60,
          });
          const route = action === 'erasure' ? 'delete' : action;
          const last = api.meanings.filter((m) => m.route === route).at(-1)?.meaning;
          if (end.outcome !== undefined) assert.ok(SUCCESS.has(end.outcome), `outcome ${end.outcome}`);
          const confirmedByAccess =
            /confirmed by the access queries/.test(end.evidence.queries ?? '') &&
            api.meanings.filter((m) => m.route === 'access').at(-1)?.meaning === 'empty';
          if (end.outcome === 'Erased' || end.outcome === 'OptedOut')
            assert.ok(last === 'done' || last === 'no-subject' || confirmedByAccess, `${end.outcome} on ${last}`);
          if (end.outcome === 'Exported') assert.equal(last, 'data');
          if (end.outcome === 'NoDataHeld') assert.equal(last, 'empty');
          if (action === 'erasure')
            assert.ok(api.processed.delete! <= 1, `a processed delete was sent again (${api.processed.delete})`);
          // Failed only when the API answered a status neither list names; Stalled only on configuration or contract errors.
          if (end.phase === 'Failed') assert.equal(end.code, 'APIPROXY_UNEXPECTED_STATUS');
          if (end.phase === 'Stalled')
            assert.ok(['APIPROXY_ENDPOINT_NOT_FOUND', 'APIPROXY_ACCESS_MALFORMED'].includes(end.code!), end.code);
          // Each attempt may use all the time left of the job budget, never a flat 30 s.
          for (const c of end.calls)
            assert.ok(
              c.timeoutMs !== undefined && c.timeoutMs > 30_000 && c.timeoutMs <= BUDGET_S * 1000,
              `timeoutMs ${c.timeoutMs}`,
            );
          if (variants.every((v) => v === 'documented')) assert.equal(end.phase, 'Completed');
        }),
        { numRuns: 250 },
      );
    });
  }

  it('one transient fault on the action query (5xx, reset, timeout, lost answer, truncated body) never makes the task Failed or Stalled', async () => {
    for (const action of ['erasure', 'access', 'optout'] as const) {
      for (const fault of [
        'server-error',
        'reset',
        'timeout',
        'lost',
        ...(action === 'access' ? ['ok-partial'] : []),
      ] as Variant[]) {
        const script = new Script(['documented', fault]);
        const api = fakeApi(script, true);
        const end = await runTask({
          driver: apiProxyDriver as AnyDriver,
          spec: spec(),
          secrets: { credentials: 'x' },
          action,
          emails: ['s@example.com'],
          handler: api.handler,
          clock: { now: 0 },
          healthCheck: true,
          exportDir: dir,
        });
        assert.equal(end.phase, 'Completed', `${action} after ${fault}: ${end.phase} ${end.code ?? ''}`);
        if (action === 'erasure') assert.equal(api.processed.delete, 1, `${fault}: one delete processed`);
      }
    }
  });

  it('a wrong base URL in every query (a web server 404 page): Stalled with APIPROXY_ENDPOINT_NOT_FOUND, no delete sent', async () => {
    const methods: string[] = [];
    const end = await runTask({
      driver: apiProxyDriver as AnyDriver,
      spec: spec(SEED.replaceAll('https://api.acme.com', 'https://api.acme.com/wrong')),
      secrets: { credentials: 'x' },
      action: 'erasure',
      emails: ['s@example.com'],
      handler: (c) => (methods.push(c.method), HTML_404),
      clock: { now: 0 },
      healthCheck: true,
    });
    assert.equal(end.phase, 'Stalled');
    assert.equal(end.code, 'APIPROXY_ENDPOINT_NOT_FOUND');
    assert.ok(!methods.includes('DELETE'));
  });
});
