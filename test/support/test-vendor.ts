import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';

export interface TestVendorCall {
  method: string;
  path: string;
  at: number;
  body: string;
}

/**
 * A minimal vendor on 127.0.0.1 for the controller's own tests: jobs are submitted by
 * POST (non-idempotent), looked up by label (for crash recovery) and polled. It counts
 * submissions per label, so a duplicate submission is visible to the test.
 */
export interface TestVendor {
  url: string;
  calls: TestVendorCall[];
  submissions: Map<string, number>;
  /** While set, a submission is recorded and then never answered (the client times out or dies). */
  hangSubmissions: boolean;
  /** Polls needed before a job reports done. */
  pollsToFinish: number;
  /** Emails seen in bodies: the test asserts they never leak elsewhere. */
  emails: Set<string>;
  onSubmit?: () => void;
  /** Forgets every job, call and count (between tests sharing one vendor). */
  reset(): void;
  close(): Promise<void>;
}

export async function startTestVendor(): Promise<TestVendor> {
  const jobs = new Map<string, { label: string; polls: number }>();
  let seq = 0;
  const hanging: ServerResponse[] = [];
  const vendor: TestVendor = {
    url: '',
    calls: [],
    submissions: new Map(),
    hangSubmissions: false,
    pollsToFinish: 1,
    emails: new Set(),
    reset: () => {
      jobs.clear();
      vendor.calls.length = 0;
      vendor.submissions.clear();
      vendor.emails.clear();
      vendor.hangSubmissions = false;
      vendor.pollsToFinish = 1;
      vendor.onSubmit = undefined;
    },
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://x');
    vendor.calls.push({ method: req.method ?? '', path: url.pathname, at: Date.now(), body });
    if (req.headers['x-test-token'] !== 'test-token') return send(res, 401, { error: 'unauthorized' });
    if (req.method === 'POST' && url.pathname === '/jobs') {
      const { label, emails } = JSON.parse(body) as { label: string; emails: string[] };
      for (const e of emails) vendor.emails.add(e);
      vendor.submissions.set(label, (vendor.submissions.get(label) ?? 0) + 1);
      const id = `job-${++seq}`;
      jobs.set(id, { label, polls: 0 });
      vendor.onSubmit?.();
      if (vendor.hangSubmissions) {
        hanging.push(res);
        return;
      }
      return send(res, 201, { id });
    }
    if (req.method === 'GET' && url.pathname === '/jobs') {
      const label = url.searchParams.get('label');
      return send(
        res,
        200,
        [...jobs].filter(([, j]) => j.label === label).map(([id]) => ({ id })),
      );
    }
    const m = /^\/jobs\/([\w-]+)$/.exec(url.pathname);
    if (req.method === 'GET' && m) {
      const job = jobs.get(m[1]!);
      if (!job) return send(res, 404, { error: 'not found' });
      job.polls++;
      return send(res, 200, { status: job.polls >= vendor.pollsToFinish ? 'done' : 'pending' });
    }
    send(res, 404, { error: 'no route' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  vendor.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return vendor;
}

/**
 * One test vendor for the suite it is called in: started before its tests, reset before
 * each, closed after them. Returns the running vendor.
 */
export function suiteTestVendor(): () => TestVendor {
  let vendor: TestVendor | undefined;
  const running = (): TestVendor => {
    if (!vendor) throw new Error('the test vendor runs only inside the suite that started it');
    return vendor;
  };
  before(
    async () => {
      vendor = await startTestVendor();
    },
    { timeout: 60_000 },
  );
  after(() => running().close(), { timeout: 60_000 });
  beforeEach(() => running().reset(), { timeout: 60_000 });
  return running;
}
