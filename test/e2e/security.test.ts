import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { openController } from '../../controller/core/app.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { listRequestExports } from '../../controller/exports/index.ts';
import { readFile } from 'node:fs/promises';
import { startE2E, statusFiles, type E2E } from '../support/e2e.ts';

const TRICKY = "o'brien+lethe@example.com";
const HOSTILE_JUSTIFICATION =
  'Art. 15 request "}, "userId": 1, "ruleTypePayload": {"test": true}, "x": "{credentials} {{email}}';

function manifest(name: string, action: string, vendors: string, email: string, justification: string): string {
  return [
    'apiVersion: lethe/v1',
    'kind: PrivacyRequest',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    `  action: ${action}`,
    '  regulation: gdpr',
    '  receivedAt: 2026-11-24',
    '  subject:',
    `    emails: [${JSON.stringify(email)}]`,
    `  vendors: [${vendors}]`,
    `  justification: ${JSON.stringify(justification)}`,
    '',
  ].join('\n');
}

async function proposeAndMerge(e: E2E, files: Record<string, string>): Promise<void> {
  const w = e.repo.work;
  await gitAs(w, undefined, ['checkout', '-q', '-b', 'security-requests', 'main']);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(w, path)), { recursive: true });
    await writeFile(join(w, path), text);
  }
  await gitAs(w, PEOPLE.requester, ['add', '-A']);
  await gitAs(w, PEOPLE.requester, ['commit', '-q', '-m', 'Add requests']);
  await gitAs(w, undefined, ['checkout', '-q', 'main']);
  await gitAs(w, PEOPLE.dpo, [
    'merge',
    '-q',
    '--no-ff',
    '-m',
    'Merge pull request #9 from security-requests',
    'security-requests',
  ]);
  await gitAs(w, undefined, ['push', '-q', 'origin', 'main']);
}

describe('hostile manifest values', () => {
  it('are rejected at validation or escaped for their context, never interpreted', { timeout: 180_000 }, async () => {
    const e = await startE2E({
      subjects: [
        { email: TRICKY, firstName: 'Pat', lastName: "O'Brien", phone: '+1-555-0300', vendors: ['acme', 'qualifio'] },
      ],
    });
    try {
      await proposeAndMerge(e, {
        // Braces and quotes cannot be an email address: never sent anywhere.
        'requests/2026/11/2026-11-0101.yaml': manifest(
          '2026-11-0101',
          'erasure',
          'user-service',
          '"x{credentials}"@example.com',
          'injection attempt',
        ),
        // A quote and a plus: must reach the API Proxy service as exactly this address.
        'requests/2026/11/2026-11-0102.yaml': manifest(
          '2026-11-0102',
          'access',
          'user-service',
          TRICKY,
          'Art. 15 request',
        ),
        // JSON and template syntax in free text: must reach Qualifio as one string.
        'requests/2026/11/2026-11-0103.yaml': manifest(
          '2026-11-0103',
          'access',
          'qualifio',
          TRICKY,
          HOSTILE_JUSTIFICATION,
        ),
      });
      const lines: string[] = [];
      const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
      const controller = await openController({
        remote: e.repo.origin,
        dataDir: e.dataDir,
        drivers: createDriverTable(),
        env: e.env,
        log,
        degradedRetryMs: 500,
      });
      const runner = new Runner({ controller, log, schedule: '*/2 * * * * *', untilIdle: true, maxSleepMs: 500 });
      const stop = setTimeout(() => runner.stop(), 150_000);
      await runner.start();
      clearTimeout(stop);
      await controller.close();

      const files = await statusFiles(e.repo);
      const status = (name: string) => PrivacyRequestStatus.parse(parse(files.get(`status/${name}.yaml`)!));
      const invalid = status('2026-11-0101');
      assert.equal(invalid.status.phase, 'Invalid');
      assert.deepEqual(
        invalid.status.errors?.map((x) => `${x.file}:${x.line} ${x.code}`),
        ['requests/2026/11/2026-11-0101.yaml:10 INVALID_FORMAT'],
      );
      assert.ok(!files.get('status/2026-11-0101.yaml')!.includes('credentials}'), 'the rejected value is not echoed');
      assert.deepEqual(invalid.status.vendors, {});

      // The exact subject was found: its export holds Pat O'Brien's record, nobody else's.
      assert.equal(status('2026-11-0102').status.phase, 'Completed');
      const [acme] = await listRequestExports(e.dataDir, '2026-11-0102');
      assert.ok(acme && acme.problems.length === 0);
      const report = await readFile(join(acme.dir, acme.index!.files[0]!.name), 'utf8');
      assert.match(report, /O'Brien/);

      // Qualifio stored the justification verbatim and the DPO id from the config, not the injected one.
      assert.equal(status('2026-11-0103').status.phase, 'Completed');
      const q = e.sandbox.config.vendors.qualifio;
      const rules = (await (
        await fetch(`${q.baseUrl}/v1/gdpr/rules?clientId=${q.credentials.clientId}`, {
          headers: { 'x-api-token': String(q.credentials.apiToken) },
        })
      ).json()) as Array<{ justification: string; userId: number; ruleTypePayload: { test?: boolean } }>;
      const rule = rules.find((r) => r.justification.includes('[lethe:2026-11-0103]'));
      assert.ok(rule, 'the rule exists');
      assert.equal(rule.justification, `[lethe:2026-11-0103] ${HOSTILE_JUSTIFICATION}`);
      assert.equal(rule.userId, Number(q.credentials.dpoUserId));
      assert.notEqual(rule.ruleTypePayload.test, true);

      for (const [vendor, st] of Object.entries(e.sandbox.stats())) assert.equal(st.duplicateSubmissions, 0, vendor);
      assert.ok(!lines.join('\n').includes(TRICKY) && !lines.join('\n').includes('x{credentials}'));
    } finally {
      await e.close();
    }
  });
});
