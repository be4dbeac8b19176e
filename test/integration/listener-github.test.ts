import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startListener } from '../../controller/core/listener.ts';
import { silentLogger } from '../../controller/log.ts';

// GitHub's own recorded deliveries (@octokit/webhooks-examples), sent as GitHub sends them.
const EXAMPLES = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../node_modules/@octokit/webhooks-examples/api.github.com/index.json', import.meta.url)),
    'utf8',
  ),
) as Array<{ name: string; examples: unknown[] }>;
const examplesOf = (name: string) => EXAMPLES.find((e) => e.name === name)!.examples;
const SECRET = 'github-webhook-secret';
const sign = (body: string, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

describe('GitHub webhooks: real pull_request_review and push deliveries', () => {
  it('starts a pass for each signed delivery, refuses forged or tampered ones', async () => {
    const triggers: string[] = [];
    const l = await startListener({
      host: '127.0.0.1',
      port: 0,
      webhookSecret: SECRET,
      onTrigger: (r) => triggers.push(r),
      log: silentLogger,
      perMinute: 1000,
    });
    try {
      const deliver = (event: string, body: string, signature: string) =>
        fetch(`${l.url}/webhook`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-github-event': event,
            'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
            'x-hub-signature-256': signature,
            'user-agent': 'GitHub-Hookshot/044aadd',
          },
        });
      const reviews = examplesOf('pull_request_review');
      const pushes = examplesOf('push');
      assert.ok(reviews.length >= 3 && pushes.length >= 3);
      for (const payload of reviews) {
        const body = JSON.stringify(payload);
        assert.equal((await deliver('pull_request_review', body, sign(body))).status, 202);
      }
      for (const payload of pushes) {
        const body = JSON.stringify(payload, null, 2);
        assert.equal((await deliver('push', body, sign(body))).status, 202);
      }
      assert.equal(triggers.filter((t) => t === 'pull request review webhook').length, reviews.length);
      assert.equal(triggers.filter((t) => t === 'push webhook').length, pushes.length);

      const before = triggers.length;
      const body = JSON.stringify(reviews[0]);
      assert.equal((await deliver('pull_request_review', body, sign(body, 'not-the-secret'))).status, 401, 'forged');
      assert.equal(
        (
          await deliver(
            'pull_request_review',
            body.replace('"APPROVED"', '"approved"').replace('submitted', 'edited'),
            sign(body),
          )
        ).status,
        401,
        'tampered',
      );
      assert.equal((await deliver('pull_request_review', body, '')).status, 401, 'unsigned');
      assert.equal((await deliver('pull_request_review', 'not json', sign('not json'))).status, 400);
      assert.equal(
        (await deliver('ping', '{"zen":"Keep it logically awesome."}', sign('{"zen":"Keep it logically awesome."}')))
          .status,
        200,
      );
      assert.equal((await deliver('issues', '{"action":"opened"}', sign('{"action":"opened"}'))).status, 202);
      assert.equal(triggers.length, before, 'nothing else started a pass');
    } finally {
      await l.close();
    }
  });
});
