import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HttpLayer } from '../../controller/http/layer.ts';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { maxInWindow, startServer } from './helpers.ts';

async function stampServer(): Promise<{ url: string; close(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('fixtures/stamp-server.mjs', import.meta.url))], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  return {
    url: `http://127.0.0.1:${chunk.toString().trim()}`,
    close: async () => {
      child.kill();
      await once(child, 'exit');
    },
  };
}

describe('rate limit at the vendor (real time, real server)', () => {
  it('50 concurrent callers never exceed any window as the server sees it', async () => {
    const server = await stampServer();
    await fetch(`${server.url}/__arrivals`); // warm the server up: its first answers are slow
    // The margin must exceed the jitter between our socket write and the server's clock;
    // a loaded test machine (two suites at once, cold connections) needs more than 20 ms.
    const layer = await HttpLayer.open({
      rateLogPath: join(await mkdtemp(join(tmpdir(), 'lethe-rl-')), 'rate-log.json'),
      marginMs: 50,
    });
    try {
      const windows = [
        { limit: 4, perSeconds: 0.25 },
        { limit: 20, perSeconds: 1.5 },
      ];
      const http = layer.vendor({ vendor: 'acme', limit: { key: 'acme:1', windows }, secrets: [] });
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          http.request({
            method: i % 2 ? 'GET' : 'DELETE',
            url: `${server.url}/c${i}`,
            safe: i % 2 === 1,
            priority: i,
          }),
        ),
      );
      assert.ok(answers.every((r) => r.status === 200));
      const arrivals = (await (await fetch(`${server.url}/__arrivals`)).json()) as number[];
      assert.equal(arrivals.length, 50);
      // Nominal windows, without the layer's safety margin: the limit as the vendor counts it.
      assert.ok(maxInWindow(arrivals, 250) <= 4, `per 250 ms: ${maxInWindow(arrivals, 250)}`);
      assert.ok(maxInWindow(arrivals, 1_500) <= 20, `per 1.5 s: ${maxInWindow(arrivals, 1_500)}`);
    } finally {
      await layer.close();
      await server.close();
    }
  });

  it('a restarted layer waits for the calls its predecessor made', async () => {
    const server = await startServer((_req, res) => void res.end('{}'));
    const path = join(await mkdtemp(join(tmpdir(), 'lethe-rl-')), 'rate-log.json');
    const limit = { key: 'maestroqa:abcd', windows: [{ limit: 2, perSeconds: 1 }] };
    try {
      const first = await HttpLayer.open({ rateLogPath: path });
      const a = first.vendor({ vendor: 'maestroqa', limit, secrets: [] });
      await a.request({ method: 'GET', url: `${server.url}/1`, safe: true });
      await a.request({ method: 'GET', url: `${server.url}/2`, safe: true });
      await first.close();

      const second = await HttpLayer.open({ rateLogPath: path });
      const b = second.vendor({ vendor: 'maestroqa', limit, secrets: [] });
      await b.request({ method: 'GET', url: `${server.url}/3`, safe: true });
      await second.close();
      const [t1, , t3] = server.hits.map((h) => h.at);
      assert.ok(t3! - t1! >= 1_000, `third call ${t3! - t1!} ms after the first`);
    } finally {
      await server.close();
    }
  });
});
