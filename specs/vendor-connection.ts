import { z } from 'zod';
import { API_VERSION, CredentialRef, ObjectMeta, RateWindow } from './common.ts';

const HttpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** Fields every vendor connection has, whatever its driver. */
const common = {
  /** Replaces the driver's documented limits; every window is enforced at once. */
  rateLimits: z
    .array(RateWindow)
    .min(1)
    .optional()
    .describe("Replaces the driver's documented rate limits; all windows apply at once."),
  /** Calls in flight at once for this connection. */
  concurrency: z.int().min(1).max(64).optional().describe('Calls in flight at once for this connection.'),
  /** A disabled vendor is skipped by the planner; its requests wait (nothing is lost). */
  disabled: z.boolean().optional().describe('Skip this vendor for now; its requests wait, nothing is lost.'),
};

export const MaestroQaSpec = z.strictObject({
  type: z.literal('maestroqa').describe('The driver.'),
  baseUrl: HttpUrl.default('https://app.maestroqa.com/api/v1').describe('API base URL.'),
  credentials: z.strictObject({ apiToken: CredentialRef }),
  /** The deep delete is a daily batch: the first status check waits this long, then the wait doubles. */
  pollIntervalSeconds: z
    .number()
    .positive()
    .default(60)
    .describe('First wait before checking a deep-delete job; doubles after each pending answer.'),
  maxPollIntervalSeconds: z
    .number()
    .positive()
    .default(14_400)
    .describe('Cap of the growing wait between deep-delete status checks.'),
  /** Bounded re-submissions after the vendor reports a deep-delete job as errored. */
  maxSubmissions: z
    .int()
    .min(1)
    .max(10)
    .default(3)
    .describe('Submissions per email set before an errored deep delete fails the task.'),
  ...common,
});

export const QualifioSpec = z.strictObject({
  type: z.literal('qualifio'),
  baseUrl: HttpUrl.default('https://api.qualif.io').describe('API base URL.'),
  clientId: z.int().positive().describe('Qualifio client (account) id.'),
  /** The Qualifio user id of the DPO in whose name Lethe validates rules, after git approval. */
  dpoUserId: z
    .int()
    .positive()
    .describe('Qualifio user id of the DPO in whose name rules are validated after git approval.'),
  credentials: z.strictObject({ apiToken: CredentialRef }),
  /** test: rules are created with `ruleTypePayload.test: true` (a dry run at Qualifio). */
  mode: z.enum(['live', 'test']).default('live').describe('test creates dry-run rules at Qualifio.'),
  /** Public URL of `lethe run --listen` that Qualifio calls (GET) when a rule finished. */
  callBackUrl: HttpUrl.optional().describe('Public URL Qualifio calls when a rule finished.'),
  ...common,
});

export const ElasticPathSpec = z.strictObject({
  type: z.literal('elasticpath'),
  region: z.enum(['useast', 'euwest']).default('useast').describe('Elastic Path region of the store.'),
  /** Overrides `region`, e.g. for a private deployment or the sandbox. */
  baseUrl: HttpUrl.optional().describe('Overrides region, e.g. for a private deployment or the sandbox.'),
  /** Selects the documented limit: 25 requests/s for development stores, 100/s for production. */
  environment: z
    .enum(['development', 'production'])
    .default('production')
    .describe('Selects the documented rate limit (25/s development, 100/s production).'),
  credentials: z.strictObject({ clientId: CredentialRef, clientSecret: CredentialRef }),
  /** What a subject is in the store: a customer, or an account member. */
  resourceType: z.enum(['customer', 'account_member']).default('customer').describe('What a subject is in the store.'),
  /** Bounded re-submissions after the vendor answers FAILURE. */
  maxAttempts: z.int().min(1).max(10).default(3).describe('Bounded re-submissions after the vendor answers FAILURE.'),
  /** First wait before checking an erasure request; doubles while it runs, up to 5 minutes. */
  pollIntervalSeconds: z
    .number()
    .positive()
    .default(5)
    .describe('First wait before checking an erasure request; doubles while it runs (cap 5 min).'),
  ...common,
});

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export const AnswerHubSpec = z.strictObject({
  type: z.literal('answerhub'),
  baseUrl: HttpUrl.describe('The AnswerHub site URL.'),
  credentials: z.strictObject({ username: CredentialRef, password: CredentialRef }),
  /** The GDPR job operation used for erasure requests. */
  erasureOperation: z
    .enum(['delete', 'anon-delete', 'anonymize', 'suspend'])
    .default('anon-delete')
    .describe('The GDPR job operation used for erasure requests.'),
  /** When jobs may run (UTC): maintenance windows keep GDPR jobs away from peak traffic. */
  scheduleWindow: z
    .strictObject({
      days: z
        .array(z.enum(WEEKDAYS))
        .min(1)
        .default([...WEEKDAYS]),
      startHour: z.int().min(0).max(23).default(0),
      endHour: z.int().min(1).max(24).default(24),
      /** Minimum delay between scheduling a job and its run time. */
      leadMinutes: z.int().min(0).max(1440).default(5),
    })
    .refine((w) => w.endHour > w.startHour, { error: 'endHour must be after startHour', path: ['endHour'] })
    .default({ days: [...WEEKDAYS], startHour: 0, endHour: 24, leadMinutes: 5 })
    .describe('When GDPR jobs may run (UTC).'),
  dateFormat: z
    .enum(['formatted', 'timeStamp'])
    .default('timeStamp')
    .describe('How job dates are sent: MM/dd/yyyy HH:mm, or a millisecond timestamp.'),
  ...common,
});

/** One query of a DataGrail API Proxy connection, exactly as DataGrail documents it. */
export const ApiProxyQuery = z.strictObject({
  url: z.string().min(1),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.string().optional(),
  verb: z.string().regex(/^[A-Za-z]+$/, { error: 'must be an HTTP method such as GET or DELETE' }),
  verify_ssl: z.enum(['true', 'false']),
  valid_response_codes: z.array(z.int().min(100).max(599)).default([200]),
  fail_retry_response_codes: z.array(z.int().min(100).max(599)).default([]),
});
export type ApiProxyQuery = z.infer<typeof ApiProxyQuery>;

export const ApiProxyConnection = z.strictObject({
  name: z.string().min(1),
  uuid: z.uuid(),
  capabilities: z.array(z.enum(['privacy/access', 'privacy/delete', 'privacy/optout', 'privacy/identifiers'])),
  mode: z.enum(['live', 'test']),
  connector_type: z.literal('APIProxy'),
  queries: z.strictObject({
    test: z.array(ApiProxyQuery).min(1, { error: 'the API Proxy connector requires at least one test query' }),
    identifiers: z
      .record(
        z.string().regex(/^[a-z][a-z0-9_]*$/, { error: 'identifier categories are snake_case' }),
        z.array(ApiProxyQuery),
      )
      .optional(),
    access: z.array(ApiProxyQuery).optional(),
    delete: z.array(ApiProxyQuery).optional(),
    optout: z.array(ApiProxyQuery).optional(),
  }),
  /** env:NAME / file:PATH are resolved; other locations (e.g. an AWS ARN) need `spec.credentials`. */
  credentials_location: z.string().min(1),
});
export type ApiProxyConnection = z.infer<typeof ApiProxyConnection>;

export const ApiProxySpec = z.strictObject({
  type: z.literal('apiproxy'),
  /** The DataGrail connection object, pasted unchanged. */
  connection: ApiProxyConnection.describe('The DataGrail API Proxy connection object, pasted unchanged.'),
  /** Cumulative bound for all queries of one type (DataGrail's job_timeout_seconds). */
  jobTimeoutSeconds: z
    .int()
    .positive()
    .default(300)
    .describe('Cumulative time bound for all queries of one type (job_timeout_seconds).'),
  /**
   * Where the `{credentials}` value comes from when `credentials_location` is not an
   * env:/file: reference (DataGrail's own agent reads a secrets manager Lethe does not).
   */
  credentials: z
    .strictObject({ credentials: CredentialRef })
    .optional()
    .describe('Source of {credentials} when credentials_location is not env:/file:.'),
  ...common,
});

/**
 * Mailchimp Marketing API 3.0, one audience (list) per connection. Mailchimp allows 10
 * simultaneous connections per account (shared with every other integration of the
 * account): `concurrency` may not exceed it.
 */
export const MailchimpSpec = z.strictObject({
  type: z.literal('mailchimp'),
  baseUrl: HttpUrl.describe(
    'https://<dc>.api.mailchimp.com, where <dc> is the end of the API key (...-us21: us21); Lethe appends /3.0/...',
  ),
  listId: z
    .string()
    .regex(/^[A-Za-z0-9]{1,64}$/, { error: 'must be a Mailchimp audience id (letters and digits)' })
    .describe('The audience (list) id whose members are erased or exported.'),
  credentials: z.strictObject({ apiKey: CredentialRef }),
  ...common,
  concurrency: z
    .int()
    .min(1)
    .max(10)
    .optional()
    .describe('Calls in flight at once; at most 10, the simultaneous connections Mailchimp allows an account.'),
});

export const VendorSpec = z.discriminatedUnion('type', [
  MaestroQaSpec,
  QualifioSpec,
  ElasticPathSpec,
  AnswerHubSpec,
  ApiProxySpec,
  MailchimpSpec,
]);
export type VendorSpec = z.infer<typeof VendorSpec>;
export type VendorType = VendorSpec['type'];
/** Each type's spec. A lookup, not `Extract`: TypeScript then sees a `Driver<'qualifio'>` as a `Driver`. */
type VendorSpecByType = { [S in VendorSpec as S['type']]: S };
export type VendorSpecOf<T extends VendorType> = VendorSpecByType[T];

export const VendorConnection = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('VendorConnection'),
  metadata: ObjectMeta,
  spec: VendorSpec,
});
export type VendorConnection = z.infer<typeof VendorConnection>;
