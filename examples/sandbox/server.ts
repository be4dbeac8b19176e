import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from './clock.ts';
import type { FaultDecision, FaultEngine } from './faults.ts';
import { subjectHash, type Ledger, type LedgerEntry } from './ledger.ts';
import type { SlidingWindowLimiter } from './rate-limit.ts';
import { compileRoutes, matchRoute, type CompiledRoute } from './router.ts';
import { isRecord, jsonBody, type Reply, type SandboxRequest, type VendorName, type VendorSim } from './types.ts';

const MAX_BODY_BYTES = 1024 * 1024;

export interface ServerDeps {
  vendors: VendorSim[];
  limiters: Map<VendorName, SlidingWindowLimiter>;
  faults: FaultEngine;
  ledger: Ledger;
  clock: Clock;
  /** Upper bound (real ms) on how long a `timeout` fault keeps a socket open. */
  maxHangMs: number;
  /** The `/_sandbox/...` control API; null when the path is not one of its routes. */
  control(method: string, path: string): Reply | null;
}

/**
 * One port for all vendors. Per call: fault decided (before-processing faults answer
 * without touching vendor state), then auth, then the vendor's rate limit, then the
 * handler, then after-processing faults (lost response, malformed body).
 */
export function createSandboxServer(deps: ServerDeps): { server: Server; closeHung(): void } {
  const compiled = new Map<VendorSim, CompiledRoute[]>(deps.vendors.map((v) => [v, compileRoutes(v)]));
  const hung = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, { status: 500, body: { error: 'sandbox internal error' } });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const rawBody = await readBody(req);
    if (rawBody === null) return send(res, { status: 413, body: { error: 'request body too large' } });

    if (url.pathname.startsWith('/_sandbox/')) {
      return send(
        res,
        deps.control(method, url.pathname) ?? { status: 404, body: { error: 'unknown sandbox control route' } },
      );
    }
    const vendor = deps.vendors.find((v) => url.pathname === v.prefix || url.pathname.startsWith(`${v.prefix}/`));
    if (!vendor) return send(res, ROUTE_NOT_FOUND);

    const path = url.pathname.slice(vendor.prefix.length);
    const matched = matchRoute(compiled.get(vendor)!, method, path);
    const sreq: SandboxRequest = {
      method,
      path,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      params: matched?.params ?? {},
    };
    const entry: Omit<LedgerEntry, 'seq'> = {
      at: deps.clock.now(),
      vendor: vendor.name,
      method,
      route: matched ? vendor.prefix + matched.route.template : '(unmatched)',
      status: 0,
      authOk: null,
      subjects: requestSubjects(sreq),
      fault: null,
      rateLimitViolation: false,
      duplicates: 0,
      direction: 'inbound',
    };
    const finish = (reply: Reply | null, fault: FaultDecision | null): void => {
      if (reply?.subjects) entry.subjects = [...new Set([...entry.subjects, ...reply.subjects.map(subjectHash)])];
      if (fault && fault.kind !== 'none') entry.fault = fault.kind;
      deps.ledger.record(entry);
    };

    if (!matched) {
      // Vendor JSON only where the vendor's application answers: a path it does not serve
      // gets the web server's page, as a wrong baseUrl would in production.
      const reply = ROUTE_NOT_FOUND;
      entry.status = reply.status;
      finish(reply, null);
      return send(res, reply);
    }
    const { route } = matched;
    const fault = deps.faults.decide(vendor.name, route.name);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);

    if (fault.kind === 'reset' || fault.kind === 'timeout') {
      finish(null, fault);
      if (fault.kind === 'reset') return void req.socket.destroy();
      hung.add(req.socket);
      const timer = setTimeout(() => req.socket.destroy(), deps.maxHangMs);
      req.socket.once('close', () => {
        clearTimeout(timer);
        hung.delete(req.socket);
      });
      return;
    }
    if (fault.kind === '5xx' || fault.kind === '429' || fault.kind === 'storm') {
      const reply = fault.kind === '5xx' ? vendor.serverError(fault.status) : vendor.tooManyRequests(1);
      entry.status = reply.status;
      finish(reply, fault);
      return send(res, reply);
    }

    let limitKey = route.limitKey?.(sreq);
    if (route.auth) {
      const principal = vendor.authenticate(sreq);
      entry.authOk = principal !== null;
      if (principal === null) {
        const reply = vendor.unauthorized();
        entry.status = reply.status;
        finish(reply, fault);
        return send(res, reply);
      }
      limitKey = principal;
    }
    if (limitKey !== undefined) {
      const admission = deps.limiters.get(vendor.name)!.tryAcquire(limitKey);
      if (!admission.ok) {
        const reply = vendor.tooManyRequests(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)));
        entry.status = reply.status;
        entry.rateLimitViolation = true;
        finish(reply, fault);
        return send(res, reply);
      }
    }

    const reply = await route.handle(sreq);
    if (reply.authOk !== undefined) entry.authOk = reply.authOk;
    entry.duplicates = reply.duplicates ?? 0;
    if (fault.kind === 'lost') {
      entry.status = fault.status;
      finish(reply, fault);
      if (fault.status === 0) return void req.socket.destroy();
      return send(res, vendor.serverError(fault.status));
    }
    entry.status = reply.status;
    finish(reply, fault);
    if (fault.kind === 'malformed') return send(res, reply, true);
    send(res, reply);
  }

  return {
    server,
    closeHung() {
      for (const socket of hung) socket.destroy();
      hung.clear();
    },
  };
}

/**
 * What a web server or gateway answers for a path no application serves (nginx's page):
 * never a vendor's JSON, so that a driver with a wrong baseUrl cannot mistake it for an
 * answer about data.
 */
export const ROUTE_NOT_FOUND: Reply = {
  status: 404,
  contentType: 'text/html',
  text: '<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
};

/** Emails visible in the request itself, so that calls failing early still name their subject. */
function requestSubjects(req: SandboxRequest): string[] {
  const found: string[] = [];
  const q = req.query.get('email');
  if (q) found.push(q);
  if (req.params.email) found.push(req.params.email);
  const body = jsonBody(req);
  if (isRecord(body)) {
    if (typeof body.email === 'string') found.push(body.email);
    if (Array.isArray(body.emails)) for (const e of body.emails.slice(0, 10)) if (typeof e === 'string') found.push(e);
  }
  return [...new Set(found.filter((e) => e.includes('@')).map(subjectHash))];
}

function send(res: ServerResponse, reply: Reply, malformed = false): void {
  let text = reply.text ?? (reply.body === undefined ? '' : JSON.stringify(reply.body));
  // A body cut in half, as when a proxy drops the end of a response: never valid JSON.
  if (malformed) text = text.length > 2 ? text.slice(0, Math.floor(text.length / 2)) : '{"';
  res.writeHead(reply.status, {
    'Content-Type': reply.contentType ?? 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...reply.headers,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
