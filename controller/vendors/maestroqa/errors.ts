import { defineErrors } from '../../errors/types.ts';

export const maestroQaErrors = defineErrors({
  MAESTROQA_UNAUTHORIZED: {
    message: 'MaestroQA refused the API token (status {status})',
    hint: 'MaestroQA tokens expire after 90 days unless rotation is off: create a token under Settings > API Keys and update the credential this connection references. Requests wait meanwhile; nothing is lost.',
  },
  MAESTROQA_REJECTED: {
    message: 'MaestroQA rejected {call} (status {status})',
    hint: 'The vendor refused the call as malformed; no retry fixes it. Check the connection baseUrl and the request manifest, then edit either to retry.',
    terminal: true,
  },
  MAESTROQA_RATE_LIMITED: {
    message: 'MaestroQA kept answering 429 to {call}',
    hint: 'Another client shares the token, or rateLimits is set above 1/s and 30/min. Lethe retries later.',
  },
  MAESTROQA_NOT_FOUND: {
    message: 'MaestroQA answered 404 to {call} without a documented body ({body})',
    hint: 'The seed gives a 404 no meaning for this call, so it proves nothing about the subject: usually baseUrl points at the wrong path or host (it must end in /api/v1, e.g. https://app.maestroqa.com/api/v1). Nothing was recorded as deleted. Fix baseUrl in the connection and the task is retried. If baseUrl is right and MaestroQA confirms it holds no data for the subject, remove this vendor from the request.',
    terminal: true,
  },
  MAESTROQA_NOT_CONFIRMED: {
    message: 'MaestroQA answered the deletion call with job {jobId} but confirmation false',
    hint: 'MaestroQA did not confirm the operational deletion, so Lethe claims nothing and does not resubmit on its own. Check job {jobId} with MaestroQA support, then set spec.subject.identifiers.<vendor>.jobId to that id (follow the job) or to "none" (submit again).',
    terminal: true,
  },
  MAESTROQA_UNKNOWN_STATUS: {
    message: 'MaestroQA answered the status check of job {jobId} with the undocumented status {status}',
    hint: 'The documented words are pending, completed, not found and errored. An unknown word is neither success nor failure: ask MaestroQA support what it means for the job, then set spec.subject.identifiers.<vendor>.jobId (follow another job, or "none" to submit again), or edit the connection to retry the check.',
    terminal: true,
  },
  MAESTROQA_SUBMISSION_UNCONFIRMED: {
    message:
      'request {request}: a deletion call (audit label {auditLabel}) may have reached MaestroQA, but its answer was lost',
    hint: 'MaestroQA cannot be asked about a submission. Look for the audit label in the MaestroQA audit log, then set spec.subject.identifiers.<vendor>.jobId in the request manifest to the job id found there, or to "none" if the label is absent (Lethe then submits again).',
    terminal: true,
  },
  MAESTROQA_JOB_NOT_FOUND: {
    message: 'request {request}: MaestroQA does not know deep-delete job {jobId}',
    hint: 'Check that baseUrl and the token belong to the MaestroQA account that created the job. If MaestroQA support confirms the job is lost, set spec.subject.identifiers.<vendor>.jobId to "none" (submit again) or to the job id that replaced it.',
    terminal: true,
  },
  MAESTROQA_DEEP_DELETE_ERRORED: {
    message: 'deep-delete job {jobId} errored; {submissions} submissions made',
    hint: 'MaestroQA could not finish the daily deep delete after the bounded re-submissions (maxSubmissions). Report the job id to MaestroQA support; a new request manifest starts over.',
  },
  MAESTROQA_REBUILD_AMBIGUOUS: {
    message:
      'request {request}: the journal was rebuilt from git and {jobs} job ids cannot be matched to {chunks} email groups',
    hint: 'Set spec.subject.identifiers.<vendor>.jobId to the job still to follow, or "none" to submit again, after checking the MaestroQA audit log.',
    terminal: true,
  },
});
