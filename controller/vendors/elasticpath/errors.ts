import { defineErrors } from '../../errors/types.ts';

export const elasticPathErrors = defineErrors({
  ELASTICPATH_UNAUTHORIZED: {
    message: 'Elastic Path refused the client credentials (status {status})',
    hint: 'Check the client_id / client_secret references of this connection (Application Keys in Commerce Manager) and the region or baseUrl. Requests wait meanwhile; nothing is lost.',
  },
  ELASTICPATH_FORBIDDEN: {
    message: 'Elastic Path denied {call} (status 403)',
    hint: 'The application key lacks the Seller Admin / IT role that personal-data erasure needs, or is not a client_credentials key.',
  },
  ELASTICPATH_RATE_LIMITED: {
    message: 'Elastic Path kept answering 429 to {call}',
    hint: 'Another client shares the store limit, or environment/rateLimits is set above the store plan. Lethe retries later.',
  },
  ELASTICPATH_REJECTED: {
    message: 'Elastic Path rejected {call} (status {status})',
    hint: 'The store refused the call as invalid (e.g. an unknown customerId / accountMemberId identifier, or a resource type the store does not support). Fix the manifest or connection to retry.',
    terminal: true,
  },
  ELASTICPATH_NOT_FOUND: {
    message: 'Elastic Path answered 404 to {call} without the documented error body ({body})',
    hint: 'The store has no such route: baseUrl or region points at the wrong host or path (the API root is https://<region>.api.elasticpath.com, with no /v2 suffix). Nothing was erased or recorded as erased. Fix the connection and the task is retried.',
    terminal: true,
  },
  ELASTICPATH_UNKNOWN_STATUS: {
    message: 'erasure request {id} has the undocumented status {status}',
    hint: 'The documented statuses are CREATED, SUCCESS and FAILURE. Lethe neither claims success nor creates another request on an unknown status: ask Elastic Path support what it means for this request id, then edit the connection or the request manifest to retry.',
    terminal: true,
  },
  ELASTICPATH_ANSWER_MISMATCH: {
    message: 'Elastic Path answered {call} with {what}',
    hint: 'The store (or a proxy in front of it) ignored the filter or the id in the call, so its answer proves nothing about this subject; Lethe does not create, adopt or complete anything on it. Check baseUrl (no proxy or mock in between) and retry by editing the connection.',
    terminal: true,
  },
  ELASTICPATH_ERASURE_FAILED: {
    message: 'erasure request {id} ended in FAILURE after {attempts} attempts: {description}',
    hint: 'Elastic Path advises retrying and then contacting support with the erasure request id. A new request manifest starts over.',
  },
});
