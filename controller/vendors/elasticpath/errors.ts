import type { ErrorTable } from '../../errors/types.ts';

export const ELASTICPATH_ERRORS = {
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
  ELASTICPATH_BAD_ANSWER: {
    message: 'Elastic Path answered {call} without the expected fields',
    hint: 'An unexpected answer (often a proxy page). Lethe retries; for an erasure request it lists the requests before creating another.',
  },
  ELASTICPATH_ERASURE_FAILED: {
    message: 'erasure request {id} ended in FAILURE after {attempts} attempts: {description}',
    hint: 'Elastic Path advises retrying and then contacting support with the erasure request id. A new request manifest starts over.',
  },
} as const satisfies ErrorTable;
