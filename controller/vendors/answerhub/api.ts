import { randomBytes } from 'node:crypto';
import { statusError } from '../../http/errors.ts';
import type { HttpResponse } from '../../http/types.ts';
import type { DriverContext } from '../../contracts/driver.ts';
import { answerHubErrors, classify, errorText, isPluginError, vendorCode, type AnswerHubCall } from './errors.ts';
import { JobAnswer, ScheduledJob, UploadAnswer, UserAnswer } from './schema.ts';

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
  throw answerHubErrors.error(
    'ANSWERHUB_UNAUTHORIZED',
    { label: LABEL[call], status: res.status },
    { scope: 'vendor', maybeDelivered: false },
  );
}

/**
 * An answer the call does not document. A 404/405 on a route that never answers it, or a
 * 404 that is not the plugin's JSON error, means no plugin endpoint at this baseUrl: a
 * configuration error, and proof the call was not acted on.
 */
function unexpected(ctx: Ctx, call: AnswerHubCall, res: HttpResponse): never {
  const documents404 = call === 'job-get' || call === 'job-delete';
  if (res.status === 405 || (res.status === 404 && (!documents404 || !isPluginError(res)))) {
    throw answerHubErrors.error(
      'ANSWERHUB_ENDPOINT_NOT_FOUND',
      { label: LABEL[call], status: res.status },
      { maybeDelivered: false },
    );
  }
  throw statusError(res, LABEL[call], new URL(ctx.spec.baseUrl).origin);
}

/** The user id for an email, or null on the documented "no such user" (422 with the plugin's error). */
export async function lookupUser(ctx: Ctx, email: string): Promise<number | null> {
  const res = await ctx.http.request({
    method: 'GET',
    url: url(ctx, `/users/gdpr/${encodeURIComponent(email)}.json`),
    headers: auth(ctx),
    safe: true,
    label: LABEL.lookup,
  });
  const code = classify('lookup', res.status, '');
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('lookup', res);
  if (code === 'ANSWERHUB_USER_NOT_FOUND') {
    // A 422 without the plugin's JSON error is not the documented answer: not evidence of "no data".
    if (!isPluginError(res)) throw statusError(res, LABEL.lookup, new URL(ctx.spec.baseUrl).origin);
    return null;
  }
  if (res.status !== 200) unexpected(ctx, 'lookup', res);
  return Number(res.parse(UserAnswer).id);
}

/** One row per user; ids and usernames in their own columns ("usernames and IDs" upload). */
export function usersCsv(users: readonly UserRef[]): string {
  const cell = (s: string) => s.replace(/[\r\n,"]/g, '');
  const rows = users.map((u) => ('id' in u ? `${u.id},` : `,${cell(u.username)}`));
  return ['id,username', ...rows].join('\n') + '\n';
}

/** The form field of the uploaded file (assumption: the seed says "upload a CSV file", not the field name). */
export const UPLOAD_FIELD = 'file';

/**
 * A multipart/form-data body with one file part, as a browser or curl -F sends a file
 * upload (RFC 7578). The boundary is random, so no CSV content can end the part early.
 */
export function multipartCsv(
  csv: string,
  boundary = `lethe-${randomBytes(16).toString('hex')}`,
): { body: Buffer; contentType: string } {
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="${UPLOAD_FIELD}"; filename="users.csv"\r\nContent-Type: text/csv\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), Buffer.from(csv, 'utf8'), Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Uploads the CSV of a bulk job and returns its file id. Call inside an intent. */
export async function uploadUsers(ctx: Ctx, users: readonly UserRef[]): Promise<string> {
  const { body, contentType } = multipartCsv(usersCsv(users));
  const res = await ctx.http.request({
    method: 'POST',
    url: url(ctx, '/users/gdpr/upload.json'),
    headers: { ...auth(ctx), 'content-type': contentType },
    body,
    safe: false,
    label: LABEL.upload,
  });
  const code = classify('upload', res.status, '');
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('upload', res);
  if (code === 'ANSWERHUB_UPLOAD_REJECTED')
    throw answerHubErrors.error(code, { label: LABEL.upload, users: users.length }, { maybeDelivered: false });
  if (res.status !== 201) unexpected(ctx, 'upload', res);
  return res.parse(UploadAnswer).fileId;
}

export type ScheduleAnswer =
  | { kind: 'scheduled'; jobId: string }
  | { kind: 'refused'; code: NonNullable<ReturnType<typeof classify>>; vendorCode: string };

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
  const code = classify('schedule', res.status, res.status === 400 ? errorText(res) : '');
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('schedule', res);
  if (code) return { kind: 'refused', code, vendorCode: vendorCode(res) };
  if (res.status !== 201) unexpected(ctx, 'schedule', res);
  return { kind: 'scheduled', jobId: res.parse(ScheduledJob).id };
}

/** Status words of a job that has not run yet, or is running (the delete call's 422 names "running"). */
const NOT_YET = new Set(['pending', 'scheduled', 'running']);

export async function getJob(ctx: Ctx, jobId: string): Promise<Job> {
  const res = await ctx.http.request({
    method: 'GET',
    url: url(ctx, `/jobs/gdpr/${encodeURIComponent(jobId)}.json`),
    headers: auth(ctx),
    safe: true,
    label: LABEL['job-get'],
  });
  const code = classify('job-get', res.status, '');
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('job-get', res);
  if (code === 'ANSWERHUB_JOB_NOT_FOUND' && !isPluginError(res)) unexpected(ctx, 'job-get', res);
  if (code) throw answerHubErrors.error(code, { label: LABEL['job-get'], jobId });
  if (res.status !== 200) unexpected(ctx, 'job-get', res);
  const job = res.parse(JobAnswer);
  if (job.id !== undefined && job.id !== jobId)
    throw answerHubErrors.error('ANSWERHUB_UNEXPECTED_ANSWER', {
      label: LABEL['job-get'],
      status: res.status,
      field: `job ${jobId}`,
    });
  const status = job.status.trim().toLowerCase();
  if (status === 'finished')
    return { id: jobId, finished: true, ...(job.finishedAt ? { finishedAt: job.finishedAt } : {}) };
  if (NOT_YET.has(status)) return { id: jobId, finished: false };
  throw answerHubErrors.error('ANSWERHUB_JOB_STATUS_UNKNOWN', {
    label: LABEL['job-get'],
    jobId,
    status: status.replace(/[^a-z_ -]/g, '').slice(0, 40),
  });
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
  const code = classify('job-delete', res.status, '');
  if (code === 'ANSWERHUB_UNAUTHORIZED') unauthorized('job-delete', res);
  if (code === 'ANSWERHUB_JOB_NOT_FOUND' && !isPluginError(res)) unexpected(ctx, 'job-delete', res);
  if (code === 'ANSWERHUB_JOB_ALREADY_RAN' || code === 'ANSWERHUB_JOB_NOT_FOUND') return code;
  if (code) throw answerHubErrors.error(code, { label: LABEL['job-delete'], jobId });
  if (res.status !== 200) unexpected(ctx, 'job-delete', res);
  return 'deleted';
}
