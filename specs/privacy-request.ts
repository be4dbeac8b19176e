import { z } from 'zod';
import { Action, API_VERSION, IsoDate, ObjectMeta, Regulation, ResourceName } from './common.ts';
import { SubjectEmail, SubjectIdentifier } from './sealed.ts';

/**
 * Identifiers a vendor already knows the subject by, keyed by the vendor connection's
 * name (vendors/<name>.yaml). Each driver declares which keys it reads (for example
 * Elastic Path `customerId`, AnswerHub `userId` / `username`); `lethe validate` rejects
 * keys a driver does not know. They are personal data: they never reach status files, and
 * may be sealed with age like the emails.
 */
export const VendorIdentifiers = z.record(ResourceName, z.record(z.string().min(1), SubjectIdentifier));

/**
 * zod runs length checks on whatever has a length: `emails: someone.long@example.com` (text,
 * not a list) would also be told "at most 20 email addresses". The counts apply to lists only;
 * text gets the one message that helps, "must be a list".
 */
const onLists = { when: (payload: { value: unknown }) => Array.isArray(payload.value) };

export const Subject = z.strictObject({
  emails: z
    .array(SubjectEmail)
    .min(1, { error: 'at least one email address is required', ...onLists })
    .max(20, { error: 'at most 20 email addresses per request; split the request', ...onLists })
    .describe(
      "The data subject's email addresses (1 to 20), each plain or age-encrypted (age:<epoch>:<base64>). Personal data: never copied into status.",
    ),
  identifiers: VendorIdentifiers.optional().describe(
    'Per vendor name, identifiers the vendor already knows the subject by (e.g. elasticpath customerId, answerhub userId); values plain or age-encrypted.',
  ),
});
export type Subject = z.infer<typeof Subject>;

/**
 * A granted extension of the legal deadline. GDPR Art. 12(3): up to two further months;
 * CCPA §1798.130: one further 45-day period. `months` applies to GDPR only (default 2).
 */
export const Extension = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(1, { error: 'an extension needs a reason the subject was told about' })
    .describe('Why the deadline was extended, as the subject was told.'),
  months: z.int().min(1).max(2).optional().describe('GDPR only: further months granted (1 or 2; 2 when omitted).'),
});

export const PrivacyRequestSpec = z.strictObject({
  action: Action.describe('erasure (delete the data), access (export it) or optout (stop selling/sharing).'),
  regulation: Regulation.describe('Sets the legal due date: gdpr one month, ccpa 45 days, other from lethe.yaml.'),
  receivedAt: IsoDate.describe(
    'The day the request reached the company, as a quoted string "YYYY-MM-DD" (unquoted, YAML 1.1 tools read a date object); the deadline counts from it.',
  ),
  extension: Extension.optional().describe('A granted extension of the legal deadline.'),
  subject: Subject.describe('Who the request is about.'),
  vendors: z
    .union([z.literal('all'), z.array(ResourceName).min(1, { error: 'name at least one vendor, or write "all"' })], {
      error: 'must be "all" or a list of vendor names',
    })
    .describe('Names of vendors/<name>.yaml, or "all" for every vendor that supports the action.'),
  justification: z
    .string()
    .trim()
    .min(1, { error: 'a justification is required for the audit trail' })
    .max(2000)
    .describe('Why the request is valid (ticket reference, legal basis); no personal data.'),
});
export type PrivacyRequestSpec = z.infer<typeof PrivacyRequestSpec>;

export const PrivacyRequest = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('PrivacyRequest'),
  metadata: ObjectMeta,
  spec: PrivacyRequestSpec,
});
export type PrivacyRequest = z.infer<typeof PrivacyRequest>;
