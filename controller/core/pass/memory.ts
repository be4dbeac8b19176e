import { createHash } from 'node:crypto';
import type { ApprovalEvidence, LetheConfig, PrivacyRequestSpec } from '../../../specs/index.ts';
import { dueDate } from '../../deadlines.ts';
import type { LetheError } from '../../errors/types.ts';
import type { StatusSigner } from '../../git/signing.ts';
import type {
  FinishedEntry,
  ManifestKind,
  MisplacedManifest,
  ParsedManifest,
  RepositoryModel,
} from '../../manifests/index.ts';
import type { MisplacedScan } from '../misplaced-scan.ts';
import type { PendingReport } from '../pending.ts';
import type { RequestRuntime } from '../executor.ts';
import type { Plan, PlanRequest } from '../planner.ts';
import type { StatusEntry } from '../status.ts';
import { subjectKey, subjectRef } from '../subject.ts';
import { isSealedSubject, type SubjectFields } from '../../subjects/sealed.ts';
import type { Snapshot } from './types.ts';

export const hash = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

/**
 * A desired file as last read, with its blob: parsed, or, for a finished request, its model
 * entry without the manifest (finished.ts).
 */
export type DesiredFile =
  | { blob: string; manifest: ParsedManifest; finished?: undefined }
  | { blob: string; manifest?: undefined; finished: FinishedEntry };

/** The name a desired file declares (metadata.name), whole or finished. */
export function nameOf(file: DesiredFile | undefined): string | undefined {
  return file?.finished ? file.finished.finished.name : file?.manifest.name;
}

/** The kind of a desired file: only requests are ever kept finished. */
export function kindOf(file: DesiredFile): ManifestKind {
  return file.finished ? 'PrivacyRequest' : file.manifest.kind;
}

export type OpenSubject = { fields: SubjectFields; keys: string[]; ref: string };

/**
 * A request's runtime and plan entry with what they were built from. Every other input is
 * part of the model entry they are kept under (spec, path, vendors): a changed manifest or
 * connection makes a new model, so a new entry.
 */
export interface RequestInputs {
  approval: ApprovalEvidence;
  subject: OpenSubject;
  assumeApproved: boolean;
  dueAt: string;
  fingerprint: string;
  runtime: RequestRuntime;
  planRequest: PlanRequest;
}

/**
 * What the pass remembers between passes, in one place: each cache makes the next pass
 * cheap, none is the truth (git and the journal are). The steps read and update it; the
 * Reconciler owns it.
 */
export class PassMemory {
  constructor(private readonly salt: string) {}

  /** The desired state's files by path: parsed, or finished and kept without the manifest (finished.ts). */
  readonly parsed = new Map<string, DesiredFile>();
  /** The desired state's blobs by path, as of the last pass (undefined before the first). */
  desired?: Map<string, string>;
  /** The model and approvals of the last pass: they still hold while the desired state is unchanged. */
  lastSnapshot?: { model: RepositoryModel; approvals: Map<string, ApprovalEvidence> };

  /** status/ as last committed or written, by request name: text and dashboard row (status.ts). */
  readonly statuses = new Map<string, StatusEntry>();
  statusesLoaded = false;
  /** Files under status/ the controller did not write: listed on the dashboard. */
  ignoredStatus: string[] = [];
  /** Manifests the branch holds where Lethe does not read them: reported, never acted on. */
  misplacedScan?: MisplacedScan;
  misplaced: MisplacedManifest[] = [];
  dashboard?: string;
  /** The head the dashboard was last rendered for (pending changes depend on it). */
  dashboardHead?: string;

  /** PendingChange message per request, as last recorded. */
  lastPending = new Map<string, string>();
  readonly pendingFields = new Map<string, { name: string; fields: string[] }>();
  pendingAt?: { head: string; pending: PendingReport[]; byRequest: Map<string, string> };
  /** The day of the last pass: due dates and at-risk flags move with it. */
  lastDay?: string;

  /** The journal was rebuilt from status/ (or reopened after a fallback) once. */
  rebuilt = false;
  lastPlan?: Plan;
  signer?: { declared: string | undefined; signer: StatusSigner | undefined };
  private readonly derived = new WeakMap<object, { other: object; dueAt: string; fingerprint: string }>();
  /** Subjects by the spec object they came from: plain ones as written, sealed ones once opened. */
  private readonly subjects = new WeakMap<object, OpenSubject>();
  /** Per model entry: its runtime and plan entry, reused while their inputs stay the same. */
  readonly requestInputs = new WeakMap<object, RequestInputs>();
  /** Requests whose sealed subject cannot be opened, with why. */
  readonly locks = new Map<string, LetheError>();

  /** Per request: when a task of it changed first since its status was last committed. */
  readonly unrecordedSince = new Map<string, number>();
  /** Longest time (ms) between a task change and the status commit that recorded it. */
  maxStatusLagMs = 0;
  /** The controller's latest status commit, checkpoints included. */
  lastOwnCommit?: string;

  /** The desired files held: parsed whole, and finished requests kept without their manifest. */
  held(): { parsed: number; finished: number } {
    let finished = 0;
    for (const file of this.parsed.values()) if (file.finished) finished++;
    return { parsed: this.parsed.size - finished, finished };
  }

  /** Due date and spec fingerprint of a request, computed once per spec object. */
  derive(
    spec: PrivacyRequestSpec,
    other: LetheConfig['spec']['regulations']['other'],
  ): { dueAt: string; fingerprint: string } {
    let d = this.derived.get(spec);
    if (!d || d.other !== other) {
      d = { other, dueAt: dueDate(spec, other), fingerprint: hash(spec) };
      this.derived.set(spec, d);
    }
    return d;
  }

  /** A plain subject as written, or a sealed one once opened (undefined while it is not). */
  subjectOf(spec: PrivacyRequestSpec): OpenSubject | undefined {
    const cached = this.subjects.get(spec.subject);
    if (cached || isSealedSubject(spec.subject)) return cached;
    return this.remember(spec.subject, spec.subject);
  }

  remember(subject: object, fields: SubjectFields): OpenSubject {
    const d = {
      fields,
      keys: fields.emails.map((e) => subjectKey(this.salt, e)),
      ref: subjectRef(this.salt, fields.emails),
    };
    this.subjects.set(subject, d);
    return d;
  }

  /** Moves changed tasks into the next record step: their requests, and since when they wait. */
  take(unrecorded: Map<string, number>, s: Snapshot): void {
    for (const [key, at] of unrecorded) {
      const name = key.slice(0, key.lastIndexOf('/'));
      s.dirty.add(name);
      const since = this.unrecordedSince.get(name);
      if (since === undefined || at < since) this.unrecordedSince.set(name, at);
    }
    unrecorded.clear();
  }
}
