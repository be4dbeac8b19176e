/**
 * Time as the simulated vendors see it. Everything that depends on time (rate-limit
 * windows, token expiry, async job progressions) reads it from here, so tests can
 * drive it by hand instead of sleeping.
 */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // A pending vendor job must not keep a test or CLI process alive after stop().
    t.unref();
    return t;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** A clock that only moves when told to; timers fire in due order during advance(). */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): unknown {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by ms, firing due timers (including ones they schedule) in order. */
  advance(ms: number): void {
    const target = this.#now + ms;
    for (let fired = 0; fired < 100_000; fired++) {
      let nextId: number | undefined;
      let nextAt = Infinity;
      for (const [id, t] of this.#timers) {
        if (t.at <= target && t.at < nextAt) {
          nextAt = t.at;
          nextId = id;
        }
      }
      if (nextId === undefined) break;
      const timer = this.#timers.get(nextId)!;
      this.#timers.delete(nextId);
      this.#now = timer.at;
      timer.fn();
    }
    this.#now = target;
  }
}

/**
 * Vendor-side delays are given in nominal vendor time and shrunk by the time-scale; the
 * scheduler also remembers its timers so reset() and stop() leave nothing behind.
 */
export class Scheduler {
  readonly #handles = new Set<{ handle: unknown }>();

  constructor(
    readonly clock: Clock,
    readonly timeScale: number,
  ) {}

  after(nominalMs: number, fn: () => void): void {
    const slot: { handle: unknown } = { handle: undefined };
    slot.handle = this.clock.setTimer(() => {
      this.#handles.delete(slot);
      fn();
    }, nominalMs * this.timeScale);
    this.#handles.add(slot);
  }

  /** Real duration (ms) of a nominal vendor duration. */
  scaled(nominalMs: number): number {
    return nominalMs * this.timeScale;
  }

  cancelAll(): void {
    for (const slot of this.#handles) this.clock.clearTimer(slot.handle);
    this.#handles.clear();
  }
}
