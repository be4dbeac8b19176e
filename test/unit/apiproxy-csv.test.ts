import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvField, flatten, reportFiles, toCsv, type JsonObject } from '../../controller/vendors/apiproxy/csv.ts';

describe('apiproxy report flattening (seed 002 report_N.csv)', () => {
  it('the seed example: nested keys joined with _, array items suffixed _0, _1', () => {
    const files = reportFiles([
      { first_name: 'Peter', last_name: 'Gibbons', company: 'Initech', friends: ['Samir', 'Michael'] },
      {
        address_type: 'Home',
        address: { street: '191 N. Lamar', city: 'Flander', state: 'Illinois', zip_code: '77070' },
      },
    ]);
    assert.deepEqual(
      files.map((f) => f.name),
      ['report_1.csv', 'report_2.csv'],
    );
    assert.equal(
      files[0]!.content.toString('utf8'),
      'first_name, Peter\nlast_name, Gibbons\ncompany, Initech\nfriends_0, Samir\nfriends_1, Michael\n',
    );
    assert.equal(
      files[1]!.content.toString('utf8'),
      'address_type, Home\naddress_street, 191 N. Lamar\naddress_city, Flander\naddress_state, Illinois\naddress_zip_code, 77070\n',
    );
  });

  it('deeply nested objects', () => {
    assert.deepEqual(flatten({ a: { b: { c: { d: 1 } } } }), [['a_b_c_d', '1']]);
  });

  it('arrays of arrays', () => {
    assert.deepEqual(flatten({ m: [[1, 2], [3], []] }), [
      ['m_0_0', '1'],
      ['m_0_1', '2'],
      ['m_1_0', '3'],
      ['m_2', '[]'],
    ]);
  });

  it('arrays of objects', () => {
    assert.deepEqual(flatten({ orders: [{ id: 7, items: [{ sku: 'A' }] }, { id: 8 }] }), [
      ['orders_0_id', '7'],
      ['orders_0_items_0_sku', 'A'],
      ['orders_1_id', '8'],
    ]);
  });

  it('null, booleans and numbers', () => {
    assert.deepEqual(flatten({ n: null, t: true, f: false, i: 42, neg: -1.5, exp: 1e21, zero: 0 }), [
      ['n', ''],
      ['t', 'true'],
      ['f', 'false'],
      ['i', '42'],
      ['neg', '-1.5'],
      ['exp', '1e+21'],
      ['zero', '0'],
    ]);
    assert.equal(toCsv({ n: null }), 'n, \n');
  });

  it('empty objects and arrays stay visible; an empty top-level object gives an empty file', () => {
    assert.deepEqual(flatten({ prefs: {}, tags: [], nested: { e: {} } }), [
      ['prefs', '{}'],
      ['tags', '[]'],
      ['nested_e', '{}'],
    ]);
    assert.equal(toCsv({}), '');
    assert.equal(reportFiles([{}])[0]!.content.length, 0);
  });

  it('unicode is written as UTF-8 without BOM, unquoted', () => {
    const csv = toCsv({ prénom: 'Zoë', city: '東京', emoji: '🙂' });
    assert.equal(csv, 'prénom, Zoë\ncity, 東京\nemoji, 🙂\n');
    const bytes = reportFiles([{ city: '東京' }])[0]!.content;
    assert.notEqual(bytes[0], 0xef);
    assert.equal(bytes.toString('utf8'), 'city, 東京\n');
  });

  it('keys and values with commas, quotes, CR/LF or edge white space are quoted RFC 4180-style', () => {
    assert.equal(toCsv({ 'last, first': 'Gibbons, Peter' }), '"last, first", "Gibbons, Peter"\n');
    assert.equal(toCsv({ quote: 'say "hi"' }), 'quote, "say ""hi"""\n');
    assert.equal(toCsv({ note: 'line1\nline2' }), 'note, "line1\nline2"\n');
    assert.equal(toCsv({ note: 'a\r\nb' }), 'note, "a\r\nb"\n');
    assert.equal(toCsv({ pad: ' x ' }), 'pad, " x "\n');
    assert.equal(toCsv({ 'a"b': 1 }), '"a""b", 1\n');
    assert.equal(csvField(''), '');
    assert.equal(csvField('plain text'), 'plain text');
  });

  it('nested keys with commas are quoted once, after joining', () => {
    assert.equal(toCsv({ 'a,b': { c: 'd' } }), '"a,b_c", d\n');
  });

  it('colliding flattened keys are all kept, in order', () => {
    assert.deepEqual(flatten({ a_b: 1, a: { b: 2 } }), [
      ['a_b', '1'],
      ['a_b', '2'],
    ]);
  });

  it('report numbering runs across all objects given', () => {
    const objs: JsonObject[] = [{ a: 1 }, { b: 2 }, { c: 3 }];
    assert.deepEqual(
      reportFiles(objs).map((f) => f.name),
      ['report_1.csv', 'report_2.csv', 'report_3.csv'],
    );
    assert.deepEqual(reportFiles([]), []);
  });

  it('a string that looks like a number or JSON stays a string', () => {
    assert.deepEqual(flatten({ zip: '07070', obj: '{}', arr: '[]' }), [
      ['zip', '07070'],
      ['obj', '{}'],
      ['arr', '[]'],
    ]);
  });
});
