import type { DriverContext, StepResult, TaskData, TaskInput } from '../../contracts/driver.ts';
import { getJob, lookupUser } from './api.ts';
import { answerHubErrors } from './errors.ts';

type Ctx = DriverContext<'answerhub'>;

/** After the scheduled time, before the first look: a job needs a moment to run. */
export const MARGIN_MS = 5_000;
export const FIRST_POLL_MS = 10_000;
export const MAX_POLL_MS = 10 * 60_000;
/** Looks at the user after a lost schedule answer before asking an operator. */
export const CONFIRM_TRIES = 3;

const num = (v: unknown, fallback: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : fallback);

/**
 * When to look again: at the scheduled time plus a margin while it is ahead, then at
 * growing intervals. Also returns the next interval to store.
 */
export function pollDelay(
  nowMs: number,
  slotIso: unknown,
  intervalMs: number,
): { checkAfterMs: number; nextIntervalMs: number } {
  const slot = typeof slotIso === 'string' ? Date.parse(slotIso) : NaN;
  if (Number.isFinite(slot) && slot > nowMs)
    return { checkAfterMs: slot - nowMs + MARGIN_MS, nextIntervalMs: intervalMs };
  return { checkAfterMs: intervalMs, nextIntervalMs: Math.min(intervalMs * 2, MAX_POLL_MS) };
}

/** The poll step: the job's state decides; pending jobs are looked at again later. */
export async function poll(
  ctx: Ctx,
  task: TaskInput,
  extra: { data?: TaskData; evidence?: Record<string, string> } = {},
): Promise<StepResult> {
  const data = { ...task.state.data, ...extra.data };
  const now = ctx.now().getTime();
  // Cancel actions of withdrawn tasks come every pass, whatever nextCheckAt said.
  const due = num(data.nextPollAt, 0);
  if (due > now)
    return {
      kind: 'continue',
      step: 'poll',
      data,
      checkAfterMs: due - now,
      ...(extra.evidence ? { evidence: extra.evidence } : {}),
    };
  const jobId = String(data.jobId);
  const job = await getJob(ctx, jobId);
  if (job.finished) {
    const { nextPollAt: _n, pollIntervalMs: _p, ...rest } = data;
    return {
      kind: 'completed',
      outcome: 'Erased',
      data: rest,
      jobIds: [jobId],
      evidence: { ...extra.evidence, jobStatus: 'finished', ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}) },
    };
  }
  const { checkAfterMs, nextIntervalMs } = pollDelay(now, data.slot, num(data.pollIntervalMs, FIRST_POLL_MS));
  return {
    kind: 'continue',
    step: 'poll',
    data: { ...data, pollIntervalMs: nextIntervalMs, nextPollAt: now + checkAfterMs },
    checkAfterMs,
    ...(extra.evidence ? { evidence: extra.evidence } : {}),
  };
}

/** Operations after which the subject's email no longer finds a user. */
export function removesEmail(operation: unknown): boolean {
  return operation === 'delete' || operation === 'anon-delete' || operation === 'anonymize';
}

export function unconfirmed(task: TaskInput, operation: unknown, slot: unknown): Error {
  return answerHubErrors.error('ANSWERHUB_SCHEDULE_UNCONFIRMED', {
    request: task.request,
    operation: typeof operation === 'string' ? operation : 'GDPR',
    slot: typeof slot === 'string' ? slot : 'an unknown time',
  });
}

/**
 * The confirm step, after a schedule whose answer was lost: the job id is unknown and the
 * plugin lists no jobs, but once the scheduled time is past an erasing job leaves no user
 * behind the subject's email. Still found after a few looks: an operator decides.
 */
export async function confirm(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const { slot, operation } = task.state.data;
  const tries = num(task.state.data.confirmTries, 0) + 1;
  if (task.subject.emails.length === 0) throw unconfirmed(task, operation, slot);
  let found = 0;
  for (const email of task.subject.emails) if ((await lookupUser(ctx, email)) !== null) found++;
  if (found === 0) {
    return {
      kind: 'completed',
      outcome: 'Erased',
      evidence: {
        jobId: 'unknown (schedule answer lost)',
        confirmedBy: 'no AnswerHub user has the subject email after the scheduled time',
      },
    };
  }
  if (tries >= CONFIRM_TRIES) throw unconfirmed(task, operation, slot);
  return {
    kind: 'continue',
    step: 'confirm',
    data: { ...task.state.data, confirmTries: tries },
    checkAfterMs: FIRST_POLL_MS * 2 ** tries,
  };
}
