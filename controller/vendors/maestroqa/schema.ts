import { z } from 'zod';

/**
 * The MaestroQA answers the driver acts on (seed 000). Lenient on fields it ignores
 * (`looseObject`), strict on the fields a decision depends on.
 */

/** A job id as the seed shows it ('123'); a number is accepted and read as its decimal string. */
const JobId = z.union([z.string().regex(/^[A-Za-z0-9_-]{1,128}$/), z.int().nonnegative().transform(String)]);

/**
 * `DELETE /data-deletion-request`, 200: "confirmation - boolean - affirmatively confirming
 * the completion of the request" and "id - id of the job for async bulk deletion".
 * The example's `status: 'pending'` is ignored: the deep delete is checked by id.
 */
export const DeletionAnswer = z.looseObject({ confirmation: z.boolean(), id: JobId });
export type DeletionAnswer = z.infer<typeof DeletionAnswer>;

/**
 * `GET /data-deletion-check/{id}`: "status - string - pending, completed, not found, or
 * errored" (the prose also says "error"). Any string parses; which words are known is
 * decided by the driver, so that an unknown word stalls with a code instead of failing
 * the schema (retried forever) or counting as pending.
 */
export const CheckAnswer = z.looseObject({ status: z.string() });

/** The documented words of the status check. */
export const DEEP_STATUSES = ['pending', 'completed', 'not found', 'errored', 'error'] as const;
export type DeepStatusWord = (typeof DEEP_STATUSES)[number];
