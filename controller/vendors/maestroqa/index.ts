import { MaestroQaSpec } from '../../../specs/index.ts';
import { REBUILT_INTENT } from '../../contracts/driver.ts';
import type { LetheError } from '../../errors/types.ts';
import type { Driver, DriverContext, OpenIntent, StepResult, TaskInput } from '../../contracts/driver.ts';
import { checkJob, deleteEmails, type DeepStatus, type DeleteAnswer } from './api.ts';
import { emailChunks, MAX_EMAILS, nextTodo, readData, toData, type Chunk, type MaestroData } from './data.ts';
import { maestroQaErrors } from './errors.ts';
import { defineDriver } from '../define.ts';

/**
 * MaestroQA (seed 000): erasure only. Steps:
 *   start   -> one DELETE per batch of at most 5 emails, across due requests (journaled intent)
 *   confirm -> records the operational-table confirmation as evidence
 *   poll    -> deep-delete status with a doubling wait (a daily batch at the vendor);
 *              `errored` goes back to `start` (bounded by maxSubmissions)
 * Recovery: MaestroQA has no way to look a submission up, and a second DELETE for the
 * same emails is a duplicate. An open `submit` intent therefore stalls the task with
 * MAESTROQA_SUBMISSION_UNCONFIRMED until an operator, from the MaestroQA audit log
 * (searched by the auditLabel), sets identifiers.<vendor>.jobId to the job id or "none".
 */

type Ctx = DriverContext<'maestroqa'>;
type Extra = { jobIds?: string[]; evidence?: Record<string, string>; submissions?: number };

/** MaestroQA admits one call a second: the earliest a left-over task could go anyway. */
const NEXT_CALL_MS = 1000;

const firstWait = (ctx: Ctx) => Math.round(ctx.spec.pollIntervalSeconds * 1000);

/**
 * Status answers shared by the tasks of one batched job, so they poll it once. The promise
 * is kept while the call is in flight: the executor's workers pick the job's tasks up at
 * the same moment, and without this each of them missed the cache and polled the job
 * (the drain benchmark measured ~3.7 polls per job with 4 workers). One per driver
 * instance, so per controller (see defineDriver).
 */
type StatusCache = Map<string, { status: Promise<DeepStatus>; at?: number }>;

function cachedCheck(recentChecks: StatusCache, ctx: Ctx, id: string): Promise<DeepStatus> {
  const key = `${ctx.vendor}\u0000${id}`;
  const now = ctx.now().getTime();
  const hit = recentChecks.get(key);
  if (hit && (hit.at === undefined || now - hit.at < firstWait(ctx) / 2)) return hit.status;
  if (recentChecks.size > 10_000) recentChecks.clear();
  const entry: { status: Promise<DeepStatus>; at?: number } = { status: checkJob(ctx, id) };
  recentChecks.set(key, entry);
  entry.status.then(
    () => {
      entry.at = ctx.now().getTime();
    },
    // A failed check is not an answer: the next task asks again.
    () => {
      if (recentChecks.get(key) === entry) recentChecks.delete(key);
    },
  );
  return entry.status;
}

/**
 * `Erased` only once every group has both documented proofs: the deletion call answered
 * 200 with `confirmation: true` (or an operator named the job from the audit log) and its
 * job's status check answered `completed`. MaestroQA documents no "not found" answer for
 * the deletion call, so this driver never reports `NoDataHeld`.
 */
function advance(d: MaestroData, extra: Extra = {}): StepResult {
  if (nextTodo(d) >= 0) return { kind: 'continue', step: 'start', data: toData(d), ...extra };
  if (d.chunks.some((c) => c.state === 'pending'))
    return { kind: 'continue', step: 'poll', data: toData(d), checkAfterMs: d.waitMs, ...extra };
  const jobs = d.chunks.map((c) => c.job).join(', ');
  const evidence = { deepDeletion: `GET /data-deletion-check: status "completed" (job ${jobs})` };
  return {
    kind: 'completed',
    outcome: 'Erased',
    data: toData(d),
    ...extra,
    evidence: { ...extra.evidence, ...evidence },
  };
}

function erroredFailure(d: MaestroData, c: Chunk, submissions: number, why: string): StepResult {
  return {
    kind: 'failed',
    code: 'MAESTROQA_DEEP_DELETE_ERRORED',
    message: `deep-delete job ${c.job ?? '?'} errored; ${submissions} submissions made (${why})`,
    data: toData(d),
  };
}

function recordAnswer(
  ctx: Ctx,
  task: TaskInput,
  d: MaestroData,
  k: number,
  answer: DeleteAnswer,
  auditLabel: string,
): StepResult {
  const c = d.chunks[k]!;
  const evidence = { auditLabel };
  c.state = 'pending';
  c.job = answer.id;
  c.tries++;
  d.waitMs = firstWait(ctx);
  const step = nextTodo(d) >= 0 ? 'start' : 'confirm';
  return {
    kind: 'continue',
    step,
    data: toData(d),
    jobIds: [answer.id],
    submissions: task.state.submissions + 1,
    evidence,
  };
}

/** Packs the due groups of emails into one call of at most 5 emails; the rest wait a slot. */
async function submitBatch(ctx: Ctx, tasks: TaskInput[]): Promise<StepResult[]> {
  const results: StepResult[] = new Array(tasks.length);
  const picks: { i: number; d: MaestroData; k: number; emails: string[] }[] = [];
  let count = 0;
  tasks.forEach((task, i) => {
    const d = readData(task, firstWait(ctx));
    const k = nextTodo(d);
    const emails = k < 0 ? undefined : emailChunks(task.subject.emails)[k];
    if (k < 0) results[i] = advance(d);
    // Withdrawn (or emails removed): nothing left that may be sent.
    else if (!emails) results[i] = { kind: 'completed', outcome: 'Cancelled', data: toData(d) };
    else if (count + emails.length > MAX_EMAILS)
      results[i] = { kind: 'continue', step: 'start', checkAfterMs: NEXT_CALL_MS };
    else {
      picks.push({ i, d, k, emails });
      count += emails.length;
    }
  });
  if (picks.length === 0) return results;
  const requests = picks.map((p) => tasks[p.i]!.request);
  const auditLabel = `lethe:${requests.join(',')}`;
  const detail = { requests, chunks: picks.map((p) => p.k), auditLabel };
  const answer = await ctx.intent('submit', detail, () =>
    deleteEmails(
      ctx,
      picks.flatMap((p) => p.emails),
      auditLabel,
    ),
  );
  ctx.log.info('maestroqa deletion submitted', { requests, job: answer.id });
  for (const p of picks) results[p.i] = recordAnswer(ctx, tasks[p.i]!, p.d, p.k, answer, auditLabel);
  return results;
}

/** Reached only after a deletion call answered `confirmation: true` (deleteEmails throws otherwise). */
function confirm(ctx: Ctx, task: TaskInput): StepResult {
  const d = readData(task, firstWait(ctx));
  return advance(d, { evidence: { operationalDeletion: 'DELETE /data-deletion-request: 200, confirmation true' } });
}

/** identifiers.<vendor>.jobId, when an operator set it and it was not acted on yet. */
function operatorDecision(task: TaskInput, d: MaestroData): { kind: 'none' | 'job'; value: string } | undefined {
  const value = task.subject.identifiers.jobId?.trim();
  if (!value || d.used.includes(value) || d.chunks.some((c) => c.job === value)) return undefined;
  return { kind: value.toLowerCase() === 'none' ? 'none' : 'job', value };
}

/** Applies an operator's decision to group k, or returns undefined when there is none. */
function applyDecision(task: TaskInput, d: MaestroData, k: number): StepResult | undefined {
  const decision = operatorDecision(task, d);
  if (!decision) return undefined;
  const c = d.chunks[k]!;
  d.used.push(decision.value);
  if (decision.kind === 'none') {
    c.state = 'todo';
    c.job = null;
    return advance(d, { evidence: { operatorDecision: 'resubmit' } });
  }
  c.state = 'pending';
  c.job = decision.value;
  c.tries = Math.max(1, c.tries);
  return {
    kind: 'continue',
    step: 'poll',
    data: toData(d),
    checkAfterMs: 0,
    jobIds: [decision.value],
    submissions: Math.max(1, task.state.submissions),
    evidence: { operationalDeletion: 'confirmed by operator (audit log)' },
  };
}

async function poll(recentChecks: StatusCache, ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const d = readData(task, firstWait(ctx));
  let pending = false;
  for (const [k, c] of d.chunks.entries()) {
    if (c.state !== 'pending' || !c.job) continue;
    const status = await cachedCheck(recentChecks, ctx, c.job);
    if (status === 'completed') c.state = 'done';
    else if (status === 'pending') pending = true;
    else if (status === 'errored') {
      if (c.tries >= ctx.spec.maxSubmissions)
        return erroredFailure(d, c, task.state.submissions, `bound of ${ctx.spec.maxSubmissions} reached`);
      if (task.subject.emails.length === 0)
        return erroredFailure(d, c, task.state.submissions, 'request withdrawn, not resubmitted');
      ctx.log.warn('maestroqa deep delete errored; resubmitting', { request: task.request, job: c.job });
      c.state = 'todo';
    } else {
      const job = c.job;
      const decided = applyDecision(task, d, k);
      if (decided) return decided;
      throw maestroQaErrors.error('MAESTROQA_JOB_NOT_FOUND', { request: task.request, jobId: job });
    }
  }
  if (pending) d.waitMs = Math.min(d.waitMs * 2, Math.round(ctx.spec.maxPollIntervalSeconds * 1000));
  return advance(d);
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.map(String) : [];
}

function unconfirmed(task: TaskInput, auditLabel: string): LetheError {
  return maestroQaErrors.error('MAESTROQA_SUBMISSION_UNCONFIRMED', { request: task.request, auditLabel });
}

/** Journal lost: resume from the job ids git recorded (the last one of a group is current). */
function rebuild(ctx: Ctx, task: TaskInput, intent: OpenIntent): StepResult {
  const ids = strings(intent.detail.jobIds);
  const d = readData({ ...task, state: { ...task.state, data: {} } }, firstWait(ctx));
  if (ids.length === 0) {
    if (task.state.step === 'start' && task.state.submissions === 0) return advance(d);
    const decided = applyDecision(task, d, 0);
    if (decided) return decided;
    throw unconfirmed(task, 'unknown: journal rebuilt');
  }
  const groups = task.subject.emails.length > 0 ? d.chunks.length : ids.length;
  if (groups === 1) d.chunks = [{ state: 'pending', job: ids[ids.length - 1]!, tries: ids.length }];
  else if (ids.length === groups) d.chunks = ids.map((job) => ({ state: 'pending', job, tries: 1 }));
  else {
    throw maestroQaErrors.error('MAESTROQA_REBUILD_AMBIGUOUS', {
      request: task.request,
      jobs: ids.length,
      chunks: groups,
    });
  }
  return {
    kind: 'continue',
    step: 'poll',
    data: toData(d),
    checkAfterMs: 0,
    submissions: Math.max(task.state.submissions, ids.length),
  };
}

function recover(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  if (intent.name === REBUILT_INTENT) return Promise.resolve(rebuild(ctx, task, intent));
  const d = readData(task, firstWait(ctx));
  const idx = strings(intent.detail.requests).indexOf(task.request);
  // The intent names every task of the batch; this one did not fit into that call.
  if (idx < 0) return Promise.resolve({ kind: 'continue', step: task.state.step, data: toData(d) });
  const k = Number(strings(intent.detail.chunks)[idx] ?? 0);
  const decided = d.chunks[k] ? applyDecision(task, d, k) : undefined;
  if (decided) return Promise.resolve(decided);
  return Promise.reject(unconfirmed(task, String(intent.detail.auditLabel ?? '')));
}

export function createMaestroQaDriver(): Driver<'maestroqa'> {
  const recentChecks: StatusCache = new Map();
  return {
    type: 'maestroqa',
    actions: ['erasure'],
    defaultRateLimits: () => [
      { limit: 1, perSeconds: 1 },
      { limit: 30, perSeconds: 60 },
    ],
    identifierKeys: ['jobId'],
    errors: maestroQaErrors.table,
    batch: { step: 'start', max: MAX_EMAILS },
    async step(ctx, task) {
      if (task.state.step === 'start') return (await submitBatch(ctx, [task]))[0]!;
      if (task.state.step === 'confirm') return confirm(ctx, task);
      return poll(recentChecks, ctx, task);
    },
    stepBatch: submitBatch,
    recover,
    configSchema: MaestroQaSpec,
  };
}

export const maestroQa = defineDriver('maestroqa', createMaestroQaDriver);
