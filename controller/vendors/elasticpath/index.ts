import { ElasticPathSpec } from '../../../specs/index.ts';
import { REBUILT_INTENT } from '../../contracts/driver.ts';
import type { Driver, DriverContext, OpenIntent, StepResult, TaskData, TaskInput } from '../../contracts/driver.ts';
import {
  COLLECTION,
  createErasure,
  findResources,
  getErasure,
  listErasures,
  mismatch,
  OTHER_RESOURCE,
  type Erasure,
  type ResourceType,
} from './api.ts';
import { elasticPathErrors } from './errors.ts';
import { regionUrl, type Ctx, type TokenCache } from './auth.ts';
import { defineDriver } from '../define.ts';

/**
 * Elastic Path Commerce Cloud (seed 003 + vendor-specs/elasticpath): erasure only. Steps:
 *   start  -> the subject's customers (or account members): from identifiers, else by email
 *   submit -> per resource: list its erasure requests; reuse an open or successful one,
 *             else create one (journaled intent); FAILUREs are counted at the vendor and
 *             bound the retries (maxAttempts)
 *   poll   -> each request by id with a doubling wait; FAILURE or 404 goes back to submit
 * Recovery: an open `create` intent lists the resource's requests and adopts what it finds;
 * when there is none the call never took effect and `submit` creates it again. A journal
 * rebuilt from git reads each recorded request by id, then looks the subject up again.
 */

interface Resource {
  type: ResourceType;
  /** The vendor's customer / account-member id (a vendor id: journal only, never status). */
  id: string;
  state: 'find' | 'pending' | 'done';
  request: string | null;
}

interface EpData {
  resources: Resource[];
  waitMs: number;
}

const MAX_WAIT_MS = 300_000;
const OPEN = (s: Erasure['status']) => s === 'CREATED';
const DESCRIPTION_MAX = 200;

const firstWait = (ctx: Ctx) => Math.round(ctx.spec.pollIntervalSeconds * 1000);

function readData(ctx: Ctx, task: TaskInput): EpData {
  const d = task.state.data as Partial<EpData>;
  return {
    resources: Array.isArray(d.resources) ? d.resources.map((r) => ({ ...r })) : [],
    waitMs: d.waitMs ?? firstWait(ctx),
  };
}

function toData(d: EpData): TaskData {
  return {
    resources: d.resources.map((r) => ({ type: r.type, id: r.id, state: r.state, request: r.request })),
    waitMs: d.waitMs,
  };
}

const withdrawn = (task: TaskInput) =>
  task.subject.emails.length === 0 && Object.keys(task.subject.identifiers).length === 0;

function advance(
  task: TaskInput,
  d: EpData,
  extra: { jobIds?: string[]; evidence?: Record<string, string>; submissions?: number } = {},
): StepResult {
  const find = d.resources.some((r) => r.state === 'find');
  if (find && !withdrawn(task)) return { kind: 'continue', step: 'submit', data: toData(d), ...extra };
  if (d.resources.some((r) => r.state === 'pending'))
    return { kind: 'continue', step: 'poll', data: toData(d), checkAfterMs: d.waitMs, ...extra };
  // Withdrawn with a resource still to submit: nothing more may be sent.
  if (find) return { kind: 'completed', outcome: 'Cancelled', data: toData(d), ...extra };
  // Every resource reached `done` only on a SUCCESS the store gave for that very resource.
  return {
    kind: 'completed',
    outcome: 'Erased',
    data: toData(d),
    ...extra,
    evidence: { ...extra.evidence, erasureStatus: 'SUCCESS' },
  };
}

async function start(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  if (withdrawn(task)) return { kind: 'completed', outcome: 'Cancelled' };
  const { customerId, accountMemberId } = task.subject.identifiers;
  const given: Resource[] = [];
  if (customerId) given.push({ type: 'customer', id: customerId, state: 'find', request: null });
  if (accountMemberId) given.push({ type: 'account_member', id: accountMemberId, state: 'find', request: null });
  const resources =
    given.length > 0
      ? given
      : (await findResources(ctx, task.subject.emails)).map(
          (id): Resource => ({ type: ctx.spec.resourceType, id, state: 'find', request: null }),
        );
  if (resources.length === 0) {
    const path = COLLECTION[ctx.spec.resourceType];
    return {
      kind: 'completed',
      outcome: 'NoDataHeld',
      data: {},
      evidence: {
        lookup: `no ${ctx.spec.resourceType}: GET /v2/${path}?filter=eq(email,…) answered data [] and results.total 0 for every subject email`,
      },
    };
  }
  return advance(task, { resources, waitMs: firstWait(ctx) }, { evidence: { resources: String(resources.length) } });
}

/** What the store already holds for a resource: a request to follow, or the failures so far. */
function existing(list: Erasure[]): { adopt?: Erasure; failures: Erasure[] } {
  const adopt = list.find((e) => e.status === 'SUCCESS') ?? list.find((e) => OPEN(e.status));
  return { ...(adopt ? { adopt } : {}), failures: list.filter((e) => e.status === 'FAILURE') };
}

function adopt(r: Resource, e: Erasure): void {
  r.request = e.id;
  r.state = e.status === 'SUCCESS' ? 'done' : 'pending';
}

async function submit(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const d = readData(ctx, task);
  const index = d.resources.findIndex((r) => r.state === 'find');
  const r = d.resources[index];
  if (!r || withdrawn(task)) return advance(task, d);
  const found = existing(await listErasures(ctx, r.type, r.id));
  if (found.adopt) {
    adopt(r, found.adopt);
    return advance(task, d, { jobIds: [found.adopt.id], evidence: { erasureRequest: 'reused an existing request' } });
  }
  if (found.failures.length >= ctx.spec.maxAttempts) {
    const last = found.failures[found.failures.length - 1]!;
    // Vendor text without personal data (a fixed status sentence); bounded all the same.
    const description = last.description.slice(0, DESCRIPTION_MAX) || 'no description';
    return {
      kind: 'failed',
      code: 'ELASTICPATH_ERASURE_FAILED',
      message: `erasure request ${last.id} ended in FAILURE after ${found.failures.length} attempts: ${description}`,
      data: toData(d),
      jobIds: [last.id],
    };
  }
  const created = await ctx.intent('create', { request: task.request, resource: index }, () =>
    createErasure(ctx, r.type, r.id),
  );
  ctx.log.info('elasticpath erasure request created', { request: task.request, job: created.id });
  // The create answer only proves the request exists (documented: CREATED); its outcome is
  // what the poll reads, whatever status the 201 carried.
  r.request = created.id;
  r.state = 'pending';
  d.waitMs = firstWait(ctx);
  return advance(task, d, { jobIds: [created.id], submissions: task.state.submissions + 1 });
}

async function poll(ctx: Ctx, task: TaskInput): Promise<StepResult> {
  const d = readData(ctx, task);
  let running = false;
  for (const r of d.resources) {
    if (r.state !== 'pending' || !r.request) continue;
    const e = await getErasure(ctx, r.request);
    if (e && (e.resourceType !== r.type || e.resourceId !== r.id))
      throw mismatch('elasticpath.erasure-get', OTHER_RESOURCE);
    if (e?.status === 'SUCCESS') r.state = 'done';
    else if (e && OPEN(e.status)) running = true;
    else {
      // FAILURE, or the store lost the request: `submit` lists again and decides.
      ctx.log.warn('elasticpath erasure request not successful', {
        request: task.request,
        job: r.request,
        status: e?.status ?? 'not found',
      });
      r.state = 'find';
    }
  }
  if (running) d.waitMs = Math.min(d.waitMs * 2, MAX_WAIT_MS);
  return advance(task, d);
}

/** Journal lost: the request ids git recorded say which resources were under way. */
async function rebuild(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  const ids = Array.isArray(intent.detail.jobIds) ? intent.detail.jobIds.map(String) : [];
  const byResource = new Map<string, Resource>();
  for (const id of ids) {
    const e = await getErasure(ctx, id);
    if (!e || (e.resourceType !== 'customer' && e.resourceType !== 'account_member')) continue;
    const r: Resource = { type: e.resourceType, id: e.resourceId, state: 'find', request: null };
    if (e.status !== 'FAILURE') adopt(r, e);
    // A later request supersedes an earlier one, except that a success is final.
    const known = byResource.get(r.id);
    if (known?.state === 'done' || (known && r.state === 'find')) continue;
    byResource.set(r.id, r);
  }
  if (
    task.subject.emails.length > 0 &&
    !task.subject.identifiers.customerId &&
    !task.subject.identifiers.accountMemberId
  ) {
    for (const id of await findResources(ctx, task.subject.emails)) {
      if (!byResource.has(id)) byResource.set(id, { type: ctx.spec.resourceType, id, state: 'find', request: null });
    }
  }
  if (byResource.size === 0) return start(ctx, task);
  return advance(
    task,
    { resources: [...byResource.values()], waitMs: firstWait(ctx) },
    { submissions: Math.max(task.state.submissions, ids.length) },
  );
}

async function recover(ctx: Ctx, task: TaskInput, intent: OpenIntent): Promise<StepResult> {
  if (intent.name === REBUILT_INTENT) return rebuild(ctx, task, intent);
  const d = readData(ctx, task);
  const r = d.resources[Number(intent.detail.resource)];
  if (!r) return advance(task, d);
  const found = existing(await listErasures(ctx, r.type, r.id));
  if (found.adopt) {
    adopt(r, found.adopt);
    ctx.log.info('elasticpath create intent recovered: request found', { request: task.request, job: found.adopt.id });
    return advance(task, d, { jobIds: [found.adopt.id], submissions: task.state.submissions + 1 });
  }
  // No open or successful request: the call did not take effect (or failed); submit decides.
  return advance(task, d);
}

export function createElasticPathDriver(): Driver<'elasticpath'> {
  const tokens: TokenCache = new Map();
  const own = (ctx: DriverContext<'elasticpath'>): Ctx => ({ ...ctx, tokens });
  return {
    type: 'elasticpath',
    actions: ['erasure'],
    defaultRateLimits: (spec) => [{ limit: spec.environment === 'development' ? 25 : 100, perSeconds: 1 }],
    identifierKeys: ['customerId', 'accountMemberId'],
    errors: elasticPathErrors.table,
    implicitOrigins: (spec) => (spec.baseUrl === undefined ? [regionUrl(spec.region)] : []),
    step(ctx, task) {
      if (task.state.step === 'start') return start(own(ctx), task);
      if (task.state.step === 'submit') return submit(own(ctx), task);
      return poll(own(ctx), task);
    },
    recover: (ctx, task, intent) => recover(own(ctx), task, intent),
    configSchema: ElasticPathSpec,
  };
}

export const elasticPath = defineDriver('elasticpath', createElasticPathDriver);
