import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HttpLayer } from '../../controller/http/layer.ts';
import { startServer, type TestServer } from './helpers.ts';

describe('beforeSend', () => {
  let server: TestServer;
  let layer: HttpLayer;
  before(async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
    layer = await HttpLayer.open();
  });
  after(async () => {
    await layer.close();
    await server.close();
  });

  it('runs once the rate-limit slot is granted, before the request reaches the vendor', async () => {
    const http = layer.vendor({
      vendor: 'v',
      limit: { key: 'bs', windows: [{ limit: 1, perSeconds: 1 }] },
      secrets: [],
    });
    const events: string[] = [];
    const call = (name: string) =>
      http.request({
        method: 'POST',
        url: `${server.url}/${name}`,
        safe: false,
        beforeSend: async () => {
          events.push(`${name}: slot granted, ${server.hits.length} requests seen by the vendor`);
        },
      });
    const started = Date.now();
    await Promise.all([call('first'), call('second')]);
    assert.deepEqual(events, [
      'first: slot granted, 0 requests seen by the vendor',
      'second: slot granted, 1 requests seen by the vendor',
    ]);
    assert.ok(server.hits[1]!.at - started >= 1000, 'the second waited for its slot before beforeSend ran');
  });

  it('aborts the call without sending anything when it throws', async () => {
    const http = layer.vendor({
      vendor: 'v',
      limit: { key: 'bs2', windows: [{ limit: 10, perSeconds: 1 }] },
      secrets: [],
    });
    const before = server.hits.length;
    await assert.rejects(
      http.request({
        method: 'POST',
        url: `${server.url}/x`,
        safe: false,
        beforeSend: async () => Promise.reject(new Error('journal full')),
      }),
      /journal full/,
    );
    assert.equal(server.hits.length, before);
    // The slot was released: the next call goes through.
    assert.equal((await http.request({ method: 'GET', url: `${server.url}/y`, safe: true })).status, 200);
  });
});
