import { z } from 'zod';

/**
 * The Elastic Path answers the driver acts on (authentication.openapi.yaml,
 * personal-data.openapi.yaml, get-all-customers.mdx in vendor-specs/elasticpath).
 * Lenient on fields the driver ignores (`looseObject`), strict on the fields a decision
 * depends on: ids, resource type/id, status, result totals.
 */

/** The token fields; `expires_in`/`expires` are optional (the driver falls back to the documented hour). */
const Bearer = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.number().optional(),
  expires: z.number().optional(),
});
/** `POST /oauth/access_token`, 200: `{"data": Bearer}` in the OpenAPI, a bare Bearer in older guides; read as the Bearer. */
export const TokenAnswer = z.union([z.looseObject({ data: Bearer }).transform((a) => a.data), Bearer]);

/** The ids the driver sends back in URLs and filters. */
const VendorId = z.string().regex(/^[A-Za-z0-9-]{1,64}$/);

/** `GET /v2/customers` or `/v2/account-members` with `filter=eq(email,…)`, 200. */
export const ResourceList = z.looseObject({
  data: z.array(z.looseObject({ id: VendorId, type: z.string(), email: z.string() })),
  meta: z.looseObject({ results: z.looseObject({ total: z.int().nonnegative() }) }),
});
export type ResourceList = z.infer<typeof ResourceList>;

/** ErasureRequestResponse: `status` is any string here; the driver decides on the documented words. */
export const ErasureRequest = z.looseObject({
  id: VendorId,
  type: z.literal('erasure_request'),
  resource_type: z.string(),
  resource_id: z.string(),
  status: z.string(),
  status_description: z.string().optional(),
});
export type ErasureRequest = z.infer<typeof ErasureRequest>;

/** `POST` (201) and `GET …/erasure-requests/{id}` (200). */
export const ErasureAnswer = z.looseObject({ data: ErasureRequest });

/** `GET /v2/personal-data/erasure-requests?filter=…`, 200 (PaginationMeta: `results.total` is required). */
export const ErasureList = z.looseObject({
  data: z.array(ErasureRequest),
  meta: z.looseObject({ results: z.looseObject({ total: z.int().nonnegative() }) }),
});

/** The documented JSON:API error body (ErrorResponse), e.g. the NotFoundError of get-by-id. */
export const ErrorAnswer = z.looseObject({
  errors: z.array(z.looseObject({ status: z.string(), title: z.string() })).min(1),
});

/**
 * The documented status words: CREATED at creation, then SUCCESS ("all personal data is
 * removed") or FAILURE ("retry by creating another erasure request").
 */
export const ERASURE_STATUSES = ['CREATED', 'SUCCESS', 'FAILURE'] as const;
export type ErasureStatus = (typeof ERASURE_STATUSES)[number];
