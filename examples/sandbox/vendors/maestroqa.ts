import { mulberry32, streamSeed } from '../random.ts';
import { isRecord, jsonBody, normEmail, type Reply, type VendorContext, type VendorSim } from '../types.ts';

type DeepStatus = 'pending' | 'completed' | 'errored';

/**
 * MaestroQA data deletion (seed 000). Assumptions where the seed is vague:
 * - errors are `{"error": "..."}`; 401 for a missing or wrong `apitoken`;
 * - the token may also be sent as `apiToken` in the JSON body, as the seed's example does;
 * - DELETE answers 200 with `confirmation: true` and one deep-delete job covering all its
 *   emails, also when none of them belongs to a user: the seed gives a 404 no meaning
 *   for this call, so the simulator does not invent one (deleting nothing completes);
 * - a path this API does not serve gets the server's HTML 404 (server.ts), never JSON;
 * - job ids are decimal strings (the example shows '123'); a non-numeric id is a 400,
 *   an unknown one a 404 `{"status":"not found"}`;
 * - an errored deep delete leaves references behind, so its emails stay known and a new
 *   DELETE for them is accepted (the seed's `errored` state is only useful if a retry is).
 */
export function maestroqa(ctx: VendorContext): VendorSim {
  let users = new Set<string>();
  let retryable = new Set<string>();
  let jobs = new Map<string, { emails: string[]; status: DeepStatus }>();
  let nextId = 1000;
  let outcome = mulberry32(streamSeed(ctx.seed, 'maestroqa/outcomes'));

  const err = (status: number, error: string): Reply => ({ status, body: { error } });

  function reset(): void {
    users = new Set(
      ctx
        .subjects()
        .filter((s) => s.vendors.includes('maestroqa'))
        .map((s) => normEmail(s.email)),
    );
    retryable = new Set();
    jobs = new Map();
    nextId = 1000;
    outcome = mulberry32(streamSeed(ctx.seed, 'maestroqa/outcomes'));
  }
  reset();

  return {
    name: 'maestroqa',
    prefix: '/maestroqa/api/v1',
    authenticate(req) {
      const header = req.headers.apitoken;
      const body = jsonBody(req);
      const token =
        typeof header === 'string'
          ? header
          : isRecord(body) && typeof body.apiToken === 'string'
            ? body.apiToken
            : undefined;
      return token === ctx.credentials.maestroqa.apiToken ? `token:${token}` : null;
    },
    unauthorized: () => err(401, 'Unauthorized: missing or invalid apitoken'),
    tooManyRequests: (retryAfter) => ({
      status: 429,
      headers: { 'Retry-After': String(retryAfter) },
      body: { error: 'Too many requests: limits are 1 request per second and 30 requests per minute per token' },
    }),
    serverError: (status) => err(status, 'Internal server error'),
    reset,
    routes: [
      {
        method: 'DELETE',
        template: '/data-deletion-request',
        name: 'delete',
        auth: true,
        handle(req) {
          const body = jsonBody(req);
          if (!isRecord(body)) return err(400, 'Request body must be a JSON object');
          const { emails, auditLabel } = body;
          if (
            !Array.isArray(emails) ||
            emails.length === 0 ||
            !emails.every((e) => typeof e === 'string' && e.includes('@'))
          ) {
            return err(400, 'emails must be a non-empty array of email addresses');
          }
          if (emails.length > 5) return err(400, 'emails: at most 5 emails per request');
          if (auditLabel !== undefined && typeof auditLabel !== 'string')
            return err(400, 'auditLabel must be a string');
          const wanted = [...new Set((emails as string[]).map(normEmail))];
          const duplicates = wanted.filter((e) =>
            [...jobs.values()].some((j) => j.status !== 'errored' && j.emails.includes(e)),
          ).length;
          const found = wanted.filter((e) => users.has(e) || retryable.has(e));
          // The fast deletion from the operational database happens now; the deep delete later.
          for (const e of found) {
            users.delete(e);
            retryable.delete(e);
          }
          const id = String(++nextId);
          const job = { emails: wanted, status: 'pending' as DeepStatus };
          jobs.set(id, job);
          ctx.scheduler.after(ctx.delays.maestroqaDeepDelete, () => {
            job.status = outcome() < ctx.outcomes.maestroqaErrorRate ? 'errored' : 'completed';
            if (job.status === 'errored') for (const e of found) retryable.add(e);
          });
          return { status: 200, body: { confirmation: true, id, status: 'pending' }, subjects: wanted, duplicates };
        },
      },
      {
        method: 'GET',
        template: '/data-deletion-check/{id}',
        name: 'check',
        auth: true,
        handle(req) {
          const id = req.params.id!;
          if (!/^\d+$/.test(id)) return err(400, 'id must be a numeric job id');
          const job = jobs.get(id);
          if (!job) return { status: 404, body: { status: 'not found' } };
          return { status: 200, body: { status: job.status }, subjects: job.emails };
        },
      },
    ],
  };
}
