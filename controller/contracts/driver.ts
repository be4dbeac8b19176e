import type { z } from 'zod';
import type { Action, RateWindow, VendorSpecOf, VendorType } from '../../specs/index.ts';
import type { ErrorTable } from './errors.ts';
import type { VendorHttp } from './http.ts';
import type { Logger } from './log.ts';

/** The intent name a driver's `recover` sees for a task rebuilt from git after the journal was lost. */
export const REBUILT_INTENT = 'journal-rebuilt';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type TaskData = Record<string, JsonValue>;

/**
 * What a driver persisted about one (request, vendor) task. `data` goes to the journal
 * (never to git) and must hold vendor ids only: no emails, names or identifiers.
 */
export interface TaskState {
  /** Driver-defined step; every task starts at `start`. */
  step: string;
  data: TaskData;
  /** Submissions made so far (for bounded re-submission after a vendor-side failure). */
  submissions: number;
}

/** One task as the executor hands it to a driver. */
export interface TaskInput {
  /** metadata.name of the request: safe to send in audit labels, never personal data. */
  request: string;
  action: Action;
  dueAt: string;
  justification: string;
  subject: {
    emails: string[];
    /** This vendor's identifiers from `spec.subject.identifiers[<vendor name>]`. */
    identifiers: Record<string, string>;
  };
  /** Who approved in git, recorded as the basis for vendor-side validations (e.g. Qualifio DPO). */
  approval: { approvers: string[]; commit: string };
  state: TaskState;
}

/** The outcome of one step. The executor persists it and schedules the next look. */
export type StepResult =
  | {
      kind: 'continue';
      step: string;
      data?: TaskData;
      /** When to look again; omit to continue as soon as the limiter allows. */
      checkAfterMs?: number;
      jobIds?: string[];
      evidence?: Record<string, string>;
      submissions?: number;
    }
  | {
      kind: 'completed';
      /** What completion means here: `Erased`, `NoDataHeld`, `Exported`, `OptedOut`, `Cancelled`. */
      outcome: string;
      data?: TaskData;
      jobIds?: string[];
      evidence?: Record<string, string>;
      submissions?: number;
    }
  | {
      kind: 'failed';
      code: string;
      /** No personal data: built from codes, ids and statuses only. */
      message: string;
      data?: TaskData;
      jobIds?: string[];
      submissions?: number;
    };

/** An intent written before a non-idempotent call and not yet resolved by its answer. */
export interface OpenIntent {
  name: string;
  detail: TaskData;
  at: string;
}

export interface DriverContext<T extends VendorType = VendorType> {
  vendor: string;
  spec: VendorSpecOf<T>;
  http: VendorHttp;
  /** Resolved credential references, by the key they have in `spec.credentials`. */
  secrets: Record<string, string>;
  now(): Date;
  log: Logger;
  /**
   * Runs a non-idempotent call. The intent (name, non-personal detail) is journaled and
   * flushed before the first unsafe request `send` makes leaves this machine (after its
   * rate-limit slot is granted), and resolved together with the step's result once the
   * vendor answered, or at once when an error proves the vendor did not act. A crash in
   * between leaves the intent open, and the next pass calls `recover` instead of `step` for
   * every task the intent names. Intents of one step run one after the other.
   */
  intent<R>(name: string, detail: TaskData, send: () => Promise<R>): Promise<R>;
  /** `<data dir>/exports/<request>/<vendor>/`, created on demand; never inside the repository. */
  exportDir(request: string): Promise<string>;
}

export interface Driver<T extends VendorType = VendorType> {
  type: T;
  /** Every action the driver can perform; `lethe validate` rejects the rest. */
  actions: readonly Action[];
  /** Narrows `actions` for one connection (an API Proxy performs only the actions it has queries for). */
  supportedActions?(spec: VendorSpecOf<T>): readonly Action[];
  /** The vendor's documented limits, used unless the connection overrides them. */
  defaultRateLimits(spec: VendorSpecOf<T>): RateWindow[];
  /** Keys the driver reads from `spec.subject.identifiers[<vendor>]`. */
  identifierKeys: readonly string[];
  /** Error codes this driver reports, with a message and fix hint each. */
  errors: ErrorTable;
  /**
   * When set, tasks waiting at `batch.step` for the same vendor and action are handed to
   * `stepBatch` together, up to `batch.max` subjects (e.g. MaestroQA: 5 emails a call).
   */
  batch?: { step: string; max: number };
  /** Advances one task by one step. Throwing a LetheError is how transient/terminal errors surface. */
  step(ctx: DriverContext<T>, task: TaskInput): Promise<StepResult>;
  stepBatch?(ctx: DriverContext<T>, tasks: TaskInput[]): Promise<StepResult[]>;
  /** Resolves an open intent after a crash: ask the vendor where the API allows; never resubmit blindly. */
  recover(ctx: DriverContext<T>, task: TaskInput, intent: OpenIntent): Promise<StepResult>;
  /** Cancels vendor-side work for a withdrawn request, where the vendor allows it. */
  cancel?(ctx: DriverContext<T>, task: TaskInput): Promise<StepResult>;
  /** Checked once per pass before the vendor's work; false or a throw marks the vendor degraded. */
  healthCheck?(ctx: DriverContext<T>): Promise<void>;
  /**
   * Where the connection keeps its credential references, by the key the driver reads in
   * `ctx.secrets`. Omitted: every entry of `spec.credentials`, as is.
   */
  credentials?(spec: VendorSpecOf<T>): Record<string, CredentialRef>;
  /**
   * The task a vendor callback (`GET /callback/<path>` on `lethe run --listen`) names, or
   * undefined when the path is not this driver's. The task is looked at in the next pass.
   */
  callbackTask?(path: string): { request: string; vendor: string } | undefined;
  /**
   * Origins the driver calls that the connection's spec does not spell out (a default host
   * derived from a setting). Credentials go only to these and to URLs written in the spec.
   */
  implicitOrigins?(spec: VendorSpecOf<T>): string[];
  /** The connection's schema (from specs/): the single source of the driver's settings. */
  configSchema: z.ZodType;
}

/** A credential reference (`env:`, `file:`, ...); `jsonKey` reads that key of a JSON secret. */
export interface CredentialRef {
  ref: string;
  jsonKey?: string;
}

/**
 * A driver as the pass holds it, whatever its type: the table is indexed by `spec.type`, so
 * the connection a driver is handed is always its own (method parameters are bivariant,
 * which is what lets a `Driver<'qualifio'>` stand here without a cast).
 */
export type AnyDriver = Driver<VendorType>;

/** One driver per vendor type, created for one controller (see `createDriverTable`). */
export type DriverTable = { [K in VendorType]: AnyDriver };
