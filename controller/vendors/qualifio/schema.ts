import { z } from 'zod';

/**
 * The Qualifio answers the driver acts on (seed 001). Lenient on fields it ignores (the
 * profile's name, address, crmKey...: personal data that is parsed past, never kept),
 * strict on the fields a decision depends on: ids, the rule's status word, type and test
 * flag, the archive id, the archive URL.
 */

/** A rule or archive id: the seed's are 24-hex Mongo ids; any plain token is accepted. */
export const QualifioId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** Step 1, `GET /v1/gdpr/profiles?email=`: an array (empty when nobody has the email). */
export const ProfileList = z.array(z.looseObject({ id: z.int().positive() }));

/** Upper-case status words such as NEW, APPROVED, FINISHED; unknown words are decided on, not rejected here. */
export const RuleStatusWord = z.string().regex(/^[A-Za-z_]{1,40}$/);

/** A rule as creation (step 2), validation (step 3) and get-by-id (step 4) return it. */
export const Rule = z.looseObject({
  _id: QualifioId,
  ruleStatus: z.looseObject({
    status: RuleStatusWord,
    // Evidence only: an odd value is dropped rather than failing the answer.
    acceptedBy: z.int().optional().catch(undefined),
  }),
  ruleType: z.string(),
  justification: z.string().optional(),
  ruleTypePayload: z.looseObject({ test: z.boolean().optional() }).optional(),
  archive: QualifioId.optional(),
});
export type Rule = z.infer<typeof Rule>;

/**
 * `GET /v1/gdpr/rules?clientId=`: NOT in the seed. Read only as a hint (see index.ts):
 * a bare array of rules, nothing else; an envelope or a paginated answer is a mismatch.
 */
export const RuleList = z.array(Rule);

/** Step 5, the archive location: a URL to download (signed, no token). */
export const ArchiveLocation = z.looseObject({ url: z.string().refine((u) => URL.canParse(u) && /^https?:/.test(u)) });

/**
 * Qualifio's JSON error body (assumption: the seed shows none; the sandbox answers
 * `{statusCode, error, message}`). Used only to tell "no such rule" (the API's own 404)
 * from a 404 of a web server at a wrong baseUrl.
 */
export const QualifioErrorBody = z.looseObject({ statusCode: z.int(), message: z.string() });
