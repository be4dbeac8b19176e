import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import { z } from 'zod';
import { ApprovalEvidence, VENDOR_PHASES } from '../specs/index.ts';

const Json: z.ZodType<unknown> = z.json();

export const TaskRecord = z.object({
  request: z.string(),
  vendor: z.string(),
  action: z.enum(['erasure', 'access', 'optout']),
  phase: z.enum(VENDOR_PHASES),
  step: z.string(),
  /** Driver data: vendor ids only, never personal data (the privacy scan reads this file). */
  data: z.record(z.string(), Json),
  submissions: z.int().min(0),
  /** Consecutive failed attempts of the current step: drives the per-task backoff. */
  attempts: z.int().min(0),
  jobIds: z.array(z.string()),
  evidence: z.record(z.string(), z.string()),
  outcome: z.string().optional(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  /** Epoch ms before which the task is not looked at again. */
  nextCheckAt: z.number().optional(),
  lastError: z.object({ code: z.string(), message: z.string() }).optional(),
  /**
   * The spec and vendor-config fingerprints a Stalled task stalled under: it is requeued
   * only when one of them changes (Kubernetes' terminal-error convention).
   */
  stalledOn: z.string().optional(),
  /** Set when the request's manifest disappeared from the repository. */
  withdrawn: z.boolean().optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/** An intent journaled before a non-idempotent call; removed once its answer is recorded. */
export const IntentRecord = z.object({
  tasks: z.array(z.string()),
  vendor: z.string(),
  name: z.string(),
  detail: z.record(z.string(), Json),
  at: z.string(),
});
export type IntentRecord = z.infer<typeof IntentRecord>;

export const ApprovalCacheEntry = z.object({ blob: z.string(), evidence: ApprovalEvidence });

export const JournalData = z.object({
  version: z.literal(1),
  /** The commit the last completed pass reconciled (including the controller's own status commit). */
  lastCommit: z.string().optional(),
  tasks: z.record(z.string(), TaskRecord),
  intents: z.record(z.string(), IntentRecord),
  /** Approval evidence per manifest path, valid while the blob is unchanged. */
  approvals: z.record(z.string(), ApprovalCacheEntry),
  /** Vendors whose health check or credentials failed: their requests wait. */
  degraded: z.record(z.string(), z.object({ code: z.string(), since: z.string(), retryAt: z.number(), message: z.string().optional() })),
});
export type JournalData = z.infer<typeof JournalData>;

const empty = (): JournalData => ({ version: 1, tasks: {}, intents: {}, approvals: {}, degraded: {} });

/**
 * The journal is written many times a pass, and with thousands of requests most of it is
 * unchanged each time. Task records and approval entries change only through the Journal's
 * methods, which keep each one's JSON fragment up to date, so a write is a join of cached
 * fragments instead of a serialisation of everything.
 */
class Fragments {
  readonly tasks = new Map<string, string>();
  readonly approvals = new Map<string, string>();

  static of(data: JournalData): Fragments {
    const f = new Fragments();
    for (const [k, v] of Object.entries(data.tasks)) f.set(f.tasks, k, v);
    for (const [k, v] of Object.entries(data.approvals)) f.set(f.approvals, k, v);
    return f;
  }

  set(map: Map<string, string>, key: string, value: object): void {
    map.set(key, `${JSON.stringify(key)}:${JSON.stringify(value)}`);
  }

  stringify(d: JournalData): string {
    const head = d.lastCommit === undefined ? '' : `"lastCommit":${JSON.stringify(d.lastCommit)},`;
    return (
      `{"version":${d.version},${head}"tasks":{${[...this.tasks.values()].join(',')}},"intents":${JSON.stringify(d.intents)},` +
      `"approvals":{${[...this.approvals.values()].join(',')}},"degraded":${JSON.stringify(d.degraded)}}\n`
    );
  }
}

export function taskKey(request: string, vendor: string): string {
  return `${request}/${vendor}`;
}

/**
 * The controller's private memory, outside the repository: tasks, intents and caches.
 * lowdb's JSONFile writes through a temporary file and a rename, so a crash leaves
 * either the old or the new file, never half of one. Writes are coalesced: callers
 * that flush while a write is running share the next one.
 */
export class Journal {
  private constructor(
    private readonly db: Low<JournalData>,
    readonly path: string,
    /** True when no journal existed: the caller rebuilds from status/ in git. */
    readonly fresh: boolean,
    private readonly fragments: Fragments,
  ) {}

  static async open(path: string): Promise<Journal> {
    await mkdir(dirname(path), { recursive: true });
    let fragments = new Fragments();
    const adapter = new DataFile<JournalData>(path, { parse: JSON.parse, stringify: (d) => fragments.stringify(d) });
    const db = new Low<JournalData>(adapter, empty());
    await db.read();
    const parsed = JournalData.safeParse(db.data);
    if (!parsed.success) {
      throw new Error(`journal ${path} is not readable: ${z.prettifyError(parsed.error).split('\n')[0]}`);
    }
    const fresh = db.data === null || Object.keys(parsed.data.tasks).length === 0 && parsed.data.lastCommit === undefined;
    db.data = parsed.data;
    for (const t of Object.values(db.data.tasks)) Object.freeze(t);
    for (const a of Object.values(db.data.approvals)) Object.freeze(a);
    fragments = Fragments.of(db.data);
    return new Journal(db, path, fresh, fragments);
  }

  get data(): JournalData {
    return this.db.data;
  }

  task(key: string): TaskRecord | undefined {
    return this.db.data.tasks[key];
  }

  /** Records are replaced, never edited: they are frozen so an edit in place fails loudly. */
  putTask(task: TaskRecord): void {
    const key = taskKey(task.request, task.vendor);
    this.db.data.tasks[key] = Object.freeze(task);
    this.fragments.set(this.fragments.tasks, key, task);
  }

  deleteTask(key: string): void {
    delete this.db.data.tasks[key];
    this.fragments.tasks.delete(key);
  }

  /** Approval evidence of one manifest, valid while its blob (and the policy) is unchanged. */
  putApproval(path: string, entry: z.infer<typeof ApprovalCacheEntry>): void {
    this.db.data.approvals[path] = Object.freeze(entry);
    this.fragments.set(this.fragments.approvals, path, entry);
  }

  deleteApproval(path: string): void {
    delete this.db.data.approvals[path];
    this.fragments.approvals.delete(path);
  }

  /** Journals an intent and waits until it is on disk: only then may the call be sent. */
  async openIntent(id: string, intent: IntentRecord): Promise<void> {
    this.db.data.intents[id] = intent;
    await this.flush();
  }

  /** Forgets an intent; the caller flushes together with the task's new state. */
  closeIntent(id: string): void {
    delete this.db.data.intents[id];
    this.intentsClosed = true;
  }

  /**
   * An answered intent was closed since the last write. Its task's new state must reach the
   * disk soon: at a vendor that cannot be asked, a crash before that write would leave the
   * intent open and stall the task for an operator, although the vendor answered.
   */
  get unsavedAnswers(): boolean {
    return this.intentsClosed;
  }

  private intentsClosed = false;

  openIntentsFor(key: string): Array<[string, IntentRecord]> {
    return Object.entries(this.db.data.intents).filter(([, i]) => i.tasks.includes(key));
  }

  /**
   * Writes the journal. Callers that flush while an earlier flush has not yet serialised
   * share it: it serialises after them, so it holds their changes too.
   */
  flush(): Promise<void> {
    this.pending ??= Promise.resolve().then(() => {
      this.pending = undefined;
      this.intentsClosed = false;
      return this.db.write();
    });
    return this.pending;
  }

  private pending: Promise<void> | undefined;
}
