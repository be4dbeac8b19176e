import { defineErrors } from '../../errors/types.ts';

export const apiProxyErrors = defineErrors({
  APIPROXY_UNHEALTHY: {
    message: 'test query {index} of {vendor} {problem}',
    hint: 'The API behind the connection failed its health check (queries.test). Its requests wait, nothing is lost; they resume once every test query answers one of its valid_response_codes.',
  },
  APIPROXY_UNAUTHORIZED: {
    message: '{label} answered status {status}: credentials refused',
    hint: 'Check the {credentials} source (credentials_location or spec.credentials.credentials) and whether it was rotated. The connection is degraded until this is fixed; no request is lost.',
  },
  APIPROXY_NO_CREDENTIALS: {
    message: '{field} uses {credentials} but the connection has no resolved credentials',
    hint: 'Point credentials_location at env:NAME or file:PATH (a file holds {"credentials": "..."}), or set spec.credentials.credentials.',
    terminal: true,
  },
  APIPROXY_UNKNOWN_PLACEHOLDER: {
    message: '{field} uses unknown placeholder {placeholder} (available: {available})',
    hint: 'Substitutions are {email}, {credentials} and the identifier categories of queries.identifiers; write {{ and }} for literal braces. Nothing was sent.',
    terminal: true,
  },
  APIPROXY_TEMPLATE_INVALID: {
    message: 'invalid query template: {problem}',
    hint: 'Use {name} for substitutions and {{ / }} for literal braces (DataGrail syntax). Nothing was sent.',
    terminal: true,
  },
  APIPROXY_HEADER_INJECTION: {
    message: 'refused to send a header with a line break: {problem}',
    hint: 'A substituted value (email, identifier or credential) holds a line break, which no header can carry. Fix the request manifest or the credential; nothing was sent for this subject.',
    terminal: true,
  },
  APIPROXY_NO_QUERIES: {
    message: 'the connection has no {kind} queries',
    hint: 'Add queries.{kind} to the connection, or remove this vendor from the request.',
    terminal: true,
  },
  APIPROXY_ACCESS_MALFORMED: {
    message: '{label} answered status {status} with {problem}',
    hint: 'An access query must answer a JSON array of objects (seed 002). Fix the API; no report was written. The task resumes when the connection changes.',
    terminal: true,
  },
  APIPROXY_IDENTIFIERS_MALFORMED: {
    message: '{label} answered status {status} with {problem}',
    hint: 'An identifiers query must answer a JSON array of {"<category>": value} objects (seed 002). Fix the API; the task resumes when the connection changes.',
    terminal: true,
  },
  APIPROXY_RETRY_STATUS: {
    message: '{label} answered status {status}, listed in fail_retry_response_codes',
    hint: 'The API asked for a retry; Lethe retries the step later with backoff (queries already answered are not sent again).',
  },
  APIPROXY_JOB_TIMEOUT: {
    message: '{kind} queries did not complete within job_timeout_seconds ({seconds} s): {label} ({cause})',
    hint: 'The API is slower than jobTimeoutSeconds allows for all queries of one type together; Lethe retries later. Raise spec.jobTimeoutSeconds if the API is legitimately slow.',
  },
  APIPROXY_UNEXPECTED_STATUS: {
    message: '{label} answered status {status}, not in valid_response_codes nor fail_retry_response_codes',
    hint: 'The API rejected the query. Check the query and the API; if this status means "no such subject" or "retry", list it in valid_response_codes or fail_retry_response_codes and re-apply the request.',
    terminal: true,
  },
  APIPROXY_ENDPOINT_NOT_FOUND: {
    message: '{label} answered status {status} from a web server, not the API (a route 404/405, or an HTML page)',
    hint: "A configuration error: the query URL does not reach the API (wrong host, path or version). Fix the query url in the connection; the task resumes when it changes. Nothing was reported done: an HTML page is never taken as the API's answer, even with a listed status.",
    terminal: true,
  },
  APIPROXY_SERVER_ERROR: {
    message: '{label} answered status {status}, a server error not listed in valid_response_codes',
    hint: 'A transient failure of the API (Lethe retries with backoff; answered queries are not sent again). Unlike DataGrail, Lethe retries any 5xx or 408 even when fail_retry_response_codes does not list it; list the code in valid_response_codes only if it really means success.',
  },
});

export type ApiProxyCode = keyof typeof apiProxyErrors.table;
