import { QualifioSpec } from '../../../specs/vendor-connection.ts';
import { REBUILT_INTENT } from '../../contracts/driver.ts';
import { writeExport } from '../../exports/index.ts';
import { sha256 } from '../../exports/store.ts';
import type { Driver, DriverContext, OpenIntent, StepResult, TaskData, TaskInput } from '../../contracts/driver.ts';
import {
  archiveUrl,
  createRule,
  downloadArchive,
  findProfiles,
  getRule,
  listRules,
  RULE_TYPES,
  validateRule,
  type RuleView,
} from './api.ts';
import { qualifioErrors } from './errors.ts';
import { QualifioId } from './schema.ts';
import { defineDriver } from '../define.ts';

/**
 * Qualifio GDPR rules (seed 001; erasure = the "Right to be forgotten" rule). One rule per
 * task, for every profile of the subject's emails:
 *
 *   start ──(profiles by email; [] → NoDataHeld)──(create rule, journaled intent)──▶ validate
 *   validate ──(PUT validate as the DPO, on the strength of the git approval;
 *              the answer must say APPROVED)──▶ poll
 *   poll ──(GET rule: APPROVED → look again later, growing interval)──▶ FINISHED
 *        erasure → Erased (DryRun in test mode); access → archive
 *   archive ──(archive location, download, exports store)──▶ Exported (DryRun in test mode)
 *
 * Positive evidence: a success outcome only on the seed's own answers (a 200 profile array,
 * a rule of the asked type, id and status FINISHED). Any other status word, answer or route
 * stalls with a code, or is retried; none is read as done.
 *
 * Only `create` is non-idempotent. Its rule carries `[lethe:<request>]` at the head of the
 * justification (the request name is not personal data). After a lost creation answer the
 * rule is found by that marker in the client's rule listing, if Qualifio offers one; the
 * listing is not in the seed, so it is a hint that can only prove a rule exists: when it
 * does not find the rule (unavailable, paginated, odd), the task stalls with
 * QUALIFIO_CREATE_UNCONFIRMED for an operator, never creating a second rule.
 * Task data holds the rule and archive ids only.
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
  return {
    qualifioValidation: `validated by dpo user ${dpo} on git approval by ${by} at commit ${commit.slice(0, 7)}`,
  };
}

async function profilesOf(ctx: Ctx, task: TaskInput): Promise<number[]> {
  const ids = new Set<number>();
  const given = task.subject.identifiers.profileId;
  for (const part of given === undefined ? [] : given.split(',')) {
    const id = Number(part.trim());
    if (!Number.isSafeInteger(id) || id <= 0)
      throw badIdentifier(ctx, task, 'profileId', 'Qualifio profile ids (integers, comma-separated)');
    ids.add(id);
  }
  for (const email of task.subject.emails) for (const id of await findProfiles(ctx, email)) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

const badIdentifier = (ctx: Ctx, task: TaskInput, key: string, expected: string) =>
  qualifioErrors.error('QUALIFIO_BAD_IDENTIFIER', { request: task.request, vendor: ctx.vendor, key, expected });

/** The operator's answer to QUALIFIO_CREATE_UNCONFIRMED, carried along so it is applied once. */
function carried(task: TaskInput): TaskData {
  return task.state.data.override === undefined ? {} : { override: task.state.data.override };
}

/**
 * `identifiers.<vendor>.ruleId`: the id of this request's rule (checked at Qualifio, then
 * taken up) or `none` (no rule exists: create one). Applied once per value.
 */
async function override(ctx: Ctx, task: TaskInput): Promise<StepResult | undefined> {
  const value = task.subject.identifiers.ruleId?.trim();
  if (value === undefined || value === task.state.data.override) return undefined;
  if (value === 'none') {
    return {
      kind: 'continue',
      step: 'start',
      data: { override: value, fresh: true },
      evidence: { operatorConfirmed: 'no rule existed; creating one' },
    };
  }
  if (!QualifioId.safeParse(value).success) throw badIdentifier(ctx, task, 'ruleId', 'a Qualifio rule id or "none"');
  const rule = await ownedRule(ctx, task, value, false);
  return resume(task, rule, { override: value }, { operatorConfirmed: `rule ${rule.id} taken up` });
}

/** A rule by id, checked to be this task's: its type, and its marker when the answer has a justification. */
async function ownedRule(ctx: Ctx, task: TaskInput, ruleId: string, markerRequired: boolean): Promise<RuleView> {
  const rule = await getRule(ctx, ruleId);
  const type = RULE_TYPES[kindOf(task)].type;
  const marked =
    rule.justification === undefined ? !markerRequired : rule.justification.startsWith(`${marker(task.request)} `);
  if (rule.id !== ruleId || rule.ruleType !== type || !marked) {
    throw qualifioErrors.error('QUALIFIO_RULE_NOT_OURS', {
      label: 'qualifio.rule-get',
      ruleId,
      ruleType: type,
      request: task.request,
    });
  }
  return rule;
}

async function start(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  if (withdrawn(task)) return { kind: 'completed', outcome: 'Cancelled' };
  const profiles = await profilesOf(ctx, task);
  if (profiles.length === 0)
    return {
      kind: 'completed',
      outcome: 'NoDataHeld',
      evidence: { profiles: 'GET /v1/gdpr/profiles answered 200 [] for every email' },
    };
  const kind = kindOf(task);
  // A rule this request already has (created in a pass whose journal was lost before its
  // status reached git) is taken up instead of creating a second one. The listing can only
  // find it; when it cannot tell, the journal (no submission, no open intent) decides.
  // After an operator's "none" the listing is not asked again.
  const existing = task.state.data.fresh === true ? undefined : await ownRule(ctx, task);
  if (existing) return resume(task, existing, carried(task));
  const rule = await ctx.intent('create-rule', { request: task.request, ruleType: RULE_TYPES[kind].type }, () =>
    createRule(ctx, {
      kind,
      profiles,
      justification: `${marker(task.request)} ${task.justification}`,
      test: isTest(ctx),
      ...(ctx.spec.callBackUrl ? { callBackUrl: callbackUrlFor(ctx.spec.callBackUrl, ctx.vendor, task.request) } : {}),
    }),
  );
  ctx.log.info('qualifio rule created', {
    request: task.request,
    vendor: ctx.vendor,
    ruleId: rule.id,
    profiles: profiles.length,
  });
  return {
    kind: 'continue',
    step: 'validate',
    data: { ...carried(task), ruleId: rule.id },
    jobIds: [rule.id],
    submissions: task.state.submissions + 1,
  };
}

/** Validations of one rule before Qualifio is taken to refuse it (a poll that finds it NEW validates again). */
const MAX_VALIDATIONS = 3;

async function validate(ctx: Ctx, task: TaskInput, ruleId: string): Promise<StepResult> {
  // Without a request there is no approval to validate on; Qualifio does not act on a NEW rule.
  if (withdrawn(task))
    return {
      kind: 'completed',
      outcome: 'Cancelled',
      evidence: { qualifioRule: `rule ${ruleId} left unvalidated: request withdrawn` },
    };
  const label = 'qualifio.validate';
  const rule = await validateRule(ctx, ruleId);
  const validations = (typeof task.state.data.validations === 'number' ? task.state.data.validations : 0) + 1;
  ctx.log.info('qualifio rule validated', { request: task.request, vendor: ctx.vendor, ruleId, status: rule.status });
  // APPROVED is the seed's answer; a rule that already ran answers FINISHED unchanged.
  const accepted =
    rule.id === ruleId &&
    rule.ruleType === RULE_TYPES[kindOf(task)].type &&
    (rule.status === 'APPROVED' || rule.status === 'FINISHED');
  if (!accepted) {
    if (rule.id === ruleId && rule.status === 'NEW' && validations < MAX_VALIDATIONS) {
      return {
        kind: 'continue',
        step: 'validate',
        data: { ...carried(task), ruleId, validations },
        checkAfterMs: FIRST_POLL_MS * validations,
      };
    }
    throw qualifioErrors.error('QUALIFIO_VALIDATION_REFUSED', {
      label,
      ruleId,
      status: rule.id === ruleId ? rule.status : `another rule's answer`,
    });
  }
  return {
    kind: 'continue',
    step: 'poll',
    data: { ...carried(task), ruleId, validations, pollMs: FIRST_POLL_MS },
    checkAfterMs: FIRST_POLL_MS,
    evidence: { ...validationEvidence(task, ctx.spec.dpoUserId), qualifioValidationAnswer: rule.status },
  };
}

async function poll(ctx: Ctx, task: TaskInput, ruleId: string): Promise<StepResult> {
  const label = 'qualifio.rule-get';
  const rule = await ownedRule(ctx, task, ruleId, false);
  const base = {
    ...carried(task),
    ruleId,
    ...(typeof task.state.data.validations === 'number' ? { validations: task.state.data.validations } : {}),
  };
  if (rule.status === 'NEW') {
    if (Number(task.state.data.validations ?? 0) >= MAX_VALIDATIONS)
      throw qualifioErrors.error('QUALIFIO_VALIDATION_REFUSED', { label, ruleId, status: rule.status });
    return { kind: 'continue', step: 'validate', data: base };
  }
  if (rule.status === 'APPROVED') {
    const waited = typeof task.state.data.pollMs === 'number' ? task.state.data.pollMs : FIRST_POLL_MS / 2;
    const next = Math.min(MAX_POLL_MS, waited * 2);
    return { kind: 'continue', step: 'poll', data: { ...base, pollMs: next }, checkAfterMs: next };
  }
  if (rule.status !== 'FINISHED')
    throw qualifioErrors.error('QUALIFIO_RULE_STATUS_UNKNOWN', { label, ruleId, status: rule.status });
  const dryRun = rule.test || isTest(ctx);
  const evidence = {
    qualifioRule: `rule ${ruleId} (${rule.ruleType}) answered FINISHED${rule.archive ? ` with archive ${rule.archive}` : ''}`,
  };
  if (kindOf(task) === 'erasure')
    return { kind: 'completed', outcome: dryRun ? 'DryRun' : 'Erased', data: { ruleId }, evidence };
  if (!rule.archive) {
    if (dryRun) return { kind: 'completed', outcome: 'DryRun', data: { ruleId }, evidence };
    throw qualifioErrors.error('QUALIFIO_ARCHIVE_MISSING', { label, ruleId });
  }
  return { kind: 'continue', step: 'archive', data: { ...base, archiveId: rule.archive }, evidence };
}

async function archive(ctx: Ctx, task: TaskInput, ruleId: string, archiveId: string): Promise<StepResult> {
  // Nobody is owed this export any more: personal data is not fetched for nothing.
  if (withdrawn(task))
    return {
      kind: 'completed',
      outcome: 'Cancelled',
      evidence: { qualifioArchive: `archive ${archiveId} not downloaded: request withdrawn` },
    };
  const { content, ext } = await downloadArchive(ctx, ruleId, await archiveUrl(ctx, ruleId, archiveId));
  const dir = await ctx.exportDir(task.request);
  const name = `qualifio-${archiveId.replace(/[^A-Za-z0-9_-]/g, '_')}${ext}`;
  await writeExport(dir, [{ name, content }], ctx.now());
  ctx.log.info('qualifio archive exported', {
    request: task.request,
    vendor: ctx.vendor,
    ruleId,
    bytes: content.length,
  });
  return {
    kind: 'completed',
    outcome: isTest(ctx) ? 'DryRun' : 'Exported',
    data: { ruleId, archiveId },
    evidence: { archiveSha256: sha256(content), archiveBytes: String(content.length), archiveFile: name },
  };
}

async function step(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const o = await override(ctx, task);
  if (o) return o;
  const { ruleId, archiveId } = task.state.data;
  const s = task.state.step;
  if (s === 'start' || typeof ruleId !== 'string') return start(ctx, task);
  if (s === 'validate') return validate(ctx, task, ruleId);
  if (s === 'archive' && typeof archiveId === 'string') return archive(ctx, task, ruleId, archiveId);
  return poll(ctx, task, ruleId);
}

/** Where to go on with a rule found at Qualifio after a crash, a lost journal or an operator's answer. */
function resume(task: TaskInput, rule: RuleView, data: TaskData, extra: Record<string, string> = {}): StepResult {
  const evidence = { ...(rule.acceptedBy !== undefined ? validationEvidence(task, rule.acceptedBy) : {}), ...extra };
  return {
    kind: 'continue',
    step: rule.status === 'NEW' ? 'validate' : 'poll',
    data: { ...data, ruleId: rule.id },
    jobIds: [rule.id],
    submissions: Math.max(1, task.state.submissions),
    ...(Object.keys(evidence).length > 0 ? { evidence } : {}),
  };
}

/**
 * The newest listed rule of this request's type, test flag and `[lethe:<request>]` marker,
 * or undefined: none listed, or no usable listing (see listRules: a hint, never proof of absence).
 */
async function ownRule(ctx: Ctx, task: TaskInput): Promise<RuleView | undefined> {
  const type = RULE_TYPES[kindOf(task)].type;
  const listed = await listRules(ctx);
  const mine = (listed ?? []).filter(
    (r) =>
      r.ruleType === type && r.test === isTest(ctx) && r.justification?.startsWith(`${marker(task.request)} `) === true,
  );
  return mine[mine.length - 1];
}

async function recover(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  const o = await override(ctx, task);
  if (o) return o;
  const known =
    intent.name === REBUILT_INTENT && Array.isArray(intent.detail.jobIds)
      ? intent.detail.jobIds.filter((id): id is string => typeof id === 'string')
      : [];
  if (known.length > 0) return resume(task, await ownedRule(ctx, task, known[known.length - 1]!, false), carried(task));
  // Rebuilt from git at `start` with no rule recorded: nothing was ever sent for it.
  if (intent.name === REBUILT_INTENT && task.state.step === 'start' && task.state.submissions === 0)
    return { kind: 'continue', step: 'start', data: {} };
  const rule = await ownRule(ctx, task);
  ctx.log.info('qualifio recovery looked for the rule', {
    request: task.request,
    vendor: ctx.vendor,
    intent: intent.name,
    found: rule ? 1 : 0,
  });
  if (rule) return resume(task, rule, carried(task));
  // Not found proves nothing (the listing is undocumented, maybe a page): ask an operator.
  if (withdrawn(task))
    return {
      kind: 'completed',
      outcome: 'Cancelled',
      data: {},
      evidence: { qualifioRule: 'creation answer lost; request withdrawn before it was confirmed' },
    };
  throw qualifioErrors.error('QUALIFIO_CREATE_UNCONFIRMED', {
    request: task.request,
    ruleType: RULE_TYPES[kindOf(task)].type,
  });
}

export const qualifioDriver: Driver<'qualifio'> = {
  type: 'qualifio',
  actions: ['access', 'erasure'],
  // The seed documents no limit: 5 calls/s is a conservative assumption (override with rateLimits).
  defaultRateLimits: () => [{ limit: 5, perSeconds: 1 }],
  identifierKeys: ['profileId', 'ruleId'],
  errors: qualifioErrors.table,
  configSchema: QualifioSpec,
  step,
  recover,
  callbackTask: parseQualifioCallback,
};

/** Keeps no state between calls: every controller shares the one constant. */
export const qualifio = defineDriver('qualifio', () => qualifioDriver);
