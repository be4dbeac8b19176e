import { defineErrors, type LetheError } from '../../errors/types.ts';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';

export const qualifioErrors = defineErrors({
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
    message: '{label}: Qualifio answer is not {field}',
    hint: 'Qualifio answered 200 without the documented shape; Lethe retries and never counts it as done. If it persists, check baseUrl or report an API change.',
  },
  QUALIFIO_BAD_IDENTIFIER: {
    message: 'request {request}: identifiers.{vendor}.{key} must be {expected}',
    hint: 'Fix spec.subject.identifiers in the request manifest (profileId: integers, comma-separated, or omit it to look profiles up by email; ruleId: a Qualifio rule id or "none").',
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
  QUALIFIO_CREATE_UNCONFIRMED: {
    message:
      'request {request}: a {ruleType} rule was sent but its answer was lost, and Qualifio offers no documented way to find it',
    hint: 'Lethe never creates a second rule blindly. In the Qualifio GDPR back office, look for a rule whose justification starts with [lethe:<request name>]: if there is one, set spec.subject.identifiers.<vendor>.ruleId to its id (Lethe validates and tracks it); if there is none, set ruleId to "none" (Lethe creates one).',
    terminal: true,
  },
  QUALIFIO_ENDPOINT_NOT_FOUND: {
    message: '{label}: no Qualifio GDPR API at the configured baseUrl (status {status})',
    hint: 'A configuration error: baseUrl must be the API root (e.g. https://api.qualif.io; Lethe appends /v1/gdpr/...). Fix the VendorConnection; the task resumes when it changes. Nothing was reported done.',
    terminal: true,
  },
  QUALIFIO_VALIDATION_REFUSED: {
    message: '{label}: rule {ruleId} is {status} after the DPO validation, not APPROVED',
    hint: 'Qualifio did not approve the rule (seed: "The result status should equals APPROVED"). Check that dpoUserId is a DPO of the account and look at the rule in the Qualifio GDPR back office. The task resumes when the connection or request changes.',
    terminal: true,
  },
  QUALIFIO_RULE_STATUS_UNKNOWN: {
    message: '{label}: rule {ruleId} has status {status}, which the GDPR API does not document',
    hint: 'Only NEW, APPROVED and FINISHED are documented; Lethe does not guess whether the rule ran. Check the rule in the Qualifio GDPR back office; the task resumes when the connection or request changes.',
    terminal: true,
  },
  QUALIFIO_RULE_NOT_OURS: {
    message: '{label}: rule {ruleId} is not a {ruleType} rule of request {request}',
    hint: 'The rule id recorded in git or set in identifiers.<vendor>.ruleId names another rule (type or [lethe:<request>] marker differ). Set ruleId to this request\'s rule, or to "none" to create one.',
    terminal: true,
  },
});

export type QualifioCode = keyof typeof qualifioErrors.table;

/**
 * Turns an answer Qualifio should not have given into the error the executor acts on.
 * Statuses that prove the call was refused (400, 401, 403, 429) say so with
 * `maybeDelivered: false`, which lets a journaled intent close.
 */
export function answerError(res: HttpResponse, label: string, origin: string): LetheError {
  const s = res.status;
  if (s === 401 || s === 403)
    return qualifioErrors.error(
      'QUALIFIO_UNAUTHORIZED',
      { label, status: s },
      { scope: 'vendor', maybeDelivered: false },
    );
  if (s === 400 || s === 422)
    return qualifioErrors.error('QUALIFIO_BAD_REQUEST', { label, status: s }, { maybeDelivered: false });
  if (s === 429 || s >= 500) return statusError(res, label, origin);
  // No documented Qualifio call answers these: the route does not exist at this baseUrl.
  if (s === 404 || s === 405)
    return qualifioErrors.error('QUALIFIO_ENDPOINT_NOT_FOUND', { label, status: s }, { maybeDelivered: false });
  // Any other client error is a refusal too, except a 408.
  const refused = s >= 400 && s < 500 && s !== 408;
  return qualifioErrors.error(
    'QUALIFIO_UNEXPECTED_STATUS',
    { label, status: s },
    refused ? { maybeDelivered: false } : {},
  );
}
