/**
 * The reconcile pass as ordered steps, Flux-style: source → approve → plan input → execute →
 * record. Each step is a function with a typed input and result (this file), testable on
 * its own; the Reconciler (../reconcile.ts) composes them and owns their memory between
 * passes (memory.ts).
 */
import type { ApprovalEvidence, LetheConfig, RateWindow, VendorSpec } from '../../../specs/index.ts';
import type { Journal } from '../../../state/journal.ts';
import type { AnyDriver, DriverTable } from '../../contracts/driver.ts';
import type { Logger } from '../../contracts/log.ts';
import type { ApprovedState, ApprovedTree } from '../../git/approved-tree.ts';
import type { GitHubReviewGate } from '../../git/github-review.ts';
import type { GitSource, HistoryRewritten } from '../../git/source.ts';
import type { TrustRoot } from '../../git/trust-root.ts';
import type { VendorHttp } from '../../http/types.ts';
import type { Problem, RepositoryModel } from '../../manifests/index.ts';
import type { PhaseChange } from '../commit-message.ts';
import type { RequestRuntime, VendorRuntime } from '../executor.ts';
import type { PendingReport } from '../pending.ts';
import type { Plan } from '../planner.ts';

export type { DriverTable };

/** How the pass reaches vendors: the HTTP layer and credentials live behind this seam. */
export interface VendorWiring {
  /** Resolves the connection's credential references (where `driver` says they are); throws a LetheError naming the reference, never the value. */
  secrets(vendor: string, spec: VendorSpec, driver: AnyDriver): Promise<Record<string, string>>;
  http(
    vendor: string,
    spec: VendorSpec,
    windows: RateWindow[],
    secrets: Record<string, string>,
    driver: AnyDriver,
  ): VendorHttp;
  /** Milliseconds this vendor's limiter needs for `calls` more calls (planner ETAs), asked many times a pass. */
  drainEstimate(
    vendor: string,
    spec: VendorSpec,
    windows: RateWindow[],
    secrets: Record<string, string>,
  ): (calls: number) => number;
}

export interface ReconcilerOptions {
  source: GitSource;
  /** The root of trust the approved tree is computed from. */
  trust: TrustRoot;
  /** The approved-tree walk already made at start-up (app.ts); default: a new one, cached in dataDir. */
  approvedTree?: ApprovedTree;
  journal: Journal;
  drivers: DriverTable;
  wiring: VendorWiring;
  dataDir: string;
  /** Where the status signing key is (the secrets directory); unsigned when lethe.yaml declares none. */
  secretsDir?: string;
  /** Secret key for subject hashes (see subject.ts). */
  salt: string;
  /** The controller's age identities per key epoch (empty when the key is missing), for sealed subjects. */
  subjectKeys?: (epoch: string) => Promise<string[]>;
  now(): number;
  log: Logger;
  backoffMs(attempt: number): number;
  /** No new vendor action starts after this long into a pass. */
  maxPassMs?: number;
  /** During a pass, status of the tasks touched so far is committed this often (default 5 s). */
  checkpointMs?: number;
  degradedRetryMs?: number;
  /** github-review mode: the gate that reads pull-request reviews for this policy. */
  githubGate?(policy: LetheConfig['spec']['approval']): Promise<GitHubReviewGate | undefined>;
  /** Throws unless this controller still holds its lease: checked before status commits and vendor submissions. */
  fence?: () => Promise<void>;
}

/** What every step may use: the reconciler's options and its approved-tree walker. */
export type StepDeps = ReconcilerOptions & { tree: ApprovedTree };

export interface PassReport {
  head: string;
  plan: Plan;
  commit?: string;
  pushed: boolean;
  pushError?: { code: string; message: string };
  changes: PhaseChange[];
  calls: number;
  problems: Problem[];
  /** Set when the status history was rewritten under the controller: nothing was written. */
  historyRewritten?: HistoryRewritten;
  /** Earliest time a task asked to be looked at again (epoch ms), for `lethe run`. */
  nextCheckAt?: number;
  /** The pass called a vendor or changed a task: a task it left due may go on at once. */
  progress: boolean;
  /** Changes on the branch not acted on for want of approval (the drift an operator alerts on). */
  unapprovedChanges: number;
  /** Desired files held in memory after the pass: parsed whole, or finished requests kept without (finished.ts). */
  held: { parsed: number; finished: number };
}

/** Step 1, source: the branch head, its approved tree, and the desired state validated. */
export interface Sourced {
  head: string;
  state: ApprovedState;
  /** Desired-state paths whose content changed since the last pass, or 'all' on the first. */
  changedPaths: string[] | 'all';
  model: RepositoryModel;
  config: LetheConfig;
  /** The model is the last pass's (nothing in the desired state changed). */
  reused: boolean;
}

/** Step 2, approve: how each request got in (or why it waits), and what waits for approval. */
export interface Approved {
  approvals: Map<string, ApprovalEvidence>;
  /** Changes on the branch that were not approved: shown, never acted on. */
  pending: PendingReport[];
  /** PendingChange condition message per affected request. */
  pendingByRequest: Map<string, string>;
}

/** Steps 1 and 2 together, plus the requests whose status the record step must recompute. */
export interface Snapshot extends Approved {
  head: string;
  model: RepositoryModel;
  config: LetheConfig;
  /** Requests whose inputs changed since the last pass: their status is recomputed. */
  dirty: Set<string>;
  /** Requests whose status a record step of this pass recomputed: the ones that may have just finished. */
  recorded: Set<string>;
  /** The root of trust the approved tree was computed from. */
  root: string;
}

/** Step 3, plan input: the plan and what executing it needs. */
export interface Planned {
  plan: Plan;
  vendors: Map<string, VendorRuntime>;
  requests: Map<string, RequestRuntime>;
}

/** How the plan input is built: `lethe plan` runs without credentials and may assume approval. */
export interface PlanMode {
  planning?: boolean;
  assumeApproved?: boolean;
}

/** Step 5, record: the status commit (if any) and the phase changes it holds. */
export type Recorded = {
  commit?: string;
  pushed: boolean;
  pushError?: { code: string; message: string };
  changes: PhaseChange[];
  historyRewritten?: HistoryRewritten;
};
