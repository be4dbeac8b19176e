import type { DriverContext, TaskInput } from '../../contracts/driver.ts';
import { label, lookupUser, scheduleJob, uploadUsers, type UserRef } from './api.ts';
import { answerHubErrors, type AnswerHubCode } from './errors.ts';
import { dateField, granularityMs, nextSlot } from './slot.ts';

type Ctx = DriverContext<'answerhub'>;

/** Refusals that another slot can cure; each try provably created nothing. */
const MOVE_ON: ReadonlySet<AnswerHubCode> = new Set(['ANSWERHUB_TIMEFRAME_TAKEN', 'ANSWERHUB_DATE_NOT_ELIGIBLE']);
export const MAX_SLOT_TRIES = 8;
/** The plugin's timeframes are minutes (the sandbox's too): the next try is a minute on. */
const SLOT_STEP_MS = 60_000;

/**
 * Who the task's subject is at AnswerHub: the manifest's userId/username if given, else
 * the users found by email (none = the vendor holds no data). Held in memory only: user
 * ids are never journaled, so the scheduling step resolves them again.
 */
export async function resolveUsers(ctx: Ctx, task: TaskInput): Promise<UserRef[]> {
  const { userId, username } = task.subject.identifiers;
  const bad = (key: string, expected: string) =>
    answerHubErrors.error('ANSWERHUB_BAD_IDENTIFIER', { request: task.request, vendor: ctx.vendor, key, expected });
  if (userId !== undefined) {
    if (!/^\d+$/.test(userId.trim())) throw bad('userId', 'a numeric AnswerHub user id');
    return [{ id: Number(userId) }];
  }
  if (username !== undefined) {
    if (!username.trim() || /[\r\n,"]/.test(username))
      throw bad('username', 'a non-empty username without commas, quotes or line breaks');
    return [{ username: username.trim() }];
  }
  const ids = new Set<number>();
  for (const email of task.subject.emails) {
    const id = await lookupUser(ctx, email);
    if (id !== null) ids.add(id);
  }
  return [...ids].map((id) => ({ id }));
}

export interface Scheduled {
  jobId: string;
  slot: Date;
}

/**
 * Schedules one job for `users`: an individual job for a single user, else a bulk job over
 * an uploaded CSV. Every non-idempotent call runs inside an intent. A taken or ineligible
 * slot moves to the next allowed one, at most MAX_SLOT_TRIES times.
 */
export async function submit(ctx: Ctx, tasks: readonly TaskInput[], users: readonly UserRef[]): Promise<Scheduled> {
  const { erasureOperation: operation, dateFormat, scheduleWindow } = ctx.spec;
  const requests = tasks.map((t) => t.request);
  let target: Record<string, unknown>;
  if (users.length === 1) {
    target = { user: users[0] };
  } else {
    // An unused file schedules nothing: after a crash here the recovery uploads afresh.
    const fileId = await ctx.intent('upload', { requests, users: users.length }, () => uploadUsers(ctx, users));
    target = { fileId: Number(fileId) };
  }
  const step = granularityMs(dateFormat);
  const first = nextSlot(ctx.now(), scheduleWindow, step);
  let slot = first;
  let refusal: AnswerHubCode = 'ANSWERHUB_TIMEFRAME_TAKEN';
  for (let tries = 1; tries <= MAX_SLOT_TRIES; tries++) {
    const body = { ...target, operations: [operation], date: dateField(slot, dateFormat) };
    const detail = { requests, operation, slot: slot.toISOString() };
    const answer = await ctx.intent('schedule', detail, () => scheduleJob(ctx, body));
    if (answer.kind === 'scheduled') return { jobId: answer.jobId, slot };
    refusal = answer.code;
    if (!MOVE_ON.has(refusal)) {
      const fileId = 'fileId' in target ? String(target.fileId) : '-';
      throw answerHubErrors.error(
        refusal,
        { label: label('schedule'), fileId, vendorCode: answer.vendorCode },
        { maybeDelivered: false },
      );
    }
    ctx.log.info('answerhub slot refused; trying the next one', {
      vendor: ctx.vendor,
      code: refusal,
      requests: requests.length,
      tries,
    });
    slot = nextSlot(ctx.now(), scheduleWindow, step, new Date(slot.getTime() + SLOT_STEP_MS));
  }
  throw answerHubErrors.error(refusal, { label: label('schedule'), tries: MAX_SLOT_TRIES, slot: first.toISOString() });
}
