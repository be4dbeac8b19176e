import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { startListener, verifyGitHubSignature, verifyGitLabToken } from '../../controller/core/listener.ts';
import { silentLogger } from '../../controller/log.ts';

const SECRET = 'webhook-secret-for-tests';
const sign = (body: string) => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

describe('webhook and callback listener', () => {
  it('verifies GitHub signatures and GitLab tokens in constant time', { timeout: 60_000 }, () => {
    const body = Buffer.from('{"ref":"refs/heads/main"}');
    assert.equal(verifyGitHubSignature(SECRET, body, sign(body.toString())), true);
    assert.equal(verifyGitHubSignature(SECRET, body, sign('{"ref":"other"}')), false);
    assert.equal(verifyGitHubSignature(SECRET, body, 'sha1=abc'), false);
    assert.equal(verifyGitHubSignature(SECRET, body, undefined), false);
    assert.equal(verifyGitLabToken(SECRET, SECRET), true);
    assert.equal(verifyGitLabToken(SECRET, SECRET + 'x'), false);
    assert.equal(verifyGitLabToken(SECRET, undefined), false);
  });

  it('starts a pass for a signed push, refuses unsigned ones, wakes on callbacks, and rate-limits', {
    timeout: 60_000,
  }, async () => {
    const triggers: string[] = [];
    const callbacks: string[] = [];
    let now = 1_000_000;
    const l = await startListener({
      host: '127.0.0.1',
      port: 0,
      webhookSecret: SECRET,
      onTrigger: (r) => triggers.push(r),
      onCallback: (p) => callbacks.push(p),
      log: silentLogger,
      perMinute: 4,
      now: () => now,
    });
    try {
      const body = '{"ref":"refs/heads/main"}';
      const post = (headers: Record<string, string>) => fetch(`${l.url}/webhook`, { method: 'POST', body, headers });
      assert.equal((await post({ 'x-hub-signature-256': sign(body) })).status, 202);
      assert.equal((await post({ 'x-hub-signature-256': sign('tampered') })).status, 401);
      assert.equal((await post({ 'x-gitlab-token': SECRET })).status, 202);
      assert.equal((await fetch(`${l.url}/callback/qualifio/qualifio/2026-11-0043`)).status, 200);
      assert.deepEqual(triggers, ['push webhook', 'push webhook', 'vendor callback']);
      assert.deepEqual(callbacks, ['/callback/qualifio/qualifio/2026-11-0043']);
      // Four requests in this minute already: the fifth waits for the window to move.
      assert.equal((await post({ 'x-gitlab-token': SECRET })).status, 429);
      now += 60_001;
      assert.equal((await post({ 'x-gitlab-token': SECRET })).status, 202);
      assert.equal((await fetch(`${l.url}/healthz`)).status, 200);
      assert.equal((await fetch(`${l.url}/other`)).status, 404);
    } finally {
      await l.close();
    }
  });

  it('refuses every webhook when no secret is configured', { timeout: 60_000 }, async () => {
    const triggers: string[] = [];
    const l = await startListener({
      host: '127.0.0.1',
      port: 0,
      onTrigger: (r) => triggers.push(r),
      log: silentLogger,
    });
    try {
      const res = await fetch(`${l.url}/webhook`, { method: 'POST', body: '{}', headers: { 'x-gitlab-token': '' } });
      assert.equal(res.status, 401);
      assert.deepEqual(triggers, []);
    } finally {
      await l.close();
    }
  });

  it("does not start a pass for the controller's own lease renewals (refs/lethe/*), even signed", async () => {
    const triggers: string[] = [];
    const l = await startListener({
      host: '127.0.0.1',
      port: 0,
      webhookSecret: SECRET,
      onTrigger: (r) => triggers.push(r),
      log: silentLogger,
    });
    try {
      const body = '{"ref": "refs/lethe/lease","before":"0","after":"1"}';
      const res = await fetch(`${l.url}/webhook`, {
        method: 'POST',
        body,
        headers: { 'x-hub-signature-256': sign(body) },
      });
      assert.equal(res.status, 202);
      assert.match(await res.text(), /ignored/);
      assert.deepEqual(triggers, []);
    } finally {
      await l.close();
    }
  });
});
