import type { RateWindow, VendorSpec } from '../../specs/index.ts';
import type { AnyDriver, CredentialRef } from '../contracts/driver.ts';
import { credentialFingerprint, resolveCredential } from '../http/credentials.ts';
import { readSecretFile } from '../secrets-dir.ts';
import type { HttpLayer } from '../http/layer.ts';
import type { RateLimiter } from '../http/rate-limiter.ts';
import type { LimiterKey, VendorHttp } from '../http/types.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { VendorWiring } from './reconcile.ts';

/** Where the connection keeps its credential references: as its driver declares, else `spec.credentials` as is. */
function credentialRefs(driver: AnyDriver, spec: VendorSpec): Record<string, CredentialRef> {
  return (
    driver.credentials?.(spec) ??
    Object.fromEntries(Object.entries(spec.credentials ?? {}).map(([k, ref]) => [k, { ref }]))
  );
}

/** Every http(s) origin written in the connection's spec: where its credentials may go. */
export function connectionOrigins(spec: VendorSpec, driver: AnyDriver): string[] {
  const origins = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string' && /^https?:\/\//i.test(v)) {
      try {
        origins.add(new URL(v).origin);
      } catch {
        // A URL template whose host is a placeholder: no fixed origin to allow.
      }
    } else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) visit(x);
  };
  visit(spec);
  // A default host the driver derives from a setting (e.g. a region).
  for (const origin of driver.implicitOrigins?.(spec) ?? []) origins.add(origin);
  return [...origins];
}

/**
 * The production seam between the reconcile pass and the HTTP layer: credentials resolved
 * per pass (a rotated token is picked up without a restart), one limiter per vendor
 * credential kept by the layer across passes and persisted in the rate log.
 */
export class HttpWiring implements VendorWiring {
  constructor(
    private readonly layer: HttpLayer,
    private readonly env: Readonly<Record<string, string | undefined>>,
    /** The only directory file: references are read from (resolveSecretsDir). */
    private readonly secretsDir: string,
    /** Called with every resolved secret, so the process logger can scrub it too. */
    private readonly onSecret: (value: string) => void = () => {},
    private readonly now: () => number = Date.now,
    /** Counts every call for /metrics (lethe run). */
    private readonly metrics?: Pick<ControllerMetrics, 'observe'>,
  ) {}

  async secrets(_vendor: string, spec: VendorSpec, driver: AnyDriver): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const [key, { ref, jsonKey }] of Object.entries(credentialRefs(driver, spec))) {
      out[key] = await resolveCredential(ref, this.env, (p) => readSecretFile(this.secretsDir, p), { jsonKey });
      this.onSecret(out[key]);
    }
    return out;
  }

  /**
   * Vendors count calls per credential: two connections with the same token share one
   * limiter (the key names the driver type and a fingerprint of the secrets, not the
   * connection), and the same connection with a rotated token gets a fresh one.
   */
  private limit(spec: VendorSpec, windows: RateWindow[], secrets: Record<string, string>): LimiterKey {
    return { key: `${spec.type}:${credentialFingerprint(Object.values(secrets))}`, windows };
  }

  http(
    vendor: string,
    spec: VendorSpec,
    windows: RateWindow[],
    secrets: Record<string, string>,
    driver: AnyDriver,
  ): VendorHttp {
    const http = this.layer.vendor({
      vendor,
      limit: this.limit(spec, windows, secrets),
      secrets: Object.values(secrets),
      origins: connectionOrigins(spec, driver),
      concurrency: spec.concurrency,
    });
    return this.metrics ? this.metrics.observe(vendor, http) : http;
  }

  /**
   * Milliseconds the connection's limiter needs for `calls` more calls, for planner ETAs. The
   * limiter is looked up once a pass (its key hashes the credentials), and the planner asks
   * once per queued task: one simulation of the limiter per second serves all of them (ETAs are
   * whole days; a second of staleness changes none).
   */
  drainEstimate(
    _vendor: string,
    spec: VendorSpec,
    windows: RateWindow[],
    secrets: Record<string, string>,
  ): (calls: number) => number {
    // Looked up at the first ask, as before: a connection nobody asks about gets no limiter.
    let found: RateLimiter | undefined;
    return (calls) => {
      found ??= this.layer.limiter(this.limit(spec, windows, secrets), spec.concurrency);
      const limiter = found;
      const need = calls + limiter.waiting;
      if (need <= 0) return 0;
      const now = this.now();
      const cached = this.schedules.get(limiter);
      const fresh = cached && now - cached.at <= 1_000 ? cached : undefined;
      if (fresh && fresh.offsets.length >= need) return fresh.offsets[need - 1]!;
      // Within one fresh schedule, growing by doubling keeps a pass's many asks linear; a stale
      // one starts again at what is needed, so the size never compounds over time.
      const size = fresh ? Math.max(need, 2 * fresh.offsets.length) : need;
      const schedule = { at: fresh?.at ?? now, offsets: limiter.drainSchedule(size, now) };
      this.schedules.set(limiter, schedule);
      return schedule.offsets[need - 1]!;
    };
  }

  private readonly schedules = new WeakMap<object, { at: number; offsets: number[] }>();
}
