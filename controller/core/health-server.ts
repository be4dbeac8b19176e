import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { coreErrors } from './errors.ts';

export interface HealthServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** Why the controller is not ready (standing by, no recent successful pass), or undefined when it is. */
  notReady(): string | undefined;
}

/**
 * `lethe run --metrics-listen`: GET /metrics (Prometheus text), GET /healthz (the process
 * serves: liveness) and GET /readyz (it holds the lease and its last pass succeeded
 * recently: readiness). Separate from the webhook listener so it can stay on a private
 * address while webhooks face the internet; it serves nothing personal.
 */
export async function startHealthServer(o: HealthServerOptions): Promise<{ url: string; close(): Promise<void> }> {
  const reply = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed\n');
    if (path === '/healthz') return reply(res, 200, 'ok\n');
    if (path === '/readyz') {
      const why = o.notReady();
      return why === undefined ? reply(res, 200, 'ready\n') : reply(res, 503, `not ready: ${why}\n`);
    }
    if (path === '/metrics') return reply(res, 200, await o.registry.metrics(), o.registry.contentType);
    reply(res, 404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        coreErrors.error(
          'METRICS_LISTEN_FAILED',
          { address: `${o.host}:${o.port}`, reason: err.code ?? 'error' },
          { cause: err },
        ),
      ),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
