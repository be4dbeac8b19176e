import { LetheError } from '../errors/types.ts';
import { QualifioSpec } from '../../specs/vendor-connection.ts';
import { REBUILT_INTENT } from '../contracts/driver.ts';
import { writeExport } from '../exports/index.ts';
import { sha256 } from '../exports/store.ts';
import type { Driver, DriverContext, OpenIntent, StepResult, TaskInput } from '../contracts/driver.ts';
import { archiveUrl, createRule, downloadArchive, findProfiles, getRule, listRules, RULE_TYPES, validateRule, type RuleView } from './qualifio/api.ts';
import { QUALIFIO_ERRORS, qualifioError } from './qualifio/errors.ts';

/**
 * Qualifio GDPR rules (seed 001; erasure = the "Right to be forgotten" rule). One rule per
 * task, for every profile of the subject's emails:
 *
 *   start ──(profiles by email; none → NoDataHeld)──(create rule, journaled intent)──▶ validate
 *   validate ──(PUT validate as the DPO, on the strength of the git approval)──▶ poll
 *   poll ──(GET rule: APPROVED → look again later, growing interval)──▶ FINISHED
 *        erasure → Erased (DryRun in test mode); access → archive
 *   archive ──(archive location, download, exports store)──▶ Exported (DryRun in test mode)
 *
 * Only `create` is non-idempotent. Its rule carries `[lethe:<request>]` at the head of the
 * justification (the request name is not personal data), so that after a crash `recover`
 * finds it in the client's rule listing and resumes (validate if NEW, poll otherwise)
 * instead of creating a second rule. Task data holds the rule and archive ids only.
 */

type Ctx = DriverContext<'qualifio'>;
type Kind = keyof typeof RULE_TYPES;

/** First look after validation; each further look waits twice as long, up to the cap. */
const FIRST_POLL_MS = 1_000;
const MAX_POLL_MS = 10 * 60_000;

export const marker = (request: string): string => `[lethe:${request}]`;

const kindOf = (task: TaskInput): Kind => (task.action === 'access' ? 'access' : 'erasure');
const isTest = (ctx: Ctx): boolean => ctx.spec.mode === 'test';
/** A withdrawn request's subject is gone (its emails are required while it exists). */
const withdrawn = (task: TaskInput): boolean => task.subject.emails.length === 0;

/**
 * `callBackUrl` Qualifio calls (GET) when the rule finished: `<spec.callBackUrl>/qualifio/
 * <vendor>/<request>`, which `lethe run --listen` maps back to the task with
 * {@link parseQualifioCallback}. Polling stays the fallback when a callback is lost.
 */
export function callbackUrlFor(base: string, vendor: string, request: string): string {
  return `${base.replace(/\/+$/, '')}/qualifio/${encodeURIComponent(vendor)}/${encodeURIComponent(request)}`;
}

const NAME = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const CALLBACK_PATH = new RegExp(`/qualifio/(${NAME})/(${NAME})/?$`);

/** The task a Qualifio callback is about, from the request path (any prefix, query ignored). */
export function parseQualifioCallback(path: string): { vendor: string; request: string } | undefined {
  const m = CALLBACK_PATH.exec(path.split(/[?#]/)[0] ?? '');
  return m ? { vendor: m[1]!, request: m[2]! } : undefined;
}

function validationEvidence(task: TaskInput, dpo: number): Record<string, string> {
  const { approvers, commit } = task.approval;
  const by = approvers.length > 0 ? approvers.join(', ') : 'unrecorded approvers';
  return { qualifioValidation: `validated by dpo user ${dpo} on git approval by ${by} at commit ${commit.slice(0, 7)}` };
}

async function profilesOf(ctx: Ctx, task: TaskInput): Promise<number[]> {
  const ids = new Set<number>();
  const given = task.subject.identifiers.profileId;
  for (const part of given === undefined ? [] : given.split(',')) {
    const id = Number(part.trim());
    if (!Number.isSafeInteger(id) || id <= 0) throw qualifioError('QUALIFIO_BAD_IDENTIFIER', { request: task.request, vendor: ctx.vendor });
    ids.add(id);
  }
  for (const email of task.subject.emails) for (const id of await findProfiles(ctx, email)) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

async function start(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  if (withdrawn(task)) return { kind: 'completed', outcome: 'Cancelled' };
  const profiles = await profilesOf(ctx, task);
  if (profiles.length === 0) return { kind: 'completed', outcome: 'NoDataHeld' };
  const kind = kindOf(task);
  // A rule this request already has (created in a pass whose journal was lost before its
  // status reached git) is taken up instead of creating a second one.
  const existing = await ownRule(ctx, task).catch((err: unknown) => {
    if (err instanceof LetheError && err.code === 'QUALIFIO_RECOVERY_UNAVAILABLE') return undefined;
    throw err;
  });
  if (existing) return resume(task, existing);
  const rule = await ctx.intent('create-rule', { request: task.request, ruleType: RULE_TYPES[kind].type }, () =>
    createRule(ctx, {
      kind,
      profiles,
      justification: `${marker(task.request)} ${task.justification}`,
      test: isTest(ctx),
      ...(ctx.spec.callBackUrl ? { callBackUrl: callbackUrlFor(ctx.spec.callBackUrl, ctx.vendor, task.request) } : {}),
    }),
  );
  ctx.log.info('qualifio rule created', { request: task.request, vendor: ctx.vendor, ruleId: rule.id, profiles: profiles.length });
  return { kind: 'continue', step: 'validate', data: { ruleId: rule.id }, jobIds: [rule.id], submissions: task.state.submissions + 1 };
}

async function validate(ctx: Ctx, task: TaskInput, ruleId: string): Promise<StepResult> {
  // Without a request there is no approval to validate on; Qualifio does not act on a NEW rule.
  if (withdrawn(task)) return { kind: 'completed', outcome: 'Cancelled', evidence: { qualifioRule: `rule ${ruleId} left unvalidated: request withdrawn` } };
  const rule = await validateRule(ctx, ruleId);
  ctx.log.info('qualifio rule validated', { request: task.request, vendor: ctx.vendor, ruleId, status: rule.status });
  return { kind: 'continue', step: 'poll', data: { ruleId, pollMs: FIRST_POLL_MS }, checkAfterMs: FIRST_POLL_MS, evidence: validationEvidence(task, ctx.spec.dpoUserId) };
}

async function poll(ctx: Ctx, task: TaskInput, ruleId: string): Promise<StepResult> {
  const rule = await getRule(ctx, ruleId);
  if (rule.status === 'NEW') return { kind: 'continue', step: 'validate', data: { ruleId } };
  if (rule.status !== 'FINISHED') {
    const waited = typeof task.state.data.pollMs === 'number' ? task.state.data.pollMs : FIRST_POLL_MS / 2;
    const next = Math.min(MAX_POLL_MS, waited * 2);
    return { kind: 'continue', step: 'poll', data: { ruleId, pollMs: next }, checkAfterMs: next };
  }
  const outcome = rule.test ? 'DryRun' : kindOf(task) === 'access' ? 'Exported' : 'Erased';
  if (kindOf(task) === 'erasure' || (rule.test && !rule.archive)) return { kind: 'completed', outcome, data: { ruleId } };
  if (!rule.archive) throw qualifioError('QUALIFIO_ARCHIVE_MISSING', { label: 'qualifio.rule-get', ruleId });
  return { kind: 'continue', step: 'archive', data: { ruleId, archiveId: rule.archive } };
}

async function archive(ctx: Ctx, task: TaskInput, ruleId: string, archiveId: string): Promise<StepResult> {
  // Nobody is owed this export any more: personal data is not fetched for nothing.
  if (withdrawn(task)) return { kind: 'completed', outcome: 'Cancelled', evidence: { qualifioArchive: `archive ${archiveId} not downloaded: request withdrawn` } };
  const { content, ext } = await downloadArchive(ctx, ruleId, await archiveUrl(ctx, ruleId, archiveId));
  const dir = await ctx.exportDir(task.request);
  const name = `qualifio-${archiveId.replace(/[^A-Za-z0-9_-]/g, '_')}${ext}`;
  await writeExport(dir, [{ name, content }], ctx.now());
  ctx.log.info('qualifio archive exported', { request: task.request, vendor: ctx.vendor, ruleId, bytes: content.length });
  return {
    kind: 'completed',
    outcome: isTest(ctx) ? 'DryRun' : 'Exported',
    data: { ruleId, archiveId },
    evidence: { archiveSha256: sha256(content), archiveBytes: String(content.length), archiveFile: name },
  };
}

async function step(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const { ruleId, archiveId } = task.state.data;
  const s = task.state.step;
  if (s === 'start' || typeof ruleId !== 'string') return start(ctx, task);
  if (s === 'validate') return validate(ctx, task, ruleId);
  if (s === 'archive' && typeof archiveId === 'string') return archive(ctx, task, ruleId, archiveId);
  return poll(ctx, task, ruleId);
}

/** Where to go on with a rule found at Qualifio after a crash or a lost journal. */
function resume(task: TaskInput, rule: RuleView): StepResult {
  const evidence = rule.acceptedBy !== undefined ? validationEvidence(task, rule.acceptedBy) : undefined;
  return {
    kind: 'continue',
    step: rule.status === 'NEW' ? 'validate' : 'poll',
    data: { ruleId: rule.id },
    jobIds: [rule.id],
    submissions: Math.max(1, task.state.submissions),
    ...(evidence ? { evidence } : {}),
  };
}

/** The newest rule of this request's type, test flag and `[lethe:<request>]` marker, if any. */
async function ownRule(ctx: Ctx, task: TaskInput): Promise<RuleView | undefined> {
  const type = RULE_TYPES[kindOf(task)].type;
  const mine = (await listRules(ctx, task.request)).filter(
    (r) => r.ruleType === type && r.test === isTest(ctx) && r.justification.startsWith(`${marker(task.request)} `),
  );
  return mine[mine.length - 1];
}

async function recover(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  const known = intent.name === REBUILT_INTENT && Array.isArray(intent.detail.jobIds) ? intent.detail.jobIds.filter((id): id is string => typeof id === 'string') : [];
  let rule: RuleView | undefined;
  if (known.length > 0) {
    rule = await getRule(ctx, known[known.length - 1]!);
  } else {
    rule = await ownRule(ctx, task);
    ctx.log.info('qualifio recovery looked for the rule', { request: task.request, vendor: ctx.vendor, intent: intent.name, found: rule ? 1 : 0 });
  }
  if (rule) return resume(task, rule);
  // Qualifio's own listing shows no rule: the creation never took effect, so it may be sent.
  if (withdrawn(task)) return { kind: 'completed', outcome: 'Cancelled', data: {} };
  return { kind: 'continue', step: 'start', data: {} };
}

export const qualifioDriver: Driver<'qualifio'> = {
  type: 'qualifio',
  supportedActions: () => ['access', 'erasure'],
  // The seed documents no limit: 5 calls/s is a conservative assumption (override with rateLimits).
  defaultRateLimits: () => [{ limit: 5, perSeconds: 1 }],
  identifierKeys: ['profileId'],
  errors: QUALIFIO_ERRORS,
  configSchema: QualifioSpec,
  step,
  recover,
};
