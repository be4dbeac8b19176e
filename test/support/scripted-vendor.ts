import { HttpError } from '../../controller/http/errors.ts';
import { httpResponse } from '../../controller/http/vendor-http.ts';
import type { CallOptions, HttpResponse, VendorHttp } from '../../controller/http/types.ts';
import { LetheError } from '../../controller/errors/types.ts';
import type { AnyDriver, DriverContext, OpenIntent, StepResult, TaskInput } from '../../controller/contracts/driver.ts';
import type { VendorSpec } from '../../specs/index.ts';

/**
 * Truth-table harness: a driver against a scripted vendor, with the executor's rules for
 * intents and errors, but no network, journal or clock. Each answer is one of the shapes a
 * vendor (or whatever sits at a wrong baseUrl) can give.
 */
export type Answer =
  | { kind: 'response'; status: number; contentType?: string; body?: string; json?: unknown; tag: string }
  | { kind: 'timeout'; tag: string }
  | { kind: 'reset'; tag: string };

export const json = (status: number, body: unknown, tag: string): Answer => ({
  kind: 'response',
  status,
  json: body,
  tag,
});
export const html = (status: number, tag = `${status} html`): Answer => ({
  kind: 'response',
  status,
  contentType: 'text/html',
  body: '<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center><hr><center>nginx</center></body></html>',
  tag,
});
export const raw = (status: number, body: string, contentType: string, tag: string): Answer => ({
  kind: 'response',
  status,
  body,
  contentType,
  tag,
});
export const TIMEOUT: Answer = { kind: 'timeout', tag: 'timeout' };
export const RESET: Answer = { kind: 'reset', tag: 'reset' };

/** One call the driver made and the answer it got. */
export interface Exchange {
  method: string;
  url: string;
  body: unknown;
  answer: Answer;
}

function toResponse(a: Extract<Answer, { kind: 'response' }>, label: string): HttpResponse {
  const text = a.json !== undefined ? JSON.stringify(a.json) : (a.body ?? '');
  const headers: Record<string, string> = { 'content-type': a.contentType ?? 'application/json' };
  return httpResponse({ status: a.status, body: Buffer.from(text), label, headers });
}

/** A VendorHttp that answers each call with `answer(call)` and records the exchange. */
export function scriptedHttp(answer: (call: CallOptions) => Answer, log: Exchange[]): VendorHttp {
  return {
    async request(call) {
      const a = answer(call);
      log.push({ method: call.method, url: call.url, body: call.body, answer: a });
      const label = call.label ?? 'scripted';
      // As the HTTP layer reports them: the request was written, so it may have been acted on.
      if (a.kind === 'timeout') throw new HttpError('HTTP_TIMEOUT', `${label}: timeout`, true, 1);
      if (a.kind === 'reset') throw new HttpError('HTTP_NETWORK', `${label}: socket hang up`, true, 1);
      return toResponse(a, label);
    },
  };
}

export interface RunEnd {
  /** Completed / Failed / Cancelled (final), Stalled (terminal error), Pending (still going when the budget ran out). */
  phase: 'Completed' | 'Cancelled' | 'Failed' | 'Stalled' | 'Pending';
  outcome?: string;
  code?: string;
  jobIds: string[];
  evidence: Record<string, string>;
}

/**
 * Runs one task to its end the way the executor would: `recover` while an intent is open,
 * `step` otherwise; an intent closes with the step's result, or at once on an error that
 * proves the call was not delivered; a terminal error stalls the task (no operator here),
 * any other error is retried next pass.
 */
export async function runTask(o: {
  driver: AnyDriver;
  spec: VendorSpec;
  vendor: string;
  secrets: Record<string, string>;
  task: TaskInput;
  http: VendorHttp;
  maxSteps: number;
}): Promise<RunEnd> {
  let clock = Date.parse('2026-12-01T00:00:00Z');
  let open: OpenIntent | undefined;
  let task = o.task;
  const jobIds = new Set<string>();
  let evidence: Record<string, string> = {};
  const silent = () => {};
  const ctx: DriverContext = {
    vendor: o.vendor,
    spec: o.spec,
    http: o.http,
    secrets: o.secrets,
    now: () => new Date(clock),
    log: { info: silent, warn: silent, error: silent, debug: silent },
    async intent(name, detail, send) {
      open = { name, detail, at: new Date(clock).toISOString() };
      try {
        return await send();
      } catch (err) {
        if (err instanceof LetheError && err.maybeDelivered === false) open = undefined;
        throw err;
      }
    },
    exportDir: async () => {
      throw new Error('no exports in truth tables');
    },
  };
  const call = o.driver as unknown as {
    step(c: DriverContext, t: TaskInput): Promise<StepResult>;
    recover(c: DriverContext, t: TaskInput, i: OpenIntent): Promise<StepResult>;
  };
  for (let i = 0; i < o.maxSteps; i++) {
    // Far enough apart that no cached answer or token is reused by mistake of timing.
    clock += 3_600_000 * 2;
    let result: StepResult;
    const wasOpen = open;
    try {
      result = wasOpen ? await call.recover(ctx, task, wasOpen) : await call.step(ctx, task);
    } catch (err) {
      if (err instanceof LetheError && err.terminal)
        return { phase: 'Stalled', code: err.code, jobIds: [...jobIds], evidence };
      if (!(err instanceof LetheError)) throw err;
      continue;
    }
    // The step's answer is on record: the intent it opened (or recovered) is resolved.
    open = undefined;
    for (const id of result.jobIds ?? []) jobIds.add(id);
    if ('evidence' in result && result.evidence) evidence = { ...evidence, ...result.evidence };
    if (result.kind === 'completed') {
      return {
        phase: result.outcome === 'Cancelled' ? 'Cancelled' : 'Completed',
        outcome: result.outcome,
        jobIds: [...jobIds],
        evidence,
      };
    }
    if (result.kind === 'failed') return { phase: 'Failed', code: result.code, jobIds: [...jobIds], evidence };
    task = {
      ...task,
      state: {
        step: result.step,
        data: result.data ?? task.state.data,
        submissions: result.submissions ?? task.state.submissions,
      },
    };
  }
  return { phase: 'Pending', jobIds: [...jobIds], evidence };
}

/** Answers drawn in turn from a list; the last one repeats. */
export function sequence(answers: readonly Answer[]): () => Answer {
  let i = 0;
  return () => answers[Math.min(i++, answers.length - 1)]!;
}

export const SUCCESS_OUTCOMES = new Set(['Erased', 'NoDataHeld', 'Exported', 'OptedOut']);

export function erasureTask(identifiers: Record<string, string> = {}, emails = ['subject.one@example.com']): TaskInput {
  return {
    request: 'r-truth',
    action: 'erasure',
    dueAt: '2026-12-31',
    justification: 'truth table',
    subject: { emails, identifiers },
    approval: { approvers: ['DPO <dpo@example.com>'], commit: '0123456789abcdef' },
    state: { step: 'start', data: {}, submissions: 0 },
  };
}
