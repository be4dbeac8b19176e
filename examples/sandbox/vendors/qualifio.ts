import { stableObjectId, stableUuid } from '../random.ts';
import {
  isRecord,
  jsonBody,
  normEmail,
  type Reply,
  type SandboxRequest,
  type VendorContext,
  type VendorSim,
} from '../types.ts';

const RULE_TYPES = { exportData: 'GDPR_ExportData', forgottenRight: 'GDPR_ForgottenRight' } as const;
/** Rules per page of the (undocumented) rule listing. */
export const RULES_PAGE = 10;
type RuleType = (typeof RULE_TYPES)[keyof typeof RULE_TYPES];

interface Profile {
  id: number;
  email: string;
  firstName: string;
  lastName: string;
  phone: string;
  language: string;
  createdAt: string;
}

interface Rule {
  _id: string;
  ruleType: RuleType;
  clientId: number;
  profiles: Profile[];
  test: boolean;
  justification: string;
  callBackUrl?: string;
  userId: number;
  status: 'NEW' | 'APPROVED' | 'FINISHED' | 'REJECTED';
  createdAt: string;
  updatedAt: string;
  acceptedAt?: string;
  acceptedBy?: number;
  finishedAt?: string;
  archive?: { _id: string; path: string; downloads: string[]; data: unknown };
}

/**
 * Qualifio GDPR rules (seed 001 + the "Right to be forgotten" rule). Assumptions:
 * - errors are `{"statusCode", "error", "message"}`; 401 for a missing or wrong
 *   `x-api-token`, 400 without `clientId`, 403 when `clientId` is not the token's account;
 * - `GET /v1/gdpr/rules?clientId=` lists the client's rules, oldest first, in pages of
 *   RULES_PAGE (`?page=N`, total in `X-Total-Count`): undocumented, so a client must not
 *   read a rule's absence from it (page 1 misses newer rules once there are more);
 * - validating needs `dpo` equal to the account's DPO user id (403 otherwise); validating
 *   an already approved, finished or rejected rule answers 200 with the rule unchanged;
 * - a NEW rule whose profiles no longer all exist (erased by another rule meanwhile) is
 *   not approved: validation answers 200 with status REJECTED, and the rule never runs.
 *   A driver must read the validation answer, not assume APPROVED (seed: "The result
 *   status should equals APPROVED");
 * - only export rules get an archive; an erasure rule finishes without one and, unless
 *   `ruleTypePayload.test` is true (dry run), removes the profiles;
 * - the archive URL is a signed, unauthenticated download serving JSON (not a zip);
 * - `callBackUrl` is called (GET) when a rule finishes, only for loopback hosts.
 */
export function qualifio(ctx: VendorContext): VendorSim {
  const creds = ctx.credentials.qualifio;
  let profiles: Profile[] = [];
  let rules = new Map<string, Rule>();
  let archives = new Map<string, Rule>();
  let ruleSeq = 0;

  const iso = (): string => new Date(ctx.clock.now()).toISOString();
  const err = (status: number, message: string): Reply => ({
    status,
    body: { statusCode: status, error: REASONS[status] ?? 'Error', message },
  });

  function reset(): void {
    profiles = [];
    let id = 90;
    for (const s of ctx.subjects()) {
      if (!s.vendors.includes('qualifio')) continue;
      for (let i = 0; i < Math.min(s.qualifioProfiles ?? 1, 20); i++) {
        profiles.push({
          id: ++id,
          email: s.email,
          firstName: s.firstName.toLowerCase(),
          lastName: s.lastName.toLowerCase(),
          phone: s.phone,
          language: i % 2 === 0 ? 'FR' : 'EN',
          createdAt: new Date(Date.UTC(2021, 11, 14, 11, i)).toISOString(),
        });
      }
    }
    rules = new Map();
    archives = new Map();
    ruleSeq = 0;
  }
  reset();

  /** The clientId query parameter every route requires; a Reply when it is wrong. */
  function checkClient(req: SandboxRequest): Reply | null {
    const clientId = req.query.get('clientId');
    if (clientId === null || clientId === '') return err(400, 'clientId query parameter is required');
    if (clientId !== String(creds.clientId)) return err(403, 'The API token does not give access to this clientId');
    return null;
  }

  const profileJson = (p: Profile) => ({
    id: p.id,
    firstName: p.firstName,
    lastName: p.lastName,
    function: '',
    gender: '',
    email: p.email,
    birthDay: null,
    company: '',
    address: '',
    box: '',
    country: '',
    createdAt: p.createdAt,
    updatedAt: p.createdAt,
    language: p.language,
    ip: '192.0.2.10',
    fb_uid: '0',
    locality: '',
    login: '',
    number: '',
    phone: p.phone,
    trigramme: `${p.firstName}|${p.lastName}|${p.email}`,
    zipcode: '',
    isEmailValid: 1,
  });

  function ruleJson(r: Rule): Record<string, unknown> {
    return {
      ruleStatus: {
        status: r.status,
        updatedAt: r.updatedAt,
        isAuto: false,
        ...(r.acceptedAt ? { acceptedAt: r.acceptedAt, acceptedBy: r.acceptedBy } : {}),
        ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
      },
      _id: r._id,
      ...(r.archive ? { archive: r.archive._id } : {}),
      ruleType: r.ruleType,
      clientId: r.clientId,
      ruleTypePayload: {
        profiles: r.profiles.map((p) => ({ crmId: p.id, crmKey: `${p.firstName}|${p.lastName}|${p.email}` })),
        test: r.test,
      },
      justification: r.justification,
      ...(r.callBackUrl ? { callBackUrl: r.callBackUrl } : {}),
      userId: r.userId,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      __v: 0,
    };
  }

  function finish(rule: Rule): void {
    rule.status = 'FINISHED';
    rule.finishedAt = rule.updatedAt = iso();
    if (rule.ruleType === 'GDPR_ExportData') {
      const archiveId = stableObjectId(ctx.seed, 'archive', rule._id);
      rule.archive = {
        _id: archiveId,
        path: `/qualifio/v1/archive/export_client_${rule.clientId}_process_${stableUuid(ctx.seed, 'process', rule._id)}/${archiveId}`,
        downloads: [],
        data: { rule: rule._id, profiles: rule.profiles.map(profileJson) },
      };
      archives.set(archiveId, rule);
    } else if (!rule.test) {
      const erased = new Set(rule.profiles.map((p) => p.id));
      profiles = profiles.filter((p) => !erased.has(p.id));
    }
    if (rule.callBackUrl) void callBack(rule.callBackUrl);
  }

  async function callBack(url: string): Promise<void> {
    let status = 0;
    try {
      const host = new URL(url).hostname;
      if (['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
        const res = await fetch(url, { method: 'GET', signal: AbortSignal.timeout(5000) });
        status = res.status;
        await res.body?.cancel();
      }
    } catch {
      status = 0;
    }
    ctx.ledger.record({
      at: ctx.clock.now(),
      vendor: 'qualifio',
      method: 'GET',
      route: 'callBackUrl',
      status,
      authOk: null,
      subjects: [],
      fault: null,
      rateLimitViolation: false,
      duplicates: 0,
      direction: 'callback',
    });
  }

  function createRule(path: keyof typeof RULE_TYPES) {
    return (req: SandboxRequest): Reply => {
      const bad = checkClient(req);
      if (bad) return bad;
      const body = jsonBody(req);
      if (!isRecord(body)) return err(400, 'Request body must be a JSON object');
      const ruleType = RULE_TYPES[path];
      if (body.ruleType !== ruleType) return err(400, `ruleType must be ${ruleType}`);
      if (body.clientId !== undefined && body.clientId !== creds.clientId)
        return err(400, 'clientId in body does not match the query');
      const payload = body.ruleTypePayload;
      if (!isRecord(payload) || !Array.isArray(payload.profiles) || payload.profiles.length === 0) {
        return err(400, 'ruleTypePayload.profiles must be a non-empty array of profile ids');
      }
      if (!payload.profiles.every((p) => Number.isInteger(p)))
        return err(400, 'ruleTypePayload.profiles must hold integer profile ids');
      if (payload.test !== undefined && typeof payload.test !== 'boolean')
        return err(400, 'ruleTypePayload.test must be a boolean');
      if (typeof body.justification !== 'string' || body.justification.trim() === '')
        return err(400, 'justification is required');
      if (!Number.isInteger(body.userId)) return err(400, 'userId is required');
      if (body.callBackUrl !== undefined && (typeof body.callBackUrl !== 'string' || !URL.canParse(body.callBackUrl))) {
        return err(400, 'callBackUrl must be a URL');
      }
      const ids = [...new Set(payload.profiles as number[])];
      const selected = ids.map((id) => profiles.find((p) => p.id === id));
      if (selected.some((p) => p === undefined)) return err(400, 'Unknown profile id in ruleTypePayload.profiles');
      const chosen = selected as Profile[];
      const test = payload.test === true;
      // Dry runs erase nothing, so they are neither duplicates nor make later rules ones.
      const dupEmails = test
        ? []
        : chosen
            .filter((p) =>
              [...rules.values()].some(
                (r) => r.ruleType === ruleType && !r.test && r.profiles.some((q) => q.id === p.id),
              ),
            )
            .map((p) => normEmail(p.email));
      const now = iso();
      const rule: Rule = {
        _id: stableObjectId(ctx.seed, 'rule', ++ruleSeq),
        ruleType,
        clientId: creds.clientId,
        profiles: chosen,
        test,
        justification: body.justification,
        ...(typeof body.callBackUrl === 'string' ? { callBackUrl: body.callBackUrl } : {}),
        userId: body.userId as number,
        status: 'NEW',
        createdAt: now,
        updatedAt: now,
      };
      rules.set(rule._id, rule);
      return {
        status: 200,
        body: ruleJson(rule),
        subjects: chosen.map((p) => p.email),
        duplicates: new Set(dupEmails).size,
      };
    };
  }

  function withRule(req: SandboxRequest, then: (rule: Rule) => Reply): Reply {
    const bad = checkClient(req);
    if (bad) return bad;
    const rule = rules.get(req.params.id!);
    if (!rule) return err(404, 'Rule not found');
    return { subjects: rule.profiles.map((p) => p.email), ...then(rule) };
  }

  return {
    name: 'qualifio',
    prefix: '/qualifio',
    authenticate: (req) => (req.headers['x-api-token'] === creds.apiToken ? `token:${creds.apiToken}` : null),
    unauthorized: () => err(401, 'Missing or invalid x-api-token'),
    notFound: () => err(404, 'Not Found'),
    tooManyRequests: (retryAfter) => ({
      ...err(429, 'Too many requests'),
      headers: { 'Retry-After': String(retryAfter) },
    }),
    serverError: (status) => err(status, 'Internal server error'),
    reset,
    routes: [
      {
        method: 'GET',
        template: '/v1/gdpr/profiles',
        name: 'profiles',
        auth: true,
        handle(req) {
          const bad = checkClient(req);
          if (bad) return bad;
          const email = req.query.get('email');
          if (!email) return err(400, 'email query parameter is required');
          return {
            status: 200,
            body: profiles.filter((p) => normEmail(p.email) === normEmail(email)).map(profileJson),
          };
        },
      },
      {
        method: 'POST',
        template: '/v1/gdpr/rules/exportData',
        name: 'export-create',
        auth: true,
        handle: createRule('exportData'),
      },
      {
        method: 'POST',
        template: '/v1/gdpr/rules/forgottenRight',
        name: 'erasure-create',
        auth: true,
        handle: createRule('forgottenRight'),
      },
      {
        method: 'PUT',
        template: '/v1/gdpr/rules/{id}/validate',
        name: 'validate',
        auth: true,
        handle: (req) =>
          withRule(req, (rule) => {
            const body = jsonBody(req);
            if (!isRecord(body) || !Number.isInteger(body.dpo)) return err(400, 'dpo (the DPO user id) is required');
            if (body.dpo !== creds.dpoUserId) return err(403, 'This user is not a DPO of the client');
            if (rule.status === 'NEW' && !rule.profiles.every((p) => profiles.some((q) => q.id === p.id))) {
              rule.status = 'REJECTED';
              rule.updatedAt = iso();
            } else if (rule.status === 'NEW') {
              rule.status = 'APPROVED';
              rule.acceptedAt = rule.updatedAt = iso();
              rule.acceptedBy = creds.dpoUserId;
              ctx.scheduler.after(ctx.delays.qualifioRule, () => finish(rule));
            }
            return { status: 200, body: ruleJson(rule) };
          }),
      },
      {
        method: 'GET',
        template: '/v1/gdpr/rules',
        name: 'rules-list',
        auth: true,
        handle(req) {
          const bad = checkClient(req);
          if (bad) return bad;
          // Oldest first, one page at a time: a client that reads page 1 only misses newer rules.
          const page = Math.max(1, Number.parseInt(req.query.get('page') ?? '1', 10) || 1);
          const all = [...rules.values()];
          const body = all.slice((page - 1) * RULES_PAGE, page * RULES_PAGE).map(ruleJson);
          return { status: 200, body, headers: { 'X-Total-Count': String(all.length) } };
        },
      },
      {
        method: 'GET',
        template: '/v1/gdpr/rules/{id}',
        name: 'rule-get',
        auth: true,
        handle: (req) => withRule(req, (rule) => ({ status: 200, body: ruleJson(rule) })),
      },
      {
        method: 'GET',
        template: '/v1/gdpr/rules/{id}/archive/{archiveId}',
        name: 'archive-get',
        auth: true,
        handle: (req) =>
          withRule(req, (rule) => {
            const a = rule.archive;
            if (!a || a._id !== req.params.archiveId) return err(404, 'Archive not found');
            return {
              status: 200,
              body: {
                downloadCount: a.downloads.length,
                _id: a._id,
                clientId: rule.clientId,
                url: ctx.origin() + a.path,
                download: a.downloads,
                __v: 0,
              },
            };
          }),
      },
      {
        method: 'GET',
        template: '/v1/archive/{process}/{archiveId}',
        name: 'archive-download',
        auth: false,
        handle(req) {
          const rule = archives.get(req.params.archiveId!);
          if (!rule?.archive || !rule.archive.path.endsWith(`/${req.params.process}/${req.params.archiveId}`))
            return err(404, 'Not Found');
          rule.archive.downloads.push(iso());
          return {
            status: 200,
            body: rule.archive.data,
            headers: { 'Content-Disposition': `attachment; filename="${rule.archive._id}.json"` },
            subjects: rule.profiles.map((p) => p.email),
          };
        },
      },
    ],
  };
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};
