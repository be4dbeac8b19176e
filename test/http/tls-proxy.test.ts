import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HttpLayer } from '../../controller/http/layer.ts';
import { HttpError } from '../../controller/http/errors.ts';

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const limit = { key: 'tls:1', windows: [{ limit: 100, perSeconds: 1 }] };

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('TLS verification and proxies', () => {
  it('verifies TLS by default and skips verification only where the vendor config says so', {
    skip: !hasOpenssl && 'openssl missing',
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-tls-'));
    const gen = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
    ]);
    assert.equal(gen.status, 0, String(gen.stderr));
    const server = createHttpsServer(
      { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) },
      (_req, res) => res.end('{"ok":true}'),
    );
    const port = await listen(server);
    const layer = await HttpLayer.open({ retry: { baseDelayMs: 1 } });
    try {
      const strict = layer.vendor({ vendor: 'strict', limit, secrets: [] });
      const err = await strict
        .request({ method: 'POST', url: `https://127.0.0.1:${port}/`, safe: false })
        .catch((e: unknown) => e);
      assert.ok(err instanceof HttpError);
      assert.equal(err.code, 'HTTP_TLS');
      assert.equal(err.terminal, true);
      assert.equal(err.maybeDelivered, false);
      assert.equal(err.attempts, 1, 'a certificate problem is not retried');

      const lax = layer.vendor({ vendor: 'lax', limit, secrets: [], verifyTls: false });
      assert.equal((await lax.request({ method: 'GET', url: `https://127.0.0.1:${port}/`, safe: true })).status, 200);
      // Per call, as DataGrail's per-query verify_ssl.
      assert.equal(
        (await strict.request({ method: 'GET', url: `https://127.0.0.1:${port}/`, safe: true, verifyTls: false }))
          .status,
        200,
      );
    } finally {
      await layer.close();
      server.closeAllConnections();
      server.close();
    }
  });

  it('goes through the configured proxy, except for NO_PROXY hosts', async () => {
    const target = createServer((req, res) => res.end(JSON.stringify({ host: req.headers.host })));
    const targetPort = await listen(target);
    let tunnels = 0;
    const proxy = createServer((_req, res) => res.writeHead(502).end());
    proxy.on('connect', (req, socket) => {
      tunnels++;
      // The proxy alone knows the made-up host: reaching it proves the proxy was used.
      const upstream = connect(targetPort, '127.0.0.1', () => {
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(socket);
        socket.pipe(upstream);
      });
      upstream.on('error', () => socket.destroy());
      assert.match(req.url ?? '', /^vendor\.lethe-test\.invalid:/);
    });
    const proxyPort = await listen(proxy);
    const layer = await HttpLayer.open({ proxy: { httpProxy: `http://127.0.0.1:${proxyPort}`, noProxy: '127.0.0.1' } });
    try {
      const http = layer.vendor({ vendor: 'proxied', limit, secrets: [] });
      const viaProxy = await http.request({
        method: 'GET',
        url: `http://vendor.lethe-test.invalid:${targetPort}/x`,
        safe: true,
      });
      assert.equal(viaProxy.status, 200);
      assert.equal(tunnels, 1);
      const direct = await http.request({ method: 'GET', url: `http://127.0.0.1:${targetPort}/y`, safe: true });
      assert.equal(direct.status, 200);
      assert.equal(tunnels, 1, 'NO_PROXY host went direct');
    } finally {
      await layer.close();
      for (const s of [target, proxy]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });
});
