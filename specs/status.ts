import { z } from 'zod';
import { Action, API_VERSION, IsoDate, Regulation, ResourceName } from './common.ts';
import { EpochId } from './sealed.ts';

export const REQUEST_PHASES = [
  'Invalid',
  'AwaitingApproval',
  'Pending',
  'InProgress',
  'Completed',
  'Failed',
  'Withdrawn',
] as const;
export const RequestPhase = z.enum(REQUEST_PHASES);
export type RequestPhase = z.infer<typeof RequestPhase>;

export const CONDITION_TYPES = ['Ready', 'Approved', 'Overdue', 'Stalled', 'PendingChange'] as const;
export const Condition = z.strictObject({
  type: z.enum(CONDITION_TYPES),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().regex(/^[A-Z][A-Za-z0-9]*$/),
  message: z.string(),
  lastTransitionTime: z.iso.datetime(),
});
export type Condition = z.infer<typeof Condition>;

/** A located error: code from the catalogue, message free of personal data. */
export const StatusError = z.strictObject({
  code: z.string().regex(/^[A-Z][A-Z0-9_]*$/),
  message: z.string(),
  file: z.string().optional(),
  line: z.int().optional(),
  column: z.int().optional(),
});
export type StatusError = z.infer<typeof StatusError>;

export const ApprovalEvidence = z.strictObject({
  approved: z.boolean(),
  mode: z.enum(['merge', 'trailer', 'github-review']),
  /** github-review: the pull request whose reviews were read. */
  pullRequest: z.int().positive().optional(),
  /** The decision could not be made (the GitHub API failed): not approved, and asked again next pass. */
  retry: z.boolean().optional(),
  /** Identities as git records them: claims unless the commits are signed and verified. */
  approvers: z.array(z.strictObject({ name: z.string(), email: z.string() })),
  /** The commit that carries the approval (merge commit, or the commit with trailers). */
  commit: z.string().optional(),
  approvedAt: z.iso.datetime().optional(),
  /** The commit that last changed the request's spec. */
  specCommit: z.string().optional(),
  signed: z.boolean().optional(),
  reason: z.string(),
});
export type ApprovalEvidence = z.infer<typeof ApprovalEvidence>;

export const VENDOR_PHASES = [
  'Waiting',
  'InProgress',
  'Completed',
  'Failed',
  'Stalled',
  'Cancelled',
  'Skipped',
] as const;
export const VendorTaskStatus = z.strictObject({
  phase: z.enum(VENDOR_PHASES),
  /** The driver's own step name (for example `polling-deep-delete`). */
  step: z.string(),
  /** Vendor job/rule/request ids: never personal data. */
  jobIds: z.array(z.string()).optional(),
  startedAt: z.iso.datetime().optional(),
  completedAt: z.iso.datetime().optional(),
  /** What completion means here, e.g. `Erased`, `NoDataHeld`, `Exported`, `OptedOut`. */
  outcome: z.string().optional(),
  attempts: z.int().min(0),
  lastError: StatusError.optional(),
  /** Facts worth auditing (archive sha256, Qualifio validation on the strength of git approval). */
  evidence: z.record(z.string(), z.string()).optional(),
});
export type VendorTaskStatus = z.infer<typeof VendorTaskStatus>;

export const PrivacyRequestStatusBody = z.strictObject({
  phase: RequestPhase,
  /** The commit of the repository this status was computed from (observedGeneration-like). */
  observedCommit: z.string().optional(),
  /** The file the request lives in (or lived in, when withdrawn). */
  source: z.string().optional(),
  action: Action.optional(),
  regulation: Regulation.optional(),
  receivedAt: IsoDate.optional(),
  dueAt: IsoDate.optional(),
  /** Salted hash of the subject's normalised emails: lets auditors correlate without the data. */
  subjectRef: z.string().optional(),
  /** The key epoch the subject is sealed to (lethe shred finds an epoch's requests by it). */
  subjectEpoch: z.string().optional(),
  approval: ApprovalEvidence.optional(),
  conditions: z.array(Condition),
  vendors: z.record(ResourceName, VendorTaskStatus),
  errors: z.array(StatusError).optional(),
  completedAt: z.iso.datetime().optional(),
});
export type PrivacyRequestStatusBody = z.infer<typeof PrivacyRequestStatusBody>;

export const PrivacyRequestStatus = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('PrivacyRequestStatus'),
  metadata: z.strictObject({ name: z.string() }),
  status: PrivacyRequestStatusBody,
});
export type PrivacyRequestStatus = z.infer<typeof PrivacyRequestStatus>;

/**
 * `status/epochs/<epoch>.yaml`, committed by `lethe shred`: the epoch whose private key was
 * destroyed, when, and the requests sealed to it (names and phases only, no personal data).
 * What `lethe audit` reads back to show, per request, when its subject became unreadable.
 */
export const ShredRecord = z.object({
  epoch: EpochId,
  shreddedAt: z.iso.datetime(),
  recipient: z.string().optional(),
  retention: z.string(),
  requests: z.array(
    z.object({
      name: ResourceName,
      phase: RequestPhase.optional(),
      finishedAt: z.iso.datetime().optional(),
    }),
  ),
});
export type ShredRecord = z.infer<typeof ShredRecord>;
