import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { answerError, qualifioErrors } from './errors.ts';
import { ArchiveLocation, ProfileList, QualifioErrorBody, Rule, RuleList } from './schema.ts';

/** The two rule types Lethe creates; the path segment of their creation route is the key. */
export const RULE_TYPES = {
  access: { path: 'exportData', type: 'GDPR_ExportData' },
  erasure: { path: 'forgottenRight', type: 'GDPR_ForgottenRight' },
} as const;
export type RuleType = (typeof RULE_TYPES)[keyof typeof RULE_TYPES]['type'];

/** What Lethe keeps of a rule; everything else (incl. the profiles' crmKey, which holds the email) is dropped. */
export interface RuleView {
  id: string;
  status: string;
  ruleType: string;
  /** Absent when the answer carried none (the marker check then cannot be made). */
  justification?: string;
  test: boolean;
  archive?: string;
  acceptedBy?: number;
}

type Ctx = DriverContext<'qualifio'>;

/** Every call carries the token header and the `clientId` query parameter (seed 001). */
function url(ctx: Ctx, path: string, query: Record<string, string> = {}): string {
  const u = new URL(`${ctx.spec.baseUrl.replace(/\/+$/, '')}/v1/gdpr${path}`);
  u.searchParams.set('clientId', String(ctx.spec.clientId));
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
  return u.toString();
}

const headers = (ctx: Ctx) => ({ 'x-api-token': ctx.secrets.apiToken ?? '', accept: 'application/json' });

async function call(
  ctx: Ctx,
  method: string,
  path: string,
  label: string,
  opts: { query?: Record<string, string>; body?: unknown; safe: boolean },
): Promise<HttpResponse> {
  return ctx.http.request({
    method,
    url: url(ctx, path, opts.query),
    headers: headers(ctx),
    body: opts.body,
    safe: opts.safe,
    label,
  });
}

function origin(ctx: Ctx): string {
  return new URL(ctx.spec.baseUrl).origin;
}

/** The seed documents 200 for every call; any other 2xx is not its success answer either. */
function expect200(ctx: Ctx, res: HttpResponse, label: string): void {
  if (res.status !== 200) throw answerError(res, label, origin(ctx));
}

/**
 * A 404 on a rule route is "no such rule" only when Qualifio's API itself says so (its JSON
 * error body); any other 404 is a web server at a wrong baseUrl, a configuration error.
 */
function ruleNotFound(res: HttpResponse, label: string, ruleId: string): Error {
  try {
    res.parse(QualifioErrorBody);
  } catch {
    return qualifioErrors.error(
      'QUALIFIO_ENDPOINT_NOT_FOUND',
      { label, status: res.status },
      { maybeDelivered: false },
    );
  }
  return qualifioErrors.error('QUALIFIO_RULE_NOT_FOUND', { label, ruleId });
}

export function toRuleView(rule: Rule): RuleView {
  return {
    id: rule._id,
    status: rule.ruleStatus.status.toUpperCase(),
    ruleType: rule.ruleType,
    ...(rule.justification === undefined ? {} : { justification: rule.justification }),
    test: rule.ruleTypePayload?.test === true,
    ...(rule.archive === undefined ? {} : { archive: rule.archive }),
    ...(rule.ruleStatus.acceptedBy === undefined ? {} : { acceptedBy: rule.ruleStatus.acceptedBy }),
  };
}

/** Profile ids of one email: several profiles may share it; `[]` is the documented "nobody". */
export async function findProfiles(ctx: Ctx, email: string): Promise<number[]> {
  const label = 'qualifio.profiles';
  const res = await call(ctx, 'GET', '/profiles', label, { query: { email }, safe: true });
  expect200(ctx, res, label);
  return res.parse(ProfileList).map((p) => p.id);
}

export interface NewRule {
  kind: keyof typeof RULE_TYPES;
  profiles: number[];
  justification: string;
  test: boolean;
  callBackUrl?: string;
}

/**
 * Creates a rule (status NEW). Not idempotent: callers wrap it in an intent. The answer is
 * read inside, so a 200 that is not a NEW rule of the asked type leaves the intent open
 * and recovery looks the rule up instead of creating another.
 */
export async function createRule(ctx: Ctx, rule: NewRule): Promise<RuleView> {
  const label = 'qualifio.rule-create';
  const { path, type } = RULE_TYPES[rule.kind];
  const res = await call(ctx, 'POST', `/rules/${path}`, label, {
    safe: false,
    body: {
      ruleType: type,
      clientId: ctx.spec.clientId,
      ruleTypePayload: { profiles: rule.profiles, test: rule.test },
      justification: rule.justification,
      ...(rule.callBackUrl ? { callBackUrl: rule.callBackUrl } : {}),
      userId: ctx.spec.dpoUserId,
    },
  });
  expect200(ctx, res, label);
  const created = toRuleView(res.parse(Rule));
  if (created.ruleType !== type || created.status !== 'NEW') {
    throw qualifioErrors.error('QUALIFIO_UNEXPECTED_ANSWER', {
      label,
      field: `a NEW ${type} rule (got ${created.status} ${created.ruleType.replace(/[^A-Za-z_]/g, '').slice(0, 40)})`,
    });
  }
  return created;
}

/**
 * The DPO validation. Idempotent at Qualifio (validating an approved or finished rule
 * changes nothing), so it is an ordinary call rather than a journaled intent. Its answer
 * is the caller's to judge (the seed: "The result status should equals APPROVED").
 */
export async function validateRule(ctx: Ctx, ruleId: string): Promise<RuleView> {
  const label = 'qualifio.validate';
  const res = await call(ctx, 'PUT', `/rules/${encodeURIComponent(ruleId)}/validate`, label, {
    body: { dpo: ctx.spec.dpoUserId },
    safe: true,
  });
  if (res.status === 404) throw ruleNotFound(res, label, ruleId);
  expect200(ctx, res, label);
  return toRuleView(res.parse(Rule));
}

export async function getRule(ctx: Ctx, ruleId: string): Promise<RuleView> {
  const label = 'qualifio.rule-get';
  const res = await call(ctx, 'GET', `/rules/${encodeURIComponent(ruleId)}`, label, { safe: true });
  if (res.status === 404) throw ruleNotFound(res, label, ruleId);
  expect200(ctx, res, label);
  return toRuleView(res.parse(Rule));
}

/**
 * The client's rules, as a hint only. The seed documents no listing: `GET /v1/gdpr/rules`
 * is an assumption (the sandbox implements it). Anything but a 200 with a bare array of
 * rules (an error, an envelope, a page object, HTML) is `undefined`: "cannot tell". A
 * listing can only ever prove that a rule exists, never that it does not (it may be a
 * page of a longer list), so callers never create a rule because it was absent here.
 */
export async function listRules(ctx: Ctx): Promise<RuleView[] | undefined> {
  const label = 'qualifio.rules-list';
  const res = await call(ctx, 'GET', '/rules', label, { safe: true });
  if (res.status === 401 || res.status === 403) throw answerError(res, label, origin(ctx));
  if (res.status !== 200) return undefined;
  try {
    return res.parse(RuleList).map(toRuleView);
  } catch {
    return undefined;
  }
}

/** The archive's signed download URL (it needs no token). */
export async function archiveUrl(ctx: Ctx, ruleId: string, archiveId: string): Promise<string> {
  const label = 'qualifio.archive-get';
  const res = await call(
    ctx,
    'GET',
    `/rules/${encodeURIComponent(ruleId)}/archive/${encodeURIComponent(archiveId)}`,
    label,
    { safe: true },
  );
  if (res.status === 404) throw ruleNotFound(res, label, ruleId);
  expect200(ctx, res, label);
  return res.parse(ArchiveLocation).url;
}

/** Archives hold every profile's data; 1 GiB bounds a runaway answer, not a real export. */
const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export async function downloadArchive(
  ctx: Ctx,
  ruleId: string,
  signedUrl: string,
): Promise<{ content: Buffer; ext: string }> {
  const label = 'qualifio.archive-download';
  const res = await ctx.http.request({
    method: 'GET',
    url: signedUrl,
    safe: true,
    label,
    maxResponseBytes: MAX_ARCHIVE_BYTES,
    timeoutMs: 300_000,
  });
  // A web page (a login or error page of an expired link) is not the archive.
  const html =
    /^\s*text\/html\b/i.test(res.headers['content-type'] ?? '') ||
    /^\s*<(!doctype html|html)\b/i.test(res.body.subarray(0, 64).toString('utf8'));
  if (res.status !== 200 || html)
    throw qualifioErrors.error('QUALIFIO_DOWNLOAD_FAILED', {
      label,
      ruleId,
      status: html ? `${res.status} (an HTML page)` : res.status,
    });
  return { content: res.body, ext: extension(res.headers) };
}

/** Only the extension of the vendor's file name is kept: the name itself is the vendor's to choose. */
function extension(h: Record<string, string>): string {
  const fromName = /filename="?[^";]*\.([A-Za-z0-9]{1,8})"?/.exec(h['content-disposition'] ?? '')?.[1];
  if (fromName) return `.${fromName.toLowerCase()}`;
  const type = h['content-type'] ?? '';
  if (type.includes('zip')) return '.zip';
  if (type.includes('json')) return '.json';
  if (type.includes('csv')) return '.csv';
  return '.bin';
}
