import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSensitiveHeader, REDACTED, redact, redactFields, redactHeaders } from '../../controller/http/redact.ts';

describe('redact', () => {
  it('removes secrets in raw, URL-encoded and JSON-escaped forms', () => {
    const secret = 'tok/en+"x"==';
    const text = `a ${secret} b ${encodeURIComponent(secret)} c ${JSON.stringify(secret)}`;
    const out = redact(text, [secret]);
    assert.ok(!out.includes('tok'), out);
  });
  it('removes a longer secret whole when it contains a shorter one', () => {
    assert.equal(redact('x abcdefgh y', ['abcd', 'abcdefgh']), `x ${REDACTED} y`);
  });
  it('ignores empty and very short secrets', () => {
    assert.equal(redact('a b c', ['', 'a']), 'a b c');
  });
  it('removes emails, also percent-encoded and unicode ones, and keeps the rest readable', () => {
    for (const email of [
      'jane@example.com',
      'plus+tag@example.co.uk',
      "o'hara@example.com",
      'jöhn@exämple.com',
      'JANE@EXAMPLE.COM',
    ]) {
      assert.ok(!redact(`user ${email} failed`, []).includes(email), email);
      const enc = encodeURIComponent(email);
      assert.ok(!redact(`GET /u?email=${enc}&x=1`, []).includes(enc), enc);
    }
    assert.equal(
      redact('GET https://api.acme.com/v0/users?email=jane@example.com&x=1'),
      `GET https://api.acme.com/v0/users?email=${REDACTED}&x=1`,
    );
    assert.equal(redact('status 503 from https://api.acme.com'), 'status 503 from https://api.acme.com');
  });
});

describe('header and field redaction', () => {
  it('recognises credential headers whatever the vendor calls them', () => {
    for (const h of [
      'apitoken',
      'x-api-token',
      'Authorization',
      'proxy-authorization',
      'X-API-Key',
      'cookie',
      'x-client-secret',
      'X-Auth-Token',
    ]) {
      assert.ok(isSensitiveHeader(h), h);
    }
    for (const h of ['content-type', 'accept', 'user-agent', 'x-request-id']) assert.ok(!isSensitiveHeader(h), h);
  });
  it('redacts header values and nested log fields', () => {
    assert.deepEqual(redactHeaders({ apitoken: 'abc', accept: 'json', 'x-note': 'for jane@example.com' }), {
      apitoken: REDACTED,
      accept: 'json',
      'x-note': `for ${REDACTED}`,
    });
    assert.deepEqual(
      redactFields({ a: 'jane@example.com', n: 3, nested: { list: ['s3cr3tvalue', 1] } }, ['s3cr3tvalue']),
      {
        a: REDACTED,
        n: 3,
        nested: { list: [REDACTED, 1] },
      },
    );
  });
});
