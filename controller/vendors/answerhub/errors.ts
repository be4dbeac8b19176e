import { defineErrors } from '../../errors/types.ts';
import type { HttpResponse } from '../../http/types.ts';
import { ErrorAnswer } from './schema.ts';

const CONSOLE = 'the AnswerHub admin console (Plugins > GDPR Compliance Kit)';

export const answerHubErrors = defineErrors({
  ANSWERHUB_UNAUTHORIZED: {
    message: '{label}: AnswerHub refused the credentials (status {status})',
    hint: 'Check the username/password credential references (rotated password?) and that the account is an admin or super user with the GDPR plugin (2.3.1+). The connection is degraded until fixed; no request is lost.',
  },
  ANSWERHUB_USER_NOT_FOUND: {
    message: '{label}: no AnswerHub user has the subject email (status 422)',
    hint: 'Not an error: the request completes as NoDataHeld. If the subject is known under another email, add identifiers.<vendor>.userId or username to the request.',
  },
  ANSWERHUB_UPLOAD_REJECTED: {
    message: '{label}: AnswerHub refused the bulk CSV of {users} users (status 400)',
    hint: 'The GDPR plugin did not accept the file (columns id/username). Check the plugin version (2.3.1+); the task resumes when the request or connection changes.',
    terminal: true,
  },
  ANSWERHUB_NO_USER_SELECTED: {
    message: '{label}: AnswerHub answered "No user selected" (status 400)',
    hint: 'The userId/username identifier of the request names no AnswerHub user. Fix or remove spec.subject.identifiers.<vendor> (without it Lethe looks the user up by email).',
    terminal: true,
  },
  ANSWERHUB_FILE_ID_MISSING: {
    message: '{label}: AnswerHub answered "File ID not specified" (status 400)',
    hint: 'The bulk job lost its file id; the upload answer lacked it. Report it; the task resumes when the connection changes.',
    terminal: true,
  },
  ANSWERHUB_FILE_NOT_FOUND: {
    message: '{label}: AnswerHub answered "File ID does not exist" for file {fileId} (status 400)',
    hint: 'The uploaded CSV expired or was removed before scheduling. Change the connection (or re-apply the requests) to upload it again.',
    terminal: true,
  },
  ANSWERHUB_TIMEFRAME_TAKEN: {
    message: '{label}: a job is already scheduled for every tried timeframe ({tries} slots from {slot})',
    hint: `Lethe moved to the next allowed slot each time. Widen spec.scheduleWindow, or remove stale pending jobs in ${CONSOLE}.`,
    terminal: true,
  },
  ANSWERHUB_DATE_NOT_ELIGIBLE: {
    message: '{label}: AnswerHub found none of {tries} dates from {slot} eligible (status 400)',
    hint: "Check the controller clock (NTP) against AnswerHub's, spec.dateFormat (formatted dates are UTC) and spec.scheduleWindow.",
    terminal: true,
  },
  ANSWERHUB_EMPTY_OPERATIONS: {
    message: '{label}: AnswerHub answered "Empty operations list was submitted" (status 400)',
    hint: 'Set spec.erasureOperation to delete, anon-delete, anonymize or suspend.',
    terminal: true,
  },
  ANSWERHUB_REASSIGN_AMBIGUOUS: {
    message: '{label}: AnswerHub answered that the reassign user has more than one identifier (status 400)',
    hint: 'The reassignUser object must carry exactly one of id, username or email.',
    terminal: true,
  },
  ANSWERHUB_REASSIGN_NOT_FOUND: {
    message: '{label}: AnswerHub answered that the reassign user does not exist (status 400)',
    hint: 'The reassignUser must be an existing AnswerHub user.',
    terminal: true,
  },
  ANSWERHUB_SCHEDULE_REJECTED: {
    message:
      '{label}: AnswerHub rejected the job with a 400 Lethe does not recognise as one of the eight documented errors (vendor message code {vendorCode})',
    hint: 'Nothing was scheduled. Look the vendor message code up in the AnswerHub GDPR reference, and check spec.erasureOperation and the plugin version (2.3.1+). The task resumes when the request or connection changes.',
    terminal: true,
  },
  ANSWERHUB_JOB_NOT_FOUND: {
    message: '{label}: AnswerHub has no job {jobId} (status 404)',
    hint: `The job was deleted in ${CONSOLE}. If the subject must still be erased, set spec.subject.identifiers.<vendor>.jobId to the id of a job that covers them, or to "none" to let Lethe schedule a new one.`,
    terminal: true,
  },
  ANSWERHUB_JOB_ID_INVALID: {
    message: '{label}: AnswerHub called job id {jobId} invalid (status 400)',
    hint: 'The recorded job id is not numeric. Set spec.subject.identifiers.<vendor>.jobId to the right id, or to "none" to schedule again.',
    terminal: true,
  },
  ANSWERHUB_JOB_ALREADY_RAN: {
    message: '{label}: job {jobId} already ran or is running; too late to cancel (status 422)',
    hint: 'Not an error: the withdrawn request is tracked to the end of its job, and its status records that the cancellation came too late.',
  },
  ANSWERHUB_SCHEDULE_UNCONFIRMED: {
    message:
      'request {request}: a {operation} job was sent for {slot} but its answer was lost; AnswerHub cannot list jobs to confirm it',
    hint: `Lethe never schedules blindly twice. Look for a GDPR job at that time in ${CONSOLE}: if it exists, set spec.subject.identifiers.<vendor>.jobId to its id (Lethe tracks it); if it does not, set jobId to "none" (Lethe schedules one).`,
    terminal: true,
  },
  ANSWERHUB_BAD_IDENTIFIER: {
    message: 'request {request}: identifiers.{vendor}.{key} must be {expected}',
    hint: 'Fix spec.subject.identifiers in the request manifest.',
    terminal: true,
  },
  ANSWERHUB_UNEXPECTED_ANSWER: {
    message: '{label}: AnswerHub answered status {status} without {field}',
    hint: 'AnswerHub answered something the GDPR plugin does not document here (check baseUrl: the site root, without /services). Lethe retries.',
  },
  ANSWERHUB_UNSUPPORTED_ACTION: {
    message: 'request {request}: AnswerHub connections support erasure only, not {action}',
    hint: 'Remove this vendor from the request, or use another connection for this action.',
    terminal: true,
  },
  ANSWERHUB_ENDPOINT_NOT_FOUND: {
    message: '{label}: no AnswerHub GDPR plugin endpoint at the configured baseUrl (status {status})',
    hint: 'A configuration error: baseUrl must be the site root without /services (Lethe appends /services/v2/...), and the GDPR plugin must be 2.3.1+. Fix the VendorConnection; the task resumes when it changes. Nothing was reported done.',
    terminal: true,
  },
  ANSWERHUB_JOB_STATUS_UNKNOWN: {
    message: '{label}: job {jobId} has status {status}, which the GDPR plugin does not document',
    hint: `Only pending and finished are documented (and running, by the delete call's 422). Lethe does not guess whether the job ran: check it in ${CONSOLE}; the task resumes when the request or connection changes.`,
    terminal: true,
  },
});

export type AnswerHubCode = keyof typeof answerHubErrors.table;

/** The calls whose documented answers are classified. */
export type AnswerHubCall = 'lookup' | 'upload' | 'schedule' | 'job-get' | 'job-delete';

function errorAnswer(res: HttpResponse): ErrorAnswer | undefined {
  try {
    return res.parse(ErrorAnswer);
  } catch {
    return undefined;
  }
}

/** Lower case, every run of other characters one space: wording, not punctuation, decides. */
export function normalise(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/**
 * The plugin's error text, for matching only (never logged: it may quote input): the
 * usual message fields of a JSON error, else the raw body (a proxy's plain-text page).
 */
export function errorText(res: HttpResponse): string {
  const e = errorAnswer(res);
  const parts = e
    ? [e.message, e.error, e.detail, e.errorMessage].filter((x): x is string => typeof x === 'string')
    : [];
  return normalise(parts.length > 0 ? parts.join(' ') : res.body.subarray(0, 2000).toString('utf8'));
}

/** The vendor's message code (`code` of a JSON error), for reports; `none` without one. */
export function vendorCode(res: HttpResponse): string {
  const code = errorAnswer(res)?.code;
  return code === undefined ? 'none' : String(code);
}

/** Whether the answer is the plugin's own JSON error (not a web server's page at a wrong baseUrl). */
export function isPluginError(res: HttpResponse): boolean {
  return errorAnswer(res) !== undefined;
}

/**
 * The eight documented schedule errors (seed 004, a-h), on normalised text. The seed
 * gives their wording only, no codes or fields, so wording is all there is to tell them
 * apart (assumption, see README). The two reassign errors are the most specific and win;
 * otherwise exactly one pattern must match: none or several (ambiguous wording) is
 * ANSWERHUB_SCHEDULE_REJECTED, a stall, never a guess.
 */
const REASSIGN_400: ReadonlyArray<[RegExp, AnswerHubCode]> = [
  [/reassign.*(more than one|exactly one|one way|multiple|only one)/, 'ANSWERHUB_REASSIGN_AMBIGUOUS'],
  [/reassign.*(not exist|does ?n ?t exist|not found|unknown)/, 'ANSWERHUB_REASSIGN_NOT_FOUND'],
];
const SCHEDULE_400: ReadonlyArray<[RegExp, AnswerHubCode]> = [
  [/no user.*selected|user.*not selected/, 'ANSWERHUB_NO_USER_SELECTED'],
  [/file ?id.*not (specified|provided|given)|missing.*file ?id/, 'ANSWERHUB_FILE_ID_MISSING'],
  [/file ?id.*(not exist|does ?n ?t exist|not found|unknown)/, 'ANSWERHUB_FILE_NOT_FOUND'],
  [/already (been )?scheduled|time ?frame/, 'ANSWERHUB_TIMEFRAME_TAKEN'],
  [/not eligible|ineligible/, 'ANSWERHUB_DATE_NOT_ELIGIBLE'],
  [/empty operation|operations? (list )?(is |was )?empty|no operations?\b/, 'ANSWERHUB_EMPTY_OPERATIONS'],
];

export function scheduleError(text: string): AnswerHubCode {
  const reassign = REASSIGN_400.filter(([re]) => re.test(text));
  if (reassign.length === 1) return reassign[0]![1];
  if (reassign.length > 1) return 'ANSWERHUB_SCHEDULE_REJECTED';
  const matches = SCHEDULE_400.filter(([re]) => re.test(text));
  return matches.length === 1 ? matches[0]![1] : 'ANSWERHUB_SCHEDULE_REJECTED';
}

/**
 * The catalogue code of a documented error answer, or undefined for a success or for a
 * status the plugin does not document on that call (the caller decides on those).
 * `text` is the normalised error text ({@link errorText}), read for schedule 400s only.
 */
export function classify(call: AnswerHubCall, status: number, text: string): AnswerHubCode | undefined {
  if (status === 401 || status === 403) return 'ANSWERHUB_UNAUTHORIZED';
  switch (call) {
    case 'lookup':
      return status === 422 ? 'ANSWERHUB_USER_NOT_FOUND' : undefined;
    case 'upload':
      return status === 400 ? 'ANSWERHUB_UPLOAD_REJECTED' : undefined;
    case 'schedule':
      return status === 400 ? scheduleError(text) : undefined;
    case 'job-get':
      return status === 404 ? 'ANSWERHUB_JOB_NOT_FOUND' : status === 400 ? 'ANSWERHUB_JOB_ID_INVALID' : undefined;
    case 'job-delete':
      return status === 404
        ? 'ANSWERHUB_JOB_NOT_FOUND'
        : status === 400
          ? 'ANSWERHUB_JOB_ID_INVALID'
          : status === 422
            ? 'ANSWERHUB_JOB_ALREADY_RAN'
            : undefined;
  }
}
