import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyContext, renderRequest, renderTemplate } from '../../controller/http/template.ts';
import type { LetheError } from '../../controller/errors/types.ts';
import { HOSTILE_EMAILS } from './helpers.ts';

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as LetheError).code;
  }
  return 'no error';
};

describe('renderTemplate', () => {
  it('substitutes and unescapes the seed example', () => {
    assert.equal(
      renderTemplate(
        '{{\\"email\\": \\"{email}\\"}}'.replaceAll('\\"', '"'),
        { email: 'jane@example.com' },
        'json',
        'b',
      ),
      '{"email": "jane@example.com"}',
    );
    assert.equal(
      renderTemplate('Basic {credentials}', { credentials: 'dXNlcjpwYXNz' }, 'header', 'h'),
      'Basic dXNlcjpwYXNz',
    );
    assert.equal(renderTemplate('no placeholders', {}, 'raw', 'r'), 'no placeholders');
    assert.equal(renderTemplate('', {}, 'raw', 'r'), '');
    assert.equal(renderTemplate('{{}}{{{a}}}', { a: 'x' }, 'raw', 'r'), '{}{x}');
    assert.equal(renderTemplate('{a}{a}{b_2}', { a: '1', b_2: '2' }, 'raw', 'r'), '112');
  });

  it('encodes URL values so the value stays one component', () => {
    for (const email of HOSTILE_EMAILS) {
      const url = new URL(renderTemplate('https://api.acme.com/v0/u/{email}?email={email}&x=1', { email }, 'url', 'u'));
      assert.equal(url.searchParams.get('email'), email);
      assert.equal(url.searchParams.get('x'), '1');
      assert.equal([...url.searchParams.keys()].length, 2);
      assert.equal(decodeURIComponent(url.pathname.split('/')[3]!), email);
      assert.equal(url.hash, '');
    }
  });

  it('escapes JSON string content so the body parses back to the value', () => {
    for (const email of [...HOSTILE_EMAILS, 'line\nbreak@example.com', '\u2028sep@example.com', 'nul\0@example.com']) {
      const body = renderTemplate('{{"email": "{email}", "n": 1}}', { email }, 'json', 'b');
      assert.deepEqual(JSON.parse(body), { email, n: 1 });
    }
  });

  it('encodes form values', () => {
    const email = 'a+b&c=d@example.com';
    assert.equal(new URLSearchParams(renderTemplate('email={email}', { email }, 'form', 'f')).get('email'), email);
  });

  it('rejects CR, LF and NUL in header values, naming the placeholder and not the value', () => {
    for (const bad of ['x\r\nX-Injected: 1', 'x\ny', 'x\ry', 'x\0y']) {
      try {
        renderTemplate('Bearer {credentials}', { credentials: bad }, 'header', 'queries.test[0].headers.Authorization');
        assert.fail('accepted');
      } catch (err) {
        const e = err as LetheError;
        assert.equal(e.code, 'TEMPLATE_HEADER_INJECTION');
        assert.match(e.message, /credentials/);
        assert.match(e.message, /queries\.test\[0\]\.headers\.Authorization/);
        assert.ok(!e.message.includes('Injected') && !e.message.includes(bad));
      }
    }
    assert.equal(
      code(() => renderTemplate('a\nb', {}, 'header', 'h')),
      'TEMPLATE_HEADER_INJECTION',
    );
    assert.equal(renderTemplate('{v}', { v: 'tab\tok' }, 'header', 'h'), 'tab\tok');
  });

  it('names an unknown placeholder, never the values', () => {
    try {
      renderTemplate('https://x/{emial}', { email: 'jane@example.com' }, 'url', 'queries.access[0].url');
      assert.fail('accepted');
    } catch (err) {
      const e = err as LetheError;
      assert.equal(e.code, 'TEMPLATE_UNKNOWN_PLACEHOLDER');
      assert.match(e.message, /emial/);
      assert.ok(!e.message.includes('jane'));
    }
    assert.equal(
      code(() => renderTemplate('{toString}', {}, 'raw', 'r')),
      'TEMPLATE_UNKNOWN_PLACEHOLDER',
    );
    assert.equal(
      code(() => renderTemplate('{__proto__}', {}, 'raw', 'r')),
      'TEMPLATE_UNKNOWN_PLACEHOLDER',
    );
  });

  it('reports syntax errors with positions', () => {
    for (const bad of ['{', 'a{b', '}', 'a}b', '{}', '{ email }', '{1x}', '{a-b}', '{{{', '{a}}']) {
      assert.equal(
        code(() => renderTemplate(bad, { a: 'x', email: 'e' }, 'raw', 'r')),
        'TEMPLATE_SYNTAX',
        bad,
      );
    }
  });

  it('does not re-interpret braces inside substituted values', () => {
    assert.equal(renderTemplate('{a}', { a: '{b}' }, 'raw', 'r'), '{b}');
  });
});

describe('bodyContext and renderRequest', () => {
  it('chooses the encoding from the content type, else from the body shape', () => {
    assert.equal(bodyContext('application/json', 'x'), 'json');
    assert.equal(bodyContext('application/vnd.api+json; charset=utf-8', 'x'), 'json');
    assert.equal(bodyContext('application/x-www-form-urlencoded', 'x'), 'form');
    assert.equal(bodyContext('text/plain', '{{}}'), 'raw');
    assert.equal(bodyContext(undefined, '  {{"a": 1}}'), 'json');
    assert.equal(bodyContext(undefined, '[{{"a": "{email}"}}]'), 'json');
    assert.equal(bodyContext(undefined, 'email={email}'), 'raw');
  });

  it('renders the seed delete query', () => {
    const r = renderRequest(
      {
        url: 'https://api.acme.com/v0/users?email={email}',
        headers: { Authorization: 'Basic {credentials}', 'Content-Type': 'application/json' },
        body: '{{"email": "{email}"}}',
      },
      { email: 'o"h&a@example.com', credentials: 'c2VjcmV0' },
      'queries.delete[0]',
    );
    assert.equal(r.url, 'https://api.acme.com/v0/users?email=o%22h%26a%40example.com');
    assert.deepEqual(r.headers, { Authorization: 'Basic c2VjcmV0', 'Content-Type': 'application/json' });
    assert.deepEqual(JSON.parse(r.body!), { email: 'o"h&a@example.com' });
    assert.equal(renderRequest({ url: 'https://x/' }, {}, 'q').body, undefined);
  });
});
