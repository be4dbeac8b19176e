import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { answerError, qualifioError } from './errors.ts';

/** The two rule types Lethe creates; the path segment of their creation route is the key. */
export const RULE_TYPES = { access: { path: 'exportData', type: 'GDPR_ExportData' }, erasure: { path: 'forgottenRight', type: 'GDPR_ForgottenRight' } } as const;
export type RuleType = (typeof RULE_TYPES)[keyof typeof RULE_TYPES]['type'];

/** What Lethe reads of a rule; everything else (incl. the profiles' crmKey, which holds the email) is dropped. */
export interface RuleView {
  id: string;
  status: string;
  ruleType: string;
  justification: string;
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

async function call(ctx: Ctx, method: string, path: string, label: string, opts: { query?: Record<string, string>; body?: unknown; safe: boolean }): Promise<HttpResponse> {
  return ctx.http.request({ method, url: url(ctx, path, opts.query), headers: headers(ctx), body: opts.body, safe: opts.safe, label });
}

function origin(ctx: Ctx): string {
  return new URL(ctx.spec.baseUrl).origin;
}

function expectOk(ctx: Ctx, res: HttpResponse, label: string): void {
  if (res.status < 200 || res.status > 299) throw answerError(res, label, origin(ctx));
}

function field<T>(ok: boolean, value: T, label: string, name: string): T {
  if (!ok) throw qualifioError('QUALIFIO_UNEXPECTED_ANSWER', { label, field: name });
  return value;
}

export function toRuleView(raw: unknown, label: string): RuleView {
  const r = (raw ?? {}) as Record<string, unknown>;
  const status = (r.ruleStatus ?? {}) as Record<string, unknown>;
  const payload = (r.ruleTypePayload ?? {}) as Record<string, unknown>;
  return {
    id: field(typeof r._id === 'string' && r._id !== '', String(r._id), label, '_id'),
    status: field(typeof status.status === 'string', String(status.status), label, 'ruleStatus.status'),
    ruleType: typeof r.ruleType === 'string' ? r.ruleType : '',
    justification: typeof r.justification === 'string' ? r.justification : '',
    test: payload.test === true,
    ...(typeof r.archive === 'string' && r.archive !== '' ? { archive: r.archive } : {}),
    ...(typeof status.acceptedBy === 'number' ? { acceptedBy: status.acceptedBy } : {}),
  };
}

/** Profile ids of one email: several profiles may share it. */
export async function findProfiles(ctx: Ctx, email: string): Promise<number[]> {
  const label = 'qualifio.profiles';
  const res = await call(ctx, 'GET', '/profiles', label, { query: { email }, safe: true });
  expectOk(ctx, res, label);
  const list = res.json<unknown>();
  if (!Array.isArray(list)) throw qualifioError('QUALIFIO_UNEXPECTED_ANSWER', { label, field: 'a profile list' });
  return list.map((p) => field(Number.isInteger((p as { id?: unknown })?.id), (p as { id: number }).id, label, 'id'));
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
 * read inside, so a 2xx without a rule id leaves the intent open and recovery looks the
 * rule up instead of creating another.
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
  expectOk(ctx, res, label);
  return toRuleView(res.json(), label);
}

/**
 * The DPO validation. Idempotent at Qualifio (validating an approved or finished rule
 * changes nothing), so it is an ordinary call rather than a journaled intent.
 */
export async function validateRule(ctx: Ctx, ruleId: string): Promise<RuleView> {
  const label = 'qualifio.validate';
  const res = await call(ctx, 'PUT', `/rules/${encodeURIComponent(ruleId)}/validate`, label, { body: { dpo: ctx.spec.dpoUserId }, safe: true });
  if (res.status === 404) throw qualifioError('QUALIFIO_RULE_NOT_FOUND', { label, ruleId });
  expectOk(ctx, res, label);
  return toRuleView(res.json(), label);
}

export async function getRule(ctx: Ctx, ruleId: string): Promise<RuleView> {
  const label = 'qualifio.rule-get';
  const res = await call(ctx, 'GET', `/rules/${encodeURIComponent(ruleId)}`, label, { safe: true });
  if (res.status === 404) throw qualifioError('QUALIFIO_RULE_NOT_FOUND', { label, ruleId });
  expectOk(ctx, res, label);
  return toRuleView(res.json(), label);
}

/**
 * The client's rules. The seed documents no listing: `GET /v1/gdpr/rules?clientId=` is an
 * assumption (the sandbox implements it, unpaginated). Without it, recovery cannot tell
 * whether a rule was created, and stops for an operator rather than risk a duplicate.
 */
export async function listRules(ctx: Ctx, request: string): Promise<RuleView[]> {
  const label = 'qualifio.rules-list';
  const res = await call(ctx, 'GET', '/rules', label, { safe: true });
  if (res.status === 404 || res.status === 405 || res.status === 501) {
    throw qualifioError('QUALIFIO_RECOVERY_UNAVAILABLE', { request, status: res.status });
  }
  expectOk(ctx, res, label);
  const list = res.json<unknown>();
  if (!Array.isArray(list)) throw qualifioError('QUALIFIO_UNEXPECTED_ANSWER', { label, field: 'a rule list' });
  return list.map((r) => toRuleView(r, label));
}

/** The archive's signed download URL (it needs no token). */
export async function archiveUrl(ctx: Ctx, ruleId: string, archiveId: string): Promise<string> {
  const label = 'qualifio.archive-get';
  const res = await call(ctx, 'GET', `/rules/${encodeURIComponent(ruleId)}/archive/${encodeURIComponent(archiveId)}`, label, { safe: true });
  if (res.status === 404) throw qualifioError('QUALIFIO_RULE_NOT_FOUND', { label, ruleId });
  expectOk(ctx, res, label);
  const u = (res.json<Record<string, unknown>>() ?? {}).url;
  return field(typeof u === 'string' && URL.canParse(u), String(u), label, 'url');
}

/** Archives hold every profile's data; 1 GiB bounds a runaway answer, not a real export. */
const MAX_ARCHIVE_BYTES = 1024 * 1024 * 1024;

export async function downloadArchive(ctx: Ctx, ruleId: string, signedUrl: string): Promise<{ content: Buffer; ext: string }> {
  const label = 'qualifio.archive-download';
  const res = await ctx.http.request({ method: 'GET', url: signedUrl, safe: true, label, maxResponseBytes: MAX_ARCHIVE_BYTES, timeoutMs: 300_000 });
  if (res.status !== 200) throw qualifioError('QUALIFIO_DOWNLOAD_FAILED', { label, ruleId, status: res.status });
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
