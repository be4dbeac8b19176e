import { createHash } from 'node:crypto';
import { VENDORS, type VendorName } from './types.ts';

/** Never the email itself: the ledger is printed, logged and compared in tests. */
export function subjectHash(email: string): string {
  return createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 16);
}

export interface LedgerEntry {
  seq: number;
  /** Sandbox clock time (ms since epoch). */
  at: number;
  vendor: VendorName;
  method: string;
  /** Route template, never the raw path (paths can hold emails). */
  route: string;
  /** HTTP status sent; 0 when no answer was sent (reset, timeout, lost response by reset). */
  status: number;
  /** null for public routes (archive download) and for outbound callbacks. */
  authOk: boolean | null;
  subjects: string[];
  fault: string | null;
  rateLimitViolation: boolean;
  duplicates: number;
  /** 'inbound' for calls to the sandbox, 'callback' for calls the sandbox made (Qualifio). */
  direction: 'inbound' | 'callback';
}

export interface VendorStats {
  calls: number;
  byStatus: Record<string, number>;
  sent429: number;
  rateLimitViolations: number;
  duplicateSubmissions: number;
  unauthenticated: number;
  faults: number;
  callbacks: number;
}

const emptyStats = (): VendorStats => ({
  calls: 0,
  byStatus: {},
  sent429: 0,
  rateLimitViolations: 0,
  duplicateSubmissions: 0,
  unauthenticated: 0,
  faults: 0,
  callbacks: 0,
});

/**
 * Counters are kept apart from the entries so that stats stay exact when a long
 * benchmark overflows the (bounded) entry list.
 */
export class Ledger {
  #entries: LedgerEntry[] = [];
  #seq = 0;
  #stats = new Map<VendorName, VendorStats>();

  constructor(private readonly maxEntries = 200_000) {
    this.clear();
  }

  record(entry: Omit<LedgerEntry, 'seq'>): void {
    const full: LedgerEntry = { seq: ++this.#seq, ...entry };
    this.#entries.push(full);
    if (this.#entries.length > this.maxEntries) this.#entries.splice(0, this.#entries.length - this.maxEntries);
    const s = this.#stats.get(entry.vendor)!;
    if (entry.direction === 'callback') {
      s.callbacks++;
      return;
    }
    s.calls++;
    const key = String(entry.status);
    s.byStatus[key] = (s.byStatus[key] ?? 0) + 1;
    if (entry.status === 429) s.sent429++;
    if (entry.rateLimitViolation) s.rateLimitViolations++;
    s.duplicateSubmissions += entry.duplicates;
    if (entry.authOk === false) s.unauthenticated++;
    if (entry.fault) s.faults++;
  }

  entries(): LedgerEntry[] {
    return this.#entries.slice();
  }

  stats(): Record<VendorName, VendorStats> {
    const out = {} as Record<VendorName, VendorStats>;
    for (const v of VENDORS) out[v] = structuredClone(this.#stats.get(v)!);
    return out;
  }

  clear(): void {
    this.#entries = [];
    this.#seq = 0;
    this.#stats = new Map(VENDORS.map((v) => [v, emptyStats()]));
  }
}
