import {
  basicAuth,
  isRecord,
  jsonBody,
  normEmail,
  type Reply,
  type SandboxRequest,
  type VendorContext,
  type VendorSim,
} from '../types.ts';

interface User {
  id: number;
  username: string;
  email: string | null;
  /** The email the user had when seeded, for ledger subjects after anonymisation. */
  originalEmail: string;
  suspended: boolean;
}

type UserRef = { id: number } | { username: string } | { email: string };

interface Job {
  id: number;
  status: 'PENDING' | 'FINISHED';
  operations: string[];
  scheduledFor: number;
  userIds: number[];
  /** Emails and usernames of the targets when scheduled, to spot re-submissions after a delete. */
  keys: string[];
  fileId?: number;
  createdAt: string;
  finishedAt?: string;
}

const OPERATIONS = new Set(['suspend', 'anonymize', 'delete', 'anon-delete']);
const CSV_COLUMNS = new Set(['email', 'id', 'username']);
const MAX_CSV_ROWS = 10_000;
/** How far ahead a job may be scheduled (assumption: one year). */
const MAX_AHEAD_MS = 366 * 24 * 3600_000;

/**
 * AnswerHub GDPR plugin 2.3.1+ (seed 004). Assumptions:
 * - the user lookup is `GET /services/v2/users/gdpr/{email}.json` (email URL-encoded in
 *   the path) -> 200 `{id, username, email}`, 422 when no user has that email;
 * - the upload is a file upload ("upload a CSV file"): `multipart/form-data` with a file
 *   part named `file` (a part with a filename); anything else, a raw `text/csv` body
 *   included, is 400. The CSV has a header row of email / id / username columns; rows
 *   naming unknown users are skipped when the job runs;
 * - errors are `{"code": N, "message": "..."}`;
 * - a `user` that resolves to nobody is answered like "No user selected";
 * - `formatted` dates are UTC; a date in the past or more than a year ahead is "not eligible";
 * - "a job already scheduled for that timeframe" = another PENDING job (any user) at the
 *   same minute: the plugin runs one job per minute slot, so bulk work goes through CSV;
 * - a job is PENDING until its scheduled time (the wait is time-scaled from the schedule
 *   call), then runs at once and is FINISHED; there is no visible RUNNING state.
 */
export function answerhub(ctx: VendorContext): VendorSim {
  const creds = ctx.credentials.answerhub;
  let users: User[] = [];
  let files = new Map<number, UserRef[]>();
  let jobs = new Map<number, Job>();
  let nextFile = 0;
  let nextJob = 0;

  const err = (status: number, message: string): Reply => ({ status, body: { code: status, message } });
  const iso = (): string => new Date(ctx.clock.now()).toISOString();

  function reset(): void {
    users = ctx
      .subjects()
      .filter((s) => s.vendors.includes('answerhub'))
      .map((s, i) => ({
        id: 100 + i,
        username: `${s.firstName}${s.lastName}`.toLowerCase(),
        email: s.email,
        originalEmail: s.email,
        suspended: false,
      }));
    files = new Map();
    jobs = new Map();
    nextFile = 0;
    nextJob = 0;
  }
  reset();

  function resolve(ref: UserRef): User | undefined {
    if ('id' in ref) return users.find((u) => u.id === ref.id);
    if ('username' in ref) return users.find((u) => u.username === ref.username);
    return users.find((u) => u.email !== null && normEmail(u.email) === normEmail(ref.email));
  }

  /** The one identifying key of a user object, or null when it has none of them. */
  function userRef(v: unknown): { ref: UserRef | null; keys: number } {
    if (!isRecord(v)) return { ref: null, keys: 0 };
    const keys = ['id', 'username', 'email'].filter((k) => v[k] !== undefined && v[k] !== null && v[k] !== '');
    if (Number.isInteger(v.id)) return { ref: { id: v.id as number }, keys: keys.length };
    if (typeof v.username === 'string' && v.username) return { ref: { username: v.username }, keys: keys.length };
    if (typeof v.email === 'string' && v.email) return { ref: { email: v.email }, keys: keys.length };
    return { ref: null, keys: keys.length };
  }

  function parseDate(v: unknown): number | null {
    if (!isRecord(v)) return null;
    if (typeof v.timeStamp === 'number' && Number.isFinite(v.timeStamp)) return v.timeStamp;
    if (typeof v.formatted === 'string') {
      const m = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2})$/.exec(v.formatted);
      if (!m) return null;
      const [mo, d, y, h, mi] = m.slice(1).map(Number) as [number, number, number, number, number];
      const t = Date.UTC(y, mo - 1, d, h, mi);
      return new Date(t).getUTCMonth() === mo - 1 ? t : null;
    }
    return null;
  }

  function runJob(job: Job): void {
    for (const uid of job.userIds) {
      const user = users.find((u) => u.id === uid);
      if (!user) continue;
      for (const op of job.operations) {
        if (op === 'suspend') user.suspended = true;
        if (op === 'anonymize') {
          user.username = `anonymous${user.id}`;
          user.email = null;
        }
        if (op === 'delete' || op === 'anon-delete') users = users.filter((u) => u.id !== uid);
      }
    }
    job.status = 'FINISHED';
    job.finishedAt = iso();
  }

  const jobJson = (j: Job) => ({
    id: j.id,
    status: j.status,
    operations: j.operations,
    date: { timeStamp: j.scheduledFor },
    ...(j.fileId !== undefined ? { fileId: j.fileId } : { userIds: j.userIds }),
    createdAt: j.createdAt,
    ...(j.finishedAt ? { finishedAt: j.finishedAt } : {}),
  });

  const jobSubjects = (j: Job) =>
    j.userIds.map((id) => users.find((u) => u.id === id)?.originalEmail ?? null).filter((e): e is string => e !== null);

  function withJob(req: SandboxRequest, then: (job: Job) => Reply): Reply {
    const raw = req.params.id!;
    if (!/^\d+$/.test(raw)) return err(400, 'Job id invalid');
    const job = jobs.get(Number(raw));
    if (!job) return err(404, 'Job does not exist');
    return { subjects: jobSubjects(job), ...then(job) };
  }

  /** Users (by any identifier) that already have a pending or finished job. */
  function alreadyJobbed(refs: UserRef[]): number {
    const all = [...jobs.values()];
    return refs.filter((ref) =>
      all.some((j) =>
        'id' in ref
          ? j.userIds.includes(ref.id)
          : j.keys.includes('email' in ref ? normEmail(ref.email) : ref.username),
      ),
    ).length;
  }

  /** Duplicates count even when the call is then refused: the client did re-submit. */
  function schedule(req: SandboxRequest): Reply {
    const body = jsonBody(req);
    const single = isRecord(body) ? userRef(body.user).ref : null;
    const refs =
      isRecord(body) && body.fileId !== undefined ? (files.get(Number(body.fileId)) ?? []) : single ? [single] : [];
    const duplicates = alreadyJobbed(refs);
    return { ...scheduleJob(body), duplicates };
  }

  function scheduleJob(body: unknown): Reply {
    if (!isRecord(body)) return err(400, 'Request body must be a JSON object');
    const hasFile = 'fileId' in body;
    if (body.user === undefined && !hasFile) return err(400, 'No user selected');
    let targets: User[] = [];
    let fileId: number | undefined;
    if (hasFile) {
      if (body.fileId === null || body.fileId === '' || body.fileId === undefined)
        return err(400, 'File ID not specified');
      fileId = Number(body.fileId);
      const refs = files.get(fileId);
      if (!refs) return err(400, 'File ID does not exist');
      targets = refs.map(resolve).filter((u): u is User => u !== undefined);
    } else {
      const { ref } = userRef(body.user);
      const user = ref ? resolve(ref) : undefined;
      if (!user) return err(400, 'No user selected');
      targets = [user];
    }
    const ops = body.operations;
    if (!Array.isArray(ops) || ops.length === 0) return err(400, 'Empty operations list was submitted');
    if (!ops.every((o) => typeof o === 'string' && OPERATIONS.has(o)))
      return err(400, 'Unknown operation: expected suspend, anonymize, delete or anon-delete');
    const when = parseDate(body.date);
    const now = ctx.clock.now();
    if (when === null || when <= now || when > now + MAX_AHEAD_MS) return err(400, 'The selected date is not eligible');
    const minute = Math.floor(when / 60_000);
    if ([...jobs.values()].some((j) => j.status === 'PENDING' && Math.floor(j.scheduledFor / 60_000) === minute)) {
      return err(400, 'There is a job already scheduled for that timeframe');
    }
    if (body.reassignUser !== undefined) {
      const { ref, keys } = userRef(body.reassignUser);
      if (keys > 1) return err(400, 'Reassign user with more than one way of identifying who they are');
      if (!ref || !resolve(ref)) return err(400, 'The reassign user does not exist');
    }
    const job: Job = {
      id: ++nextJob,
      status: 'PENDING',
      operations: ops as string[],
      scheduledFor: when,
      userIds: targets.map((u) => u.id),
      keys: targets.flatMap((u) => [u.username, ...(u.email ? [normEmail(u.email)] : [])]),
      createdAt: iso(),
    };
    if (fileId !== undefined) job.fileId = fileId;
    jobs.set(job.id, job);
    ctx.scheduler.after(when - now, () => {
      if (jobs.get(job.id) === job) runJob(job);
    });
    return { status: 201, body: jobJson(job), subjects: targets.map((u) => u.originalEmail) };
  }

  /** The `file` part of a multipart/form-data body, or an error Reply. */
  function filePart(req: SandboxRequest): string | Reply {
    const type = String(req.headers['content-type'] ?? '');
    const boundary = /^multipart\/form-data;.*\bboundary="?([^";]+)"?/i.exec(type)?.[1];
    if (!boundary) return err(400, 'Upload a CSV file (multipart/form-data with a file part)');
    for (const part of req.rawBody.split(`--${boundary}`).slice(1)) {
      const end = part.indexOf('\r\n\r\n');
      if (end < 0) continue;
      const head = part.slice(0, end);
      const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(head)?.[1] ?? '';
      if (/\bname="file"/.test(disposition) && /\bfilename="[^"]+"/.test(disposition))
        return part.slice(end + 4).replace(/\r\n$/, '');
    }
    return err(400, 'No CSV file in the upload (expected a file part named "file")');
  }

  function upload(req: SandboxRequest): Reply {
    const csv = filePart(req);
    if (typeof csv !== 'string') return csv;
    const lines = csv
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length < 2) return err(400, 'The CSV file must have a header row and at least one user');
    if (lines.length - 1 > MAX_CSV_ROWS) return err(400, `The CSV file may hold at most ${MAX_CSV_ROWS} users`);
    const header = lines[0]!.split(',').map((c) => c.trim().toLowerCase());
    if (header.some((c) => !CSV_COLUMNS.has(c)) || new Set(header).size !== header.length) {
      return err(400, 'The CSV header must use the columns email, id and/or username');
    }
    const refs: UserRef[] = [];
    const subjects: string[] = [];
    for (const line of lines.slice(1)) {
      const cells = line.split(',').map((c) => c.trim());
      if (cells.length !== header.length) return err(400, 'Every CSV row must have as many values as the header');
      const row = Object.fromEntries(header.map((h, i) => [h, cells[i]!]));
      if (row.id !== undefined && !/^\d+$/.test(row.id)) return err(400, 'User ids must be numeric');
      if (row.email) subjects.push(row.email);
      refs.push(
        row.id ? { id: Number(row.id) } : row.username ? { username: row.username } : { email: row.email ?? '' },
      );
    }
    const fileId = ++nextFile;
    files.set(fileId, refs);
    return { status: 201, body: { fileId, users: refs.length }, subjects };
  }

  return {
    name: 'answerhub',
    prefix: '/answerhub',
    authenticate(req) {
      const b = basicAuth(req);
      return b && b.user === creds.username && b.pass === creds.password ? `user:${b.user}` : null;
    },
    unauthorized: () => ({ ...err(401, 'Unauthorized'), headers: { 'WWW-Authenticate': 'Basic realm="AnswerHub"' } }),
    notFound: () => err(404, 'Not Found'),
    tooManyRequests: (retryAfter) => ({
      ...err(429, 'Too Many Requests'),
      headers: { 'Retry-After': String(retryAfter) },
    }),
    serverError: (status) => err(status, 'Server error'),
    reset,
    routes: [
      {
        method: 'GET',
        template: '/services/v2/users/gdpr/{email}.json',
        name: 'user-lookup',
        auth: true,
        handle(req) {
          const email = req.params.email!;
          const user = users.find((u) => u.email !== null && normEmail(u.email) === normEmail(email));
          return user
            ? { status: 200, body: { id: user.id, username: user.username, email: user.email } }
            : err(422, 'No user found with that email');
        },
      },
      { method: 'POST', template: '/services/v2/users/gdpr/upload.json', name: 'upload', auth: true, handle: upload },
      {
        method: 'POST',
        template: '/services/v2/jobs/gdpr/schedule.json',
        name: 'schedule',
        auth: true,
        handle: schedule,
      },
      {
        method: 'GET',
        template: '/services/v2/jobs/gdpr/{id}.json',
        name: 'job-get',
        auth: true,
        handle: (req) => withJob(req, (job) => ({ status: 200, body: jobJson(job) })),
      },
      {
        method: 'DELETE',
        template: '/services/v2/jobs/gdpr/{id}.json',
        name: 'job-delete',
        auth: true,
        handle: (req) =>
          withJob(req, (job) => {
            if (job.status !== 'PENDING') return err(422, 'Job already ran or is running');
            jobs.delete(job.id);
            return { status: 200, body: { id: job.id, status: 'DELETED' } };
          }),
      },
    ],
  };
}
