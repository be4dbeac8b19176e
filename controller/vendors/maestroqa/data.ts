import type { TaskData, TaskInput } from '../../contracts/driver.ts';

/** MaestroQA takes at most 5 emails per deletion call (seed 000). */
export const MAX_EMAILS = 5;

/**
 * One group of at most 5 of the subject's emails and the job that deletes them.
 * `todo` = to submit, `pending` = job running, `done` = job completed.
 */
export interface Chunk {
  state: 'todo' | 'pending' | 'done';
  job: string | null;
  /** Submissions made for this group, for the bounded re-submission after `errored`. */
  tries: number;
}

/** Task data: job ids and counters only; the emails are re-derived from the manifest. */
export interface MaestroData {
  chunks: Chunk[];
  /** Next wait before a status check, in ms. */
  waitMs: number;
  /** Operator decisions (identifiers.jobId values) already acted on: each is used once. */
  used: string[];
}

/** The subject's emails as MaestroQA matches them, in stable groups of at most 5. */
export function emailChunks(emails: readonly string[]): string[][] {
  const unique = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => e.length > 0))].sort();
  const out: string[][] = [];
  for (let i = 0; i < unique.length; i += MAX_EMAILS) out.push(unique.slice(i, i + MAX_EMAILS));
  return out;
}

export function readData(task: TaskInput, firstWaitMs: number): MaestroData {
  const d = task.state.data as Partial<MaestroData>;
  if (Array.isArray(d.chunks)) {
    return { chunks: d.chunks.map((c) => ({ ...c })), waitMs: d.waitMs ?? firstWaitMs, used: [...(d.used ?? [])] };
  }
  const count = Math.max(1, emailChunks(task.subject.emails).length);
  return {
    chunks: Array.from({ length: count }, () => ({ state: 'todo', job: null, tries: 0 })),
    waitMs: firstWaitMs,
    used: [],
  };
}

export function toData(d: MaestroData): TaskData {
  return {
    chunks: d.chunks.map((c) => ({ state: c.state, job: c.job, tries: c.tries })),
    waitMs: d.waitMs,
    used: d.used,
  };
}

export function nextTodo(d: MaestroData): number {
  return d.chunks.findIndex((c) => c.state === 'todo');
}
