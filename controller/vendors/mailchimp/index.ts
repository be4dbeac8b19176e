import { MailchimpSpec } from '../../../specs/index.ts';
import {
  REBUILT_INTENT,
  type Driver,
  type DriverContext,
  type OpenIntent,
  type StepResult,
  type TaskData,
  type TaskInput,
} from '../../contracts/driver.ts';
import { writeExport } from '../../exports/index.ts';
import { defineDriver } from '../define.ts';
import { confirmList, deletePermanent, lookupMember } from './api.ts';
import { mailchimpErrors } from './errors.ts';

/**
 * Mailchimp Marketing API 3.0 (README.md), one audience per connection.
 *   erasure: start  -> look every subject email up in the audience (GET member)
 *            delete -> POST .../actions/delete-permanent per member found (journaled
 *                      intent each); 204 is the proof; a 404 is looked up again
 *   access:  start  -> GET member per email; the answers are the export
 * Nothing found: the audience itself is looked up first (a missing list answers 404 too),
 * then NoDataHeld. Recovery: a lost delete answer is resolved by looking the member up
 * (absent: gone; present: the delete did not happen, it is sent again).
 * `data` holds indexes into the subject's emails, never an email or its hash.
 */

type Ctx = DriverContext<'mailchimp'>;

interface ErasureData {
  /** Indexes of subject emails still to delete. */
  todo: number[];
  /** Deletes answered 204. */
  deleted: number;
  /** Members found, then absent after a 404 or a lost answer to their delete. */
  absent: number;
}

const indexes = (v: unknown): number[] =>
  Array.isArray(v) ? v.filter((i): i is number => Number.isInteger(i) && i >= 0) : [];

function readData(task: TaskInput): ErasureData {
  const d = task.state.data;
  return { todo: indexes(d.todo), deleted: Number(d.deleted ?? 0), absent: Number(d.absent ?? 0) };
}

const toData = (d: ErasureData): TaskData => ({ todo: d.todo, deleted: d.deleted, absent: d.absent });

/** Nobody in the audience under any subject email: proven only once the audience itself answered. */
async function nobodyFound(ctx: Ctx, task: TaskInput, rebuilt: boolean): Promise<StepResult> {
  await confirmList(ctx);
  const evidence = {
    lookup: `GET member answered 404 (problem+json) for ${task.subject.emails.length} subject emails; audience ${ctx.spec.listId} exists`,
  };
  // After a rebuilt journal the task had got past `start`, so members had been found: gone now.
  if (rebuilt)
    return {
      kind: 'completed',
      outcome: 'Erased',
      data: {},
      evidence: { ...evidence, recovery: 'journal rebuilt; every member found earlier is absent' },
    };
  return { kind: 'completed', outcome: 'NoDataHeld', data: {}, evidence };
}

async function findMembers(ctx: Ctx, task: TaskInput): Promise<number[]> {
  const found: number[] = [];
  for (const [i, email] of task.subject.emails.entries()) if ((await lookupMember(ctx, email)).present) found.push(i);
  return found;
}

function erased(d: ErasureData): StepResult {
  return {
    kind: 'completed',
    outcome: 'Erased',
    data: {},
    evidence: { deletePermanent: `${d.deleted} answered 204`, absentAfterDelete: String(d.absent) },
  };
}

async function startErasure(ctx: Ctx, task: TaskInput, rebuilt: boolean): Promise<StepResult> {
  const todo = await findMembers(ctx, task);
  if (todo.length === 0) return nobodyFound(ctx, task, rebuilt);
  return { kind: 'continue', step: 'delete', data: toData({ todo, deleted: 0, absent: 0 }), checkAfterMs: 0 };
}

/**
 * One permanent delete per member found, in order; each result is kept in `d` before the
 * next call. A 404 on the delete is only "gone" once the member lookup agrees.
 */
async function deleteMembers(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const d = readData(task);
  while (d.todo.length > 0) {
    const index = d.todo[0]!;
    const email = task.subject.emails[index];
    if (email === undefined) {
      d.todo.shift();
      continue;
    }
    const answer = await ctx.intent('delete-permanent', { index }, () => deletePermanent(ctx, email));
    if (answer === 'absent') {
      if ((await lookupMember(ctx, email)).present)
        throw mailchimpErrors.error('MAILCHIMP_DELETE_NOT_CONFIRMED', { request: task.request, index });
      d.absent++;
    } else d.deleted++;
    d.todo.shift();
  }
  return erased(d);
}

async function access(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const members: unknown[] = [];
  for (const email of task.subject.emails) {
    const found = await lookupMember(ctx, email);
    if (found.present) members.push(found.raw);
  }
  if (members.length === 0) return nobodyFound(ctx, task, false);
  const files = members.map((member, i) => ({
    name: `member_${i + 1}.json`,
    content: Buffer.from(`${JSON.stringify(member, null, 2)}\n`),
  }));
  const index = await writeExport(await ctx.exportDir(task.request), files, ctx.now());
  return {
    kind: 'completed',
    outcome: 'Exported',
    data: {},
    evidence: { members: String(index.files.length), source: `GET member, audience ${ctx.spec.listId}` },
  };
}

/**
 * A lost answer to a permanent delete: the member lookup says what happened. Absent: the
 * delete (or someone) removed it. Present: it did not happen, and it is sent again.
 */
async function recover(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  if (intent.name === REBUILT_INTENT) {
    if (task.action === 'access') return access(ctx, task);
    return startErasure(ctx, task, task.state.step !== 'start');
  }
  const d = readData(task);
  const index = Number(intent.detail.index);
  const email = task.subject.emails[index];
  if (email !== undefined && !(await lookupMember(ctx, email)).present) {
    d.todo = d.todo.filter((i) => i !== index);
    d.absent++;
  }
  if (d.todo.length === 0) return erased(d);
  return { kind: 'continue', step: 'delete', data: toData(d), checkAfterMs: 0 };
}

export function createMailchimpDriver(): Driver<'mailchimp'> {
  return {
    type: 'mailchimp',
    actions: ['erasure', 'access'],
    // Mailchimp documents no request rate, only 10 simultaneous connections per account
    // (spec.concurrency, at most 10): this window is an assumption (README.md).
    defaultRateLimits: () => [{ limit: 10, perSeconds: 1 }],
    identifierKeys: [],
    errors: mailchimpErrors.table,
    async step(ctx, task) {
      if (task.action === 'access') return access(ctx, task);
      if (task.action !== 'erasure')
        throw mailchimpErrors.error('MAILCHIMP_UNSUPPORTED_ACTION', { request: task.request, action: task.action });
      if (task.state.step === 'delete') return deleteMembers(ctx, task);
      return startErasure(ctx, task, false);
    },
    recover,
    healthCheck: confirmList,
    configSchema: MailchimpSpec,
  };
}

export const mailchimp = defineDriver('mailchimp', createMailchimpDriver);
