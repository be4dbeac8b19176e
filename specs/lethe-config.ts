import { z } from 'zod';
import { API_VERSION, ObjectMeta } from './common.ts';

export const Approver = z.strictObject({
  name: z.string().min(1).optional(),
  email: z.email(),
  /** Fingerprint (or its 16-hex-digit suffix) of the key the approver signs with. */
  signingKey: z.string().regex(/^[0-9A-Fa-f]{16,40}$/).optional(),
});
export type Approver = z.infer<typeof Approver>;

export const ApprovalPolicy = z.strictObject({
  /**
   * merge: the spec reached the protected branch through a merge commit made by a listed
   * approver who did not author it. trailer: `Approved-by:` trailers from listed approvers.
   */
  mode: z.enum(['merge', 'trailer']).default('merge'),
  protectedBranch: z.string().min(1).default('main'),
  approvers: z.array(Approver).min(1, { error: 'list at least one approver' }),
  minApprovals: z.int().min(1).default(1),
  requireSignedCommits: z.boolean().default(false),
});
export type ApprovalPolicy = z.infer<typeof ApprovalPolicy>;

export const LetheConfigSpec = z.strictObject({
  approval: ApprovalPolicy,
  regulations: z
    .strictObject({
      other: z
        .strictObject({
          days: z.int().positive().default(30),
          extensionDays: z.int().min(0).default(30),
        })
        .default({ days: 30, extensionDays: 30 }),
    })
    .default({ other: { days: 30, extensionDays: 30 } }),
  /** Cron expression (5 or 6 fields) for remote fetches and vendor polling in `lethe run`. */
  schedule: z.string().min(1).default('*/5 * * * *'),
  /** Controller data directory (journal, exports); relative paths are against the working directory. */
  dataDir: z.string().min(1).optional(),
  /** Write status commits to this branch instead of the protected branch. */
  statusBranch: z.string().min(1).optional(),
  identity: z
    .strictObject({ name: z.string().min(1), email: z.email() })
    .default({ name: 'Lethe', email: 'lethe@localhost' }),
  /** Days before the due date from which a request counts as at risk in `lethe plan`. */
  atRiskDays: z.int().min(0).default(3),
});
export type LetheConfigSpec = z.infer<typeof LetheConfigSpec>;

export const LetheConfig = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('LetheConfig'),
  metadata: ObjectMeta,
  spec: LetheConfigSpec,
});
export type LetheConfig = z.infer<typeof LetheConfig>;
