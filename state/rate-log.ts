import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Low, type Adapter } from 'lowdb';
import { JSONFile } from 'lowdb/node';
import { z } from 'zod';
import type { LetheError } from '../controller/errors/types.ts';
import { httpErrors } from '../controller/http/errors.ts';
import { moveAside, nodeFs } from './files.ts';

/**
 * The rate limiter's call log, persisted so that a restarted controller never exceeds a
 * limit it used before the restart. A small file of its own, apart from the journal:
 * it is rewritten before every vendor call, and a corrupt journal must not take it along.
 * Writes are atomic (lowdb/steno: temporary file + rename) but not fsync'd: they survive
 * a process crash, which is what a restart-burst needs. A power loss that leaves the file
 * empty or torn makes it `lost`, and the limiters then start as if every window was used.
 */
export interface RateLogState {
  /** Send times (epoch ms) of calls known to have been sent, ascending. */
  sent: number[];
  /** Grant times of calls not yet known to be sent (the send follows the write). */
  open: number[];
  pausedUntil: number;
  /** How far back the key's longest window looks, to drop keys nobody uses any more. */
  horizonMs: number;
}

/** What the limiter needs from its persistence. */
export interface RateLogSink {
  load(key: string): RateLogState | undefined;
  /** Resolves once a write that includes this state has completed. */
  save(key: string, state: RateLogState): Promise<void>;
}

const FileSchema = z.object({
  version: z.literal(1),
  keys: z.record(
    z.string(),
    z.object({
      sent: z.array(z.number()),
      open: z.array(z.number()),
      pausedUntil: z.number(),
      horizonMs: z.number().nonnegative(),
    }),
  ),
});
export type RateLogFile = z.infer<typeof FileSchema>;

function reasonOf(err: unknown): string {
  // System error codes only: a JSON parse error message would quote the file's content.
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'invalid content';
}

function unreadable(name: string, reason: string): LetheError {
  return httpErrors.error('RATE_LOG_UNREADABLE', { path: name, reason });
}

export class RateLog implements RateLogSink {
  #tail: Promise<void> = Promise.resolve();
  #queued: Promise<void> | null = null;

  private constructor(
    private readonly db: Low<RateLogFile>,
    private readonly name: string,
    /**
     * Why no earlier log could be read ("missing", or the damage and where the file was
     * moved): calls made before may still count at the vendors (see HttpLayer).
     */
    readonly lost?: string,
  ) {}

  static async open(path: string, now: number): Promise<RateLog> {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      throw unreadable(path, reasonOf(err));
    }
    return RateLog.fromAdapter(new JSONFile<RateLogFile>(path), path, now, async () => moveAside(nodeFs, path, now));
  }

  /**
   * `name` only labels errors (lowdb's Memory adapter serves processes that must not
   * persist, like `lethe plan`). Calls granted but never confirmed as sent are counted as
   * sent now: the process that granted them stopped before now, so they left before now.
   * Damaged content is moved aside by `setAside` (when given) and the log starts empty,
   * marked `lost`; an I/O failure (permissions...) stops the controller instead.
   */
  static async fromAdapter(
    adapter: Adapter<RateLogFile>,
    name: string,
    now: number,
    setAside?: () => Promise<string>,
  ): Promise<RateLog> {
    const db = new Low<RateLogFile>(adapter, { version: 1, keys: {} });
    let raw: unknown;
    let lost: string | undefined;
    try {
      raw = await adapter.read();
    } catch (err) {
      if (!setAside || reasonOf(err) !== 'invalid content') throw unreadable(name, reasonOf(err));
      lost = `invalid content, moved aside to ${await setAside()}`;
    }
    const parsed = raw === null || raw === undefined ? undefined : FileSchema.safeParse(raw);
    if (parsed && !parsed.success) {
      if (!setAside) throw unreadable(name, 'invalid content');
      lost = `invalid content, moved aside to ${await setAside()}`;
    }
    if (raw === null && lost === undefined) lost = 'missing';
    const keys: RateLogFile['keys'] = {};
    for (const [key, s] of Object.entries(parsed?.success ? parsed.data.keys : {})) {
      const sent = [...s.sent, ...s.open.map(() => now)].sort((a, b) => a - b);
      const last = Math.max(s.pausedUntil, ...sent);
      if (last + s.horizonMs > now) keys[key] = { sent, open: [], pausedUntil: s.pausedUntil, horizonMs: s.horizonMs };
    }
    db.data = { version: 1, keys };
    return new RateLog(db, name, lost);
  }

  load(key: string): RateLogState | undefined {
    const s = this.db.data.keys[key];
    return s && { sent: [...s.sent], open: [...s.open], pausedUntil: s.pausedUntil, horizonMs: s.horizonMs };
  }

  save(key: string, state: RateLogState): Promise<void> {
    this.db.data.keys[key] = {
      sent: [...state.sent],
      open: [...state.open],
      pausedUntil: state.pausedUntil,
      horizonMs: state.horizonMs,
    };
    return this.#schedule();
  }

  /** Waits for every write scheduled so far. */
  async flush(): Promise<void> {
    await this.#tail.catch(() => undefined);
  }

  /**
   * Coalesces: every save made before the queued write starts shares it, so N concurrent
   * callers cause at most one write in flight plus one queued, not N serial writes. The
   * data is serialised when that write starts, so it covers every save made before.
   */
  #schedule(): Promise<void> {
    if (this.#queued) return this.#queued;
    const run = this.#tail
      .catch(() => undefined)
      .then(() => {
        this.#queued = null;
        return this.db.write();
      })
      .catch((err: unknown) => {
        throw httpErrors.error('RATE_LOG_WRITE_FAILED', { path: this.name, reason: reasonOf(err) });
      });
    this.#queued = run;
    this.#tail = run;
    return run;
  }
}
