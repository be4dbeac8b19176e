import type { Clock } from './clock.ts';

export interface RateWindow {
  limit: number;
  windowMs: number;
}

export type Admission = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * Exact sliding windows: a call at t is admitted when, for every window, fewer than
 * `limit` admitted calls fall in (t - windowMs, t]. Only admitted calls count: a
 * client hammering through a 429 is not locked out for longer than the window (the
 * documented limits speak of requests served; assumption).
 */
export class SlidingWindowLimiter {
  readonly #calls = new Map<string, number[]>();
  readonly #maxWindowMs: number;

  constructor(
    readonly windows: readonly RateWindow[],
    private readonly clock: Clock,
  ) {
    this.#maxWindowMs = Math.max(0, ...windows.map((w) => w.windowMs));
  }

  tryAcquire(key: string): Admission {
    const t = this.clock.now();
    const calls = this.#calls.get(key) ?? [];
    // Admitted calls are at most the largest limit, so this trim is bounded.
    while (calls.length > 0 && calls[0]! <= t - this.#maxWindowMs) calls.shift();
    let retryAfterMs = 0;
    for (const w of this.windows) {
      let inWindow = 0;
      for (let i = calls.length - 1; i >= 0 && calls[i]! > t - w.windowMs; i--) inWindow++;
      if (inWindow >= w.limit) {
        // The call that frees a slot is the oldest one still inside this window.
        const oldest = calls[calls.length - inWindow]!;
        retryAfterMs = Math.max(retryAfterMs, oldest + w.windowMs - t);
      }
    }
    if (retryAfterMs > 0) return { ok: false, retryAfterMs };
    calls.push(t);
    this.#calls.set(key, calls);
    return { ok: true };
  }

  clear(): void {
    this.#calls.clear();
  }
}

/** limitScale multiplies every window's count (benchmarks); never below one call. */
export function scaleWindows(windows: readonly RateWindow[], limitScale: number): RateWindow[] {
  return windows.map((w) => ({ limit: Math.max(1, Math.round(w.limit * limitScale)), windowMs: w.windowMs }));
}
