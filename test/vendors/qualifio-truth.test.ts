import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { CallOptions } from '../../controller/http/types.ts';
import type { AnyDriver } from '../../controller/contracts/driver.ts';
import { qualifioDriver } from '../../controller/vendors/qualifio/index.ts';
import { QualifioSpec } from '../../specs/vendor-connection.ts';
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
 * Qualifio truth table (seed 001): every decision point (profile search, rule creation,
 * validation, rule poll, rule listing, archive location) is fed generated answers. Only the
 * seed's own answers may lead to a success outcome, and no rule is ever created twice.
 */

type RuleState = { type: string; status: string; justification: string; test: boolean };

/** An in-memory Qualifio whose answers come from a script; `documented` answers follow its state. */
function fakeQualifio(script: Script, profiles: number[]) {
  const rules = new Map<string, RuleState>();
  /** Creations Qualifio acted on (a rule exists for each). */
  let created = 0;
  /** What each answer the driver got meant, for the assertions. */
  const meanings: Array<{ route: string; meaning: string }> = [];
  const mean = (route: string, meaning: string) => meanings.push({ route, meaning });
  const qualifio404: Reply = { status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Rule not found' } };

  const ruleJson = (id: string, r: RuleState, status = r.status) => ({
    ruleStatus: {
      status,
      updatedAt: '2022-01-31T16:08:42.128Z',
      isAuto: false,
      ...(status !== 'NEW' ? { acceptedBy: 7001 } : {}),
    },
    _id: id,
    ...(status === 'FINISHED' && r.type === 'GDPR_ExportData' ? { archive: `a${id}` } : {}),
    ruleType: r.type,
    clientId: 2449,
    ruleTypePayload: {
      profiles: profiles.map((p) => ({ crmId: p, crmKey: `x|y|subject${p}@example.com` })),
      test: r.test,
    },
    justification: r.justification,
    userId: 7001,
    __v: 0,
  });

  function route(call: CallOptions): { name: string; id?: string } {
    const path = new URL(call.url).pathname.replace(/^\/v1\/gdpr/, '');
    if (call.method === 'GET' && path === '/profiles') return { name: 'profiles' };
    if (call.method === 'POST' && path.startsWith('/rules/')) return { name: 'create' };
    if (call.method === 'GET' && path === '/rules') return { name: 'list' };
    const m = /^\/rules\/([^/]+)(\/validate|\/archive\/[^/]+)?$/.exec(path);
    if (m && call.method === 'PUT' && m[2] === '/validate') return { name: 'validate', id: m[1]! };
    if (m && call.method === 'GET' && m[2]?.startsWith('/archive/')) return { name: 'archive', id: m[1]! };
    if (m && call.method === 'GET') return { name: 'get', id: m[1]! };
    return { name: 'download' };
  }

  function generic(v: Variant): Reply | undefined {
    if (v === 'route-404-html') return HTML_404;
    if (v === 'route-404-json') return JSON_404;
    if (v === 'server-error') return SERVER_ERROR;
    if (v === 'reset') return { fault: 'reset', delivered: false };
    if (v === 'ok-html') return { status: 200, text: '<html><body>Welcome</body></html>', contentType: 'text/html' };
    return undefined;
  }

  function handler(call: CallOptions): Reply {
    const r = route(call);
    const v = script.next(r.name);
    const g = generic(v);
    if (g) {
      mean(r.name, 'noise');
      return g;
    }
    const fault = (delivered: boolean): Reply => ({ fault: v === 'timeout' ? 'timeout' : 'reset', delivered });
    switch (r.name) {
      case 'profiles': {
        if (v === 'documented') mean('profiles', profiles.length === 0 ? 'nobody' : 'found');
        else if (v === 'not-found') mean('profiles', 'nobody');
        else mean('profiles', 'noise');
        if (v === 'documented')
          return {
            status: 200,
            body: profiles.map((id) => ({ id, email: `subject${id}@example.com`, firstName: 'x' })),
          };
        if (v === 'not-found') return { status: 200, body: [] };
        if (v === 'ok-unexpected') return { status: 200, body: { data: [] } };
        if (v === 'ok-partial') return { status: 200, body: [{ email: 'subject@example.com' }] };
        if (v === 'unknown-word') return { status: 200, body: [{ id: 'ninety-nine' }] };
        return fault(true);
      }
      case 'create': {
        const body = JSON.parse(String(call.body === undefined ? '{}' : JSON.stringify(call.body))) as {
          ruleType: string;
          justification: string;
          ruleTypePayload: { test: boolean };
        };
        if (v === 'not-found') {
          mean('create', 'noise');
          return { status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'Unknown profile id' } };
        }
        const id = `61f807fd94efba00118${String(++created).padStart(5, '0')}`;
        const rule = {
          type: body.ruleType,
          status: 'NEW',
          justification: body.justification,
          test: body.ruleTypePayload.test,
        };
        rules.set(id, rule);
        mean('create', 'created');
        if (v === 'documented') return { status: 200, body: ruleJson(id, rule) };
        if (v === 'ok-unexpected') return { status: 200, body: {} };
        if (v === 'ok-partial') return { status: 200, body: { _id: id } };
        if (v === 'unknown-word') return { status: 200, body: ruleJson(id, rule, 'QUEUED') };
        return fault(true);
      }
      case 'validate':
      case 'get':
      case 'archive': {
        const rule = rules.get(r.id!);
        if (!rule || v === 'not-found') {
          mean(r.name, 'noise');
          return qualifio404;
        }
        const acts = v === 'documented' || v === 'lost' || v === 'timeout';
        if (acts && r.name === 'validate' && rule.status === 'NEW') rule.status = 'APPROVED';
        // The rule runs in the background; a documented look finds it done.
        if (acts && r.name === 'get' && rule.status === 'APPROVED') rule.status = 'FINISHED';
        if (v === 'lost' || v === 'timeout') {
          mean(r.name, 'noise');
          return fault(r.name === 'validate');
        }
        if (v === 'documented') {
          mean(r.name, `${r.name}:${rule.status}`);
          if (r.name === 'archive')
            return {
              status: 200,
              body: { _id: `a${r.id}`, clientId: 2449, url: 'https://api.qualif.io/v1/archive/x/y', download: [] },
            };
          return { status: 200, body: ruleJson(r.id!, rule) };
        }
        mean(r.name, 'noise');
        if (v === 'ok-unexpected') return { status: 200, body: r.name === 'archive' ? { url: 'not a url' } : {} };
        if (v === 'ok-partial') return { status: 200, body: { _id: r.id } };
        return { status: 200, body: ruleJson(r.id!, rule, r.name === 'validate' ? 'REJECTED' : 'CANCELLED') };
      }
      case 'list': {
        const all = [...rules].map(([id, rule]) => ruleJson(id, rule));
        mean('list', v === 'documented' ? 'listed' : 'noise');
        if (v === 'documented') return { status: 200, body: all };
        // A page of a longer list that does not hold the rule, an envelope, a partial rule.
        if (v === 'not-found' || v === 'unknown-word') return { status: 200, body: [] };
        if (v === 'ok-unexpected')
          return { status: 200, body: { data: all.slice(0, 0), next: '/v1/gdpr/rules?page=2' } };
        if (v === 'ok-partial') return { status: 200, body: [{ _id: 'x' }] };
        return fault(false);
      }
      default:
        mean('download', v === 'documented' ? 'archive' : 'noise');
        return v === 'documented'
          ? { status: 200, text: '{"profiles":[]}', contentType: 'application/json' }
          : fault(false);
    }
  }
  return { handler, rules, meanings, created: () => created };
}

const spec = (mode: 'live' | 'test' = 'live', baseUrl = 'https://api.qualif.io') =>
  QualifioSpec.parse({
    type: 'qualifio',
    baseUrl,
    clientId: 2449,
    dpoUserId: 7001,
    credentials: { apiToken: 'env:T' },
    mode,
  });

describe('Qualifio truth table (fast-check)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lethe-qualifio-truth-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const action of ['erasure', 'access'] as const) {
    it(`${action}: success only on the seed's answers; never two rules`, async () => {
      await fc.assert(
        fc.asyncProperty(scriptArb, fc.constantFrom<number[]>([99], [99, 100], []), async (variants, profiles) => {
          const script = new Script(variants);
          const vendor = fakeQualifio(script, profiles);
          const end = await runTask({
            driver: qualifioDriver as AnyDriver,
            spec: spec(),
            secrets: { apiToken: 't' },
            action,
            emails: ['subject@example.com'],
            handler: vendor.handler,
            clock: { now: Date.UTC(2026, 0, 5) },
            exportDir: dir,
          });
          assert.ok(vendor.created() <= 1, `rules created: ${vendor.created()}`);
          assert.notEqual(end.phase, 'Failed', `a Qualifio task never fails outright (${end.code})`);
          if (end.outcome === 'NoDataHeld') {
            assert.equal(vendor.created(), 0);
            assert.equal(vendor.meanings.filter((m) => m.route === 'profiles').at(-1)?.meaning, 'nobody');
          }
          if (end.outcome === 'Erased') {
            assert.equal(vendor.meanings.filter((m) => m.route === 'get').at(-1)?.meaning, 'get:FINISHED');
            assert.deepEqual(
              [...vendor.rules.values()].map((r) => [r.type, r.status]),
              [['GDPR_ForgottenRight', 'FINISHED']],
            );
            assert.ok(
              vendor.meanings.some((m) => m.meaning === 'validate:APPROVED' || m.meaning === 'validate:FINISHED'),
              'a validation Qualifio approved',
            );
          }
          if (end.outcome === 'Exported') {
            assert.deepEqual(
              [...vendor.rules.values()].map((r) => [r.type, r.status]),
              [['GDPR_ExportData', 'FINISHED']],
            );
            assert.equal(vendor.meanings.filter((m) => m.route === 'download').at(-1)?.meaning, 'archive');
          }
          if (end.outcome !== undefined) assert.ok(SUCCESS.has(end.outcome), `outcome ${end.outcome}`);
          // An all-documented script must succeed: the table is not vacuous.
          if (variants.every((v) => v === 'documented')) assert.equal(end.phase, 'Completed');
        }),
        { numRuns: 250 },
      );
    });
  }

  it('recovery after a lost creation: a listing that does not show the rule (paginated, odd, missing) stalls, never creates again', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Variant>(
          'not-found',
          'unknown-word',
          'ok-unexpected',
          'ok-partial',
          'route-404-html',
          'route-404-json',
          'ok-html',
        ),
        async (listing) => {
          // profiles, the listing of start (no rule yet), the creation (answer lost), the listing of recover.
          const script = new Script(['documented', 'documented', 'lost', listing]);
          const vendor = fakeQualifio(script, [99]);
          const end = await runTask({
            driver: qualifioDriver as AnyDriver,
            spec: spec(),
            secrets: { apiToken: 't' },
            action: 'erasure',
            emails: ['s@example.com'],
            handler: vendor.handler,
            clock: { now: 0 },
          });
          assert.equal(vendor.created(), 1);
          assert.equal(end.phase, 'Stalled');
          assert.equal(end.code, 'QUALIFIO_CREATE_UNCONFIRMED');
        },
      ),
    );
  });

  it('a validation answered REJECTED (or not APPROVED) stalls instead of polling forever', async () => {
    const script = new Script(['documented', 'not-found' as Variant, 'documented', 'unknown-word']);
    // profiles, list (nothing), create, validate → REJECTED
    const vendor = fakeQualifio(script, [99]);
    const end = await runTask({
      driver: qualifioDriver as AnyDriver,
      spec: spec(),
      secrets: { apiToken: 't' },
      action: 'erasure',
      emails: ['s@example.com'],
      handler: vendor.handler,
      clock: { now: 0 },
    });
    assert.equal(end.phase, 'Stalled');
    assert.equal(end.code, 'QUALIFIO_VALIDATION_REFUSED');
    assert.match(end.errors.join(','), /QUALIFIO_VALIDATION_REFUSED/);
  });

  it('a wrong baseUrl (every route a web server 404): Stalled with QUALIFIO_ENDPOINT_NOT_FOUND, nothing created', async () => {
    for (const page of [HTML_404, JSON_404]) {
      const calls: string[] = [];
      const end = await runTask({
        driver: qualifioDriver as AnyDriver,
        spec: spec('live', 'https://api.qualif.io/api/v2'),
        secrets: { apiToken: 't' },
        action: 'erasure',
        emails: ['s@example.com'],
        handler: (c) => {
          calls.push(c.method);
          return page;
        },
        clock: { now: 0 },
      });
      assert.equal(end.phase, 'Stalled');
      assert.equal(end.code, 'QUALIFIO_ENDPOINT_NOT_FOUND');
      assert.ok(!calls.includes('POST'));
    }
  });
});
