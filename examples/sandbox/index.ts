import type { AddressInfo } from 'node:net';
import { Scheduler, systemClock, type Clock } from './clock.ts';
import {
  BASE_PATHS,
  DEFAULT_CREDENTIALS,
  DEFAULT_DELAYS,
  DEFAULT_LIMITS,
  DEFAULT_OUTCOMES,
  DEFAULT_TIME_SCALE,
} from './config.ts';
import { FaultEngine, parseFaultSpec, type FaultSpec } from './faults.ts';
import { Ledger, type LedgerEntry, type VendorStats } from './ledger.ts';
import { FIXTURE_SUBJECTS, generatedSubjects, type SubjectFixture } from './population.ts';
import { scaleWindows, SlidingWindowLimiter, type RateWindow } from './rate-limit.ts';
import { createSandboxServer } from './server.ts';
import {
  VENDORS,
  type SandboxCredentials,
  type SandboxDelays,
  type SandboxOutcomes,
  type VendorContext,
  type VendorName,
  type VendorSim,
} from './types.ts';
import { acme } from './vendors/acme.ts';
import { answerhub } from './vendors/answerhub.ts';
import { elasticpath } from './vendors/elasticpath.ts';
import { maestroqa } from './vendors/maestroqa.ts';
import { mailchimp } from './vendors/mailchimp.ts';
import { qualifio } from './vendors/qualifio.ts';

export { ManualClock, systemClock, type Clock } from './clock.ts';
export { parseFaultSpec, type FaultRule, type FaultSpec } from './faults.ts';
export { subjectHash, type LedgerEntry, type VendorStats } from './ledger.ts';
export { FIXTURE_SUBJECTS, absentAt, presentAt, type SubjectFixture } from './population.ts';
export { DEFAULT_CREDENTIALS, DEFAULT_LIMITS } from './config.ts';
export { VENDORS, type VendorName, type SandboxCredentials } from './types.ts';

export interface SandboxOptions {
  /** 0 (default) picks a free port. The sandbox only ever listens on 127.0.0.1. */
  port?: number;
  /** Factor applied to vendor-side delays and token lifetimes (0.01 = 100x faster). Default 0.1. */
  timeScale?: number;
  /** Seed of every PRNG (faults, job outcomes, ids). Default 1. */
  seed?: number;
  /** Fault SPEC string (see README) or the same as an object. */
  faults?: string | FaultSpec;
  /** Multiplies the count of every rate-limit window (benchmarks). Default 1. */
  limitScale?: number;
  /** Replaces a vendor's windows (before limitScale). */
  limits?: Partial<Record<VendorName, RateWindow[]>>;
  credentials?: { [V in VendorName]?: Partial<SandboxCredentials[V]> };
  delays?: Partial<SandboxDelays>;
  outcomes?: Partial<SandboxOutcomes>;
  /** Subjects added to the fixtures. */
  subjects?: SubjectFixture[];
  /** Adds N synthetic subjects present at every vendor (bulk0001@example.com, ...). */
  generatedSubjects?: number;
  /** Injected clock (tests); default real time. */
  clock?: Clock;
  /** Longest a `timeout` fault keeps a socket open (real ms). Default 30000. */
  maxHangMs?: number;
}

export interface SandboxVendorConfig {
  baseUrl: string;
  credentials: Record<string, string | number>;
  rateLimits: RateWindow[];
}

export interface SandboxConfig {
  url: string;
  timeScale: number;
  seed: number;
  limitScale: number;
  faults: FaultSpec;
  vendors: Record<VendorName, SandboxVendorConfig>;
}

export interface Sandbox {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  config: SandboxConfig;
  clock: Clock;
  stats(): Record<VendorName, VendorStats>;
  ledger(): LedgerEntry[];
  /** Back to the seeded population; clears jobs, tokens, limits, faults state and the ledger. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const timeScale = options.timeScale ?? DEFAULT_TIME_SCALE;
  if (!(timeScale > 0)) throw new Error('timeScale must be a positive number');
  const seed = options.seed ?? 1;
  const limitScale = options.limitScale ?? 1;
  if (!(limitScale > 0)) throw new Error('limitScale must be a positive number');
  const faults = typeof options.faults === 'string' ? parseFaultSpec(options.faults) : (options.faults ?? {});
  const clock = options.clock ?? systemClock;
  const credentials = mergeCredentials(options.credentials);
  const subjects = [
    ...FIXTURE_SUBJECTS,
    ...(options.subjects ?? []),
    ...generatedSubjects(options.generatedSubjects ?? 0),
  ];
  const scheduler = new Scheduler(clock, timeScale);
  const ledger = new Ledger();
  let origin = '';

  const ctx: VendorContext = {
    clock,
    scheduler,
    seed,
    credentials,
    delays: { ...DEFAULT_DELAYS, ...options.delays },
    outcomes: { ...DEFAULT_OUTCOMES, ...options.outcomes },
    subjects: () => subjects,
    origin: () => origin,
    ledger,
  };
  const vendors: VendorSim[] = [
    maestroqa(ctx),
    qualifio(ctx),
    elasticpath(ctx),
    answerhub(ctx),
    acme(ctx),
    mailchimp(ctx),
  ];
  const windows = Object.fromEntries(
    VENDORS.map((v) => [v, scaleWindows(options.limits?.[v] ?? DEFAULT_LIMITS[v], limitScale)]),
  ) as Record<VendorName, RateWindow[]>;
  const limiters = new Map(VENDORS.map((v) => [v, new SlidingWindowLimiter(windows[v], clock)]));
  const faultEngine = new FaultEngine(faults, seed, clock);

  const reset = (): void => {
    scheduler.cancelAll();
    for (const v of vendors) v.reset();
    for (const l of limiters.values()) l.clear();
    faultEngine.reset();
    ledger.clear();
  };

  let config: SandboxConfig | undefined;
  const { server, closeHung } = createSandboxServer({
    vendors,
    limiters,
    faults: faultEngine,
    ledger,
    clock,
    maxHangMs: options.maxHangMs ?? 30_000,
    control(method, path) {
      if (method === 'GET' && path === '/_sandbox/stats') return { status: 200, body: ledger.stats() };
      if (method === 'GET' && path === '/_sandbox/ledger') return { status: 200, body: ledger.entries() };
      if (method === 'GET' && path === '/_sandbox/config') return { status: 200, body: config };
      if (method === 'POST' && path === '/_sandbox/reset') {
        reset();
        return { status: 200, body: { reset: true } };
      }
      return null;
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  config = buildConfig(origin, credentials, windows, { timeScale, seed, limitScale, faults });

  return {
    url: origin,
    port,
    config,
    clock,
    stats: () => ledger.stats(),
    ledger: () => ledger.entries(),
    reset,
    async stop() {
      scheduler.cancelAll();
      closeHung();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function mergeCredentials(overrides: SandboxOptions['credentials']): SandboxCredentials {
  const out = structuredClone(DEFAULT_CREDENTIALS);
  for (const v of VENDORS) Object.assign(out[v], overrides?.[v]);
  return out;
}

function buildConfig(
  origin: string,
  c: SandboxCredentials,
  windows: Record<VendorName, RateWindow[]>,
  meta: Pick<SandboxConfig, 'timeScale' | 'seed' | 'limitScale' | 'faults'>,
): SandboxConfig {
  const basic = (u: string, p: string): string => Buffer.from(`${u}:${p}`).toString('base64');
  const creds: Record<VendorName, Record<string, string | number>> = {
    maestroqa: { ...c.maestroqa },
    qualifio: { ...c.qualifio },
    elasticpath: { ...c.elasticpath },
    answerhub: { ...c.answerhub },
    // The DataGrail `{credentials}` substitution value: base64 of user:password.
    acme: { ...c.acme, credentials: basic(c.acme.username, c.acme.password) },
    mailchimp: { ...c.mailchimp },
  };
  const vendors = Object.fromEntries(
    VENDORS.map((v) => [v, { baseUrl: origin + BASE_PATHS[v], credentials: creds[v], rateLimits: windows[v] }]),
  ) as Record<VendorName, SandboxVendorConfig>;
  return { url: origin, ...meta, vendors };
}
