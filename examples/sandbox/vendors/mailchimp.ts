import { createHash, randomUUID } from 'node:crypto';
import { stableUuid } from '../random.ts';
import { basicAuth, normEmail, type Reply, type SandboxRequest, type VendorContext, type VendorSim } from '../types.ts';

/** The audience the sandbox holds; any other list id is a 404, as for an unknown list. */
export const MAILCHIMP_LIST_ID = 'a1b2c3d4e5';

/** Mailchimp allows an account 10 simultaneous connections; the 11th is refused with 429. */
export const MAILCHIMP_MAX_CONNECTIONS = 10;

/** How long each call stays "in flight" (real ms), so that concurrent callers overlap. */
const IN_FLIGHT_MS = 50;

const STATUSES = ['subscribed', 'unsubscribed', 'cleaned', 'archived'] as const;

interface Member {
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  status: (typeof STATUSES)[number];
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/**
 * Mailchimp Marketing API 3.0, written from Mailchimp's public pages (see
 * controller/vendors/mailchimp/README.md), not from the driver:
 * - HTTP Basic, any user name, the API key as password; a wrong key is 401 "API Key Invalid";
 * - members are addressed by the MD5 of the lowercase email. Anything that is not 32
 *   lowercase hex digits is a 400 (the real API also takes an email or contact id on some
 *   calls: the sandbox refuses them, so a driver that skips the hash fails loudly);
 * - GET member: 200 with the member (any status, archived included), or a problem+json
 *   404 when the member is not on the list or the list does not exist;
 * - POST .../actions/delete-permanent: 204 with an empty body, then the member is gone
 *   for good (a second call is a 404, counted as a duplicate submission);
 * - every error is application/problem+json {type, title, status, detail, instance};
 * - more than 10 calls in flight for one key: 429 "Too Many Requests".
 */
export function mailchimp(ctx: VendorContext): VendorSim {
  const creds = ctx.credentials.mailchimp;
  let members = new Map<string, Member>();
  let forgotten = new Set<string>();
  const inFlight = new Map<string, number>();

  function reset(): void {
    members = new Map(
      ctx
        .subjects()
        .filter((s) => s.vendors.includes('mailchimp'))
        .map((s, i) => [
          md5(normEmail(s.email)),
          {
            email: s.email,
            firstName: s.firstName,
            lastName: s.lastName,
            phone: s.phone,
            status: STATUSES[i % STATUSES.length]!,
          },
        ]),
    );
    forgotten = new Set();
    inFlight.clear();
  }
  reset();

  const problem = (status: number, title: string, detail: string): Reply => ({
    status,
    contentType: 'application/problem+json; charset=utf-8',
    body: {
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title,
      status,
      detail,
      instance: randomUUID(),
    },
  });
  const notFound = () => problem(404, 'Resource Not Found', 'The requested resource could not be found.');

  const memberJson = (hash: string, m: Member) => ({
    id: hash,
    email_address: m.email,
    unique_email_id: stableUuid('mailchimp-unique', hash).slice(0, 10),
    contact_id: stableUuid('mailchimp-contact', hash),
    full_name: `${m.firstName} ${m.lastName}`,
    status: m.status,
    merge_fields: { FNAME: m.firstName, LNAME: m.lastName, PHONE: m.phone },
    list_id: MAILCHIMP_LIST_ID,
    _links: [],
  });

  /** Holds a connection slot for the call's duration; null when the key has 10 in flight. */
  async function connection(req: SandboxRequest, answer: () => Reply): Promise<Reply> {
    const key = basicAuth(req)?.pass ?? '';
    const open = inFlight.get(key) ?? 0;
    if (open >= MAILCHIMP_MAX_CONNECTIONS)
      return problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.');
    inFlight.set(key, open + 1);
    try {
      await new Promise((resolve) => setTimeout(resolve, IN_FLIGHT_MS));
      return answer();
    } finally {
      inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
    }
  }

  /** The member a path names, or the reply that refuses it. */
  function memberOf(req: SandboxRequest): { hash: string; member: Member } | Reply {
    if (req.params.list_id !== MAILCHIMP_LIST_ID) return notFound();
    const hash = req.params.subscriber_hash ?? '';
    if (!/^[0-9a-f]{32}$/.test(hash))
      return problem(
        400,
        'Invalid Resource',
        'The subscriber hash must be the MD5 hash of the lowercase email address.',
      );
    const member = members.get(hash);
    return member ? { hash, member } : notFound();
  }

  return {
    name: 'mailchimp',
    prefix: '/mailchimp',
    authenticate(req) {
      const b = basicAuth(req);
      return b && b.pass === creds.apiKey ? `key:${b.pass}` : null;
    },
    unauthorized: () =>
      problem(
        401,
        'API Key Invalid',
        "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
      ),
    tooManyRequests: (retryAfter) => ({
      ...problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.'),
      headers: { 'Retry-After': String(retryAfter) },
    }),
    serverError: (status) => problem(status, 'Internal Server Error', 'An unexpected internal error has occurred.'),
    reset,
    routes: [
      {
        method: 'GET',
        template: '/3.0/lists/{list_id}',
        name: 'list',
        auth: true,
        handle: (req) =>
          connection(req, () =>
            req.params.list_id === MAILCHIMP_LIST_ID
              ? {
                  status: 200,
                  body: { id: MAILCHIMP_LIST_ID, name: 'Sandbox audience', stats: { member_count: members.size } },
                }
              : notFound(),
          ),
      },
      {
        method: 'GET',
        template: '/3.0/lists/{list_id}/members/{subscriber_hash}',
        name: 'member',
        auth: true,
        handle: (req) =>
          connection(req, () => {
            const found = memberOf(req);
            if ('status' in found) return found;
            return { status: 200, body: memberJson(found.hash, found.member), subjects: [found.member.email] };
          }),
      },
      {
        method: 'POST',
        template: '/3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent',
        name: 'delete-permanent',
        auth: true,
        handle: (req) =>
          connection(req, () => {
            const found = memberOf(req);
            if ('status' in found)
              return { ...found, duplicates: forgotten.has(req.params.subscriber_hash ?? '') ? 1 : 0 };
            members.delete(found.hash);
            forgotten.add(found.hash);
            return { status: 204, subjects: [found.member.email] };
          }),
      },
    ],
  };
}
