import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { computeStatus } from '../../controller/core/status.ts';
import { lookup } from '../../controller/errors/catalogue.ts';
import { resolveCredential } from '../../controller/http/credentials.ts';
import { loadRepositoryFromDisk } from '../../controller/manifests/index.ts';
import { parseManifest, referenceTypo } from '../../controller/manifests/parse.ts';
import { plural } from '../../controller/plural.ts';
import { isoDateProblem } from '../../specs/index.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const lethe = (...args: string[]) =>
  spawnSync(process.execPath, ['controller/cli/bin.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
  });
const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'lethe-errors-'));
  temps.push(d);
  return d;
};
after(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('errors that help', () => {
  it('dates: month 13 and day 30 of February are named, real dates pass', () => {
    assert.match(isoDateProblem('2026-13-01')!, /^month 13 is invalid/);
    assert.match(isoDateProblem('2026-02-30')!, /^day 30 is invalid: 2026-02 has 28 days/);
    assert.equal(isoDateProblem('2028-02-29'), undefined);
    assert.match(isoDateProblem('20261201')!, /YYYY-MM-DD/);
  });

  it('a reference typo is recognised as one (and corrected); a secret-looking value is not', () => {
    assert.equal(referenceTypo('ENV:MAESTROQA_TOKEN'), 'env:MAESTROQA_TOKEN');
    assert.equal(referenceTypo('env: TOKEN'), 'env:TOKEN');
    assert.equal(referenceTypo('env:my-token'), 'env:my_token');
    assert.equal(referenceTypo('File:/run/secrets/x'), 'file:/run/secrets/x');
    assert.equal(referenceTypo('sk_live_9f8e7d6c5b4a'), undefined);
    assert.equal(referenceTypo('environment'), undefined);
  });

  it('a request file outside requests/ is reported, not silently ignored', async () => {
    const dir = temp();
    writeFileSync(
      join(dir, 'lethe.yaml'),
      'apiVersion: lethe/v1\nkind: LetheConfig\nmetadata: { name: x }\nspec:\n  approval:\n    approvers: [{ email: dpo@example.com }]\n',
    );
    mkdirSync(join(dir, 'request'));
    writeFileSync(join(dir, 'request', '2026-11-0001.yaml'), '# oops\napiVersion: lethe/v1\nkind: PrivacyRequest\n');
    mkdirSync(join(dir, 'status'));
    writeFileSync(join(dir, 'status', 'x.yaml'), 'kind: PrivacyRequest\n');
    const { model } = await loadRepositoryFromDisk(dir, createDriverTable());
    assert.deepEqual(
      model.problems.map((p) => `${p.file}:${p.line} ${p.code}`),
      ['request/2026-11-0001.yaml:3 MISPLACED_MANIFEST'],
    );
    assert.match(model.problems[0]!.message, /reads PrivacyRequest manifests only from requests\//);
    assert.match(model.problems[0]!.hint, /git mv request\/2026-11-0001\.yaml requests\/2026\/11\/2026-11-0001\.yaml/);
  });

  it('emails given as text (not a list) is told to be a list, with the bracketed form, never quoting the address nor claiming "at most 20"', () => {
    const text = (emails: string) =>
      `apiVersion: lethe/v1\nkind: PrivacyRequest\nmetadata: { name: 2026-11-0001 }\nspec:\n  action: erasure\n  regulation: gdpr\n  receivedAt: "2026-11-20"\n  subject:\n    emails: ${emails}\n  vendors: all\n  justification: t\n`;
    for (const value of ['a@b.c', 'jane.doe@example.com', '"jane.doe@example.com, sam@example.com"']) {
      const parsed = parseManifest('requests/2026/11/2026-11-0001.yaml', text(value));
      assert.deepEqual(
        parsed.problems.map((p) => [p.code, p.line, p.column]),
        [['INVALID_TYPE', 9, 13]],
        value,
      );
      const [p] = parsed.problems;
      assert.equal(p!.message, 'spec.subject.emails: must be a list (write [a, b] or one "- a" per line), not text');
      assert.equal(
        p!.hint,
        'Make it a list, even of one: emails: [name@example.com], or one "- name@example.com" line per item under emails:.',
      );
      assert.doesNotMatch(`${p!.message} ${p!.hint}`, /at most 20|jane|sam@/);
    }
    // The list form it asks for is accepted.
    assert.deepEqual(parseManifest('requests/2026/11/2026-11-0001.yaml', text('[name@example.com]')).problems, []);
    // Counts still apply to lists.
    const many = parseManifest(
      'requests/2026/11/2026-11-0001.yaml',
      text(`[${Array.from({ length: 21 }, (_, i) => `p${i}@example.com`).join(', ')}]`),
    );
    assert.deepEqual(
      many.problems.map((p) => p.code),
      ['OUT_OF_RANGE'],
    );
  });

  it('CREDENTIAL_ENV_MISSING names the variable, is not terminal, and the status says which variable', async () => {
    const err = (await resolveCredential('env:MAESTROQA_API_TOKEN', {}, async () => '').then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    )) as { message: string; terminal: boolean };
    assert.match(err.message, /MAESTROQA_API_TOKEN/);
    assert.equal(err.terminal, false);
    assert.notEqual(lookup('CREDENTIAL_ENV_MISSING')?.terminal, true);
    const s = computeStatus({
      name: 'r',
      now: Date.parse('2026-11-20T00:00:00Z'),
      tasks: {},
      withdrawn: false,
      request: {
        action: 'erasure',
        regulation: 'gdpr',
        receivedAt: '2026-11-20',
        dueAt: '2026-12-20',
        subjectRef: 'x',
        vendors: ['maestroqa'],
      },
      approval: { approved: true, mode: 'merge', approvers: [], reason: 'ok' },
      degraded: { maestroqa: { code: 'CREDENTIAL_ENV_MISSING', message: err.message } },
    });
    assert.match(s.status.vendors.maestroqa!.lastError!.message, /MAESTROQA_API_TOKEN/);
  });

  it('plurals read as English', () => {
    assert.equal(plural(1, 'file'), '1 file');
    assert.equal(plural(2, 'request'), '2 requests');
    assert.equal(plural(0, 'pass', 'passes'), '0 passes');
  });

  it('lethe explain accepts condition reasons as well as codes, in any case', () => {
    const r = lethe('explain', 'PastDue');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Overdue=True/);
    assert.equal(lethe('explain', 'notapproved').status, 0);
    assert.match(lethe('explain', 'credential_env_missing').stdout, /CREDENTIAL_ENV_MISSING \(http\)/);
  });

  it('every command turns a bad flag into a usage message with exit 2; counts are singular when 1', () => {
    for (const command of ['reconcile', 'plan', 'status', 'validate', 'schema', 'export', 'explain', 'new']) {
      const r = lethe(command, '--no-such-flag');
      assert.equal(r.status, 2, `${command}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`usage: lethe ${command}`), command);
    }
    assert.equal(lethe('reconcile', '--once', '--max-pass-seconds', 'abc').status, 2);
    const dir = temp();
    writeFileSync(
      join(dir, 'lethe.yaml'),
      'apiVersion: lethe/v1\nkind: LetheConfig\nmetadata: { name: x }\nspec:\n  approval:\n    approvers: [{ email: dpo@example.com }]\n',
    );
    mkdirSync(join(dir, 'vendors'));
    writeFileSync(
      join(dir, 'vendors', 'maestroqa.yaml'),
      'apiVersion: lethe/v1\nkind: VendorConnection\nmetadata: { name: maestroqa }\nspec:\n  type: maestroqa\n  credentials: { apiToken: env:T }\n',
    );
    mkdirSync(join(dir, 'requests'));
    writeFileSync(
      join(dir, 'requests', 'r-1.yaml'),
      'apiVersion: lethe/v1\nkind: PrivacyRequest\nmetadata: { name: r-1 }\nspec:\n  action: erasure\n  regulation: gdpr\n  receivedAt: "2026-11-20"\n  subject: { emails: [a@example.com] }\n  vendors: all\n  justification: t\n',
    );
    assert.equal(lethe('validate', '--repo', dir).stdout, 'ok: 1 vendor, 1 request\n');
  });
});
