import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { absentAt, presentAt, type Sandbox } from '../../examples/sandbox/index.ts';
import type { ManualClock } from '../../examples/sandbox/clock.ts';
import { authHeaders, basic, call, manualSandbox } from './helpers.ts';

describe('sandbox: acme user service (API Proxy contract, seed 002)', () => {
  let sb: Sandbox;
  let clock: ManualClock;
  before(async () => ({ sb, clock } = await manualSandbox()));
  after(() => sb.stop());

  const a = (method: string, path: string, json?: unknown, headers = authHeaders(sb, 'acme')) => {
    clock.advance(100);
    return call(sb, method, `/acme/v0${path}`, { headers, json });
  };
  const [present, other] = presentAt('acme');
  const absent = absentAt('acme')[0]!;

  it('health check 200; 401 without or with wrong Basic credentials', async () => {
    assert.equal((await a('GET', '/health-check')).status, 200);
    assert.equal((await a('GET', '/health-check', undefined, {})).status, 401);
    assert.equal((await a('GET', '/health-check', undefined, { authorization: basic('lethe', 'wrong') })).status, 401);
    // The {credentials} value the config publishes is what a DataGrail connection sends.
    const cred = String(sb.config.vendors.acme.credentials.credentials);
    assert.equal((await a('GET', '/health-check', undefined, { authorization: `Basic ${cred}` })).status, 200);
  });

  it('identifiers: [{primary_phone_number}] for a subject, [] for an absent one, 400 without email', async () => {
    const r = await a('GET', `/identifiers/get-phone?email=${encodeURIComponent(present!.email)}`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, [{ primary_phone_number: present!.phone }]);
    assert.deepEqual((await a('GET', `/identifiers/get-phone?email=${encodeURIComponent(absent.email)}`)).json, []);
    assert.equal((await a('GET', '/identifiers/get-phone')).status, 400);
  });

  it('access: an array of objects with nested objects and arrays', async () => {
    const r = await a('GET', `/users?email=${encodeURIComponent(present!.email)}`);
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.json) && r.json.length === 2);
    assert.ok(Array.isArray(r.json[0].friends));
    assert.equal(typeof r.json[1].address, 'object');
    assert.equal(r.json[0].email, present!.email);
    assert.deepEqual((await a('GET', `/users?email=${encodeURIComponent(absent.email)}`)).json, []);
  });

  it('optout flips the flag (200), 404 for an absent subject, 400 for a bad body', async () => {
    assert.equal((await a('PUT', '/users/optout', { email: other!.email })).status, 200);
    assert.equal((await a('GET', `/users?email=${encodeURIComponent(other!.email)}`)).json[0].marketing_opt_out, true);
    assert.equal((await a('PUT', '/users/optout', { email: absent.email })).status, 404);
    assert.equal((await a('PUT', '/users/optout', { mail: 'x' })).status, 400);
  });

  it('delete: 200 then gone; 404 for absent; a repeat counts as a duplicate; 400 for a bad body', async () => {
    assert.equal((await a('DELETE', '/users', { email: present!.email })).status, 200);
    assert.deepEqual((await a('GET', `/users?email=${encodeURIComponent(present!.email)}`)).json, []);
    assert.equal((await a('DELETE', '/users', { email: absent.email })).status, 404);
    assert.equal(sb.stats().acme.duplicateSubmissions, 0);
    assert.equal((await a('DELETE', '/users', { email: present!.email })).status, 404);
    assert.equal(sb.stats().acme.duplicateSubmissions, 1);
    assert.equal((await a('DELETE', '/users', {})).status, 400);
  });
});
