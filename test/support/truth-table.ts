import fc from 'fast-check';
import { LetheError } from '../../controller/errors/types.ts';
import { HttpError } from '../../controller/http/errors.ts';
import type { CallOptions, HttpResponse, VendorHttp } from '../../controller/http/types.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';
import type {
  AnyDriver,
  DriverContext,
  OpenIntent,
  StepResult,
  TaskData,
  TaskInput,
} from '../../controller/contracts/driver.ts';
import type { Logger } from '../../controller/contracts/log.ts';
import type { Action, VendorSpec } from '../../specs/index.ts';

/**
 * A harness for the drivers' truth tables: an in-memory vendor answers every call from a
 * generated script, and a small model of the executor's contract (step / recover after an
 * open intent / stall on a terminal error / retry otherwise) runs one task to its end on a
 * virtual clock. What the tests assert is the vendor side: what was acted on, how often,
 * and which answer preceded a success outcome.
 */

/** How the fake vendor answers one call. `documented` is the seed's answer for the vendor's state. */
export const VARIANTS = [
  'documented',
  'documented',
  'documented',
  'not-found',
  'route-404-html',
  'route-404-json',
  'ok-unexpected',
  'ok-partial',
  'ok-html',
  'unknown-word',
  'server-error',
  'timeout',
  'reset',
  'lost',
] as const;
export type Variant = (typeof VARIANTS)[number];

const ODD = VARIANTS.filter((v) => v !== 'documented');

/**
 * A generated list of answer variants, consumed one per call; `documented` once exhausted.
 * Half are dense random scripts, half the documented flow with one to three odd answers
 * injected at any call, so that every single decision point meets every odd answer.
 */
export const scriptArb: fc.Arbitrary<Variant[]> = fc.oneof(
  fc.array(fc.constantFrom(...VARIANTS), { maxLength: 14 }),
  fc
    .array(fc.record({ at: fc.nat({ max: 11 }), variant: fc.constantFrom(...ODD) }), { minLength: 1, maxLength: 3 })
    .map((faults) => {
      const script: Variant[] = Array.from({ length: 12 }, () => 'documented');
      for (const f of faults) script[f.at] = f.variant;
      return script;
    }),
);

export type Reply =
  | { status: number; body?: unknown; text?: string; contentType?: string }
  /** The call failed on the wire; `delivered`: whether the vendor got (and acted on) it first. */
  | { fault: 'timeout' | 'reset'; delivered: boolean };

export const HTML_404: Reply = {
  status: 404,
  text: '<!DOCTYPE html><html><body><h1>404 Not Found</h1></body></html>',
  contentType: 'text/html',
};
export const JSON_404: Reply = { status: 404, body: { error: 'Not Found' } };
export const SERVER_ERROR: Reply = { status: 503, text: 'Service Unavailable', contentType: 'text/plain' };

export class Script {
  readonly served: Array<{ label: string; variant: Variant }> = [];
  private i = 0;
  constructor(private readonly variants: readonly Variant[]) {}
  next(label: string): Variant {
    const variant = this.variants[this.i++] ?? 'documented';
    this.served.push({ label, variant });
    return variant;
  }
  /** The variant last served for a label. */
  last(label: string): Variant | undefined {
    return this.served.filter((s) => s.label === label).at(-1)?.variant;
  }
}

/** A VendorHttp over a handler; every call is recorded. */
export function scriptedHttp(handler: (call: CallOptions) => Reply | Promise<Reply>, calls: CallOptions[]): VendorHttp {
  return {
    async request(call: CallOptions): Promise<HttpResponse> {
      calls.push(call);
      if (call.beforeSend) await call.beforeSend();
      const label = call.label ?? 'call';
      const r = await handler(call);
      if ('fault' in r) {
        const code = r.fault === 'timeout' ? 'HTTP_TIMEOUT' : 'HTTP_NETWORK';
        throw new HttpError(code, `${label}: ${r.fault}`, r.delivered, 1);
      }
      const body =
        r.text !== undefined
          ? Buffer.from(r.text)
          : r.body === undefined
            ? Buffer.alloc(0)
            : Buffer.from(JSON.stringify(r.body));
      const contentType = r.contentType ?? (r.text !== undefined ? 'text/plain' : 'application/json');
      return httpResponse({ status: r.status, body, label, headers: { 'content-type': contentType } });
    },
  };
}

export interface TaskEnd {
  phase: 'Completed' | 'Failed' | 'Stalled' | 'InProgress';
  outcome?: string;
  code?: string;
  evidence: Record<string, string>;
  /** Every error the driver threw on the way (code), in order. */
  errors: string[];
}

export interface RunOptions {
  driver: AnyDriver;
  spec: VendorSpec;
  secrets: Record<string, string>;
  action: Action;
  emails: string[];
  identifiers?: Record<string, string>;
  handler: (call: CallOptions) => Reply | Promise<Reply>;
  /** The virtual clock, shared with the fake vendor. */
  clock: { now: number };
  maxSteps?: number;
  /** Runs the driver's healthCheck first, as the executor does once per pass. */
  healthCheck?: boolean;
  /** For access exports; without it an export step throws. */
  exportDir?: string;
}

const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/**
 * Runs one task the way the executor does: `step` until a final result; `recover` instead
 * when an intent was left open by an error that did not prove the call undelivered; a
 * terminal error stalls; any other error is retried a virtual minute later.
 */
export async function runTask(o: RunOptions): Promise<TaskEnd & { calls: CallOptions[] }> {
  const calls: CallOptions[] = [];
  const http = scriptedHttp(o.handler, calls);
  let state: TaskInput['state'] = { step: 'start', data: {}, submissions: 0 };
  let open: OpenIntent | undefined;
  const evidence: Record<string, string> = {};
  const errors: string[] = [];
  let journalIntent: (() => Promise<void>) | undefined;
  const ctx: DriverContext = {
    vendor: 'v',
    spec: o.spec as never,
    http: {
      request: (c) => http.request({ ...c, ...(!c.safe && journalIntent ? { beforeSend: journalIntent } : {}) }),
    },
    secrets: o.secrets,
    now: () => new Date(o.clock.now),
    log: silent,
    async intent<R>(name: string, detail: TaskData, send: () => Promise<R>): Promise<R> {
      let written = false;
      journalIntent = async () => {
        if (written) return;
        written = true;
        open = { name, detail, at: new Date(o.clock.now).toISOString() };
      };
      try {
        return await send();
      } catch (err) {
        if (written && err instanceof LetheError && err.maybeDelivered === false) open = undefined;
        throw err;
      } finally {
        journalIntent = undefined;
      }
    },
    exportDir: async () => {
      if (o.exportDir === undefined) throw new Error('exportDir: not given');
      return o.exportDir;
    },
  };
  const end = (e: Omit<TaskEnd, 'evidence' | 'errors'>) => ({ ...e, evidence, errors, calls });
  for (let i = 0; i < (o.maxSteps ?? 40); i++) {
    const task: TaskInput = {
      request: 'req-truth',
      action: o.action,
      dueAt: '2026-12-31',
      justification: 'truth table',
      subject: { emails: o.emails, identifiers: o.identifiers ?? {} },
      approval: { approvers: ['Dana DPO'], commit: '0123456789abcdef' },
      state,
    };
    let result: StepResult;
    try {
      if (o.healthCheck && o.driver.healthCheck)
        await (o.driver.healthCheck as (c: DriverContext) => Promise<void>)(ctx);
      const recovering = open;
      result = recovering
        ? await (o.driver.recover as (c: DriverContext, t: TaskInput, i: OpenIntent) => Promise<StepResult>)(
            ctx,
            task,
            recovering,
          )
        : await (o.driver.step as (c: DriverContext, t: TaskInput) => Promise<StepResult>)(ctx, task);
      // Answered: the step's result and the intent's close reach the journal together.
      open = undefined;
    } catch (err) {
      const code = err instanceof LetheError ? err.code : 'DRIVER_ERROR';
      errors.push(code);
      if (err instanceof LetheError && err.terminal) return end({ phase: 'Stalled', code });
      if (!(err instanceof LetheError)) return end({ phase: 'Failed', code });
      o.clock.now += 60_000;
      continue;
    }
    Object.assign(evidence, 'evidence' in result ? result.evidence : undefined);
    if (result.kind === 'completed') return end({ phase: 'Completed', outcome: result.outcome });
    if (result.kind === 'failed') return end({ phase: 'Failed', code: result.code });
    state = {
      step: result.step,
      data: result.data ?? state.data,
      submissions: result.submissions ?? state.submissions,
    };
    o.clock.now += Math.max(result.checkAfterMs ?? 0, 1);
  }
  return end({ phase: 'InProgress' });
}

/** Success outcomes: what a DPO would show a regulator. */
export const SUCCESS = new Set(['Erased', 'NoDataHeld', 'Exported', 'OptedOut']);
