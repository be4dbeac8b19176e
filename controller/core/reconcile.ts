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
import { ApprovedTree, pendingChanges, type ApprovedState } from '../git/approved-tree.ts';
import type { GitSource } from '../git/source.ts';
import type { TrustRoot } from '../git/trust-root.ts';
import type { VendorHttp } from '../http/types.ts';
import { checkRepository, manifestKind, nameFromPath, parseManifest, type ParsedManifest, type Problem, type RepositoryModel } from '../manifests/index.ts';
import type { AnyDriver } from '../contracts/driver.ts';
import type { Logger } from '../contracts/log.ts';
import { commitMessage, type PhaseChange } from './commit-message.ts';
import { renderDashboard } from './dashboard.ts';
import { degradedRetryAt } from './degraded.ts';
import { describePending, pendingByRequest, type PendingReport } from './pending.ts';
import { execute, type RequestRuntime, type VendorRuntime } from './executor.ts';
import { isFinal, plan as makePlan, type Plan, type PlanRequest, type PlanVendor } from './planner.ts';
import { rebuildTasks } from './rebuild.ts';
import { computeStatus, renderStatus, statusPath } from './status.ts';
import { subjectKey, subjectRef } from './subject.ts';
import { decryptSubject, isSealedSubject, subjectEpochs, type SubjectFields } from '../subjects/sealed.ts';

export type DriverTable = { [K in VendorSpec['type']]: AnyDriver };

/** How the pass reaches vendors: the HTTP layer and credentials live behind this seam. */
export interface VendorWiring {
  /** Resolves the connection's credential references; throws a LetheError naming the reference, never the value. */
  secrets(vendor: string, spec: VendorSpec): Promise<Record<string, string>>;
  http(vendor: string, spec: VendorSpec, windows: RateWindow[], secrets: Record<string, string>): VendorHttp;
  /** Milliseconds this vendor's limiter needs for `calls` more calls (planner ETAs). */
  drainMs(vendor: string, spec: VendorSpec, windows: RateWindow[], secrets: Record<string, string>, calls: number): number;
}

export interface ReconcilerOptions {
  source: GitSource;
  /** The root of trust the approved tree is computed from. */
  trust: TrustRoot;
  journal: Journal;
  drivers: DriverTable;
  wiring: VendorWiring;
  dataDir: string;
  /** Secret key for subject hashes (see subject.ts). */
  salt: string;
  /** The controller's age identities per key epoch (empty when the key is missing), for sealed subjects. */
  subjectKeys?: (epoch: string) => Promise<string[]>;
  now(): number;
  log: Logger;
  backoffMs(attempt: number): number;
  /** No new vendor action starts after this long into a pass. */
  maxPassMs?: number;
  degradedRetryMs?: number;
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
  /** Earliest time a task asked to be looked at again (epoch ms), for `lethe run`. */
  nextCheckAt?: number;
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
  private lastSnapshot?: { model: RepositoryModel; approvals: Map<string, ApprovalEvidence> };
  /** Per-spec values that cost a hash or an HMAC, valid while the spec object (and config) stay. */
  private derived = new WeakMap<object, { other: object; dueAt: string; fingerprint: string }>();
  /**
   * Per subject object: its values in plain text (decrypted when sealed) and their hashes.
   * Memory only: a decrypted value is never journaled, logged, committed or put in an error.
   */
  private subjects = new WeakMap<object, { fields: SubjectFields; keys: string[]; ref: string }>();
  /** Requests whose sealed subject cannot be opened now, with why (catalogue error). */
  private locks = new Map<string, LetheError>();

  constructor(private readonly o: ReconcilerOptions) {
    this.tree = new ApprovedTree(o.source, o.trust);
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
      fence: this.o.fence,
    });
    for (const key of report.touched) snapshot.dirty.add(key.slice(0, key.lastIndexOf('/')));
    const recorded = await this.record(snapshot);
    this.o.journal.data.lastCommit = snapshot.head;
    await this.o.journal.flush();
    // A degraded vendor is due again at its retryAt, like a task at its nextCheckAt. A loop,
    // not Math.min(...all): the spread fails beyond some 10^5 open tasks.
    let nextCheckAt: number | undefined;
    const due = (t: number | undefined) => {
      if (t !== undefined && (nextCheckAt === undefined || t < nextCheckAt)) nextCheckAt = t;
    };
    // A task of a degraded vendor is not due before its vendor is.
    const { degraded } = this.o.journal.data;
    for (const t of Object.values(this.o.journal.data.tasks)) {
      if (isFinal(t) || t.nextCheckAt === undefined) continue;
      due(degraded[t.vendor] ? Math.max(t.nextCheckAt, degraded[t.vendor]!.retryAt) : t.nextCheckAt);
    }
    for (const d of Object.values(degraded)) due(d.retryAt);
    return {
      head: snapshot.head,
      plan,
      ...recorded,
      calls: report.calls,
      problems: snapshot.model.problems,
      nextCheckAt,
    };
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
    const model = previous?.model ?? checkRepository(this.desiredManifests(state));
    if (!model.config) {
      const first = model.problems.find((p) => p.file === 'lethe.yaml');
      throw new LetheError('CONFIG_INVALID', `lethe.yaml is missing or invalid${first ? ` (${first.code} at ${first.line}:${first.column})` : ''}`, {
        terminal: true,
      });
    }
    const config = model.config;
    await this.loadStatuses((await source.statusHead()) ?? head, config.spec.identity.email);

    const approvals = previous?.approvals ?? this.approvalsOf(state);
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
    return { head, model, config, approvals, dirty, root: state.root, pending, pendingByRequest: byRequest };
  }

  /** Evidence per modelled request path: how its approved content got in, or why a new one waits. */
  private approvalsOf(state: ApprovedState): Map<string, ApprovalEvidence> {
    const out = new Map<string, ApprovalEvidence>();
    for (const { manifest } of this.parsed.values()) {
      if (manifest.kind !== 'PrivacyRequest') continue;
      const evidence =
        state.approved.get(manifest.path)?.evidence ??
        state.refused.get(manifest.path)?.evidence ??
        { approved: false, mode: state.config.spec.approval.mode, approvers: [], reason: 'not approved' };
      out.set(manifest.path, evidence);
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
    if (journal.fresh && !this.rebuilt && !mode.planning) {
      rebuildTasks(journal, [...this.statuses.values()].map((s) => s.doc), this.o.now());
      this.rebuilt = true;
    }
    const vendors = new Map<string, VendorRuntime>();
    const planVendors = new Map<string, PlanVendor>();
    const now = this.o.now();
    for (const [name, entry] of s.model.vendors) {
      const spec = entry.connection.spec;
      const driver = this.o.drivers[spec.type];
      const windows = spec.rateLimits ?? (driver.defaultRateLimits as (s: VendorSpec) => RateWindow[])(spec);
      const fingerprint = hash(spec);
      let secrets: Record<string, string> | undefined;
      try {
        secrets = await this.o.wiring.secrets(name, spec);
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
          http: this.o.wiring.http(name, spec, windows, secrets),
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
   * A connection whose credentials cannot be resolved is degraded: its requests wait, it is
   * tried again on its own backoff (degradedRetryAt), and the log says so once per change of
   * cause, naming the missing variable or file (the catalogue message), never a value.
   */
  private credentialsMissing(vendor: string, err: unknown, now: number): void {
    const { journal } = this.o;
    const code = err instanceof LetheError ? err.code : 'CREDENTIAL_UNREADABLE';
    const previous = journal.data.degraded[vendor];
    const since = previous?.since ?? new Date(now).toISOString();
    journal.data.degraded[vendor] = { code, since, retryAt: degradedRetryAt(Date.parse(since), now, this.o.degradedRetryMs) };
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
  private async record(s: Snapshot): Promise<{ commit?: string; pushed: boolean; pushError?: { code: string; message: string }; changes: PhaseChange[] }> {
    const { journal } = this.o;
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
      });
      const text = renderStatus(doc);
      if (previous?.text === text) continue;
      files.set(statusPath(name), text);
      // Overwritten by the controller: from now on the file is its own.
      this.ignoredStatus = this.ignoredStatus.filter((p) => p !== statusPath(name));
      changes.push({ name, from: previous?.doc.status.phase, to: doc.status.phase });
      this.statuses.set(name, { text, doc });
    }
    // The dashboard depends on the statuses and on the head (pending changes): a quiet pass renders nothing.
    if (files.size === 0 && this.dashboardHead === s.head) return { pushed: false, changes };
    this.dashboardHead = s.head;
    const dashboard = renderDashboard([...this.statuses.values()].map((v) => v.doc), {
      branch: this.o.source.branch,
      root: s.root,
      pending: s.pending,
      ignoredStatus: this.ignoredStatus,
    });
    if (files.size === 0 && dashboard === this.dashboard) return { pushed: false, changes };
    files.set('status/README.md', dashboard);
    this.dashboard = dashboard;
    await this.o.fence?.();
    const result = await this.o.source.writeStatus(files, commitMessage(changes, s.head));
    if (result.commit) this.o.log.info('status committed', { commit: result.commit, requests: changes.length, pushed: result.pushed });
    if (result.pushError) this.o.log.warn('status push failed; retried next pass', { code: result.pushError.code });
    return { commit: result.commit, pushed: result.pushed, pushError: result.pushError, changes };
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

