import { dirname } from 'node:path';
import { z } from 'zod';
import { ApprovalEvidence, VENDOR_PHASES } from '../specs/index.ts';
import type { Logger } from '../controller/contracts/log.ts';
import { moveAside, nodeFs, readState, stateErrors, step, writeDurably, type StateFs } from './files.ts';

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
  /**
   * Epoch ms of the first of the current run of transient failures: they are retried with
   * backoff until the retry window (lethe.yaml retryWindowHours) has passed since then.
   */
  failingSince: z.number().optional(),
});
export type TaskRecord = z.infer<typeof TaskRecord>;

/** An intent journaled before a non-idempotent call; removed once its answer is recorded. */
export const IntentRecord = z.object({
  tasks: z.array(z.string()),
  vendor: z.string(),
  name: z.string(),
  detail: z.record(z.string(), Json),
  at: z.string(),
  /**
   * The driver's recovery could not tell whether the vendor acted and stalled the task: the
   * intent stays for the driver to read once an operator answers (in the request's spec),
   * but nothing is planned for it until then.
   */
  needsOperator: z.boolean().optional(),
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
  degraded: z.record(
    z.string(),
    z.object({ code: z.string(), since: z.string(), retryAt: z.number(), message: z.string().optional() }),
  ),
});
export type JournalData = z.infer<typeof JournalData>;
export type DegradedEntry = JournalData['degraded'][string];

/**
 * What the rest of the controller sees of the journal: read-only. Every change goes
 * through a Journal method, which keeps the write fragments (and the revision) right.
 */
export type JournalView = {
  readonly version: 1;
  readonly lastCommit?: string;
  readonly tasks: Readonly<Record<string, TaskRecord>>;
  readonly intents: Readonly<Record<string, Readonly<IntentRecord>>>;
  readonly approvals: Readonly<Record<string, Readonly<z.infer<typeof ApprovalCacheEntry>>>>;
  readonly degraded: Readonly<Record<string, Readonly<DegradedEntry>>>;
};

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
  /** A fragment changed since the text was last taken for a write (true at first). */
  changed = true;

  static of(data: JournalData): Fragments {
    const f = new Fragments();
    for (const [k, v] of Object.entries(data.tasks)) f.set(f.tasks, k, v);
    for (const [k, v] of Object.entries(data.approvals)) f.set(f.approvals, k, v);
    return f;
  }

  set(map: Map<string, string>, key: string, value: object): void {
    const text = `${JSON.stringify(key)}:${JSON.stringify(value)}`;
    if (map.get(key) === text) return;
    map.set(key, text);
    this.changed = true;
  }

  delete(map: Map<string, string>, key: string): void {
    if (map.delete(key)) this.changed = true;
  }

  /** What is not kept as fragments, serialised whole: small (intents, degraded vendors, the last commit). */
  rest(d: JournalData): string {
    return JSON.stringify([d.version, d.lastCommit ?? null, d.intents, d.degraded]);
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
 * Every write is durable before it resolves (see writeDurably: fsync'd file and directory,
 * the previous generation kept as `journal.json.prev`), so an intent is on disk before the
 * first byte of its call is sent, even across a power loss. Writes are coalesced: callers
 * that flush while a write is running share the next one.
 */
export class Journal {
  private constructor(
    private readonly state: { data: JournalData },
    readonly path: string,
    /** True when no journal existed: the caller rebuilds from status/ in git. */
    readonly fresh: boolean,
    private readonly fragments: Fragments,
    private readonly fs: StateFs,
    /**
     * Set when the newest generation was lost and the previous one was loaded: its last
     * changes are unknown, so unfinished tasks must ask their vendor first.
     */
    readonly fellBack: boolean,
  ) {}

  /**
   * Loads the newest complete generation: `journal.json`; else, when a crash fell between
   * the two renames of a write, the complete `.tmp`; else the previous generation `.prev`.
   * An unreadable file (empty, torn, not a journal) is moved aside with a message naming
   * it; with no readable generation left the journal starts fresh and the caller rebuilds
   * from git. A journal of a newer format is refused: it is not this version's to discard.
   */
  static async open(
    path: string,
    options: { log?: Logger; fs?: StateFs; now?: () => number; readOnly?: boolean } = {},
  ): Promise<Journal> {
    const fs = options.fs ?? nodeFs;
    const now = options.now ?? Date.now;
    await step('create directory', dirname(path), () => fs.mkdir(dirname(path), { recursive: true }));
    const load = async (
      file: string,
    ): Promise<{ kind: 'missing' } | { kind: 'ok'; data: JournalData } | { kind: 'bad'; reason: string }> => {
      const c = await readState(fs, file);
      if (c.kind === 'missing') return c;
      if (c.text.trim() === '') return { kind: 'bad', reason: 'empty file' };
      let raw: unknown;
      try {
        raw = JSON.parse(c.text);
      } catch {
        // Never the parser's message: it quotes the file's content.
        return { kind: 'bad', reason: `not valid JSON, ${c.text.length} bytes (a torn write?)` };
      }
      const version = (raw as { version?: unknown } | null)?.version;
      if (typeof version === 'number' && version > 1) {
        throw stateErrors.error('JOURNAL_NEWER_VERSION', { path: file, version });
      }
      const parsed = JournalData.safeParse(raw);
      if (!parsed.success)
        return {
          kind: 'bad',
          reason: `not a journal: ${parsed.error.issues.length} schema problems, first at ${parsed.error.issues[0]?.path.join('.') || '(root)'}`,
        };
      return { kind: 'ok', data: parsed.data };
    };
    const main = await load(path);
    let data: JournalData | undefined;
    let fellBack = false;
    if (main.kind === 'ok') data = main.data;
    else {
      if (main.kind === 'bad') {
        // A read-only command (lethe plan) reports the damage and leaves the file to the controller.
        const aside = options.readOnly ? '(left in place: read-only)' : await moveAside(fs, path, now());
        options.log?.error('journal unreadable; moved aside', {
          code: 'JOURNAL_UNREADABLE',
          path,
          reason: main.reason,
          aside,
        });
      }
      const tmp = main.kind === 'missing' ? await load(`${path}.tmp`) : undefined;
      if (tmp?.kind === 'ok') {
        // The crash fell between the two renames of a write: this is the newest generation, complete.
        data = tmp.data;
        options.log?.info('journal resumed from its last complete write', { path: `${path}.tmp` });
      } else if (main.kind === 'bad') {
        // Only a damaged file falls back: a journal that is gone was removed on purpose (or
        // with its disk), and is rebuilt from git; its stale `.prev` is dropped by the next write.
        const prev = await load(`${path}.prev`);
        if (prev.kind === 'ok') {
          data = prev.data;
          fellBack = true;
          options.log?.warn('journal resumed from the previous generation', {
            code: 'JOURNAL_PREVIOUS_GENERATION',
            path,
            previous: `${path}.prev`,
          });
        } else if (prev.kind === 'bad') {
          const aside = options.readOnly ? '(left in place: read-only)' : await moveAside(fs, `${path}.prev`, now());
          options.log?.error('previous journal generation unreadable too; moved aside, rebuilding from git', {
            code: 'JOURNAL_UNREADABLE',
            path: `${path}.prev`,
            reason: prev.reason,
            aside,
          });
        }
      }
    }
    const fresh = data === undefined || (Object.keys(data.tasks).length === 0 && data.lastCommit === undefined);
    const state = { data: data ?? empty() };
    for (const t of Object.values(state.data.tasks)) Object.freeze(t);
    for (const a of Object.values(state.data.approvals)) Object.freeze(a);
    return new Journal(state, path, fresh, Fragments.of(state.data), fs, fellBack);
  }

  get data(): JournalView {
    return this.state.data;
  }

  /** The commit the last completed pass reconciled. */
  setLastCommit(sha: string): void {
    this.state.data.lastCommit = sha;
  }

  /**
   * Replaces an open intent without waiting for the disk (the caller flushes): for
   * narrowing one to its unanswered tasks, marking it for an operator, or reopening tasks
   * after a rebuild, none of which allows a call by itself.
   */
  putIntent(id: string, intent: IntentRecord): void {
    this.state.data.intents[id] = intent;
  }

  /** Marks a vendor connection degraded (its requests wait until `retryAt`). */
  setDegraded(vendor: string, entry: DegradedEntry): void {
    this.state.data.degraded[vendor] = entry;
  }

  /** The vendor's connection works again; returns what it was degraded with, if it was. */
  clearDegraded(vendor: string): DegradedEntry | undefined {
    const was = this.state.data.degraded[vendor];
    delete this.state.data.degraded[vendor];
    return was;
  }

  task(key: string): TaskRecord | undefined {
    return this.state.data.tasks[key];
  }

  /** Records are replaced, never edited: they are frozen so an edit in place fails loudly. */
  putTask(task: TaskRecord): void {
    this.revision++;
    const key = taskKey(task.request, task.vendor);
    this.state.data.tasks[key] = Object.freeze(task);
    this.fragments.set(this.fragments.tasks, key, task);
  }

  deleteTask(key: string): void {
    delete this.state.data.tasks[key];
    this.fragments.delete(this.fragments.tasks, key);
  }

  /** Approval evidence of one manifest, valid while its blob (and the policy) is unchanged. */
  putApproval(path: string, entry: z.infer<typeof ApprovalCacheEntry>): void {
    this.state.data.approvals[path] = Object.freeze(entry);
    this.fragments.set(this.fragments.approvals, path, entry);
  }

  deleteApproval(path: string): void {
    delete this.state.data.approvals[path];
    this.fragments.delete(this.fragments.approvals, path);
  }

  /** Journals an intent and waits until it is on disk: only then may the call be sent. */
  async openIntent(id: string, intent: IntentRecord): Promise<void> {
    this.state.data.intents[id] = intent;
    try {
      await this.flush();
    } catch (err) {
      // Not durable, so the call is not sent: an intent left behind would later read as
      // "maybe sent" and stall a vendor that cannot be asked, for a call that never left.
      delete this.state.data.intents[id];
      throw err;
    }
  }

  /** Forgets an intent; the caller flushes together with the task's new state. */
  closeIntent(id: string): void {
    delete this.state.data.intents[id];
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
    return Object.entries(this.state.data.intents).filter(([, i]) => i.tasks.includes(key));
  }

  /**
   * Writes the journal. Callers that flush while an earlier flush has not yet serialised
   * share it: it serialises after them, so it holds their changes too.
   */
  flush(): Promise<void> {
    if (this.pending) return this.pending;
    const write = this.tail.then(async () => {
      this.pending = undefined;
      this.intentsClosed = false;
      // A quiet pass changes nothing: the file already holds these bytes, durably. No task or
      // approval fragment changed and the rest is what the last successful write held.
      const rest = this.fragments.rest(this.state.data);
      if (!this.fragments.changed && rest === this.written) return;
      this.fragments.changed = false;
      this.writes++;
      const started = performance.now();
      try {
        await writeDurably(this.fs, this.path, this.fragments.stringify(this.state.data));
        this.written = rest;
      } catch (err) {
        // The file may hold the new text, the old one, or neither durably: the next flush writes.
        this.fragments.changed = true;
        throw err;
      } finally {
        this.writeMs += performance.now() - started;
      }
    });
    this.pending = write;
    this.tail = write.catch(() => undefined);
    return write;
  }

  /** Counts task changes: whoever remembers it can tell whether anything changed since. */
  revision = 0;
  /** Durable writes made so far and the time they took (the drain benchmark reports their cost). */
  writes = 0;
  writeMs = 0;
  private pending: Promise<void> | undefined;
  /** The non-fragment part of the text last written durably. */
  private written: string | undefined;
  /** Writes run one at a time: they share the `.tmp` file. */
  private tail: Promise<void> = Promise.resolve();
}
