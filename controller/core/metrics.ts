import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REQUEST_PHASES, VENDOR_PHASES, type PrivacyRequestStatus } from '../../specs/index.ts';
import type { JournalData } from '../../state/journal.ts';
import type { CallOptions, HttpResponse, VendorHttp } from '../http/types.ts';
import type { PassReport } from './reconcile.ts';

const DONE_PHASES = new Set(['Completed', 'Failed', 'Withdrawn']);

/**
 * The controller's Prometheus metrics (`GET /metrics`). Labels are vendor names, route
 * labels, status codes and phases: never a request name or subject, so cardinality stays
 * bounded and no personal data reaches a scrape.
 */
export class ControllerMetrics {
  readonly registry = new Registry();
  private readonly passes = new Counter({
    name: 'lethe_passes_total',
    help: 'Reconcile passes, by result (ok, error).',
    labelNames: ['result'],
    registers: [this.registry],
  });
  private readonly passDuration = new Histogram({
    name: 'lethe_pass_duration_seconds',
    help: 'Duration of reconcile passes.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  private readonly calls = new Counter({
    name: 'lethe_vendor_calls_total',
    help: "Vendor HTTP requests sent (every attempt), by vendor, route (the driver's call label) and status (or network failure).",
    labelNames: ['vendor', 'route', 'status'],
    registers: [this.registry],
  });
  private readonly throttled = new Counter({
    name: 'lethe_vendor_rate_limited_total',
    help: 'Vendor answers 429 Too Many Requests (every attempt).',
    labelNames: ['vendor'],
    registers: [this.registry],
  });
  private readonly limiterWait = new Histogram({
    name: 'lethe_limiter_wait_seconds',
    help: 'Time a vendor call waited for its rate-limit slot.',
    labelNames: ['vendor'],
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });
  private readonly tasks = new Gauge({
    name: 'lethe_tasks',
    help: 'Vendor tasks in the journal by phase (open and final).',
    labelNames: ['phase'],
    registers: [this.registry],
  });
  private readonly requests = new Gauge({
    name: 'lethe_requests',
    help: 'Privacy requests by phase, as in status/.',
    labelNames: ['phase'],
    registers: [this.registry],
  });
  private readonly held = new Gauge({
    name: 'lethe_manifests_held',
    help: 'Desired-state manifests held in memory after the last pass: parsed whole, or finished requests kept without theirs.',
    labelNames: ['form'],
    registers: [this.registry],
  });
  private readonly overdue = new Gauge({
    name: 'lethe_requests_overdue',
    help: 'Open requests past their due date.',
    registers: [this.registry],
  });
  private readonly atRisk = new Gauge({
    name: 'lethe_requests_at_risk',
    help: 'Open requests whose ETA falls within atRiskDays of their due date.',
    registers: [this.registry],
  });
  private readonly stalled = new Gauge({
    name: 'lethe_requests_stalled',
    help: 'Requests with the Stalled condition (a person must act).',
    registers: [this.registry],
  });
  private readonly oldest = new Gauge({
    name: 'lethe_oldest_open_request_age_seconds',
    help: 'Age of the oldest open request, from its receivedAt.',
    registers: [this.registry],
  });
  private readonly degraded = new Gauge({
    name: 'lethe_vendor_degraded_seconds',
    help: 'Per degraded vendor connection: seconds since it degraded (absent when healthy).',
    labelNames: ['vendor', 'code'],
    registers: [this.registry],
  });
  private readonly degradedCount = new Gauge({
    name: 'lethe_degraded_connections',
    help: 'Vendor connections currently degraded.',
    registers: [this.registry],
  });
  /** Changes on the branch waiting for approval (PassReport.unapprovedChanges). */
  private readonly unapproved = new Gauge({
    name: 'lethe_unapproved_changes',
    help: 'Request or vendor changes on the branch that are not approved yet.',
    registers: [this.registry],
  });
  private readonly lastSuccess = new Gauge({
    name: 'lethe_last_successful_pass_timestamp_seconds',
    help: 'When the last pass succeeded (unix seconds).',
    registers: [this.registry],
  });
  private readonly leaseHeld = new Gauge({
    name: 'lethe_lease_held',
    help: '1 while this controller holds the single-writer lease.',
    registers: [this.registry],
  });
  private readonly info = new Gauge({
    name: 'lethe_build_info',
    help: 'Version of the running controller.',
    labelNames: ['version'],
    registers: [this.registry],
  });

  /** Epoch ms of the last successful pass (for /readyz). */
  lastSuccessAt?: number;

  constructor(version: string) {
    this.info.set({ version }, 1);
    for (const phase of REQUEST_PHASES) this.requests.set({ phase }, 0);
    for (const phase of VENDOR_PHASES) this.tasks.set({ phase }, 0);
    for (const g of [
      this.overdue,
      this.atRisk,
      this.stalled,
      this.oldest,
      this.degradedCount,
      this.unapproved,
      this.leaseHeld,
    ])
      g.set(0);
  }

  passFailed(seconds: number): void {
    this.passes.inc({ result: 'error' });
    this.passDuration.observe(seconds);
  }

  /** After a successful pass: counters, and every gauge recomputed from the journal and status/. */
  passSucceeded(
    seconds: number,
    at: number,
    report: PassReport,
    journal: JournalData,
    statuses: PrivacyRequestStatus[],
  ): void {
    this.passes.inc({ result: 'ok' });
    this.passDuration.observe(seconds);
    this.lastSuccessAt = at;
    this.lastSuccess.set(Math.floor(at / 1000));

    const tasks = new Map<string, number>(VENDOR_PHASES.map((p) => [p, 0]));
    for (const t of Object.values(journal.tasks)) tasks.set(t.phase, (tasks.get(t.phase) ?? 0) + 1);
    for (const [phase, n] of tasks) this.tasks.set({ phase }, n);

    const phases = new Map<string, number>(REQUEST_PHASES.map((p) => [p, 0]));
    let overdue = 0;
    let stalled = 0;
    let oldest: number | undefined;
    const open = new Set<string>();
    for (const s of statuses) {
      phases.set(s.status.phase, (phases.get(s.status.phase) ?? 0) + 1);
      const on = (type: string) => s.status.conditions.some((c) => c.type === type && c.status === 'True');
      if (on('Stalled')) stalled++;
      if (DONE_PHASES.has(s.status.phase)) continue;
      open.add(s.metadata.name);
      if (on('Overdue')) overdue++;
      if (s.status.receivedAt && s.status.phase !== 'Invalid') {
        const received = Date.parse(`${s.status.receivedAt}T00:00:00Z`);
        if (oldest === undefined || received < oldest) oldest = received;
      }
    }
    for (const [phase, n] of phases) this.requests.set({ phase }, n);
    this.overdue.set(overdue);
    this.stalled.set(stalled);
    this.atRisk.set(report.plan.requests.filter((r) => r.atRisk && open.has(r.name)).length);
    this.oldest.set(oldest === undefined ? 0 : Math.max(0, Math.floor((at - oldest) / 1000)));

    this.degraded.reset();
    const degraded = Object.entries(journal.degraded);
    for (const [vendor, d] of degraded)
      this.degraded.set({ vendor, code: d.code }, Math.max(0, Math.floor((at - Date.parse(d.since)) / 1000)));
    this.degradedCount.set(degraded.length);

    this.unapproved.set(report.unapprovedChanges);
    this.held.set({ form: 'parsed' }, report.held.parsed);
    this.held.set({ form: 'finished' }, report.held.finished);
  }

  setLeaseHeld(held: boolean): void {
    this.leaseHeld.set(held ? 1 : 0);
  }

  /**
   * Wraps a connection's HTTP: every attempt sent is counted by route and status (or
   * failure), 429s apart, and the time the call waited for its rate-limit slot.
   */
  observe(vendor: string, http: VendorHttp, now: () => number = Date.now): VendorHttp {
    return {
      request: (o: CallOptions): Promise<HttpResponse> => {
        const route = o.label ?? o.method.toUpperCase();
        const asked = now();
        let waited = false;
        return http.request({
          ...o,
          beforeSend: async () => {
            if (!waited) this.limiterWait.observe({ vendor }, (now() - asked) / 1000);
            waited = true;
            await o.beforeSend?.();
          },
          onAttempt: (outcome) => {
            this.calls.inc({ vendor, route, status: 'status' in outcome ? String(outcome.status) : outcome.failure });
            if ('status' in outcome && outcome.status === 429) this.throttled.inc({ vendor });
            o.onAttempt?.(outcome);
          },
        });
      },
    };
  }
}
