import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../controller/contracts/log.ts';
import type { Clock } from '../../controller/http/types.ts';

export interface Hit {
  at: number;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface TestServer {
  url: string;
  hits: Hit[];
  server: Server;
  close(): Promise<void>;
}

/** A real HTTP server on 127.0.0.1 that records every request with its arrival time. */
export async function startServer(
  handle: (req: IncomingMessage, res: ServerResponse, hit: Hit, n: number) => void | Promise<void>,
): Promise<TestServer> {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const hit: Hit = {
        at,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      hits.push(hit);
      void handle(req, res, hit, hits.length);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Time moves only when the test says so; sleepers wake in due order. */
export class ManualClock implements Clock {
  #now: number;
  #sleepers: { at: number; resolve(): void }[] = [];

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const sleeper = { at: this.#now + Math.max(0, ms), resolve };
      this.#sleepers.push(sleeper);
      signal?.addEventListener(
        'abort',
        () => {
          this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await flush();
      const due = this.#sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.#now = Math.max(this.#now, due.at);
      const woken = this.#sleepers.filter((s) => s.at <= this.#now);
      this.#sleepers = this.#sleepers.filter((s) => s.at > this.#now);
      for (const s of woken) s.resolve();
    }
    this.#now = target;
    await flush();
  }
}

/** Real time plus every slept interval: sequential flows run instantly, sleeps are recorded. */
export class VirtualClock implements Clock {
  offset = 0;
  readonly slept: number[] = [];

  now(): number {
    return Date.now() + this.offset;
  }

  async sleep(ms: number): Promise<void> {
    this.slept.push(ms);
    this.offset += Math.max(0, ms);
  }
}

/** Seeded PRNG for reproducible jitter: the sandbox's mulberry32. */
export { mulberry32 as seeded } from '../../examples/sandbox/random.ts';

export interface CapturingLogger extends Logger {
  lines: string[];
}

export function capturingLogger(): CapturingLogger {
  const lines: string[] = [];
  const record = (level: string) => (msg: string, fields?: Record<string, unknown>) => {
    lines.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
  return { lines, info: record('info'), warn: record('warn'), error: record('error'), debug: record('debug') };
}

/** Checks every sliding window over arrival times: at most `limit` in any (t - ms, t]. */
export function maxInWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let max = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while (sorted[lo]! <= sorted[hi]! - windowMs) lo++;
    max = Math.max(max, hi - lo + 1);
  }
  return max;
}

/** Emails that break naive URL, JSON and header building. */
export const HOSTILE_EMAILS = [
  'jane@example.com',
  'o\'hara"quote@example.com',
  'a&b=c@example.com',
  'hash#frag@example.com',
  'per%25cent%@example.com',
  'plus+tag@example.com',
  'space and/slash?@example.com',
  'back\\slash@example.com',
  'brace{x}}@example.com',
  'jöhn.dœ+ünïcødé@exämple.com',
  'emoji😀@example.com',
  'tab\there@example.com',
];
