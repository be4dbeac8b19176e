import { z } from 'zod';
import { Action, API_VERSION, IsoDate, ObjectMeta, Regulation, ResourceName } from './common.ts';

/**
 * Identifiers a vendor already knows the subject by, keyed by the vendor connection's
 * name (vendors/<name>.yaml). Each driver declares which keys it reads (for example
 * Elastic Path `customerId`, AnswerHub `userId` / `username`); `lethe validate` rejects
 * keys a driver does not know. They are personal data: they never reach status files.
 */
export const VendorIdentifiers = z.record(ResourceName, z.record(z.string().min(1), z.string().min(1)));

export const Subject = z.strictObject({
  emails: z
    .array(z.email({ error: 'must be a valid email address' }))
    .min(1, { error: 'at least one email address is required' })
    .max(20, { error: 'at most 20 email addresses per request; split the request' }),
  identifiers: VendorIdentifiers.optional(),
});
export type Subject = z.infer<typeof Subject>;

/**
 * A granted extension of the legal deadline. GDPR Art. 12(3): up to two further months;
 * CCPA §1798.130: one further 45-day period. `months` applies to GDPR only (default 2).
 */
export const Extension = z.strictObject({
  reason: z.string().trim().min(1, { error: 'an extension needs a reason the subject was told about' }),
  months: z.int().min(1).max(2).optional(),
});

export const PrivacyRequestSpec = z.strictObject({
  action: Action,
  regulation: Regulation,
  receivedAt: IsoDate,
  extension: Extension.optional(),
  subject: Subject,
  vendors: z.union([
    z.literal('all'),
    z.array(ResourceName).min(1, { error: 'name at least one vendor, or write "all"' }),
  ]),
  justification: z.string().trim().min(1, { error: 'a justification is required for the audit trail' }).max(2000),
});
export type PrivacyRequestSpec = z.infer<typeof PrivacyRequestSpec>;

export const PrivacyRequest = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('PrivacyRequest'),
  metadata: ObjectMeta,
  spec: PrivacyRequestSpec,
});
export type PrivacyRequest = z.infer<typeof PrivacyRequest>;
