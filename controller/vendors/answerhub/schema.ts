import { z } from 'zod';

/**
 * The AnswerHub GDPR plugin answers the driver acts on (seed 004). The seed names the
 * calls and their statuses, not their bodies: the fields below are assumptions, kept to
 * the few a decision needs (ids, the job status word) and lenient on everything else.
 */

/** AnswerHub ids are integers; some plugin builds write them as digit strings. */
export const NumericId = z.union([z.int().nonnegative(), z.string().regex(/^\d{1,18}$/)]).transform(String);

/** `GET /services/v2/users/gdpr/{email}.json` 200: the user (its email, username: ignored). */
export const UserAnswer = z.looseObject({ id: NumericId });

/** `POST /services/v2/users/gdpr/upload.json` 201: the uploaded file's id. */
export const UploadAnswer = z.looseObject({ fileId: NumericId });

/** `POST /services/v2/jobs/gdpr/schedule.json` 201: the job. */
export const ScheduledJob = z.looseObject({ id: NumericId });

/**
 * `GET /services/v2/jobs/gdpr/{id}.json` 200: "Pending Job" or "Finished Job" (seed).
 * The status word is read case-insensitively; words other than the documented ones are
 * judged by the driver (never as finished).
 */
export const JobAnswer = z.looseObject({
  id: NumericId.optional(),
  status: z.string().regex(/^[A-Za-z_ -]{1,40}$/),
  finishedAt: z.string().max(64).optional().catch(undefined),
});

/**
 * An error answer (assumption: `{"code": N, "message": "..."}`; `error`/`detail` are read
 * too, for builds or proxies that name it so). The message may quote input: it is matched,
 * never logged. `code` is the vendor's message code, safe to report when it is a short token.
 */
export const ErrorAnswer = z.looseObject({
  code: z
    .union([z.int(), z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/)])
    .optional()
    .catch(undefined),
  message: z.string().optional().catch(undefined),
  error: z.string().optional().catch(undefined),
  detail: z.string().optional().catch(undefined),
  errorMessage: z.string().optional().catch(undefined),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;
