import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../contracts/log.ts';

export interface ListenerOptions {
  host: string;
  port: number;
  /** Shared secret of push webhooks (GitHub HMAC-SHA256 signature, GitLab token). Without it webhooks are refused. */
  webhookSecret?: string;
  /** A pass is wanted: a verified push, or a vendor saying a job finished. */
  onTrigger(reason: string): void;
  /** A vendor called back (`GET /callback/...`): the path names the task, the caller decides. */
  onCallback?(path: string): void;
  log: Logger;
  /** Accepted webhook/callback requests per minute; beyond that 429 (a pass per second is plenty). */
  perMinute?: number;
  now?(): number;
}

const MAX_BODY = 1024 * 1024;

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC of the raw body>`. Constant-time comparison. */
export function verifyGitHubSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header?.startsWith('sha256=')) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(body).digest('hex'));
  const given = Buffer.from(header.slice(7));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** GitLab sends the secret itself in `X-Gitlab-Token`. */
export function verifyGitLabToken(secret: string, header: string | undefined): boolean {
  if (header === undefined) return false;
  const a = Buffer.from(secret);
  const b = Buffer.from(header);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * What a verified GitHub delivery asks for. A push moves a branch; a pull-request review can
 * decide approval in github-review mode: both start a pass. `ping` (sent when the hook is
 * created) is answered, other events are acknowledged and ignored. No `X-GitHub-Event`
 * header: a GitLab push or a plain trigger.
 */
export function githubEvent(
  event: string | undefined,
  body: Buffer,
): { status: number; message: string; trigger?: string } {
  if (event === undefined) return { status: 202, message: 'pass scheduled', trigger: 'push webhook' };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return { status: 400, message: 'a GitHub webhook body must be JSON (content type application/json)' };
  }
  if (typeof payload !== 'object' || payload === null)
    return { status: 400, message: 'a GitHub webhook body must be a JSON object' };
  if (event === 'ping') return { status: 200, message: 'pong' };
  if (event === 'push') return { status: 202, message: 'pass scheduled', trigger: 'push webhook' };
  if (event === 'pull_request_review')
    return { status: 202, message: 'pass scheduled', trigger: 'pull request review webhook' };
  return { status: 202, message: `event ${event.slice(0, 40)} ignored` };
}

/**
 * `lethe run --listen`: push webhooks start a pass at once, and vendor callbacks (a driver
 * that declares `callbackTask`, called when vendor-side work is ready) wake the loop. Polling stays the
 * fallback, so a lost webhook only costs time. Nothing a caller sends is logged.
 */
export async function startListener(
  o: ListenerOptions,
): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const now = o.now ?? Date.now;
  const limit = o.perMinute ?? 60;
  const hits: number[] = [];
  const allow = () => {
    const t = now();
    while (hits.length > 0 && hits[0]! <= t - 60_000) hits.shift();
    if (hits.length >= limit) return false;
    hits.push(t);
    return true;
  };
  const reply = (res: ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(message + '\n');
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://listener').pathname;
    if (req.method === 'GET' && path === '/healthz') return reply(res, 200, 'ok');
    if (!allow()) return reply(res, 429, 'too many requests');
    if (req.method === 'GET' && path.startsWith('/callback/')) {
      o.log.info('vendor callback received', { route: 'callback' });
      o.onCallback?.(path);
      o.onTrigger('vendor callback');
      return reply(res, 200, 'ok');
    }
    if (req.method === 'POST' && path === '/webhook') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY) return reply(res, 413, 'payload too large');
        chunks.push(chunk as Buffer);
      }
      const body = Buffer.concat(chunks);
      const secret = o.webhookSecret;
      const github = req.headers['x-hub-signature-256'];
      const gitlab = req.headers['x-gitlab-token'];
      const ok =
        secret !== undefined &&
        (verifyGitHubSignature(secret, body, Array.isArray(github) ? github[0] : github) ||
          verifyGitLabToken(secret, Array.isArray(gitlab) ? gitlab[0] : gitlab));
      if (!ok) {
        o.log.warn('webhook refused: bad or missing signature', { route: 'webhook' });
        return reply(res, 401, 'signature verification failed');
      }
      // The controller's own lease renewals (refs/lethe/lease) are pushes too: they change nothing to reconcile.
      if (/"ref"\s*:\s*"refs\/lethe\//.test(body.toString('utf8'))) return reply(res, 202, 'ignored: not a branch');
      const event = req.headers['x-github-event'];
      const decision = githubEvent(Array.isArray(event) ? event[0] : event, body);
      if (decision.status !== 202 || decision.trigger === undefined)
        return reply(res, decision.status, decision.message);
      o.onTrigger(decision.trigger);
      return reply(res, 202, 'pass scheduled');
    }
    reply(res, 404, 'not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
