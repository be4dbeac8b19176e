import type { RateWindow } from '../../specs/index.ts';
import type { RateLogSink, RateLogState } from '../../state/rate-log.ts';
import { systemClock } from './clock.ts';
import {
  drainSchedule,
  drainTimeMs,
  earliestAllowed,
  insertSorted,
  longestWindowMs,
  prune,
  type WindowLog,
} from './sliding-window.ts';
import type { Clock } from './types.ts';

/**
 * Added to every window (see sliding-window.ts): covers the vendor's clock granularity and
 * the jitter between our send time and its arrival time. Under load that jitter exceeded
 * 20 ms in this project's own tests; 50 ms costs 5% of a 1/s limit, a 429 costs more.
 */
export const DEFAULT_MARGIN_MS = 50;

/** Re-check at least this often while nothing can be granted (no timer beyond setTimeout's range). */
const IDLE_RECHECK_MS = 60_000;

export interface RateLimiterOptions {
  key: string;
  windows: readonly RateWindow[];
  clock?: Clock;
  marginMs?: number;
  /** Calls in flight at once (VendorConnection.concurrency); unbounded when omitted. */
  concurrency?: number;
  sink?: RateLogSink;
  /**
   * With no saved state for this key: start as if every window had just been used up (the
   * first call waits the longest window). For a rate log that was lost: calls made before
   * the loss may still count at the vendor.
   */
  startSpent?: boolean;
}

export interface AcquireOptions {
  /** Lower is served first (the task's due date in epoch ms); FIFO among equals. */
  priority?: number;
  signal?: AbortSignal;
  /** Epoch ms: give up if no slot is granted by then. */
  deadline?: number;
}

/** One granted call. The vendor counts it from `sent()`; `release()` ends it either way. */
export interface Slot {
  /** Call right before the request's first byte is written. */
  sent(): void;
  /** Call when the attempt is over; a slot never sent keeps counting at its grant time. */
  release(): void;
}

export class RateLimitWaitError extends Error {
  constructor(readonly reason: 'deadline' | 'aborted') {
    super(reason === 'deadline' ? 'no rate-limit slot before the deadline' : 'wait for a rate-limit slot aborted');
    this.name = 'RateLimitWaitError';
  }
}

interface Waiter {
  priority: number;
  seq: number;
  deadline: number;
  resolve(slot: Slot): void;
  reject(err: unknown): void;
  cleanup(): void;
}

/**
 * A multi-window sliding-window limiter for one vendor credential. Every grant is persisted
 * (through `sink`) before the caller may send, so a crash right after a send cannot let a
 * restarted controller exceed a limit.
 */
export class RateLimiter {
  readonly key: string;
  readonly windows: readonly RateWindow[];
  readonly marginMs: number;
  readonly #clock: Clock;
  readonly #concurrency: number;
  readonly #sink: RateLogSink | undefined;
  #sent: number[];
  #pausedUntil: number;
  /** Grant time by slot id, for granted calls not yet sent. */
  readonly #open = new Map<number, number>();
  #inFlight = 0;
  #queue: Waiter[] = [];
  #seq = 0;
  #wake: AbortController | null = null;
  #pumping = false;

  constructor(options: RateLimiterOptions) {
    if (options.windows.length === 0)
      throw new RangeError(`rate limiter ${options.key}: at least one window is required`);
    this.key = options.key;
    this.windows = options.windows;
    this.marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
    this.#clock = options.clock ?? systemClock;
    this.#concurrency = options.concurrency ?? Infinity;
    this.#sink = options.sink;
    const saved = this.#sink?.load(this.key);
    const now = this.#clock.now();
    // Open entries of a previous run were sent at some point before now (see RateLog.open).
    this.#sent = saved ? [...saved.sent, ...saved.open.map(() => now)].sort((a, b) => a - b) : [];
    this.#pausedUntil = saved?.pausedUntil ?? 0;
    if (!saved && options.startSpent) {
      this.#pausedUntil = now + longestWindowMs(this.windows, this.marginMs);
      this.#persistLazily();
    }
  }

  /** Epoch ms before which no call is granted (a 429's Retry-After, or a lost rate log). */
  get pausedUntil(): number {
    return this.#pausedUntil;
  }

  /** Callers waiting for a slot (the planner adds them to its own count for ETAs). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** The earliest time one more call could be granted, ignoring waiters and the concurrency bound. */
  nextFreeAt(now: number = this.#clock.now()): number {
    return earliestAllowed(this.windows, this.#log(), now, this.marginMs);
  }

  /** Time from `now` until the last of `n` further calls may be sent (see sliding-window.ts). */
  drainTimeMs(n: number, now: number = this.#clock.now()): number {
    return drainTimeMs(this.windows, this.#log(), n, now, this.marginMs);
  }

  /** drainTimeMs for every k = 1..n at once: the planner's ETAs for a whole queue. */
  drainSchedule(n: number, now: number = this.#clock.now()): number[] {
    return drainSchedule(this.windows, this.#log(), n, now, this.marginMs);
  }

  /** The vendor answered 429: nobody calls before `until` (epoch ms). */
  pause(until: number): void {
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#persistLazily();
    this.#kick();
  }

  acquire(options: AcquireOptions = {}): Promise<Slot> {
    const { signal, deadline } = options;
    if (signal?.aborted) return Promise.reject(new RateLimitWaitError('aborted'));
    const now = this.#clock.now();
    // Waiters ahead can only push the slot later: fail now rather than at the deadline.
    // (Infinity means "unknown until an open call is sent", not "never".)
    const free = this.nextFreeAt(now);
    if (deadline !== undefined && free !== Infinity && free > deadline)
      return Promise.reject(new RateLimitWaitError('deadline'));
    return new Promise<Slot>((resolve, reject) => {
      const waiter: Waiter = {
        priority: options.priority ?? Infinity,
        seq: this.#seq++,
        deadline: deadline ?? Infinity,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      const onAbort = (): void => {
        if (this.#leave(waiter, 'aborted')) this.#kick();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#enqueue(waiter);
      this.#kick();
    });
  }

  #leave(waiter: Waiter, reason: 'deadline' | 'aborted'): boolean {
    const i = this.#queue.indexOf(waiter);
    if (i < 0) return false;
    this.#queue.splice(i, 1);
    waiter.cleanup();
    waiter.reject(new RateLimitWaitError(reason));
    return true;
  }

  #log(): WindowLog {
    return { sent: this.#sent, open: this.#open.size, pausedUntil: this.#pausedUntil };
  }

  #enqueue(waiter: Waiter): void {
    let i = this.#queue.length;
    while (i > 0 && this.#queue[i - 1]!.priority > waiter.priority) i--;
    this.#queue.splice(i, 0, waiter);
  }

  #kick(): void {
    if (this.#wake) this.#wake.abort();
    else if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      while (this.#queue.length > 0) {
        const now = this.#clock.now();
        const due = this.#inFlight >= this.#concurrency ? Infinity : this.nextFreeAt(now);
        if (due <= now) {
          this.#grant(this.#queue.shift()!, now);
          continue;
        }
        // `due` bounds every waiter's grant from below; an unknown one (Infinity) does not.
        for (const w of [...this.#queue]) {
          if (w.deadline <= now || (due !== Infinity && w.deadline < due)) this.#leave(w, 'deadline');
        }
        if (this.#queue.length === 0) break;
        const wakeAt = Math.min(due, ...this.#queue.map((w) => w.deadline));
        const wake = new AbortController();
        this.#wake = wake;
        await this.#clock.sleep(Math.min(wakeAt - now, IDLE_RECHECK_MS), wake.signal);
        this.#wake = null;
      }
    } finally {
      this.#pumping = false;
    }
  }

  #grant(waiter: Waiter, now: number): void {
    waiter.cleanup();
    const id = this.#seq++;
    this.#sent = prune(this.#sent, this.windows, now, this.marginMs);
    this.#open.set(id, now);
    this.#inFlight++;
    let released = false;
    const slot: Slot = {
      sent: () => {
        if (!this.#open.delete(id)) return;
        insertSorted(this.#sent, this.#clock.now());
        this.#persistLazily();
        this.#kick();
      },
      release: () => {
        if (released) return;
        released = true;
        const grantedAt = this.#open.get(id);
        if (grantedAt !== undefined) {
          this.#open.delete(id);
          insertSorted(this.#sent, grantedAt);
        }
        this.#inFlight--;
        this.#kick();
      },
    };
    // The caller may send only once a write covering this grant has completed.
    this.#persist().then(
      () => waiter.resolve(slot),
      (err: unknown) => {
        slot.release();
        waiter.reject(err);
      },
    );
  }

  #state(): RateLogState {
    return {
      sent: this.#sent,
      open: [...this.#open.values()],
      pausedUntil: this.#pausedUntil,
      horizonMs: longestWindowMs(this.windows, this.marginMs),
    };
  }

  #persist(): Promise<void> {
    return this.#sink ? this.#sink.save(this.key, this.#state()) : Promise.resolve();
  }

  /** For changes that only make the persisted log more exact: a failure leaves it conservative. */
  #persistLazily(): void {
    this.#persist().catch(() => undefined);
  }
}
