import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import {
  PrivacyRequestStatus,
  ResourceName,
  type ApprovalEvidence,
  type LetheConfig,
  type PrivacyRequestSpec,
  type RateWindow,
  type StatusError,
  type VendorSpec,
} from '../../specs/index.ts';
import type { Journal, TaskRecord } from '../../state/journal.ts';
import { dueDate } from '../deadlines.ts';
import { LetheError } from '../errors/types.ts';
import { evaluateApprovals } from '../git/approval.ts';
import { ApprovedTreeCache } from '../git/approved-cache.ts';
import { ApprovedTree, pendingChanges, type ApprovedState } from '../git/approved-tree.ts';
import type { GitHubReviewGate } from '../git/github-review.ts';
import { findSigner, type StatusSigner } from '../git/signing.ts';
import type { GitSource, HistoryRewritten } from '../git/source.ts';
import type { TrustRoot } from '../git/trust-root.ts';
import type { VendorHttp } from '../http/types.ts';
import { checkRepository, manifestKind, nameFromPath, parseManifest, type ParsedManifest, type Problem, type RepositoryModel } from '../manifests/index.ts';
import type { AnyDriver, DriverTable } from '../contracts/driver.ts';
import type { Logger } from '../contracts/log.ts';
import { commitMessage, type PhaseChange } from './commit-message.ts';
import { HISTORY_REWRITTEN_BANNER, renderDashboard, withHistoryRewritten } from './dashboard.ts';
import { degradedRetryAt } from './degraded.ts';
import { describePending, pendingByRequest, type PendingReport } from './pending.ts';
import { execute, type RequestRuntime, type VendorRuntime } from './executor.ts';
import { isFinal, plan as makePlan, type Plan, type PlanRequest, type PlanVendor, type RequestPlan } from './planner.ts';
import { provenStatusFiles } from '../audit/trust.ts';
import { rebuildTasks, reopenAfterFallback } from './rebuild.ts';
import { computeStatus, renderStatus, statusPath, type StatusInput } from './status.ts';
import { subjectKey, subjectRef } from './subject.ts';
import { decryptSubject, isSealedSubject, subjectEpochs, type SubjectFields } from '../subjects/sealed.ts';

export type { DriverTable };

/** How the pass reaches vendors: the HTTP layer and credentials live behind this seam. */
export interface VendorWiring {
  /** Resolves the connection's credential references (where `driver` says they are); throws a LetheError naming the reference, never the value. */
  secrets(vendor: string, spec: VendorSpec, driver: AnyDriver): Promise<Record<string, string>>;
  http(vendor: string, spec: VendorSpec, windows: RateWindow[], secrets: Record<string, string>, driver: AnyDriver): VendorHttp;
  /** Milliseconds this vendor's limiter needs for `calls` more calls (planner ETAs). */
  drainMs(vendor: string, spec: VendorSpec, windows: RateWindow[], secrets: Record<string, string>, calls: number): number;
}

type Recorded = { commit?: string; pushed: boolean; pushError?: { code: string; message: string }; changes: PhaseChange[]; historyRewritten?: HistoryRewritten };

/** The pass's record steps (checkpoints, then the last one) as one report. */
function merge(checkpoints: Recorded[], last: Recorded): Recorded {
  const all = [...checkpoints, last];
  const withCommit = all.filter((r) => r.commit !== undefined);
  const failed = [...all].reverse().find((r) => r.pushError !== undefined);
  return {
    ...(withCommit.length > 0 ? { commit: withCommit[withCommit.length - 1]!.commit } : {}),
    pushed: withCommit.length > 0 ? withCommit.every((r) => r.pushed) : last.pushed,
    ...(last.pushError ? { pushError: last.pushError } : failed && !last.pushed ? { pushError: failed.pushError! } : {}),
    changes: all.flatMap((r) => r.changes),
    ...(all.find((r) => r.historyRewritten) ? { historyRewritten: all.find((r) => r.historyRewritten)!.historyRewritten } : {}),
  };
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
}

interface Snapshot {
  head: string;
  model: RepositoryModel;
  config: LetheConfig;
  approvals: Map<string, ApprovalEvidence>;
  /** Requests whose inputs changed since the last pass: their status is recomputed. */
  dirty: Set<string>;
  /** The root of trust the approved tree was computed from. */
  root: string;
  /** Changes on the branch that were not approved: shown, never acted on. */
  pending: PendingReport[];
  /** PendingChange condition message per affected request. */
  pendingByRequest: Map<string, string>;
}

const hash = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/**
 * One reconcile pass — source, validate, approve, plan, execute, record — with the caches
 * that make the next pass cheap: parsed manifests by path, statuses by name. Safe to run
 * at any moment and as often as wanted: it is level-triggered.
 */
export class Reconciler {
  /** Parsed manifests of the desired state, by path, with the blob they were parsed from. */
  private parsed = new Map<string, { blob: string; manifest: ParsedManifest }>();
  /** path -> blob of the desired state last pass (approved files plus unapproved new requests). */
  private desired?: Map<string, string>;
  private readonly tree: ApprovedTree;
  private statuses = new Map<string, { text: string; doc: PrivacyRequestStatus }>();
  private statusesLoaded = false;
  /** Files under status/ not last written by the controller: ignored, and reported. */
  private ignoredStatus: string[] = [];
  /** status/README.md as last committed or written, and the head it was rendered for. */
  private dashboard?: string;
  private dashboardHead?: string;
  private lastPending = new Map<string, string>();
  /** Name and changed field paths per pending (path, approved blob, branch blob). */
  private readonly pendingFields = new Map<string, { name: string; fields: string[] }>();
  /** The pending changes of the last head (they depend on the history only). */
  private pendingAt?: { head: string; pending: PendingReport[]; byRequest: Map<string, string> };
  private lastDay?: string;
  private rebuilt = false;
  /** The plan of the current pass: its lasting wait reasons go into the statuses it records. */
  private lastPlan?: Plan;
  private lastSnapshot?: { model: RepositoryModel; approvals: Map<string, ApprovalEvidence> };
  /** Per-spec values that cost a hash or an HMAC, valid while the spec object (and config) stay. */
  private signer?: { declared: string | undefined; signer: StatusSigner | undefined };
  private derived = new WeakMap<object, { other: object; dueAt: string; fingerprint: string }>();
  /**
   * Per subject object: its values in plain text (decrypted when sealed) and their hashes.
   * Memory only: a decrypted value is never journaled, logged, committed or put in an error.
   */
  private subjects = new WeakMap<object, { fields: SubjectFields; keys: string[]; ref: string }>();
  /** Requests whose sealed subject cannot be opened now, with why (catalogue error). */
  private locks = new Map<string, LetheError>();

  constructor(private readonly o: ReconcilerOptions) {
    this.tree = o.approvedTree ?? new ApprovedTree(o.source, o.trust, { cache: new ApprovedTreeCache(o.dataDir, o.source.branch, o.trust.records), log: o.log });
  }

  /**
   * `lethe plan`: everything up to the plan, with no vendor call and no write. Vendors
   * count as available even without credentials (a CI job commenting on a pull request
   * has none); `assumeApproved` shows what would happen once the pull request is merged.
   */
  async dryRun(options: { assumeApproved?: boolean } = {}): Promise<{ plan: Plan; snapshot: Snapshot }> {
    const snapshot = await this.snapshot(false);
    const { plan } = await this.planFrom(snapshot, { planning: true, assumeApproved: options.assumeApproved });
    return { plan, snapshot };
  }

  async pass(): Promise<PassReport> {
    const snapshot = await this.snapshot(true);
    await this.useSigningKey(snapshot.config);
    const checkpoints: Recorded[] = [];
    const { plan, vendors, requests } = await this.planFrom(snapshot);
    const started = this.o.now();
    const report = await execute(plan, {
      journal: this.o.journal,
      vendors,
      requests,
      now: this.o.now,
      log: this.o.log,
      dataDir: this.o.dataDir,
      backoffMs: this.o.backoffMs,
      deadline: started + (this.o.maxPassMs ?? 120_000),
      degradedRetryMs: this.o.degradedRetryMs ?? 60_000,
      retryWindowMs: snapshot.config.spec.retryWindowHours * 3_600_000,
      checkpointMs: this.o.checkpointMs,
      // Git keeps pace with the vendors: answers reach a status commit within seconds, even
      // in a long pass, so losing the data directory costs at most the last few of them.
      // The journal is flushed first: git never records what the journal could forget.
      checkpoint: async (unrecorded) => {
        this.take(unrecorded, snapshot);
        await this.o.journal.flush();
        checkpoints.push(await this.recordSerially(snapshot));
      },
      fence: this.o.fence,
    });
    for (const key of report.touched) snapshot.dirty.add(key.slice(0, key.lastIndexOf('/')));
    this.lastPlan = plan;
    this.take(report.unrecorded, snapshot);
    const recorded = merge(checkpoints, await this.recordSerially(snapshot));
    this.o.journal.data.lastCommit = snapshot.head;
    await this.o.journal.flush();
    const progress = report.calls > 0 || report.touched.size > 0;
    return {
      head: snapshot.head,
      plan,
      ...recorded,
      calls: report.calls,
      problems: snapshot.model.problems,
      nextCheckAt: this.nextCheckAt(progress, report.cut),
      progress,
      unapprovedChanges: snapshot.pending.length,
    };
  }

  /**
   * Status commits are signed with the key lethe.yaml declares now (a rotation takes effect
   * on the pass after its approval). A declared key without its private half stops the pass:
   * writing unsigned then would look like forgery to every audit.
   */
  private async useSigningKey(config: LetheConfig): Promise<void> {
    const declared = config.spec.identity.signingKey;
    if (this.signer && this.signer.declared === declared) return;
    const signer = declared === undefined ? undefined : await findSigner(this.o.secretsDir ?? `${this.o.dataDir}/secrets`, declared);
    if (!signer) this.o.log.warn('status commits are not signed: lethe.yaml declares no spec.identity.signingKey');
    else this.o.log.info('signing status commits', { key: signer.publicKey.fingerprint });
    this.o.source.useSigner(signer);
    this.signer = { declared, signer };
  }

  /**
   * When the next pass is due without an outside trigger: progress or rest. A task with a
   * future check time is due then; a degraded vendor at its retryAt. A task due already
   * (it waited for a subject, a slot, the end of a cut-short pass) makes the next pass due
   * at once only if this pass got somewhere: a pass that changed nothing would only repeat
   * itself. Stalled tasks are never due: they wait for a change in git. A loop, not
   * Math.min(...all): the spread fails beyond some 10^5 open tasks.
   */
  private nextCheckAt(progress: boolean, cut: boolean): number | undefined {
    const now = this.o.now();
    let next: number | undefined;
    const due = (t: number | undefined) => {
      if (t === undefined || (t <= now && !progress && !cut)) return;
      const at = Math.max(t, now);
      if (next === undefined || at < next) next = at;
    };
    // A task of a degraded vendor is not due before its vendor is.
    const { degraded } = this.o.journal.data;
    for (const t of Object.values(this.o.journal.data.tasks)) {
      if (isFinal(t) || t.phase === 'Stalled') continue;
      const at = t.nextCheckAt ?? now;
      due(degraded[t.vendor] ? Math.max(at, degraded[t.vendor]!.retryAt) : at);
    }
    for (const d of Object.values(degraded)) due(d.retryAt);
    return next;
  }

  /**
   * Source, approve, validate: the repository as approval made it. The desired state is the
   * approved tree (approved-tree.ts); what the branch holds beyond it is pending and only
   * reported. Unapproved new requests are modelled too, so their status says why they wait.
   */
  private async snapshot(forPass: boolean): Promise<Snapshot> {
    const { source, journal } = this.o;
    const head = forPass ? await source.sync() : ((await source.remoteHead()) ?? (await source.sync()));
    const dirty = new Set<string>();
    const state = await this.tree.at(head);
    const changedPaths = await this.loadManifests(state);

    // Nothing in the desired state changed (the controller's own status commits, a quiet
    // poll): the model of the last pass still holds.
    const previous = Array.isArray(changedPaths) && changedPaths.length === 0 ? this.lastSnapshot : undefined;
    const model = previous?.model ?? checkRepository(this.desiredManifests(state), this.o.drivers);
    if (!model.config) {
      const first = model.problems.find((p) => p.file === 'lethe.yaml');
      throw new LetheError('CONFIG_INVALID', `lethe.yaml is missing or invalid${first ? ` (${first.code} at ${first.line}:${first.column})` : ''}`, {
        terminal: true,
      });
    }
    const config = model.config;
    await this.loadStatuses((await source.statusHead()) ?? head, config.spec.identity.email);

    const settled = previous && ![...previous.approvals.values()].some((e) => e.retry) ? previous.approvals : undefined;
    const approvals = settled ?? (await this.approvalsOf(state, head));
    this.lastSnapshot = { model, approvals };

    if (this.pendingAt?.head !== head) {
      const pending = await describePending(pendingChanges(state), state, {
        manifest: (path) => this.parsed.get(path)?.manifest,
        readBlobs: (ids) => source.readBlobs(ids),
        cache: this.pendingFields,
      });
      this.pendingAt = { head, pending, byRequest: pendingByRequest(pending, model) };
    }
    const { pending, byRequest } = this.pendingAt;
    if (pending.length > 0) {
      this.o.log.warn('unapproved changes on the branch are not acted on', {
        branch: source.branch,
        count: pending.length,
        paths: pending.slice(0, 20).map((p) => p.path),
      });
    }

    const today = new Date(this.o.now()).toISOString().slice(0, 10);
    const everything = changedPaths === 'all' || this.lastDay !== today || changedPaths.some((p) => p === 'lethe.yaml' || p.startsWith('vendors/'));
    this.lastDay = today;
    if (everything) {
      for (const e of model.requests.values()) dirty.add(e.request.metadata.name);
      for (const [path, inv] of model.invalidRequests) dirty.add(inv.name ?? nameFromPath(path));
      for (const name of this.statuses.keys()) dirty.add(name);
    } else {
      for (const path of changedPaths) {
        const m = this.parsed.get(path)?.manifest;
        dirty.add(m?.name ?? nameFromPath(path));
      }
    }
    for (const name of new Set([...byRequest.keys(), ...this.lastPending.keys()])) {
      if (byRequest.get(name) !== this.lastPending.get(name)) dirty.add(name);
    }
    this.lastPending = byRequest;
    for (const key of Object.keys(journal.data.tasks)) {
      const name = key.slice(0, key.lastIndexOf('/'));
      if (everything || !this.statuses.has(name)) dirty.add(name);
    }
    // Statuses whose commit failed last time are written again.
    for (const name of this.unrecordedSince.keys()) dirty.add(name);
    return { head, model, config, approvals, dirty, root: state.root, pending, pendingByRequest: byRequest };
  }

  /**
   * Evidence per modelled request path: how its approved content got in, or why a new one
   * waits. In github-review mode the reviews of the pull request that brought a request
   * decide for requests (github-review.ts); a decision GitHub could not give (`retry`) is
   * asked again next pass, never approved.
   */
  private async approvalsOf(state: ApprovedState, head: string): Promise<Map<string, ApprovalEvidence>> {
    const out = new Map<string, ApprovalEvidence>();
    const requestPaths: string[] = [];
    for (const { manifest } of this.parsed.values()) {
      if (manifest.kind !== 'PrivacyRequest') continue;
      requestPaths.push(manifest.path);
      const evidence =
        state.approved.get(manifest.path)?.evidence ??
        state.refused.get(manifest.path)?.evidence ??
        { approved: false, mode: state.config.spec.approval.mode, approvers: [], reason: 'not approved' };
      out.set(manifest.path, evidence);
    }
    const policy = state.config.spec.approval;
    if (policy.mode === 'github-review' && requestPaths.length > 0) {
      const github = await this.o.githubGate?.(policy);
      const decided = await evaluateApprovals(this.o.source, requestPaths, { head, policy, controllerIdentity: state.config.spec.identity, github });
      for (const [path, evidence] of decided) out.set(path, evidence);
    }
    return out;
  }

  /**
   * The manifests of the desired state: every approved file, plus unapproved new request
   * files (modelled so that their status says AwaitingApproval) unless they reuse the name
   * of an approved request, whose approved version stays in force.
   */
  private desiredManifests(state: ApprovedState): ParsedManifest[] {
    const approvedNames = new Set<string>();
    for (const [path, { manifest }] of this.parsed) if (state.approved.has(path) && manifest.name) approvedNames.add(`${manifest.kind}/${manifest.name}`);
    return [...this.parsed]
      .filter(([path, { manifest }]) => state.approved.has(path) || !manifest.name || !approvedNames.has(`${manifest.kind}/${manifest.name}`))
      .map(([, { manifest }]) => manifest);
  }

  /** Parses only the desired files whose content changed since the last pass; returns the paths that changed. */
  private async loadManifests(state: ApprovedState): Promise<string[] | 'all'> {
    const desired = new Map<string, string>();
    for (const [path, entry] of state.approved) desired.set(path, entry.blob);
    for (const [path, blob] of state.current) if (!state.approved.has(path) && manifestKind(path) === 'PrivacyRequest') desired.set(path, blob);
    const stale = [...desired].filter(([path, blob]) => this.parsed.get(path)?.blob !== blob);
    const texts = await this.o.source.readBlobs(stale.map(([, blob]) => blob));
    for (const [path, blob] of stale) this.parsed.set(path, { blob, manifest: parseManifest(path, texts.get(blob) ?? '') });
    for (const path of this.parsed.keys()) if (!desired.has(path)) this.parsed.delete(path);
    const before = this.desired;
    this.desired = desired;
    if (before === undefined) return 'all';
    const changed = stale.map(([path]) => path);
    for (const path of before.keys()) if (!desired.has(path)) changed.push(path);
    return changed;
  }

  /**
   * status/ as last committed, for continuity of conditions and for a journal rebuild. Only
   * files whose current content was last written by a controller commit (committer =
   * spec.identity) and named as a status file must be are read; every other file is
   * ignored, reported in the dashboard, and overwritten only if a request of that name is
   * in the approved state.
   */
  private async loadStatuses(head: string, identityEmail: string): Promise<void> {
    if (this.statusesLoaded) return;
    const { source } = this.o;
    const paths = await source.listFiles(head, (p) => p.startsWith('status/'));
    const writers = await source.lastWriters(head, 'status/');
    const byController = (path: string) => writers.get(path)?.trim().toLowerCase() === identityEmail.trim().toLowerCase();
    const texts = await source.readFiles(head, paths.filter(byController));
    this.ignoredStatus = [];
    for (const path of paths) {
      const text = texts.get(path);
      if (path === 'status/README.md' && text !== undefined) {
        this.dashboard = text;
        continue;
      }
      const name = /^status\/([^/]+)\.yaml$/.exec(path)?.[1];
      const doc = text !== undefined && name !== undefined && ResourceName.safeParse(name).success ? PrivacyRequestStatus.safeParse(parseYaml(text)) : undefined;
      if (doc?.success && doc.data.metadata.name === name) this.statuses.set(name, { text: text!, doc: doc.data });
      else this.ignoredStatus.push(path);
    }
    if (this.ignoredStatus.length > 0) {
      this.o.log.warn('ignoring files under status/ that the controller did not write', { count: this.ignoredStatus.length, paths: this.ignoredStatus.slice(0, 20) });
    }
    this.statusesLoaded = true;
  }

  private async planFrom(
    s: Snapshot,
    mode: { planning?: boolean; assumeApproved?: boolean } = {},
  ): Promise<{ plan: Plan; vendors: Map<string, VendorRuntime>; requests: Map<string, RequestRuntime> }> {
    const { journal } = this.o;
    // Also for `lethe plan` (its journal is never written back): a pull-request job has no
    // journal, and without what status/ records every finished request would plan as new work.
    if (journal.fresh && !this.rebuilt) {
      rebuildTasks(journal, await this.trustedStatuses(s.config), this.o.now());
      this.rebuilt = true;
    }
    if (journal.fellBack && !this.rebuilt && !mode.planning) {
      const reopened = reopenAfterFallback(journal, this.o.now());
      this.o.log.warn('unfinished tasks ask their vendor first: the newest journal generation was lost', { tasks: reopened });
      this.rebuilt = true;
    }
    const vendors = new Map<string, VendorRuntime>();
    const planVendors = new Map<string, PlanVendor>();
    const now = this.o.now();
    for (const [name, entry] of s.model.vendors) {
      const spec = entry.connection.spec;
      const driver = this.o.drivers[spec.type];
      const windows = spec.rateLimits ?? driver.defaultRateLimits(spec);
      const fingerprint = hash(spec);
      let secrets: Record<string, string> | undefined;
      try {
        secrets = await this.o.wiring.secrets(name, spec, driver);
      } catch (err) {
        // `lethe plan` runs where no credential is (a pull-request job): that is no outage.
        if (!mode.planning) this.credentialsMissing(name, err, now);
      }
      const degraded = journal.data.degraded[name];
      const available = (secrets !== undefined || mode.planning === true) && !spec.disabled && (!degraded || degraded.retryAt <= now);
      if (secrets && degraded?.code.startsWith('CREDENTIAL_')) {
        delete journal.data.degraded[name];
        this.o.log.info('vendor connection recovered', { vendor: name, code: degraded.code, since: degraded.since });
      }
      if (secrets) {
        vendors.set(name, {
          name,
          driver,
          spec,
          http: this.o.wiring.http(name, spec, windows, secrets, driver),
          secrets,
          concurrency: spec.concurrency ?? 4,
          fingerprint,
        });
      }
      const resolved = secrets;
      planVendors.set(name, {
        name,
        available,
        fingerprint,
        batch: driver.batch,
        canCancel: driver.cancel !== undefined,
        drainMs: (calls) => this.o.wiring.drainMs(name, spec, windows, resolved ?? {}, calls),
      });
    }

    const requests = new Map<string, RequestRuntime>();
    const planRequests: PlanRequest[] = [];
    const other = s.config.spec.regulations.other;
    const tasksOf = new Map<string, TaskRecord[]>();
    for (const t of Object.values(journal.data.tasks)) tasksOf.set(t.request, [...(tasksOf.get(t.request) ?? []), t]);
    for (const name of this.locks.keys()) if (!s.model.requests.has(name)) this.locks.delete(name);
    for (const [name, entry] of s.model.requests) {
      const spec = entry.request.spec;
      const approval = s.approvals.get(entry.path)!;
      const { dueAt: due, fingerprint } = this.derive(spec, other);
      // A sealed subject is opened only for requests with work ahead (approved, or with open
      // tasks): a finished request needs no key, so it stays intact after its epoch is shredded.
      const own = tasksOf.get(name) ?? [];
      const done = own.length > 0 && own.every(isFinal) && entry.vendors.every((v) => own.some((t) => t.vendor === v));
      const wanted = !done && (approval.approved || mode.assumeApproved === true || own.some((t) => !isFinal(t)));
      const subject = await this.openSubject(name, spec, wanted, s);
      const lock = this.locks.get(name);
      requests.set(name, {
        name,
        action: spec.action,
        dueAt: due,
        justification: spec.justification,
        // Never a sealed value: a request whose subject is not open gets nothing, and waits.
        emails: subject?.fields.emails ?? [],
        identifiers: subject?.fields.identifiers ?? {},
        approval: { approvers: approval.approvers.map((a) => `${a.name} <${a.email}>`), commit: approval.commit ?? '' },
        fingerprint,
        vendors: entry.vendors,
      });
      planRequests.push({
        name,
        action: spec.action,
        dueAt: due,
        receivedAt: spec.receivedAt,
        subjectKeys: subject?.keys ?? [],
        vendors: entry.vendors,
        vendorsFromAll: spec.vendors === 'all',
        approved: approval.approved || mode.assumeApproved === true,
        fingerprint,
        locked: lock?.code ?? (wanted && !subject ? 'SUBJECT_KEY_MISSING' : undefined),
      });
    }
    const openIntents = new Set(Object.values(journal.data.intents).flatMap((i) => i.tasks));
    const plan = makePlan({
      now,
      requests: planRequests,
      tasks: Object.values(journal.data.tasks),
      openIntents,
      vendors: planVendors,
      atRiskDays: s.config.spec.atRiskDays,
    });
    return { plan, vendors, requests };
  }

  /**
   * The statuses a journal rebuild may believe. With a signing key declared, only those whose
   * current version carries the controller's signature on an unbroken chain: a forged status
   * could otherwise invent a vendor job (nothing erased) or claim a completion.
   */
  private async trustedStatuses(config: LetheConfig): Promise<PrivacyRequestStatus[]> {
    const all = [...this.statuses.values()].map((v) => v.doc);
    const key = config.spec.identity.signingKey;
    const head = await this.o.source.statusHead();
    if (key === undefined || head === undefined) return all;
    const { proven, refused } = await provenStatusFiles(this.o.source.dir, head, key);
    for (const [name, why] of refused) this.o.log.warn('journal rebuild ignores an unproven status file', { request: name, why });
    return all.filter((doc) => proven.has(doc.metadata.name));
  }

  /**
   * A connection whose credentials cannot be resolved is degraded: its requests wait, it is
   * tried again on its own backoff (degradedRetryAt), and the log says so once per change of
   * cause, naming the missing variable or file (the catalogue message), never a value.
   */
  private credentialsMissing(vendor: string, err: unknown, now: number): void {
    const { journal } = this.o;
    const code = err instanceof LetheError ? err.code : 'CREDENTIAL_UNREADABLE';
    const previous = journal.data.degraded[vendor];
    const since = previous?.since ?? new Date(now).toISOString();
    // The message names the variable or file (never a value): the status tells the operator which one.
    const message = err instanceof LetheError ? err.message : undefined;
    journal.data.degraded[vendor] = { code, since, retryAt: degradedRetryAt(Date.parse(since), now, this.o.degradedRetryMs), ...(message ? { message } : {}) };
    if (previous?.code !== code) {
      const reason = err instanceof LetheError ? err.message : 'a vendor credential could not be resolved';
      this.o.log.warn('vendor connection degraded: credentials unavailable; its requests wait', { vendor, code, reason });
    }
  }

  private derive(spec: PrivacyRequestSpec, other: LetheConfig['spec']['regulations']['other']) {
    let d = this.derived.get(spec);
    if (!d || d.other !== other) {
      d = { other, dueAt: dueDate(spec, other), fingerprint: hash(spec) };
      this.derived.set(spec, d);
    }
    return d;
  }

  /** Moves changed tasks into the next record step: their requests, and since when they wait. */
  private take(unrecorded: Map<string, number>, s: Snapshot): void {
    for (const [key, at] of unrecorded) {
      const name = key.slice(0, key.lastIndexOf('/'));
      s.dirty.add(name);
      const since = this.unrecordedSince.get(name);
      if (since === undefined || at < since) this.unrecordedSince.set(name, at);
    }
    unrecorded.clear();
  }

  /** One record step at a time: a checkpoint and the pass's own record never interleave. */
  private recording: Promise<unknown> = Promise.resolve();

  private recordSerially(s: Snapshot): Promise<Recorded> {
    const next = this.recording.catch(() => undefined).then(() => this.record(s));
    this.recording = next;
    return next;
  }

  /**
   * Longest time (ms) between a task change and the status commit that recorded it, over
   * this reconciler's life: the drain benchmark's "git lag" figure.
   */
  maxStatusLagMs = 0;
  /** The controller's latest status commit, checkpoints included (a ref watcher ignores it). */
  lastOwnCommit?: string;
  /** Per request: when a task of it changed first since its status was last committed. */
  private unrecordedSince = new Map<string, number>();

  /** A plain subject as written, or a sealed one once opened (undefined while it is not). */
  private subjectOf(spec: PrivacyRequestSpec): { fields: SubjectFields; keys: string[]; ref: string } | undefined {
    const cached = this.subjects.get(spec.subject);
    if (cached || isSealedSubject(spec.subject)) return cached;
    return this.remember(spec.subject, spec.subject);
  }

  private remember(subject: object, fields: SubjectFields) {
    const d = {
      fields,
      keys: fields.emails.map((e) => subjectKey(this.o.salt, e)),
      ref: subjectRef(this.o.salt, fields.emails),
    };
    this.subjects.set(subject, d);
    return d;
  }

  /**
   * Opens a sealed subject with the controller's key of its epoch, when `wanted`. A failure
   * locks the request (its tasks wait, its status says why) and is tried again next pass:
   * a key restored from backup resumes the work without any other step.
   */
  private async openSubject(name: string, spec: PrivacyRequestSpec, wanted: boolean, s: Snapshot) {
    const known = this.subjectOf(spec);
    const before = this.locks.get(name)?.code;
    if (!known && wanted) {
      try {
        const fields = await decryptSubject(name, spec.subject, this.o.subjectKeys ?? (async () => []));
        this.locks.delete(name);
        return this.finishOpen(name, before, s, this.remember(spec.subject, fields));
      } catch (err) {
        if (!(err instanceof LetheError)) throw err;
        this.locks.set(name, err);
        if (before !== err.code) {
          this.o.log.warn('sealed subject cannot be opened; the request waits', { request: name, code: err.code, epoch: subjectEpochs(spec.subject).join(',') });
          s.dirty.add(name);
        }
        return undefined;
      }
    }
    this.locks.delete(name);
    return this.finishOpen(name, before, s, known);
  }

  private finishOpen<T>(name: string, lockedBefore: string | undefined, s: Snapshot, value: T): T {
    if (lockedBefore !== undefined) s.dirty.add(name);
    return value;
  }

  /** Writes the statuses that changed, the dashboard, and one commit for all of them. */
  private async record(s: Snapshot): Promise<Recorded> {
    const { journal } = this.o;
    const rewritten = await this.o.source.historyRewritten();
    if (rewritten) return { ...(await this.raiseHistoryRewritten(rewritten, s.head)), changes: [], historyRewritten: rewritten };
    const now = this.o.now();
    const tasksByRequest = new Map<string, Record<string, TaskRecord>>();
    for (const t of Object.values(journal.data.tasks)) {
      const m = tasksByRequest.get(t.request) ?? {};
      m[t.vendor] = t;
      tasksByRequest.set(t.request, m);
    }
    const invalidByName = new Map<string, { path: string; problems: StatusError[] }>();
    for (const [path, inv] of s.model.invalidRequests) {
      const name = inv.name ?? nameFromPath(path);
      if (!ResourceName.safeParse(name).success || s.model.requests.has(name)) continue;
      invalidByName.set(name, {
        path,
        problems: inv.problems.map((p) => ({ code: p.code, message: p.message, file: p.file, line: p.line, column: p.column })),
      });
    }

    const files = new Map<string, string | null>();
    const changes: PhaseChange[] = [];
    const before = new Map<string, { text: string; doc: PrivacyRequestStatus } | undefined>();
    for (const name of [...s.dirty].sort()) {
      // Names come from manifests, the journal and status/: only a resource name becomes a path.
      if (!ResourceName.safeParse(name).success) continue;
      const entry = s.model.requests.get(name);
      const invalid = invalidByName.get(name);
      const tasks = tasksByRequest.get(name) ?? {};
      const previous = this.statuses.get(name);
      if (!entry && !invalid && !previous && Object.keys(tasks).length === 0) continue;
      const path = entry?.path ?? invalid?.path;
      const spec = entry?.request.spec;
      const doc = computeStatus({
        name,
        source: path,
        now,
        previous: previous?.doc,
        problems: invalid?.problems,
        request: spec && {
          action: spec.action,
          regulation: spec.regulation,
          receivedAt: spec.receivedAt,
          dueAt: this.derive(spec, s.config.spec.regulations.other).dueAt,
          subjectRef: this.subjectOf(spec)?.ref,
          subjectEpoch: subjectEpochs(spec.subject)[0],
          vendors: entry!.vendors,
        },
        locked: entry && this.locks.has(name) ? { code: this.locks.get(name)!.code, message: this.locks.get(name)!.message } : undefined,
        approval: path ? s.approvals.get(path) : undefined,
        tasks,
        withdrawn: !entry && !invalid,
        pendingChange: s.pendingByRequest.get(name),
        degraded: journal.data.degraded,
        waits: lastingWaits(this.lastPlan?.requests.find((r) => r.name === name)),
      });
      const text = renderStatus(doc);
      if (previous?.text === text) continue;
      before.set(name, previous);
      files.set(statusPath(name), text);
      // Overwritten by the controller: from now on the file is its own.
      this.ignoredStatus = this.ignoredStatus.filter((p) => p !== statusPath(name));
      changes.push({ name, from: previous?.doc.status.phase, to: doc.status.phase });
      this.statuses.set(name, { text, doc });
    }
    const recordedNames = [...s.dirty];
    s.dirty.clear();
    const settle = (committed: boolean) => {
      const at = this.o.now();
      for (const name of recordedNames) {
        const since = this.unrecordedSince.get(name);
        if (since !== undefined && committed) this.maxStatusLagMs = Math.max(this.maxStatusLagMs, at - since);
        this.unrecordedSince.delete(name);
      }
    };
    // The dashboard depends on the statuses and on the head (pending changes): a quiet pass renders nothing.
    if (files.size === 0 && this.dashboardHead === s.head) {
      settle(false);
      return { pushed: false, changes };
    }
    const dashboard = renderDashboard(
      [...this.statuses.values()].map((v) => v.doc),
      { branch: this.o.source.branch, root: s.root, pending: s.pending, ignoredStatus: this.ignoredStatus },
      { signedBy: this.o.source.signing?.publicKey.fingerprint },
    );
    if (files.size === 0 && dashboard === this.dashboard) {
      this.dashboardHead = s.head;
      settle(false);
      return { pushed: false, changes };
    }
    files.set('status/README.md', dashboard);
    let result: Awaited<ReturnType<GitSource['writeStatus']>>;
    try {
      await this.o.fence?.();
      result = await this.o.source.writeStatus(files, commitMessage(changes, s.head));
    } catch (err) {
      // Not committed after all: the statuses as last committed come back, and these requests
      // stay due for the next record step (of this pass, or of the next: see snapshot()).
      for (const name of recordedNames) {
        s.dirty.add(name);
        if (!this.unrecordedSince.has(name)) this.unrecordedSince.set(name, now);
      }
      for (const [name, entry] of before) {
        if (entry) this.statuses.set(name, entry);
        else this.statuses.delete(name);
      }
      throw err;
    }
    this.dashboardHead = s.head;
    this.dashboard = dashboard;
    settle(result.commit !== undefined);
    if (result.commit) this.lastOwnCommit = result.commit;
    if (result.commit) this.o.log.info('status committed', { commit: result.commit, requests: changes.length, pushed: result.pushed });
    if (result.pushError) this.o.log.warn('status push failed; retried next pass', { code: result.pushError.code });
    return { commit: result.commit, pushed: result.pushed, pushError: result.pushError, changes };
  }

  /**
   * The status branch lost the controller's last status commit. Building on that history
   * would bless it, so the controller writes one signed commit that puts the
   * HistoryRewritten condition on the dashboard and names the missing commit as its
   * predecessor (the audit then shows the break), and writes nothing more.
   */
  private async raiseHistoryRewritten(rewritten: HistoryRewritten, observed: string): Promise<{ commit?: string; pushed: boolean; pushError?: { code: string; message: string } }> {
    const { source, log } = this.o;
    log.error('status history rewritten: status writing stopped', { code: 'STATUS_HISTORY_REWRITTEN', branch: rewritten.branch, missing: rewritten.missing });
    const head = await source.statusHead();
    const current = head ? ((await source.readFiles(head, ['status/README.md'])).get('status/README.md') ?? '') : '';
    if (current.startsWith(HISTORY_REWRITTEN_BANNER)) return { pushed: false };
    const message = [
      'lethe: status history rewritten; status writing stopped',
      '',
      `The last status commit this controller pushed, ${rewritten.missing}, is no longer on ${rewritten.branch}.`,
      '',
      `Lethe-History-Rewritten: ${rewritten.missing}`,
      `Lethe-Observed-Commit: ${observed}`,
      '',
    ].join('\n');
    const result = await source.writeStatus(new Map([['status/README.md', withHistoryRewritten(current, rewritten.branch, rewritten.missing)]]), message, {
      previous: rewritten.missing,
      remember: false,
    });
    return { commit: result.commit, pushed: result.pushed, pushError: result.pushError };
  }

  /** The approved lethe.yaml in force (the schedule of `lethe run` comes from it, never from an unapproved edit). */
  async config(): Promise<LetheConfig> {
    return (await this.tree.at(await this.o.source.sync())).config;
  }

  /** The statuses as last written or read (for `lethe status`). */
  currentStatuses(): PrivacyRequestStatus[] {
    return [...this.statuses.values()].map((v) => v.doc);
  }
}

/** The plan's lasting reasons a request waits at a vendor (see StatusInput.waits). */
function lastingWaits(p: RequestPlan | undefined): StatusInput['waits'] {
  const out: NonNullable<StatusInput['waits']> = {};
  for (const [vendor, what] of Object.entries(p?.vendors ?? {})) {
    if ('wait' in what && (what.wait === 'SubjectBusy' || what.wait === 'VendorUnavailable')) out[vendor] = what.wait;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
