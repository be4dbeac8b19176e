import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { answerHubError, classify, type AnswerHubCall } from './errors.ts';

type Ctx = DriverContext<'answerhub'>;

/** How AnswerHub knows a user: the plugin takes exactly one identifying key. */
export type UserRef = { id: number } | { username: string };

export interface Job {
  id: string;
  finished: boolean;
  finishedAt?: string;
}

const LABEL: Record<AnswerHubCall, string> = {
  lookup: 'answerhub.user-lookup',
  upload: 'answerhub.upload',
  schedule: 'answerhub.schedule',
  'job-get': 'answerhub.job-get',
  'job-delete': 'answerhub.job-delete',
};

export function label(call: AnswerHubCall): string {
  return LABEL[call];
}

function url(ctx: Ctx, path: string): string {
  return `${ctx.spec.baseUrl.replace(/\/+$/, '')}/services/v2${path}`;
}

function auth(ctx: Ctx): Record<string, string> {
  const basic = Buffer.from(`${ctx.secrets.username ?? ''}:${ctx.secrets.password ?? ''}`).toString('base64');
  return { authorization: `Basic ${basic}`, accept: 'application/json' };
}

/** Bad credentials concern the whole connection: it is degraded, no task fails. */
function unauthorized(call: AnswerHubCall, res: HttpResponse): never {
  throw answerHubError('ANSWERHUB_UNAUTHORIZED', { label: LABEL[call], status: res.status }, { scope: 'vendor', maybeDelivered: false });
}

function unexpected(ctx: Ctx, call: AnswerHubCall, res: HttpResponse): never {
  throw statusError(res, LABEL[call], new URL(ctx.spec.baseUrl).origin);
}

function numericId(v: unknown): string | undefined {
  return (typeof v === 'number' && Number.isInteger(v)) || (typeof v === 'string' && /^\d+$/.test(v)) ? String(v) : undefined;
}

/** The user id for an email, or null when the plugin answers 422 (no such user). */
export async function lookupUser(ctx: Ctx, email: string): Promise<number | null> {
  const res = await ctx.http.request({
    method: 'GET',
    url: url(ctx, `/users/gdpr/${encodeURIComponent(email)}.json`),
    headers: auth(ctx),
    safe: true,
    label: LABEL.lookup,
  });
  const code = classify('lookup', res.status, res.text());
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('lookup', res);
  if (code === 'ANSWERHUB_USER_NOT_FOUND') return null;
  if (res.status !== 200) unexpected(ctx, 'lookup', res);
  const id = numericId(res.json<Record<string, unknown>>().id);
  if (id === undefined) throw answerHubError('ANSWERHUB_UNEXPECTED_ANSWER', { label: LABEL.lookup, status: res.status, field: 'a user id' });
  return Number(id);
}

/** One row per user; ids and usernames in their own columns ("usernames and IDs" upload). */
export function usersCsv(users: readonly UserRef[]): string {
  const cell = (s: string) => s.replace(/[\r\n,"]/g, '');
  const rows = users.map((u) => ('id' in u ? `${u.id},` : `,${cell(u.username)}`));
  return ['id,username', ...rows].join('\n') + '\n';
}

/** Uploads the CSV of a bulk job and returns its file id. Call inside an intent. */
export async function uploadUsers(ctx: Ctx, users: readonly UserRef[]): Promise<string> {
  const res = await ctx.http.request({
    method: 'POST',
    url: url(ctx, '/users/gdpr/upload.json'),
    headers: { ...auth(ctx), 'content-type': 'text/csv' },
    body: usersCsv(users),
    safe: false,
    label: LABEL.upload,
  });
  const code = classify('upload', res.status, res.text());
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('upload', res);
  if (code === 'ANSWERHUB_UPLOAD_REJECTED') throw answerHubError(code, { label: LABEL.upload, users: users.length }, { maybeDelivered: false });
  if (res.status !== 201 && res.status !== 200) unexpected(ctx, 'upload', res);
  const fileId = numericId(res.json<Record<string, unknown>>().fileId);
  if (fileId === undefined) throw answerHubError('ANSWERHUB_UNEXPECTED_ANSWER', { label: LABEL.upload, status: res.status, field: 'fileId' });
  return fileId;
}

export type ScheduleAnswer = { kind: 'scheduled'; jobId: string } | { kind: 'refused'; code: NonNullable<ReturnType<typeof classify>> };

/**
 * Sends one schedule call and reads its answer. A documented 400 is returned (the caller
 * may move to another slot); it provably created nothing. Anything else unexpected throws
 * with the intent left open, since the job may exist.
 */
export async function scheduleJob(ctx: Ctx, body: Record<string, unknown>): Promise<ScheduleAnswer> {
  const res = await ctx.http.request({
    method: 'POST',
    url: url(ctx, '/jobs/gdpr/schedule.json'),
    headers: auth(ctx),
    body,
    safe: false,
    label: LABEL.schedule,
  });
  const code = classify('schedule', res.status, res.text());
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('schedule', res);
  if (code) return { kind: 'refused', code };
  if (res.status !== 201 && res.status !== 200) unexpected(ctx, 'schedule', res);
  const jobId = numericId(res.json<Record<string, unknown>>().id);
  if (jobId === undefined) throw answerHubError('ANSWERHUB_UNEXPECTED_ANSWER', { label: LABEL.schedule, status: res.status, field: 'a job id' });
  return { kind: 'scheduled', jobId };
}

export async function getJob(ctx: Ctx, jobId: string): Promise<Job> {
  const res = await ctx.http.request({
    method: 'GET',
    url: url(ctx, `/jobs/gdpr/${encodeURIComponent(jobId)}.json`),
    headers: auth(ctx),
    safe: true,
    label: LABEL['job-get'],
  });
  const code = classify('job-get', res.status, res.text());
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('job-get', res);
  if (code) throw answerHubError(code, { label: LABEL['job-get'], jobId });
  if (res.status !== 200) unexpected(ctx, 'job-get', res);
  const job = res.json<Record<string, unknown>>();
  if (typeof job.status !== 'string') throw answerHubError('ANSWERHUB_UNEXPECTED_ANSWER', { label: LABEL['job-get'], status: res.status, field: 'a status' });
  // The seed documents pending and finished only; anything else (a running state) is not finished yet.
  const finished = job.status.toLowerCase() === 'finished';
  return { id: jobId, finished, ...(finished && typeof job.finishedAt === 'string' ? { finishedAt: job.finishedAt } : {}) };
}

export type DeleteAnswer = 'deleted' | 'ANSWERHUB_JOB_ALREADY_RAN' | 'ANSWERHUB_JOB_NOT_FOUND';

export async function deleteJob(ctx: Ctx, jobId: string): Promise<DeleteAnswer> {
  const res = await ctx.http.request({
    method: 'DELETE',
    url: url(ctx, `/jobs/gdpr/${encodeURIComponent(jobId)}.json`),
    headers: auth(ctx),
    safe: false,
    label: LABEL['job-delete'],
  });
  const code = classify('job-delete', res.status, res.text());
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('job-delete', res);
  if (code === 'ANSWERHUB_JOB_ALREADY_RAN' || code === 'ANSWERHUB_JOB_NOT_FOUND') return code;
  if (code) throw answerHubError(code, { label: LABEL['job-delete'], jobId });
  if (res.status !== 200 && res.status !== 204) unexpected(ctx, 'job-delete', res);
  return 'deleted';
}
