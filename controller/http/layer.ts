import { Memory } from 'lowdb';
import { RateLog, type RateLogFile } from '../../state/rate-log.ts';
import type { Logger } from '../contracts/log.ts';
import { systemClock } from './clock.ts';
import { Dispatchers, type DispatcherOptions } from './dispatchers.ts';
import { RateLimiter } from './rate-limiter.ts';
import type { RetryPolicy } from './retry-policy.ts';
import type { Clock, LimiterKey, VendorHttp } from './types.ts';
import { createVendorHttp } from './vendor-http.ts';

export interface HttpLayerOptions extends DispatcherOptions {
  /** The rate log file (`<data dir>/rate-log.json`); omitted, limits hold for this process only. */
  rateLogPath?: string;
  /**
   * Calls may have been made with these credentials recently (the repository was worked
   * before): if the rate log is lost, every limiter starts with its windows used up.
   */
  workedBefore?: boolean;
  clock?: Clock;
  log?: Logger;
  random?: () => number;
  /** See DEFAULT_MARGIN_MS in rate-limiter.ts. */
  marginMs?: number;
  retry?: Partial<RetryPolicy>;
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export interface VendorHttpRequest {
  vendor: string;
  /** `<connection name>:<credentialFingerprint(secrets)>` and the connection's windows. */
  limit: LimiterKey;
  secrets: readonly string[];
  /** Origins the connection's credentials may go to (see VendorHttpOptions.origins). */
  origins?: readonly string[];
  verifyTls?: boolean;
  /** VendorConnection.concurrency. */
  concurrency?: number;
  log?: Logger;
}

/**
 * One per controller process: owns the undici dispatchers, one limiter per credential and
 * the persisted rate log.
 */
export class HttpLayer {
  readonly #limiters = new Map<string, RateLimiter>();
  readonly #dispatchers: Dispatchers;
  readonly #clock: Clock;

  private constructor(
    private readonly options: HttpLayerOptions,
    private readonly rateLog: RateLog,
  ) {
    this.#dispatchers = new Dispatchers(options);
    this.#clock = options.clock ?? systemClock;
  }

  static async open(options: HttpLayerOptions = {}): Promise<HttpLayer> {
    const now = (options.clock ?? systemClock).now();
    const rateLog = options.rateLogPath
      ? await RateLog.open(options.rateLogPath, now)
      : await RateLog.fromAdapter(new Memory<RateLogFile>(), 'in-memory rate log', now);
    const layer = new HttpLayer(options, rateLog);
    if (options.rateLogPath && rateLog.lost !== undefined && options.workedBefore) {
      layer.#startSpent = true;
      options.log?.warn('rate log lost: every rate window counts as used up', {
        code: 'RATE_LOG_LOST',
        path: options.rateLogPath,
        reason: rateLog.lost,
      });
    }
    return layer;
  }

  #startSpent = false;

  /**
   * The limiter of one credential. A changed window set (config reload) gets a new limiter
   * that starts from the old one's persisted log, so the change never opens a burst.
   */
  limiter(limit: LimiterKey, concurrency?: number): RateLimiter {
    const existing = this.#limiters.get(limit.key);
    if (existing && JSON.stringify(existing.windows) === JSON.stringify(limit.windows)) return existing;
    const limiter = new RateLimiter({
      key: limit.key,
      windows: limit.windows,
      clock: this.#clock,
      ...(this.options.marginMs === undefined ? {} : { marginMs: this.options.marginMs }),
      ...(concurrency === undefined ? {} : { concurrency }),
      sink: this.rateLog,
      startSpent: this.#startSpent,
    });
    if (this.#startSpent && limiter.pausedUntil > this.#clock.now()) {
      this.options.log?.info('no rate log for this credential: waiting its longest window before the first call', {
        code: 'RATE_LOG_LOST',
        key: limit.key,
        waitMs: limiter.pausedUntil - this.#clock.now(),
      });
    }
    this.#limiters.set(limit.key, limiter);
    return limiter;
  }

  vendor(request: VendorHttpRequest): VendorHttp {
    const { log = this.options.log } = request;
    return createVendorHttp({
      vendor: request.vendor,
      limiter: this.limiter(request.limit, request.concurrency),
      secrets: request.secrets,
      ...(request.origins ? { origins: request.origins } : {}),
      dispatchers: this.#dispatchers,
      clock: this.#clock,
      ...(request.verifyTls === undefined ? {} : { verifyTls: request.verifyTls }),
      ...(log ? { log } : {}),
      ...(this.options.random ? { random: this.options.random } : {}),
      ...(this.options.retry ? { retry: this.options.retry } : {}),
      ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
      ...(this.options.maxResponseBytes === undefined ? {} : { maxResponseBytes: this.options.maxResponseBytes }),
    });
  }

  /** Waits for the rate log to be written and closes every connection. */
  async close(): Promise<void> {
    await this.rateLog.flush();
    await this.#dispatchers.close();
  }
}
