import { stableUuid } from '../random.ts';
import {
  basicAuth,
  isRecord,
  jsonBody,
  normEmail,
  type Reply,
  type SandboxRequest,
  type VendorContext,
  type VendorSim,
} from '../types.ts';

interface AcmeUser {
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  optedOut: boolean;
}

/**
 * A subject whose access answer is exactly the seed's "Example Access Response Body", so
 * that the report_N.csv files can be compared with the seed's example output. Tests add it
 * with `startSandbox({ subjects: [...] })`; it is not in the default population.
 */
export const SEED_EXAMPLE_EMAIL = 'peter.gibbons@example.com';

const SEED_EXAMPLE_ACCESS = [
  { first_name: 'Peter', last_name: 'Gibbons', company: 'Initech', friends: ['Samir', 'Michael'] },
  { address_type: 'Home', address: { street: '191 N. Lamar', city: 'Flander', state: 'Illinois', zip_code: '77070' } },
];

/**
 * "User service" at api.acme.com/v0, the internal API of seed 002 that an apiproxy vendor
 * calls. Assumptions, chosen to fit the seed's example connection object:
 * - identifiers and access answer 200 with `[]` for an unknown subject (their
 *   valid_response_codes are [200], and an absent subject must count as success);
 * - DELETE and PUT optout take `{"email": ...}` and answer 404 for an unknown subject
 *   (the example lists 404 as valid); a bad body is a 400;
 * - errors are `{"error": "..."}`; 401 carries `WWW-Authenticate: Basic`.
 */
export function acme(ctx: VendorContext): VendorSim {
  const creds = ctx.credentials.acme;
  let users = new Map<string, AcmeUser>();
  let deleted = new Set<string>();

  const err = (status: number, error: string): Reply => ({ status, body: { error } });

  function reset(): void {
    users = new Map(
      ctx
        .subjects()
        .filter((s) => s.vendors.includes('acme'))
        .map((s) => [
          normEmail(s.email),
          { email: s.email, firstName: s.firstName, lastName: s.lastName, phone: s.phone, optedOut: false },
        ]),
    );
    deleted = new Set();
  }
  reset();

  function emailFromBody(req: SandboxRequest): string | null {
    const body = jsonBody(req);
    return isRecord(body) && typeof body.email === 'string' && body.email.includes('@') ? normEmail(body.email) : null;
  }

  function emailFromQuery(req: SandboxRequest): string | null {
    const email = req.query.get('email');
    return email && email.includes('@') ? normEmail(email) : null;
  }

  /** Nested objects and arrays on purpose: DataGrail flattens them into report_N.csv. */
  const accessJson = (u: AcmeUser) =>
    normEmail(u.email) === SEED_EXAMPLE_EMAIL
      ? SEED_EXAMPLE_ACCESS
      : [
          {
            user_id: stableUuid('acme-user', normEmail(u.email)),
            first_name: u.firstName,
            last_name: u.lastName,
            email: u.email,
            company: 'Initech',
            friends: ['Samir', 'Michael'],
            marketing_opt_out: u.optedOut,
          },
          {
            address_type: 'Home',
            address: { street: '191 N. Lamar', city: 'Flander', state: 'Illinois', zip_code: '77070' },
          },
        ];

  return {
    name: 'acme',
    prefix: '/acme',
    authenticate(req) {
      const b = basicAuth(req);
      return b && b.user === creds.username && b.pass === creds.password ? `user:${b.user}` : null;
    },
    unauthorized: () => ({ ...err(401, 'Unauthorized'), headers: { 'WWW-Authenticate': 'Basic realm="acme"' } }),
    notFound: () => err(404, 'Not found'),
    tooManyRequests: (retryAfter) => ({
      ...err(429, 'Too many requests'),
      headers: { 'Retry-After': String(retryAfter) },
    }),
    serverError: (status) => err(status, 'Server error'),
    reset,
    routes: [
      {
        method: 'GET',
        template: '/v0/health-check',
        name: 'health',
        auth: true,
        handle: () => ({ status: 200, body: { status: 'ok' } }),
      },
      {
        method: 'GET',
        template: '/v0/identifiers/get-phone',
        name: 'get-phone',
        auth: true,
        handle(req) {
          const email = emailFromQuery(req);
          if (!email) return err(400, 'email query parameter is required');
          const u = users.get(email);
          return { status: 200, body: u ? [{ primary_phone_number: u.phone }] : [] };
        },
      },
      {
        method: 'GET',
        template: '/v0/users',
        name: 'access',
        auth: true,
        handle(req) {
          const email = emailFromQuery(req);
          if (!email) return err(400, 'email query parameter is required');
          const u = users.get(email);
          return { status: 200, body: u ? accessJson(u) : [] };
        },
      },
      {
        method: 'DELETE',
        template: '/v0/users',
        name: 'delete',
        auth: true,
        handle(req) {
          const email = emailFromBody(req);
          if (!email) return err(400, 'body must be {"email": "..."}');
          const duplicates = deleted.has(email) ? 1 : 0;
          if (!users.delete(email)) return { ...err(404, 'User not found'), duplicates };
          deleted.add(email);
          return { status: 200, body: { deleted: true }, duplicates };
        },
      },
      {
        method: 'PUT',
        template: '/v0/users/optout',
        name: 'optout',
        auth: true,
        handle(req) {
          const email = emailFromBody(req);
          if (!email) return err(400, 'body must be {"email": "..."}');
          const u = users.get(email);
          if (!u) return err(404, 'User not found');
          u.optedOut = true;
          return { status: 200, body: { opted_out: true } };
        },
      },
    ],
  };
}
