import type { Clock } from './clock.ts';
import { mulberry32, streamSeed } from './random.ts';

/**
 * Fault rates for one target. Fractions are per call (0..1). Two families, because a
 * crash-safe controller must survive both:
 * - before processing (the vendor never saw the call): `5xx`, `reset`, `timeout`,
 *   `429`, `storm`;
 * - after processing (the call took effect, the answer is lost): `lost` (connection
 *   reset or 502 after the vendor did the work) and `malformed` (2xx with a broken body).
 */
export interface FaultRule {
  '5xx'?: number;
  reset?: number;
  timeout?: number;
  '429'?: number;
  /** Fraction of calls that start a 429 storm: every call to the vendor gets 429 for stormMs. */
  storm?: number;
  stormMs?: number;
  lost?: number;
  malformed?: number;
  /** Added latency in real ms: a fixed value, or [min, max] drawn per call. */
  latency?: number | [number, number];
}

/** Keys: `*`, a vendor name, or `vendor/route` (route names are listed in the README). */
export type FaultSpec = Record<string, FaultRule>;

export type FaultKind = 'none' | '5xx' | 'reset' | 'timeout' | '429' | 'storm' | 'lost' | 'malformed';

export interface FaultDecision {
  kind: FaultKind;
  latencyMs: number;
  /** For 5xx and for `lost` answered with an error status; 0 means "reset the socket". */
  status: number;
}

const FRACTION_KEYS = ['storm', '429', 'reset', 'timeout', '5xx', 'lost', 'malformed'] as const;
const FIVE_XX = [500, 502, 503] as const;

/** `maestroqa:5xx=0.2,latency=50;elasticpath/erasure-create:lost=0.1;*:malformed=0.05` */
export function parseFaultSpec(text: string): FaultSpec {
  const spec: FaultSpec = {};
  for (const part of text
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = part.indexOf(':');
    if (colon <= 0) throw new Error(`fault spec "${part}": expected TARGET:key=value,...`);
    const target = part.slice(0, colon).trim();
    const rule: FaultRule = spec[target] ?? {};
    for (const kv of part
      .slice(colon + 1)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const [key, value] = kv.split('=').map((s) => s.trim());
      if (key === undefined || value === undefined || value === '')
        throw new Error(`fault spec "${kv}": expected key=value`);
      if (key === 'latency') {
        const range = value.split('-').map(Number);
        if (range.some((n) => !Number.isFinite(n) || n < 0) || range.length > 2)
          throw new Error(`fault spec latency "${value}": expected MS or MIN-MAX`);
        rule.latency = range.length === 2 ? [range[0]!, range[1]!] : range[0]!;
      } else if (key === 'stormMs') {
        rule.stormMs = positive(key, value);
      } else if ((FRACTION_KEYS as readonly string[]).includes(key)) {
        const n = Number(value);
        if (!(n >= 0 && n <= 1)) throw new Error(`fault spec ${key}=${value}: expected a fraction between 0 and 1`);
        rule[key as (typeof FRACTION_KEYS)[number]] = n;
      } else {
        throw new Error(
          `fault spec: unknown key "${key}" (known: ${[...FRACTION_KEYS, 'latency', 'stormMs'].join(', ')})`,
        );
      }
    }
    spec[target] = rule;
  }
  return spec;
}

function positive(key: string, value: string): number {
  const n = Number(value);
  if (!(n > 0)) throw new Error(`fault spec ${key}=${value}: expected a positive number`);
  return n;
}

/**
 * Decides faults per call. Each vendor/route pair has its own PRNG stream derived from
 * the seed and every call draws the same number of values, so a given seed and a given
 * sequence of calls to a route always yields the same faults, whatever other routes do.
 */
export class FaultEngine {
  readonly #streams = new Map<string, () => number>();
  readonly #stormUntil = new Map<string, number>();

  constructor(
    readonly spec: FaultSpec,
    readonly seed: number,
    private readonly clock: Clock,
  ) {}

  ruleFor(vendor: string, route: string): FaultRule {
    return { ...this.spec['*'], ...this.spec[vendor], ...this.spec[`${vendor}/${route}`] };
  }

  decide(vendor: string, route: string): FaultDecision {
    const key = `${vendor}/${route}`;
    let next = this.#streams.get(key);
    if (!next) {
      next = mulberry32(streamSeed(this.seed, key));
      this.#streams.set(key, next);
    }
    const [u, uLatency, uStatus] = [next(), next(), next()];
    const rule = this.ruleFor(vendor, route);
    const latencyMs = Array.isArray(rule.latency)
      ? Math.round(rule.latency[0] + uLatency * (rule.latency[1] - rule.latency[0]))
      : (rule.latency ?? 0);
    const status = FIVE_XX[Math.floor(uStatus * FIVE_XX.length)]!;
    if ((this.#stormUntil.get(vendor) ?? -Infinity) > this.clock.now())
      return { kind: 'storm', latencyMs, status: 429 };
    let edge = 0;
    for (const kind of FRACTION_KEYS) {
      edge += rule[kind] ?? 0;
      if (u < edge) {
        if (kind === 'storm') this.#stormUntil.set(vendor, this.clock.now() + (rule.stormMs ?? 2000));
        if (kind === 'storm' || kind === '429') return { kind, latencyMs, status: 429 };
        // A lost response is a reset half of the time and a 502 from a proxy otherwise.
        if (kind === 'lost') return { kind, latencyMs, status: uStatus < 0.5 ? 0 : 502 };
        return { kind, latencyMs, status: kind === '5xx' ? status : 0 };
      }
    }
    return { kind: 'none', latencyMs, status: 0 };
  }

  reset(): void {
    this.#streams.clear();
    this.#stormUntil.clear();
  }
}
