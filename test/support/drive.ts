import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Action, VendorSpec } from '../../specs/index.ts';
import { Journal, taskKey, type TaskRecord } from '../../state/journal.ts';
import { execute, type RequestRuntime, type VendorRuntime } from '../../controller/core/executor.ts';
import { isFinal, plan, type PlanVendor } from '../../controller/core/planner.ts';
import { subjectKey } from '../../controller/core/subject.ts';
import { Dispatchers } from '../../controller/http/dispatchers.ts';
import { RateLimiter } from '../../controller/http/rate-limiter.ts';
import { createVendorHttp } from '../../controller/http/vendor-http.ts';
import type { AnyDriver } from '../../controller/contracts/driver.ts';
import type { Logger } from '../../controller/contracts/log.ts';

export interface DriveRequest {
  name: string;
  action: Action;
  emails: string[];
  identifiers?: Record<string, string>;
  dueAt?: string;
  justification?: string;
  approvers?: string[];
}

export interface DriveOptions {
  driver: AnyDriver;
  vendor: string;
  spec: VendorSpec;
  secrets: Record<string, string>;
  requests: DriveRequest[];
  /** Holds journal.json and exports/. Reuse it (and the journal) to simulate a restart. */
  dataDir: string;
  /** Passes at most; each pass is plan + execute as in `lethe reconcile`. */
  maxPasses?: number;
  /** Longest sleep between passes while tasks wait for nextCheckAt (ms). */
  maxSleepMs?: number;
  /** Stop when this returns true after a pass (e.g. to "crash" at a given step). */
  stopWhen?(tasks: Record<string, TaskRecord>): boolean;
  log?: Logger;
  dispatchers?: Dispatchers;
  /** A shared limiter, to check limits across restarts or several drives. */
  limiter?: RateLimiter;
  /** Requests no longer in the repository (withdrawn). */
  withdrawn?: string[];
}

export interface DriveResult {
  journal: Journal;
  /** Task records by request name. */
  tasks: Record<string, TaskRecord>;
  passes: number;
  log: string[];
}

/**
 * Drives one vendor's tasks through the real planner, executor and journal — the same path
 * as a reconcile pass, without git — until every task is final or `maxPasses` is reached.
 * Driver tests run it against the sandbox; a second call on the same dataDir is a restart.
 */
/**
 * As the reconciler's hash of the spec: an operator's answer (an identifier added to the
 * request) changes it, which is what requeues a Stalled task.
 */
const specFingerprint = (r: DriveOptions['requests'][number]) =>
  createHash('sha256')
    .update(JSON.stringify([r.name, r.action, r.emails, r.identifiers ?? {}]))
    .digest('hex')
    .slice(0, 16);

export async function drive(o: DriveOptions): Promise<DriveResult> {
  const lines: string[] = [];
  const log: Logger = o.log ?? {
    debug: () => {},
    info: (m, f) => lines.push(`info ${m} ${JSON.stringify(f ?? {})}`),
    warn: (m, f) => lines.push(`warn ${m} ${JSON.stringify(f ?? {})}`),
    error: (m, f) => lines.push(`error ${m} ${JSON.stringify(f ?? {})}`),
  };
  const journal = await Journal.open(join(o.dataDir, 'journal.json'));
  const dispatchers = o.dispatchers ?? new Dispatchers();
  const spec = o.spec;
  const windows =
    spec.rateLimits ?? (o.driver.defaultRateLimits as (s: VendorSpec) => { limit: number; perSeconds: number }[])(spec);
  const limiter = o.limiter ?? new RateLimiter({ key: o.vendor, windows });
  const http = createVendorHttp({ vendor: o.vendor, limiter, secrets: Object.values(o.secrets), dispatchers, log });
  const runtime: VendorRuntime = {
    name: o.vendor,
    driver: o.driver,
    spec,
    http,
    secrets: o.secrets,
    concurrency: spec.concurrency ?? 4,
    fingerprint: 'fp',
  };
  const withdrawn = new Set(o.withdrawn ?? []);
  const live = o.requests.filter((r) => !withdrawn.has(r.name));
  const requests = new Map<string, RequestRuntime>(
    live.map((r) => [
      r.name,
      {
        name: r.name,
        action: r.action,
        dueAt: r.dueAt ?? '2026-12-31',
        justification: r.justification ?? `Request ${r.name}`,
        emails: r.emails,
        identifiers: r.identifiers ? { [o.vendor]: r.identifiers } : {},
        approval: {
          approvers: r.approvers ?? ['Data Protection Officer <dpo@example.com>'],
          commit: '0123456789abcdef',
        },
        fingerprint: specFingerprint(r),
        vendors: [o.vendor],
      },
    ]),
  );
  const planVendor: PlanVendor = {
    name: o.vendor,
    available: true,
    fingerprint: 'fp',
    batch: o.driver.batch,
    canCancel: o.driver.cancel !== undefined,
    drainMs: (n) => limiter.drainTimeMs(n),
  };
  const maxPasses = o.maxPasses ?? 50;
  let passes = 0;
  const byRequest = () => Object.fromEntries(Object.values(journal.data.tasks).map((t) => [t.request, t]));
  for (; passes < maxPasses; passes++) {
    const tasks = Object.values(journal.data.tasks);
    const mine = o.requests.map((r) => journal.task(taskKey(r.name, o.vendor)));
    if (passes > 0 && mine.every((t) => t && isFinal(t))) break;
    if (o.stopWhen?.(byRequest())) break;
    // The harness has no cool-down: a degraded vendor is tried again next pass.
    journal.clearDegraded(o.vendor);
    const p = plan({
      now: Date.now(),
      requests: live.map((r) => ({
        name: r.name,
        action: r.action,
        dueAt: r.dueAt ?? '2026-12-31',
        receivedAt: '2026-11-20',
        subjectKeys: r.emails.map((e) => subjectKey('test-salt', e)),
        vendors: [o.vendor],
        approved: true,
        fingerprint: specFingerprint(r),
      })),
      tasks,
      openIntents: new Set(Object.values(journal.data.intents).flatMap((i) => i.tasks)),
      vendors: new Map([[o.vendor, planVendor]]),
    });
    await execute(p, {
      journal,
      vendors: new Map([[o.vendor, runtime]]),
      requests,
      now: Date.now,
      log,
      dataDir: o.dataDir,
      backoffMs: (n) => Math.min(50 * 2 ** n, 1000),
      deadline: Date.now() + 60_000,
      degradedRetryMs: 100,
    });
    const waits = Object.values(journal.data.tasks)
      .filter((t) => !isFinal(t) && t.nextCheckAt !== undefined)
      .map((t) => t.nextCheckAt! - Date.now());
    const sleep = Math.max(0, Math.min(o.maxSleepMs ?? 2_000, ...(waits.length ? waits : [0])));
    if (sleep > 0) await new Promise((r) => setTimeout(r, sleep));
  }
  if (!o.dispatchers) await dispatchers.close();
  return { journal, tasks: byRequest(), passes, log: lines };
}
