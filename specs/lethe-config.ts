import { validateCronExpression } from 'cron';
import { z } from 'zod';
import { API_VERSION, CredentialRef, ObjectMeta, ResourceName } from './common.ts';
import { AgeRecipient, EpochId } from './sealed.ts';

export const Approver = z.strictObject({
  name: z.string().min(1).optional().describe('Display name.'),
  email: z.email().describe('The git author/committer email the approver uses.'),
  github: z
    .string()
    .regex(/^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/, {
      error: 'must be a GitHub login (letters, digits and single "-")',
    })
    .optional()
    .describe('GitHub login of the approver: whose pull-request reviews count in github-review mode.'),
  /** Fingerprint (or its 16-hex-digit suffix) of the key the approver signs with. */
  signingKey: z
    .string()
    .regex(/^[0-9A-Fa-f]{16,40}$/)
    .optional()
    .describe("Fingerprint (or 16-hex-digit suffix) of the approver's signing key."),
});
export type Approver = z.infer<typeof Approver>;

export const ApprovalPolicy = z
  .strictObject({
    /**
     * merge: the spec reached the protected branch through a merge commit made by a listed
     * approver who did not author it. trailer: `Approved-by:` trailers from listed approvers.
     */
    mode: z
      .enum(['merge', 'trailer', 'github-review'])
      .default('merge')
      .describe(
        'merge: merged to the protected branch by a listed approver who is not the author; trailer: Approved-by: trailers; github-review: APPROVED pull-request reviews on GitHub.',
      ),
    protectedBranch: z.string().min(1).default('main').describe('The branch whose history is the approved state.'),
    approvers: z.array(Approver).min(1, { error: 'list at least one approver' }).describe('Who may approve requests.'),
    minApprovals: z.int().min(1).default(1).describe('Distinct approvers needed per request.'),
    requireSignedCommits: z
      .boolean()
      .default(false)
      .describe('Accept only approvals carried by verified signed commits.'),
    github: z
      .strictObject({
        repository: z
          .string()
          .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { error: 'must be owner/name' })
          .describe('The GitHub repository, owner/name.'),
        token: CredentialRef.describe(
          'A token that can read pull requests and contents of the repository (env:NAME or file:PATH).',
        ),
        apiUrl: z
          .url({ protocol: /^https?$/ })
          .default('https://api.github.com')
          .describe('API base URL (GitHub Enterprise Server: https://HOST/api/v3).'),
      })
      .optional()
      .describe('github-review mode: where the pull requests and their reviews are read.'),
  })
  .superRefine((policy, ctx) => {
    if (policy.mode !== 'github-review') return;
    if (!policy.github)
      ctx.addIssue({
        code: 'custom',
        path: ['github'],
        message: 'github-review mode needs github: { repository, token }',
      });
    if (!policy.approvers.some((a) => a.github !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers'],
        message: 'github-review mode needs approvers with a github login',
      });
    }
  });
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

/** A reviewer who may read the subjects of an epoch's requests before approving them (`lethe show`). */
export const SubjectReviewer = z.strictObject({
  name: z.string().min(1).optional().describe('Who holds the key (display only).'),
  recipient: AgeRecipient.describe("The reviewer's age public key for this epoch (age1...)."),
});

/**
 * One key epoch: new requests are sealed to the controller's key of the current (last)
 * epoch and to that epoch's reviewers. Shredding the epoch destroys the controller's
 * private key; reviewers' keys are per epoch so that they can be destroyed with it.
 */
export const KeyEpoch = z.strictObject({
  id: EpochId.describe("The epoch's name, written into each sealed value (for example 2026Q4)."),
  recipient: AgeRecipient.describe("The controller's age public key for this epoch (lethe epoch new prints it)."),
  reviewers: z
    .array(SubjectReviewer)
    .optional()
    .describe("Reviewers' age keys for this epoch: they can read its subjects with lethe show."),
});
export type KeyEpoch = z.infer<typeof KeyEpoch>;

/** "24 months", "90 days", "7 years". */
export const RETENTION = /^([1-9][0-9]{0,3}) (day|month|year)s?$/;

export const SubjectsPolicy = z.strictObject({
  requireEncryption: z
    .boolean()
    .default(false)
    .describe('Reject plain subject emails and identifiers: every value must be age-encrypted.'),
  retention: z
    .string()
    .regex(RETENTION, { error: 'must be a duration such as "24 months", "90 days" or "7 years"' })
    .default('24 months')
    .describe("How long after completion a request's epoch key is kept before lethe shred may destroy it."),
  epochs: z
    .array(KeyEpoch)
    .default([])
    .refine((list) => new Set(list.map((e) => e.id)).size === list.length, { error: 'epoch ids must be unique' })
    .describe('Key epochs, oldest first; new requests are encrypted to the last one.'),
});
export type SubjectsPolicy = z.infer<typeof SubjectsPolicy>;

/** What a notification target is told about: the moments a team acts on. */
export const NOTIFICATION_EVENTS = ['Stalled', 'Overdue', 'AtRisk', 'Failed', 'Completed', 'UnapprovedChange'] as const;
export const NotificationEvent = z.enum(NOTIFICATION_EVENTS);
export type NotificationEvent = z.infer<typeof NotificationEvent>;

export const NotificationTarget = z.strictObject({
  name: ResourceName.describe('Names the target in logs and metrics.'),
  type: z
    .enum(['slack', 'webhook'])
    .describe('slack: a Slack-compatible incoming webhook ({"text": ...}); webhook: a generic JSON POST.'),
  /** The URL is a secret (it authorises posting): only a reference to it is committed. */
  url: CredentialRef.describe('Reference to the webhook URL (env:NAME or file:PATH): the URL itself is a secret.'),
  events: z
    .array(NotificationEvent)
    .min(1)
    .default([...NOTIFICATION_EVENTS])
    .describe('Events sent to this target.'),
});
export type NotificationTarget = z.infer<typeof NotificationTarget>;

export const Notifications = z.strictObject({
  targets: z.array(NotificationTarget).min(1).describe('Where phase changes are announced.'),
  maxPerHour: z
    .int()
    .positive()
    .default(20)
    .describe('Messages per target per hour; events beyond wait and are sent together in the next message.'),
});
export type Notifications = z.infer<typeof Notifications>;

export const LetheConfigSpec = z.strictObject({
  approval: ApprovalPolicy.describe('Who approves requests, and how git history proves it.'),
  regulations: z
    .strictObject({
      other: z
        .strictObject({
          days: z.int().positive().default(30).describe('Calendar days after receipt.'),
          extensionDays: z.int().min(0).default(30).describe('Further days when an extension is granted.'),
        })
        .default({ days: 30, extensionDays: 30 })
        .describe('Deadline for regulation: other.'),
    })
    .default({ other: { days: 30, extensionDays: 30 } })
    .describe('Deadline settings per regulation (gdpr and ccpa are fixed by law).'),
  /** Cron expression (5 or 6 fields) for remote fetches and vendor polling in `lethe run`. */
  schedule: z
    .string()
    .min(1)
    .refine((v) => validateCronExpression(v).valid, { error: 'must be a cron expression such as "*/5 * * * *"' })
    .default('*/5 * * * *')
    .describe('Cron expression for remote fetches and vendor polling in lethe run.'),
  /** Controller data directory (journal, exports); relative paths are against the working directory. */
  dataDir: z
    .string()
    .min(1)
    .optional()
    .describe('Controller data directory (journal, access exports), outside the repository.'),
  /** Write status commits to this branch instead of the protected branch. */
  statusBranch: z.string().min(1).optional().describe('Branch for status commits, when not the protected branch.'),
  identity: z
    .strictObject({
      name: z.string().min(1),
      email: z.email(),
      /** The controller's public key: status commits signed by it are what `lethe audit` accepts. */
      signingKey: z
        .string()
        .regex(/^ssh-ed25519 [A-Za-z0-9+/]+={0,2}( [^\n]*)?$/, {
          error: 'must be an "ssh-ed25519 AAAA..." public key line (lethe keygen prints it)',
        })
        .optional()
        .describe(
          'Public key (ssh-ed25519 line from lethe keygen) that signs status commits; without it status commits are unsigned.',
        ),
    })
    .default({ name: 'Lethe', email: 'lethe@localhost' })
    .describe('Author and committer of status commits, and the key that signs them.'),
  /** Days before the due date from which a request counts as at risk in `lethe plan`. */
  atRiskDays: z
    .int()
    .min(0)
    .default(3)
    .describe('Days before the due date from which lethe plan flags a request as at risk.'),
  /** How long a task retries transient vendor failures (5xx, timeouts, malformed answers) before it stops for an operator. */
  retryWindowHours: z
    .number()
    .positive()
    .default(24)
    .describe(
      'Hours a task retries transient vendor failures (5xx, resets, timeouts, 429, malformed answers) before it stops for an operator (Stalled).',
    ),
  subjects: SubjectsPolicy.optional().describe(
    'Encryption of subject emails and identifiers with age, key epochs and retention before shredding.',
  ),
  /** lethe run announces phase changes here: request names, phases and vendor names only, never a subject. */
  notifications: Notifications.optional().describe(
    'Chat or webhook notifications of Stalled, Overdue, AT RISK, Failed, Completed and unapproved changes.',
  ),
});
export type LetheConfigSpec = z.infer<typeof LetheConfigSpec>;

export const LetheConfig = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('LetheConfig'),
  metadata: ObjectMeta,
  spec: LetheConfigSpec,
});
export type LetheConfig = z.infer<typeof LetheConfig>;
