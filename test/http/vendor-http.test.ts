import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dispatchers } from '../../controller/http/dispatchers.ts';
import { HttpError } from '../../controller/http/errors.ts';
import { RateLimiter } from '../../controller/http/rate-limiter.ts';
import { renderRequest } from '../../controller/http/template.ts';
import type { Clock, VendorHttp } from '../../controller/http/types.ts';
import { createVendorHttp, httpResponse } from '../../controller/http/vendor-http.ts';
import { z } from 'zod';
import {
  capturingLogger,
  HOSTILE_EMAILS,
  seeded,
  startServer,
  VirtualClock,
  type CapturingLogger,
  type TestServer,
} from './helpers.ts';

const SECRET = 'sk_live_5up3r-s3cret+token';
const EMAIL = 'jane.doe+privacy@example.com';

let server: TestServer;
let dispatchers: Dispatchers;
/** Per path: how many answers of each kind, then 200. */
const script = new Map<
  string,
  (n: number, res: import('node:http').ServerResponse, req: import('node:http').IncomingMessage) => boolean
>();

before(async () => {
  server = await startServer((req, res, hit) => {
    const path = new URL(hit.url, 'http://x').pathname;
    const n = server.hits.filter((h) => new URL(h.url, 'http://x').pathname === path).length;
    const handled = script.get(path)?.(n, res, req);
    if (!handled) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ n, url: hit.url, body: hit.body, apitoken: hit.headers.apitoken ?? null }));
    }
  });
  dispatchers = new Dispatchers({ connectTimeoutMs: 2_000 });
});
after(async () => {
  await dispatchers.close();
  await server.close();
});

function vendor(
  clock: Clock = new VirtualClock(),
  log?: CapturingLogger,
  windows = [{ limit: 1_000, perSeconds: 1 }],
): { http: VendorHttp; limiter: RateLimiter } {
  const limiter = new RateLimiter({ key: 'test', windows, clock });
  const http = createVendorHttp({
    vendor: 'acme',
    limiter,
    secrets: [SECRET],
    dispatchers,
    clock,
    random: seeded(1),
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    timeoutMs: 2_000,
    ...(log ? { log } : {}),
  });
  return { http, limiter };
}
const hitsOf = (path: string): number => server.hits.filter((h) => h.url.startsWith(path)).length;
const failing = async (p: Promise<unknown>): Promise<HttpError> => {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HttpError, String(err));
    return err;
  }
  throw new Error('call succeeded');
};

describe('retries by safety', () => {
  it('retries a safe call on 503 and returns the final answer', async () => {
    script.set('/safe503', (n, res) => n < 3 && (res.writeHead(503).end(), true));
    const r = await vendor().http.request({ method: 'GET', url: `${server.url}/safe503`, safe: true });
    assert.equal(r.status, 200);
    assert.equal(r.attempts, 3);
    assert.equal(hitsOf('/safe503'), 3);
  });

  it('never repeats an unsafe call that reached the vendor: the 5xx is returned', async () => {
    script.set('/unsafe503', (_n, res) => (res.writeHead(503).end(), true));
    const r = await vendor().http.request({
      method: 'DELETE',
      url: `${server.url}/unsafe503`,
      safe: false,
      body: { emails: ['a@example.com'] },
    });
    assert.equal(r.status, 503);
    assert.equal(r.attempts, 1);
    assert.equal(hitsOf('/unsafe503'), 1);
  });

  it('retries extra statuses for safe calls only, and returns other statuses untouched', async () => {
    script.set('/conflict', (n, res) => n < 2 && (res.writeHead(409).end(), true));
    const safe = await vendor().http.request({
      method: 'GET',
      url: `${server.url}/conflict`,
      safe: true,
      retryStatuses: [409],
    });
    assert.equal(safe.status, 200);
    script.set('/conflict2', (_n, res) => (res.writeHead(409).end(), true));
    const unsafe = await vendor().http.request({
      method: 'POST',
      url: `${server.url}/conflict2`,
      safe: false,
      retryStatuses: [409],
    });
    assert.equal(unsafe.status, 409);
    assert.equal(hitsOf('/conflict2'), 1);
    script.set('/notfound', (_n, res) => (res.writeHead(404).end(), true));
    assert.equal(
      (await vendor().http.request({ method: 'GET', url: `${server.url}/notfound`, safe: true })).status,
      404,
    );
    assert.equal(hitsOf('/notfound'), 1);
  });

  it('does not retry an unsafe call whose connection broke after sending; says it may have arrived', async () => {
    script.set('/reset', (_n, res) => (res.socket?.destroy(), true));
    const err = await failing(
      vendor().http.request({ method: 'POST', url: `${server.url}/reset`, safe: false, body: 'x' }),
    );
    assert.equal(err.code, 'HTTP_NETWORK');
    assert.equal(err.maybeDelivered, true);
    assert.equal(hitsOf('/reset'), 1);
  });

  it('retries a safe call after a broken connection', async () => {
    script.set('/reset-safe', (_n, res) => (res.socket?.destroy(), true));
    const err = await failing(vendor().http.request({ method: 'GET', url: `${server.url}/reset-safe`, safe: true }));
    assert.equal(err.attempts, 3);
    assert.equal(hitsOf('/reset-safe'), 3);
    assert.equal(err.maybeDelivered, true);
  });

  it('retries an unsafe call that provably never left (connection refused)', async () => {
    const err = await failing(
      vendor().http.request({ method: 'DELETE', url: 'http://127.0.0.1:1/users', safe: false }),
    );
    assert.equal(err.code, 'HTTP_NETWORK');
    assert.match(err.message, /ECONNREFUSED/);
    assert.equal(err.attempts, 3);
    assert.equal(err.maybeDelivered, false);
    assert.equal(err.terminal, false);
  });
});

describe('429 and Retry-After', () => {
  it('retries an unsafe call refused with 429, waiting Retry-After seconds, and pauses the limiter', async () => {
    script.set('/429s', (n, res) => n < 2 && (res.writeHead(429, { 'retry-after': '3' }).end(), true));
    const clock = new VirtualClock();
    const { http, limiter } = vendor(clock);
    const r = await http.request({ method: 'DELETE', url: `${server.url}/429s`, safe: false });
    assert.equal(r.status, 200);
    assert.equal(hitsOf('/429s'), 2);
    assert.ok(
      clock.slept.some((ms) => ms >= 3_000),
      String(clock.slept),
    );
    assert.ok(limiter.nextFreeAt() <= clock.now());
  });

  it('honours Retry-After as an HTTP date on 503 for a safe call', async () => {
    const clock = new VirtualClock();
    script.set(
      '/503date',
      (n, res) =>
        n < 2 && (res.writeHead(503, { 'retry-after': new Date(clock.now() + 10_000).toUTCString() }).end(), true),
    );
    const r = await vendor(clock).http.request({ method: 'GET', url: `${server.url}/503date`, safe: true });
    assert.equal(r.status, 200);
    assert.ok(
      clock.slept.some((ms) => ms >= 9_000 && ms <= 10_000),
      String(clock.slept),
    );
  });

  it('returns the 429 once retries are exhausted, or at once when Retry-After exceeds the cap', async () => {
    script.set('/429always', (_n, res) => (res.writeHead(429, { 'retry-after': '1' }).end(), true));
    const clock = new VirtualClock();
    const { http, limiter } = vendor(clock);
    const r = await http.request({ method: 'POST', url: `${server.url}/429always`, safe: false });
    assert.equal(r.status, 429);
    assert.equal(r.attempts, 3);
    assert.equal(r.retryAfterMs, 1_000);

    script.set('/429long', (_n, res) => (res.writeHead(429, { 'retry-after': '600' }).end(), true));
    const long = await http.request({ method: 'GET', url: `${server.url}/429long`, safe: true });
    assert.equal(long.attempts, 1);
    assert.equal(long.retryAfterMs, 600_000);
    assert.ok(limiter.nextFreeAt() >= clock.now() + 599_000, 'the credential stays paused');
  });
});

describe('bounds', () => {
  it('times out a hanging vendor and retries only safe calls', async () => {
    script.set('/hang', () => true);
    const { http } = vendor(new VirtualClock());
    const err = await failing(http.request({ method: 'POST', url: `${server.url}/hang`, safe: false, timeoutMs: 150 }));
    assert.equal(err.code, 'HTTP_TIMEOUT');
    assert.equal(err.maybeDelivered, true);
    assert.equal(hitsOf('/hang'), 1);
    const safe = await failing(http.request({ method: 'GET', url: `${server.url}/hang`, safe: true, timeoutMs: 100 }));
    assert.equal(safe.attempts, 3);
  });

  it('caps the response size, by content-length and while streaming', async () => {
    script.set('/big', (_n, res) => (res.writeHead(200, { 'content-length': '5000' }).end('x'.repeat(5000)), true));
    script.set('/bigchunked', (_n, res) => {
      res.writeHead(200);
      for (let i = 0; i < 10; i++) res.write('y'.repeat(1000));
      res.end();
      return true;
    });
    for (const path of ['/big', '/bigchunked']) {
      const err = await failing(
        vendor().http.request({ method: 'GET', url: `${server.url}${path}`, safe: true, maxResponseBytes: 2_000 }),
      );
      assert.equal(err.code, 'HTTP_RESPONSE_TOO_LARGE');
      assert.equal(err.attempts, 1, 'not retried');
    }
  });

  it('reports a malformed JSON body without quoting it', async () => {
    script.set('/html', (_n, res) => (res.writeHead(200).end(`<html>${EMAIL}</html>`), true));
    const r = await vendor().http.request({ method: 'GET', url: `${server.url}/html`, safe: true });
    assert.equal(r.text(), `<html>${EMAIL}</html>`);
    assert.throws(
      () => r.json(),
      (e: HttpError) => e.code === 'HTTP_MALFORMED_BODY' && !e.message.includes(EMAIL),
    );
  });

  it('gives up before sending when the limiter cannot serve the call before its deadline', async () => {
    const clock = new VirtualClock();
    const { http } = vendor(clock, undefined, [{ limit: 1, perSeconds: 60 }]);
    await http.request({ method: 'GET', url: `${server.url}/first`, safe: true });
    const before = hitsOf('/second');
    const err = await failing(
      http.request({ method: 'POST', url: `${server.url}/second`, safe: false, deadline: clock.now() + 5_000 }),
    );
    assert.equal(err.code, 'HTTP_DEADLINE_EXCEEDED');
    assert.equal(err.maybeDelivered, false);
    assert.equal(hitsOf('/second'), before);
  });

  it('sends objects as JSON and strings as they are', async () => {
    const { http } = vendor();
    const j = await http.request({
      method: 'DELETE',
      url: `${server.url}/json`,
      safe: false,
      body: { emails: ['x@example.com'], auditLabel: 'r-1' },
    });
    assert.deepEqual(JSON.parse(j.json<{ body: string }>().body), { emails: ['x@example.com'], auditLabel: 'r-1' });
    assert.equal(server.hits.at(-1)!.headers['content-type'], 'application/json');
    const s = await http.request({
      method: 'POST',
      url: `${server.url}/raw`,
      safe: false,
      body: 'a=1',
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(s.json<{ body: string }>().body, 'a=1');
  });
});

describe('templating round trip and redaction', () => {
  it('delivers hostile emails byte for byte in path, query and JSON body', async () => {
    const { http } = vendor();
    for (const email of [...HOSTILE_EMAILS, 'new\nline@example.com']) {
      const req = renderRequest(
        {
          url: `${server.url}/rt/{email}?email={email}&x=1`,
          headers: { apitoken: '{credentials}', 'Content-Type': 'application/json' },
          body: '{{"email": "{email}"}}',
        },
        { email, credentials: SECRET },
        'queries.delete[0]',
      );
      await http.request({ method: 'PUT', url: req.url, headers: req.headers, body: req.body, safe: false });
      const hit = server.hits.at(-1)!;
      const url = new URL(hit.url, 'http://x');
      assert.equal(url.searchParams.get('email'), email);
      assert.equal(url.searchParams.get('x'), '1');
      assert.equal(decodeURIComponent(url.pathname.slice('/rt/'.length)), email);
      assert.equal(JSON.parse(hit.body).email, email);
      assert.equal(hit.headers.apitoken, SECRET);
    }
  });

  it('never lets a secret or an email reach an error message or a log line', async () => {
    const log = capturingLogger();
    const { http } = vendor(new VirtualClock(), log);
    const messages: string[] = [];
    const headers = { apitoken: SECRET, 'x-api-token': SECRET, Authorization: `Bearer ${SECRET}` };
    const enc = encodeURIComponent(EMAIL);
    script.set('/leak503', (_n, res) => (res.writeHead(503).end(), true));
    script.set('/leakreset', (_n, res) => (res.socket?.destroy(), true));
    script.set('/leakhang', () => true);
    script.set('/leakbody', (_n, res) => (res.writeHead(200).end(`not json ${SECRET} ${EMAIL}`), true));
    const calls: (() => Promise<unknown>)[] = [
      () =>
        http.request({
          method: 'GET',
          url: `${server.url}/leak503/${enc}?email=${enc}&t=${SECRET}`,
          headers,
          safe: true,
        }),
      () =>
        http.request({
          method: 'DELETE',
          url: `${server.url}/leakreset?email=${EMAIL}`,
          headers,
          body: { email: EMAIL },
          safe: false,
        }),
      () =>
        http.request({
          method: 'GET',
          url: `${server.url}/leakhang?email=${enc}`,
          headers,
          safe: true,
          timeoutMs: 50,
          label: `lookup ${EMAIL}`,
        }),
      () => http.request({ method: 'GET', url: `http://127.0.0.1:1/x?email=${enc}`, headers, safe: false }),
      () => http.request({ method: 'GET', url: `not a url ${EMAIL} ${SECRET}`, safe: true }),
      () => http.request({ method: 'GET', url: `${server.url}/leakbody`, headers, safe: true }).then((r) => r.json()),
    ];
    for (const c of calls) {
      try {
        await c();
      } catch (err) {
        messages.push((err as Error).message, String((err as Error).stack));
      }
    }
    assert.ok(messages.length >= 10);
    assert.ok(log.lines.length > 5);
    for (const line of [...messages, ...log.lines]) {
      for (const needle of [SECRET, encodeURIComponent(SECRET), EMAIL, enc, 'jane.doe']) {
        assert.ok(!line.includes(needle), `leak of ${needle} in: ${line}`);
      }
    }
  });
});

describe('HttpResponse.parse', () => {
  const Shape = z.object({ status: z.enum(['done', 'pending']) });
  const answer = (text: string) => httpResponse({ status: 200, body: Buffer.from(text), label: 'demo.get' });

  it('returns the validated value for a documented answer', () => {
    assert.deepEqual(answer('{"status":"done","extra":1}').parse(Shape), { status: 'done' });
  });

  it('names the field paths of a mismatch, never the value, and is retryable', () => {
    assert.throws(
      () => answer('{"status":"alice@example.com"}').parse(Shape),
      (e: HttpError) =>
        e.code === 'HTTP_SCHEMA_MISMATCH' &&
        !e.terminal &&
        /\(status\)/.test(e.message) &&
        !e.message.includes('alice'),
    );
  });

  it('turns a body that is not JSON into HTTP_MALFORMED_BODY', () => {
    assert.throws(
      () => answer('<html>Not Found</html>').parse(Shape),
      (e: HttpError) => e.code === 'HTTP_MALFORMED_BODY' && !e.message.includes('html'),
    );
  });
});
