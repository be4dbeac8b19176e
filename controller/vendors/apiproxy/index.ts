import { ApiProxySpec, type Action } from '../../../specs/index.ts';
import { REBUILT_INTENT } from '../../contracts/driver.ts';
import { writeExport } from '../../exports/index.ts';
import type { Driver, DriverContext, JsonValue, StepResult, TaskData, TaskInput } from '../../contracts/driver.ts';
import type { HttpResponse } from '../../http/types.ts';
import { budget, checkStatus, isHtml, objectsOf, isQueryFailure, send, throwIfRefused } from './api.ts';
import { reportFiles, type JsonObject } from './csv.ts';
import { apiProxyErrors } from './errors.ts';
import { prepare, type ActionKind, type Unit } from './prepare.ts';
import { checkTemplates, queriesOf, render } from './queries.ts';
import { defineDriver } from '../define.ts';

/**
 * DataGrail-compatible API Proxy (seed 002): the connection object is DataGrail's, unchanged.
 *
 * One step (`start`) does a task's whole job: identifiers, then the action's queries, for
 * each of the subject's emails (DataGrail runs one job per identifier; Lethe runs the
 * queries once per email, in manifest order). Identifiers are personal data, so they live
 * in memory for that step only; a step that spans passes would have to persist them.
 *
 * Deletes and opt-outs are not safe to repeat in general, so each call is a journaled
 * intent, and after each answered query the task data gets a marker `answered["e.q"] =
 * [status codes]` (email and query indices, no personal data). Markers reach the journal
 * when the step returns; a step that made progress and then hits a transient error
 * returns them first (`continue`), and the re-run starts at the failing query.
 *
 * Recovery (an intent left open by a crash or a lost answer): the seed's contract makes
 * every request stateless and deletions idempotent ("an instance of a data subject not
 * existing should be handled the same as a successful request", e.g. a listed 404), and it
 * offers no way to ask what happened. So `recover` re-sends only the query in flight: the
 * intent's detail carries the markers of every query answered before it, and those are
 * never sent again. At most that one query reaches the API twice, and the contract says a
 * second delete of a gone subject answers a valid code. A journal rebuilt from git knows no
 * markers: the queries run again from the first, under the same contract. One narrow window
 * remains: a crash after the last intent's close reached the journal (another task's flush)
 * but before the step's result did; the run's answered queries are then sent again, which
 * the same contract makes harmless.
 *
 * fail_retry_response_codes: reads are retried by the HTTP layer (they are safe); a
 * delete or opt-out answered with one is an answer (the intent closes) and the step fails
 * transiently, so the executor retries it later with backoff. DataGrail's contract says
 * these codes mean "not done, retry".
 */

type Ctx = DriverContext<'apiproxy'>;

const KIND: Record<Action, ActionKind> = { access: 'access', erasure: 'delete', optout: 'optout' };
const OUTCOME: Record<'delete' | 'optout', string> = { delete: 'Erased', optout: 'OptedOut' };

/** DataGrail documents no limit; a conservative 5/s protects internal APIs (override with rateLimits). */
const DEFAULT_RATE = { limit: 5, perSeconds: 1 };

type Answered = Record<string, number[]>;

function readAnswered(value: JsonValue | undefined): Answered {
  const out: Answered = {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return out;
  for (const [k, v] of Object.entries(value)) {
    if (/^\d+\.\d+$/.test(k) && Array.isArray(v)) out[k] = v.filter((n): n is number => typeof n === 'number');
  }
  return out;
}

function byKey(a: string, b: string): number {
  const [ea, qa] = a.split('.').map(Number) as [number, number];
  const [eb, qb] = b.split('.').map(Number) as [number, number];
  return ea - eb || qa - qb;
}

/** e.g. `3 ok (200,404,200)`, `2 ok (200,200); 1 skipped (no identifier value)`. */
function summary(answered: Answered, emails: number, confirmed: readonly string[] = []): string {
  const keys = Object.keys(answered).sort(byKey);
  const codes = keys.flatMap((k) => answered[k]!);
  const skipped = keys.filter((k) => answered[k]!.length === 0 && !confirmed.includes(k)).length;
  const parts = codes.length > 0 || keys.length === 0 ? [`${codes.length} ok (${codes.join(',')})`] : [];
  if (confirmed.length > 0) parts.push(`${confirmed.length} confirmed by the access queries (answer lost)`);
  if (skipped > 0) parts.push(`${skipped} skipped (no identifier value)`);
  return parts.join('; ') + (emails > 1 ? ` for ${emails} emails` : '');
}

function confirmedOf(data: TaskData): string[] {
  return Array.isArray(data.confirmed) ? data.confirmed.filter((k): k is string => typeof k === 'string') : [];
}

function cancelled(task: TaskInput): StepResult {
  const n = Object.keys(readAnswered(task.state.data.answered)).length;
  return {
    kind: 'completed',
    outcome: 'Cancelled',
    data: {},
    evidence: { cancelled: `withdrawn; ${n} queries had been answered (synchronous API: nothing pending)` },
  };
}

async function runAccess(ctx: Ctx, task: TaskInput, units: Unit[]): Promise<StepResult> {
  const b = budget(ctx, 'access');
  const objects: JsonObject[] = [];
  const codes: number[] = [];
  for (const unit of units) {
    for (const call of unit.calls) {
      const res = await send(ctx, unit.query, call, b, true);
      checkStatus(unit.query, res);
      objects.push(...objectsOf(unit.query, res, 'APIPROXY_ACCESS_MALFORMED'));
      codes.push(res.status);
    }
  }
  const skipped = units.filter((u) => u.calls.length === 0).length;
  const queries = `${codes.length} ok (${codes.join(',')})${skipped ? `; ${skipped} skipped (no identifier value)` : ''}`;
  // Every query answered well-formed before a single file is written.
  if (objects.length === 0) return { kind: 'completed', outcome: 'NoDataHeld', evidence: { queries, reports: '0' } };
  const index = await writeExport(await ctx.exportDir(task.request), reportFiles(objects), ctx.now());
  return { kind: 'completed', outcome: 'Exported', evidence: { queries, reports: String(index.files.length) } };
}

/**
 * After a delete whose answer was lost: the connection's own access queries (safe reads)
 * tell whether the subject still has data. None left means the delete took effect, and
 * sending it again would be a second submission for a subject that is gone.
 */
async function holdsNoData(ctx: Ctx, email: string): Promise<boolean> {
  const b = budget(ctx, 'access');
  for (const unit of await prepare(ctx, 'access', [email], new Set())) {
    for (const call of unit.calls) {
      const res = await send(ctx, unit.query, call, b, true);
      checkStatus(unit.query, res);
      if (objectsOf(unit.query, res, 'APIPROXY_ACCESS_MALFORMED').length > 0) return false;
    }
  }
  return true;
}

async function runWrites(
  ctx: Ctx,
  task: TaskInput,
  kind: 'delete' | 'optout',
  units: Unit[],
  answered: Answered,
): Promise<StepResult> {
  const b = budget(ctx, kind);
  let sent = 0;
  let progressed = false;
  const confirmed = confirmedOf(task.state.data);
  const data = (): TaskData => ({ answered: { ...answered }, ...(confirmed.length > 0 ? { confirmed } : {}) });
  for (const unit of units) {
    const codes: number[] = [];
    try {
      for (const [binding, call] of unit.calls.entries()) {
        sent++;
        const detail = {
          request: task.request,
          query: unit.query.field,
          unit: unit.key,
          binding,
          answered: data().answered!,
        };
        const res = await ctx.intent(`apiproxy.${kind}`, detail, async () => {
          const answer = await send(ctx, unit.query, call, b, false);
          throwIfRefused(unit.query, answer);
          return answer;
        });
        checkStatus(unit.query, res);
        codes.push(res.status);
      }
    } catch (err) {
      const submissions = task.state.submissions + sent;
      if (isQueryFailure(err))
        return { kind: 'failed', code: err.code, message: err.message, data: data(), submissions };
      if (!progressed) throw err;
      ctx.log.warn('apiproxy: progress saved before retry', {
        request: task.request,
        vendor: ctx.vendor,
        code: (err as { code?: string }).code ?? 'DRIVER_ERROR',
      });
      return { kind: 'continue', step: 'start', data: data(), submissions };
    }
    answered[unit.key] = codes;
    progressed = true;
  }
  return {
    kind: 'completed',
    outcome: OUTCOME[kind],
    data: {},
    evidence: { queries: summary(answered, task.subject.emails.length, confirmed) },
    submissions: task.state.submissions + sent,
  };
}

async function step(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  if (task.subject.emails.length === 0) return cancelled(task);
  const connection = ctx.spec.connection;
  if (connection.mode === 'test') {
    // The test queries ran as this pass's health check; live queries never run in test mode.
    return {
      kind: 'completed',
      outcome: 'TestModeOnly',
      evidence: { mode: `test: ${connection.queries.test.length} test queries ok, no ${task.action} query sent` },
    };
  }
  const kind = KIND[task.action];
  if (queriesOf(connection, kind).length === 0) throw apiProxyErrors.error('APIPROXY_NO_QUERIES', { kind });
  const answered = kind === 'access' ? {} : readAnswered(task.state.data.answered);
  try {
    const units = await prepare(ctx, kind, task.subject.emails, new Set(Object.keys(answered)));
    return kind === 'access' ? await runAccess(ctx, task, units) : await runWrites(ctx, task, kind, units, answered);
  } catch (err) {
    if (isQueryFailure(err)) return { kind: 'failed', code: err.code, message: err.message };
    throw err;
  }
}

export const apiProxyDriver: Driver<'apiproxy'> = {
  type: 'apiproxy',
  actions: ['access', 'erasure', 'optout'],
  supportedActions(spec) {
    const q = spec.connection.queries;
    const out: Action[] = [];
    if (q.access?.length) out.push('access');
    if (q.delete?.length) out.push('erasure');
    if (q.optout?.length) out.push('optout');
    return out;
  },
  defaultRateLimits: () => [DEFAULT_RATE],
  identifierKeys: [],
  credentials(spec) {
    const ref = spec.credentials?.credentials ?? spec.connection.credentials_location;
    // DataGrail stores `{"credentials": "..."}` in its secret; a file: reference reads that shape.
    return { credentials: { ref, jsonKey: ref.startsWith('file:') ? 'credentials' : undefined } };
  },
  errors: apiProxyErrors.table,
  configSchema: ApiProxySpec,
  step,
  async recover(ctx, task, intent): Promise<StepResult> {
    if (intent.name === REBUILT_INTENT) {
      return {
        kind: 'continue',
        step: 'start',
        data: {},
        evidence: {
          recovery:
            'journal rebuilt: queries run again from the first (stateless and idempotent by the DataGrail contract)',
        },
      };
    }
    const answered = { ...readAnswered(intent.detail.answered), ...readAnswered(task.state.data.answered) };
    const unit = String(intent.detail.unit ?? '');
    const email = task.subject.emails[Number(unit.split('.')[0])];
    if (
      intent.name === 'apiproxy.delete' &&
      email !== undefined &&
      queriesOf(ctx.spec.connection, 'access').length > 0 &&
      (await holdsNoData(ctx, email))
    ) {
      return {
        kind: 'continue',
        step: 'start',
        data: { answered: { ...answered, [unit]: [] }, confirmed: [...confirmedOf(task.state.data), unit] },
        evidence: {
          recovery: `answer to ${String(intent.detail.query)} lost; the access queries find no data left, so it was not sent again`,
        },
      };
    }
    return {
      kind: 'continue',
      step: 'start',
      data: { answered },
      evidence: {
        recovery: `answer to ${String(intent.detail.query)} lost; only that query sent again (idempotent by the DataGrail contract)`,
      },
    };
  },
  async cancel(_ctx, task): Promise<StepResult> {
    return cancelled(task);
  },
  async healthCheck(ctx) {
    const tests = queriesOf(ctx.spec.connection, 'test');
    const credentials = ctx.secrets.credentials;
    checkTemplates(tests, ['credentials'], credentials !== undefined);
    const b = budget(ctx, 'test');
    for (const [i, q] of tests.entries()) {
      const unhealthy = (problem: string, cause?: unknown) =>
        apiProxyErrors.error(
          'APIPROXY_UNHEALTHY',
          { index: i, vendor: ctx.vendor, problem },
          { scope: 'vendor', cause },
        );
      let res: HttpResponse;
      try {
        res = await send(ctx, q, render(q, credentials === undefined ? {} : { credentials }), b, true);
      } catch (err) {
        throw unhealthy(`failed (${(err as { code?: string }).code ?? 'error'})`, err);
      }
      const status = res.status;
      const valid = q.query.valid_response_codes.includes(status);
      // A web server's answer at a wrong URL is a configuration error: the pass's tasks stall.
      if ((!valid && (status === 404 || status === 405)) || isHtml(res))
        throw apiProxyErrors.error('APIPROXY_ENDPOINT_NOT_FOUND', { label: q.label, status });
      if (!valid) throw unhealthy(`answered status ${status}`);
    }
  },
};

/** Keeps no state between calls: every controller shares the one constant. */
export const apiProxy = defineDriver('apiproxy', () => apiProxyDriver);
