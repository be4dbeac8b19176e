/**
 * The status emitter (controller/core/status-yaml-emit.ts) against `yaml.stringify` with
 * the same options: whatever the value, the bytes are the same, whether the fast path or the
 * fallback wrote them. A status file that changed bytes without changing content would be
 * rewritten (a commit with no news) and would no longer match what earlier versions wrote.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { canonical } from '../../controller/core/canonical.ts';
import { fastStatusYaml, STATUS_YAML_OPTIONS, stringifyStatusYaml } from '../../controller/core/status-yaml-emit.ts';
import { computeStatus, renderStatus } from '../../controller/core/status.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { erasureTask, statusInput } from '../support/status-input.ts';

const same = (value: unknown) => assert.equal(stringifyStatusYaml(value), stringify(value, STATUS_YAML_OPTIONS));

// Strings a YAML writer must treat with care: indicators, document markers, numbers, booleans, nulls, quotes.
const tricky = fc.constantFrom(
  '',
  ' ',
  'a ',
  ' a',
  '-',
  '- a',
  '-a',
  '?',
  '? a',
  ':',
  'a:',
  'a: b',
  'a:b',
  '#',
  'a #b',
  'a#b',
  '---',
  '--- a',
  '...',
  '%YAML',
  '@x',
  '`x',
  '!x',
  '&x',
  '*x',
  '|',
  '>',
  "'",
  '"',
  `a"b`,
  `a'b`,
  `a'"b`,
  `'a"b`,
  `"a'b`,
  `x: "y"`,
  `- it's`,
  'a\\b',
  '"a\\b"',
  '[a]',
  '{a}',
  'a,b',
  'true',
  'True',
  'TRUE',
  'false',
  'yes',
  'no',
  'on',
  'null',
  'Null',
  'NULL',
  '~',
  '0',
  '-1',
  '+1',
  '1.5',
  '1e3',
  '.5',
  '0x1F',
  '0o17',
  '.inf',
  '-.Inf',
  '.nan',
  '12e45',
  '2026-11-20',
  '2026-11-21T09:00:00.000Z',
  'a\nb',
  'a\tb',
  'é',
  'Zoë',
  '\u2028',
  '\u0085',
  '\x7f',
  'x\x00',
  'a  b',
  'merged into main: 0 of 1',
  'http://127.0.0.1:9/x',
  'c:\\path',
);
const text = fc.oneof(
  tricky,
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.string({ unit: 'binary', maxLength: 8 }),
);
const key = fc.oneof(
  fc.constantFrom(
    'phase',
    'a-b',
    'mq-us',
    'x.y',
    'a/b',
    '_k',
    'true',
    'null',
    'NULL',
    'Yes',
    '1',
    '-a',
    'a b',
    'a:',
    '',
  ),
  fc.string({ maxLength: 6 }),
);
const scalar = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 2 ** 53, Number.MAX_SAFE_INTEGER, true, false, null, undefined),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, scalar, tie('map'), tie('seq')),
  map: fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
  seq: fc.array(tie('tree'), { maxLength: 4 }),
}));

describe('status YAML emitter: the same bytes as yaml.stringify', () => {
  it('for arbitrary mappings of scalars, mappings and sequences', () => {
    fc.assert(fc.property(fc.dictionary(key, tree, { minKeys: 1, maxKeys: 6 }), same), { numRuns: 3000 });
  });

  it('for any top-level value, empty and odd ones included', () => {
    fc.assert(fc.property(tree, same), { numRuns: 1000 });
  });

  it('for every tricky string as a value, a sequence item and inside a sequence item', () => {
    fc.assert(
      fc.property(tricky, (s) => {
        same({ k: s });
        same({ k: [s, { a: s, b: [s] }] });
        same({ k: { n: { m: s } } });
      }),
      { numRuns: 500 },
    );
  });

  it('takes the fast path for rendered statuses (pending, stalled with a quoted message, completed with evidence), with the same bytes', () => {
    const docs = [
      computeStatus(statusInput('2026-11-0001', ['a', 'b'])),
      computeStatus(
        statusInput('2026-11-0002', ['a'], {
          tasks: {
            a: erasureTask('2026-11-0002', 'a', {
              phase: 'Stalled',
              lastError: { code: 'MAESTROQA_AUTH', message: 'vendor said: "no" (401)' },
            }),
          },
        }),
      ),
      computeStatus(
        statusInput('2026-11-0003', ['a'], {
          tasks: {
            a: erasureTask('2026-11-0003', 'a', {
              phase: 'Completed',
              outcome: 'Erased',
              jobIds: ['12345', 'a1b2'],
              evidence: { status: 'true', deletedAt: '2026-11-22T00:00:00Z' },
            }),
          },
        }),
      ),
    ];
    for (const doc of docs) {
      const value = canonical(PrivacyRequestStatus, doc);
      const fast = fastStatusYaml(value);
      assert.ok(fast !== undefined, `fast path refused ${doc.metadata.name}`);
      assert.equal(fast, stringify(value, STATUS_YAML_OPTIONS));
      assert.ok(renderStatus(doc).endsWith(fast));
    }
  });
});
