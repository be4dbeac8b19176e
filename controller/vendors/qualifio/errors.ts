import { errorFrom, type LetheError, type ErrorTable } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';

export const QUALIFIO_ERRORS = {
  QUALIFIO_UNAUTHORIZED: {
    message: '{label}: Qualifio refused the credentials (status {status})',
    hint: 'Check the apiToken credential (rotated?), that clientId is the account of that token, and that dpoUserId is a DPO of that account. The connection is degraded until this is fixed; no request is lost.',
  },
  QUALIFIO_RULE_NOT_FOUND: {
    message: '{label}: Qualifio does not know rule {ruleId} (status 404)',
    hint: 'The rule was deleted at Qualifio or belongs to another clientId. Check the rule in the Qualifio GDPR back office; to start over, re-apply the request after an operator has confirmed no rule ran.',
    terminal: true,
  },
  QUALIFIO_BAD_REQUEST: {
    message: '{label}: Qualifio rejected the call (status {status})',
    hint: 'A 400 no retry fixes: check clientId, dpoUserId and callBackUrl in the VendorConnection, and that the profiles still exist. The task resumes when the connection or request changes.',
    terminal: true,
  },
  QUALIFIO_UNEXPECTED_STATUS: {
    message: '{label}: Qualifio answered unexpected status {status}',
    hint: 'Qualifio answered something its GDPR API does not document here (check baseUrl: it must be the API root, e.g. https://api.qualif.io). The task resumes when the connection changes.',
    terminal: true,
  },
  QUALIFIO_UNEXPECTED_ANSWER: {
    message: '{label}: Qualifio answer lacks {field}',
    hint: 'Qualifio answered 2xx without the documented field; Lethe retries. If it persists, the API changed: report it.',
  },
  QUALIFIO_BAD_IDENTIFIER: {
    message: 'request {request}: identifiers.{vendor}.profileId must be Qualifio profile ids (integers, comma-separated)',
    hint: 'Fix spec.subject.identifiers in the request manifest, or remove the profileId to look profiles up by email.',
    terminal: true,
  },
  QUALIFIO_ARCHIVE_MISSING: {
    message: '{label}: export rule {ruleId} finished without an archive',
    hint: 'Qualifio may still be storing the archive; Lethe retries. If it persists, check the rule in the Qualifio GDPR back office.',
  },
  QUALIFIO_DOWNLOAD_FAILED: {
    message: '{label}: archive download for rule {ruleId} answered status {status}',
    hint: 'The signed archive URL may have expired; Lethe asks Qualifio for a fresh location and retries.',
  },
  QUALIFIO_RECOVERY_UNAVAILABLE: {
    message: 'request {request}: cannot list Qualifio rules to find the rule created before a crash (status {status})',
    hint: 'Lethe will not create a second rule blindly. In the Qualifio GDPR back office, look for a rule whose justification starts with [lethe:<request name>]: validate it there if present; the task resumes when the connection changes.',
    terminal: true,
  },
} satisfies ErrorTable;

export type QualifioCode = keyof typeof QUALIFIO_ERRORS;

export function qualifioError(
  code: QualifioCode,
  details: Record<string, string | number>,
  options: ConstructorParameters<typeof LetheError>[2] = {},
): LetheError {
  return errorFrom(QUALIFIO_ERRORS, code, details, options);
}

/**
 * Turns an answer Qualifio should not have given into the error the executor acts on.
 * Statuses that prove the call was refused (400, 401, 403, 429) say so with
 * `maybeDelivered: false`, which lets a journaled intent close.
 */
export function answerError(res: HttpResponse, label: string, origin: string): LetheError {
  const s = res.status;
  if (s === 401 || s === 403) return qualifioError('QUALIFIO_UNAUTHORIZED', { label, status: s }, { scope: 'vendor', maybeDelivered: false });
  if (s === 400 || s === 422) return qualifioError('QUALIFIO_BAD_REQUEST', { label, status: s }, { maybeDelivered: false });
  if (s === 429 || s >= 500) return statusError(res, label, origin);
  // Any other client error is a refusal too (the route or method is wrong), except a 408.
  const refused = s >= 400 && s < 500 && s !== 408;
  return qualifioError('QUALIFIO_UNEXPECTED_STATUS', { label, status: s }, refused ? { maybeDelivered: false } : {});
}
