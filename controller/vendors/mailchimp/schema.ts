import { z } from 'zod';

/**
 * The Mailchimp Marketing API answers the driver acts on (README.md cites the pages).
 * Lenient on fields the driver ignores (`looseObject`), strict on those a decision reads.
 */

/** A subscriber hash: "the MD5 hash of the lowercase version of the list member's email address". */
export const SubscriberHash = z.string().regex(/^[0-9a-f]{32}$/);

/**
 * The error format of every Mailchimp error ("Errors" page): `application/problem+json`
 * with type, title, status, detail and instance. `detail` may quote the email address
 * (e.g. "… was permanently deleted and cannot be re-imported"): it is never read or logged.
 */
export const ProblemDetail = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.int(),
  detail: z.string(),
  instance: z.string(),
});
export type ProblemDetail = z.infer<typeof ProblemDetail>;

/**
 * `GET /3.0/lists/{list_id}/members/{subscriber_hash}`, 200: the member. `id` is the
 * subscriber hash and `list_id` the audience: both are compared with what was asked, so a
 * proxy that ignores the path cannot answer for another member. `status` is any word
 * (subscribed, unsubscribed, cleaned, pending, transactional, archived): every member
 * Mailchimp returns holds data, whatever its status.
 */
export const MemberAnswer = z.looseObject({
  id: SubscriberHash,
  list_id: z.string(),
  status: z.string(),
});
export type MemberAnswer = z.infer<typeof MemberAnswer>;

/** `GET /3.0/lists/{list_id}`, 200: the audience (its `id` is compared with the one asked for). */
export const ListAnswer = z.looseObject({ id: z.string() });
