import { AnswerHubSpec } from '../../../specs/index.ts';
import { REBUILT_INTENT } from '../../contracts/driver.ts';
import type { Driver, DriverContext, OpenIntent, StepResult, TaskData, TaskInput } from '../../contracts/driver.ts';
import { deleteJob } from './api.ts';
import { answerHubErrors } from './errors.ts';
import { resolveUsers, submit } from './submit.ts';
import { confirm, FIRST_POLL_MS, MARGIN_MS, poll, removesEmail, unconfirmed } from './track.ts';
import { defineDriver } from '../define.ts';

type Ctx = DriverContext<'answerhub'>;

/**
 * AnswerHub GDPR plugin (seed 004). Steps:
 *   start    look the subject up (422 = NoDataHeld) -> schedule
 *   schedule (batch step) one individual job, or a CSV upload + one bulk job for several
 *            requests -> poll
 *   poll     GET the job until finished -> Erased
 *   confirm  only after a schedule whose answer was lost (see recover)
 * Task data holds job ids, slots and counters; AnswerHub user ids are personal
 * identifiers and stay in memory, so `schedule` looks the users up again.
 */

/** The seed documents no limit: 5 calls/s is a conservative assumption. */
const DEFAULT_RATE = { limit: 5, perSeconds: 1 };

/** `identifiers.<vendor>.jobId`, an operator's answer to ANSWERHUB_SCHEDULE_UNCONFIRMED / JOB_NOT_FOUND. */
function override(ctx: Ctx, task: TaskInput): StepResult | undefined {
  const value = task.subject.identifiers.jobId?.trim();
  if (value === undefined || value === task.state.data.override) return undefined;
  if (value === 'none')
    return {
      kind: 'continue',
      step: 'schedule',
      data: { override: value },
      evidence: { operatorConfirmed: 'no job existed; scheduling anew' },
    };
  if (!/^\d+$/.test(value)) {
    throw answerHubErrors.error('ANSWERHUB_BAD_IDENTIFIER', {
      request: task.request,
      vendor: ctx.vendor,
      key: 'jobId',
      expected: 'a numeric job id or "none"',
    });
  }
  return {
    kind: 'continue',
    step: 'poll',
    data: { override: value, jobId: value, shared: 0, pollIntervalMs: FIRST_POLL_MS },
    jobIds: [value],
    submissions: Math.max(1, task.state.submissions),
    evidence: { operatorConfirmed: `job ${value} tracked` },
  };
}

function carried(task: TaskInput): TaskData {
  return task.state.data.override === undefined ? {} : { override: task.state.data.override };
}

function scheduledResult(ctx: Ctx, task: TaskInput, jobId: string, slot: Date, shared: number): StepResult {
  return {
    kind: 'continue',
    step: 'poll',
    data: {
      ...carried(task),
      jobId,
      slot: slot.toISOString(),
      shared,
      pollIntervalMs: FIRST_POLL_MS,
      nextPollAt: slot.getTime() + MARGIN_MS,
    },
    checkAfterMs: Math.max(0, slot.getTime() - ctx.now().getTime()) + MARGIN_MS,
    jobIds: [jobId],
    submissions: task.state.submissions + 1,
    evidence: {
      operation: ctx.spec.erasureOperation,
      scheduledFor: slot.toISOString(),
      ...(shared > 1 ? { bulkJob: `shared by ${shared} requests` } : {}),
    },
  };
}

const noData = (): StepResult => ({
  kind: 'completed',
  outcome: 'NoDataHeld',
  evidence: { lookup: 'ANSWERHUB_USER_NOT_FOUND' },
});

async function step(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  if (task.action !== 'erasure') {
    throw answerHubErrors.error('ANSWERHUB_UNSUPPORTED_ACTION', { request: task.request, action: task.action });
  }
  const o = override(ctx, task);
  if (o) return o;
  switch (task.state.step) {
    case 'start': {
      const users = await resolveUsers(ctx, task);
      if (users.length === 0) return noData();
      // Wait for the next pass, where requests due together meet at the batch step.
      return { kind: 'continue', step: 'schedule', data: { ...carried(task), users: users.length }, checkAfterMs: 0 };
    }
    case 'schedule':
      return (await scheduleAll(ctx, [task]))[0]!;
    case 'poll':
      return poll(ctx, task);
    case 'confirm':
      return confirm(ctx, task);
    default:
      throw unconfirmed(task, undefined, undefined);
  }
}

/** One job for every task handed over: individual for a single user, else bulk. */
async function scheduleAll(ctx: Ctx, tasks: TaskInput[]): Promise<StepResult[]> {
  const results: (StepResult | undefined)[] = [];
  const pending: { i: number; task: TaskInput }[] = [];
  const users = new Map<string, { id: number } | { username: string }>();
  for (const [i, given] of tasks.entries()) {
    const o = override(ctx, given);
    if (o && !(o.kind === 'continue' && o.step === 'schedule')) {
      results[i] = o;
      continue;
    }
    // An operator's "none" is recorded with the job it leads to.
    const task = o?.data ? { ...given, state: { ...given.state, data: { ...given.state.data, ...o.data } } } : given;
    const found = await resolveUsers(ctx, task);
    if (found.length === 0) results[i] = noData();
    else {
      pending.push({ i, task });
      for (const u of found) users.set(JSON.stringify(u), u);
    }
  }
  if (pending.length > 0) {
    const { jobId, slot } = await submit(
      ctx,
      pending.map((p) => p.task),
      [...users.values()],
    );
    ctx.log.info('answerhub job scheduled', {
      vendor: ctx.vendor,
      jobId,
      requests: pending.length,
      slot: slot.toISOString(),
    });
    for (const { i, task } of pending) results[i] = scheduledResult(ctx, task, jobId, slot, pending.length);
  }
  return results.map((r) => r!);
}

/**
 * After a crash between a call and its recorded answer. AnswerHub lists no jobs, so:
 * - `upload`: an unused file schedules nothing; back to `schedule` (a new upload).
 * - `schedule`: never resubmitted. If the operation removes the subject's email, look the
 *   email up after the slot (`confirm`); otherwise ANSWERHUB_SCHEDULE_UNCONFIRMED, which
 *   an operator answers with `identifiers.<vendor>.jobId` (the job's id, or "none").
 * - journal rebuilt from git: track the recorded job; no job id and possibly scheduled ->
 *   the same terminal code.
 */
async function recover(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  const o = override(ctx, task);
  if (o) return o;
  const { detail } = intent;
  if (intent.name === 'upload') return { kind: 'continue', step: 'schedule', data: carried(task) };
  if (intent.name === REBUILT_INTENT) {
    const jobIds = Array.isArray(detail.jobIds) ? detail.jobIds.filter((j): j is string => typeof j === 'string') : [];
    const jobId = jobIds.at(-1);
    // Sharing is unknown after a rebuild: shared 0 keeps a withdrawal from cancelling it.
    if (jobId)
      return {
        kind: 'continue',
        step: 'poll',
        data: { jobId, shared: 0, pollIntervalMs: FIRST_POLL_MS },
        jobIds: [jobId],
      };
    if (task.state.step === 'start') return { kind: 'continue', step: 'start', data: {} };
    throw unconfirmed(task, ctx.spec.erasureOperation, undefined);
  }
  const byIdentifier = task.subject.identifiers.userId !== undefined || task.subject.identifiers.username !== undefined;
  if (intent.name === 'schedule' && removesEmail(detail.operation) && task.subject.emails.length > 0 && !byIdentifier) {
    const slot = typeof detail.slot === 'string' ? Date.parse(detail.slot) : NaN;
    const wait = Number.isFinite(slot) ? Math.max(0, slot - ctx.now().getTime()) : 0;
    return {
      kind: 'continue',
      step: 'confirm',
      data: { ...carried(task), slot: detail.slot ?? null, operation: detail.operation ?? null, confirmTries: 0 },
      checkAfterMs: wait + MARGIN_MS,
      submissions: task.state.submissions + 1,
      evidence: { scheduleAnswer: 'lost; confirming by user lookup after the slot' },
    };
  }
  throw unconfirmed(task, detail.operation, detail.slot);
}

/**
 * A withdrawn request. Its own pending job is deleted; a bulk job (or one whose sharing is
 * unknown) is left alone, since deleting it would drop the other requests' subjects: the
 * task is tracked to the job's end and its evidence says the withdrawal came too late.
 */
async function cancel(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const data = task.state.data;
  switch (task.state.step) {
    case 'start':
    case 'schedule':
      return { kind: 'completed', outcome: 'Cancelled', evidence: { withdrawal: 'before any job was scheduled' } };
    case 'poll':
      break;
    default:
      throw unconfirmed(task, data.operation, data.slot);
  }
  if (data.withdrawal !== undefined) return poll(ctx, task);
  const jobId = String(data.jobId);
  if (data.shared !== 1) {
    const why = 'not cancelled: the job is shared with other requests (or its sharing is unknown)';
    return poll(ctx, task, { data: { withdrawal: 'shared-job' }, evidence: { withdrawal: why } });
  }
  const answer = await deleteJob(ctx, jobId);
  if (answer === 'deleted')
    return {
      kind: 'completed',
      outcome: 'Cancelled',
      jobIds: [jobId],
      evidence: { withdrawal: `job ${jobId} deleted before it ran` },
    };
  if (answer === 'ANSWERHUB_JOB_NOT_FOUND')
    return {
      kind: 'completed',
      outcome: 'Cancelled',
      evidence: { withdrawal: `job ${jobId} no longer existed (ANSWERHUB_JOB_NOT_FOUND)` },
    };
  ctx.log.info('answerhub job already ran; tracking it to the end', { vendor: ctx.vendor, jobId, code: answer });
  return poll(ctx, task, {
    data: { withdrawal: 'too-late' },
    evidence: { withdrawal: 'too late: the job already ran or was running (ANSWERHUB_JOB_ALREADY_RAN)' },
  });
}

export const answerHubDriver: Driver<'answerhub'> = {
  type: 'answerhub',
  actions: ['erasure'],
  defaultRateLimits: () => [DEFAULT_RATE],
  identifierKeys: ['userId', 'username', 'jobId'],
  errors: answerHubErrors.table,
  batch: { step: 'schedule', max: 100 },
  step,
  stepBatch: scheduleAll,
  recover,
  cancel,
  configSchema: AnswerHubSpec,
};

/** Keeps no state between calls: every controller shares the one constant. */
export const answerHub = defineDriver('answerhub', () => answerHubDriver);
