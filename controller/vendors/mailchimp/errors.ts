import { defineErrors } from '../../errors/types.ts';

/** Every code the Mailchimp driver raises. Details are call names, statuses and counts only. */
export const mailchimpErrors = defineErrors({
  MAILCHIMP_UNAUTHORIZED: {
    message: 'Mailchimp refused the API key on {call} (status {status})',
    hint: 'Check the apiKey credential (revoked or rotated?) and that baseUrl names the data center at the end of the key (...-us21: https://us21.api.mailchimp.com); a wrong data center is refused too. The connection is degraded until fixed; no request is lost.',
  },
  MAILCHIMP_RATE_LIMITED: {
    message: 'Mailchimp answered 429 to {call}',
    hint: 'Mailchimp allows 10 simultaneous connections per account, shared with every other integration of the account. Lethe retries later; lower spec.concurrency if it persists.',
  },
  MAILCHIMP_LIST_NOT_FOUND: {
    message: 'Mailchimp has no audience {listId} for this API key (status {status})',
    hint: 'Check spec.listId (Audience > Settings > Audience name and defaults > Audience ID) and that the key belongs to the account of that audience. Without a known audience a missing member proves nothing, so nothing is reported. The connection is degraded until fixed.',
  },
  MAILCHIMP_ENDPOINT_NOT_FOUND: {
    message: "Mailchimp answered {call} with status {status} and {body}, not the API's problem+json error",
    hint: 'A configuration error: baseUrl must be https://<dc>.api.mailchimp.com without /3.0 (Lethe appends it). A web server\'s page never counts as "no such member". Fix the VendorConnection; the task resumes when it changes.',
    terminal: true,
  },
  MAILCHIMP_REJECTED: {
    message: 'Mailchimp rejected {call} (status {status}, {title})',
    hint: 'Mailchimp refused the call; no retry fixes it. The title names the reason in the Mailchimp error glossary. Fix the connection or the request, then edit it to retry.',
    terminal: true,
  },
  MAILCHIMP_ANSWER_MISMATCH: {
    message: 'Mailchimp answered {call} for another {what} than the one asked for',
    hint: 'Something between Lethe and Mailchimp (a proxy, a mock) ignores the path, so its answer proves nothing about this subject; nothing was erased or reported. Check baseUrl and edit the connection to retry.',
    terminal: true,
  },
  MAILCHIMP_UNEXPECTED_ANSWER: {
    message: 'Mailchimp answered {call} with status {status}, which the API reference does not give for it',
    hint: 'Only 204 proves a permanent delete, only 200 with the member (or a problem+json 404) answers a member lookup. Lethe asks the member again and never counts this as done; if it persists, check baseUrl or report an API change.',
  },
  MAILCHIMP_DELETE_NOT_CONFIRMED: {
    message:
      'request {request}: Mailchimp answered 404 to the permanent delete of member {index}, yet still returns that member',
    hint: 'The two answers contradict each other, so Lethe claims nothing. Look the member up in the audience in Mailchimp; delete it permanently there or edit the request to retry.',
    terminal: true,
  },
  MAILCHIMP_UNSUPPORTED_ACTION: {
    message: 'request {request}: Mailchimp connections support erasure and access, not {action}',
    hint: 'Remove this vendor from the request, or handle this action in Mailchimp by another channel.',
    terminal: true,
  },
});

export type MailchimpCode = keyof typeof mailchimpErrors.table;
