import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { openController } from '../../controller/core/app.ts';
import { Runner } from '../../controller/core/runner.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { gitAs, PEOPLE, type Person } from '../../examples/demo/git-as.ts';
import { DEMO_SUBJECTS, pointAtSandbox, sandboxEnv, useSandboxIds } from '../../examples/demo/sandbox-wiring.ts';
import { createScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { startSandbox } from '../../examples/sandbox/index.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { statusFiles } from '../support/e2e.ts';

/** A server playing the attacker: it records every call and answers 200 {}. */
async function startAttacker(): Promise<{
  url: string;
  calls: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }>;
  close(): Promise<void>;
}> {
  const calls: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      calls.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((r) => server.close(() => r())) };
}

const request = (name: string, email: string, vendors: string) =>
  [
    'apiVersion: lethe/v1',
    'kind: PrivacyRequest',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  action: erasure',
    '  regulation: gdpr',
    '  receivedAt: 2026-11-24',
    '  subject:',
    `    emails: [${email}]`,
    `  vendors: ${vendors}`,
    '  justification: "Art. 17 request"',
    '',
  ].join('\n');

describe('only what was approved acts', () => {
  it('ignores and reports every unapproved change while approved work completes at the real vendors', {
    timeout: 420_000,
  }, async () => {
    const sandbox = await startSandbox({ port: 0, timeScale: 0.02, seed: 11, subjects: DEMO_SUBJECTS });
    const attacker = await startAttacker();
    // Approved and merged by the DPO: 0042 (maestroqa, elasticpath), 0045 (user-service), 0048 (elasticpath).
    const repo = await createScratchRepo({
      rewriteVendor: pointAtSandbox(sandbox.config),
      rewriteRequest: useSandboxIds,
      omit: ['2026-11-0043', '2026-11-0044', '2026-11-0046', '2026-11-0047', '2026-11-0049', '2026-11-0050'],
    });
    const w = repo.work;
    const dataDir = join(repo.root, 'data');
    const env = { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'e2e-salt-do-not-send' };
    const put = async (path: string, text: string) => {
      await mkdir(dirname(join(w, path)), { recursive: true });
      await writeFile(join(w, path), text);
    };
    const commit = async (who: Person, message: string, paths: string[] = ['-A']) => {
      await gitAs(w, who, ['add', ...paths]);
      await gitAs(w, who, ['commit', '-q', '-m', message]);
    };
    const pr = async (branch: string, author: Person, files: Record<string, string>) => {
      await gitAs(w, undefined, ['checkout', '-q', '-b', branch, 'main']);
      for (const [p, t] of Object.entries(files)) await put(p, t);
      await commit(author, `Add ${branch}`);
      await gitAs(w, undefined, ['checkout', '-q', 'main']);
    };
    const merge = (who: Person, branch: string, message = `Merge pull request from ${branch}`) =>
      gitAs(w, who, ['merge', '-q', '--no-ff', '-m', message, branch]);
    const attackerEmail = 'victim.of.edit@example.org';
    try {
      const mergeOf0048 = (await gitAs(w, undefined, ['log', '--format=%H %s', 'main']))
        .split('\n')
        .find((l) => l.includes('Merge pull request #2'))!
        .split(' ')[0]!;
      const mallory = PEOPLE.outsider;

      // (1) A vendor's baseUrl and credentials pointed at the attacker, reading the controller's salt and a system file.
      const maestro = parse(await readFile(join(w, 'vendors/maestroqa.yaml'), 'utf8'));
      maestro.spec.baseUrl = attacker.url;
      maestro.spec.credentials.apiToken = 'env:LETHE_SUBJECT_SALT';
      await put('vendors/maestroqa.yaml', JSON.stringify(maestro));
      // (2) A new vendor that would join every `vendors: all` request.
      await put(
        'vendors/evil.yaml',
        JSON.stringify({
          ...maestro,
          metadata: { name: 'evil' },
          spec: { ...maestro.spec, credentials: { apiToken: 'file:/etc/passwd' } },
        }),
      );
      await commit(mallory, 'Tune vendor settings');

      // (3) lethe.yaml rewritten: trailer mode, Mallory an approver; in the same commit a request with typed trailers.
      const config = parse(await readFile(join(w, 'lethe.yaml'), 'utf8'));
      config.spec.approval = {
        mode: 'trailer',
        protectedBranch: 'main',
        approvers: [{ name: mallory.name, email: mallory.email }],
        minApprovals: 1,
      };
      await put('lethe.yaml', JSON.stringify(config));
      await put('requests/2026/11/2026-11-0060.yaml', request('2026-11-0060', DEMO_SUBJECTS[0]!.email, 'all'));
      await gitAs(w, mallory, ['add', '-A']);
      await gitAs(w, mallory, [
        'commit',
        '-q',
        '-m',
        `Add request\n\nApproved-by: Data Protection Officer <dpo@example.com>\nApproved-by: ${mallory.name} <${mallory.email}>`,
      ]);

      // (4) An approved request that has not run yet, edited to another subject.
      const p45 = repo.requests.get('2026-11-0045')!;
      await put(
        p45,
        (await readFile(join(w, p45), 'utf8')).replace(/emails: \[[^\]]*\]/, `emails: [${attackerEmail}]`),
      );
      await commit(mallory, 'Fix typo');
      // (5) A revert by a non-approver of the DPO's merge that approved 0048 (an unapproved deletion).
      await gitAs(w, mallory, ['revert', '--no-edit', '-m', '1', mergeOf0048]);
      // (6) Forged status: 0042 "Completed / Erased" and a file whose name escapes status/.
      const forged = {
        apiVersion: 'lethe/v1',
        kind: 'PrivacyRequestStatus',
        metadata: { name: '2026-11-0042' },
        status: {
          phase: 'Completed',
          action: 'erasure',
          conditions: [],
          vendors: {
            maestroqa: { phase: 'Completed', step: 'done', attempts: 1, outcome: 'Erased' },
            elasticpath: { phase: 'Completed', step: 'done', attempts: 1, outcome: 'Erased' },
          },
        },
      };
      await put('status/2026-11-0042.yaml', JSON.stringify(forged));
      await put('status/evil.yaml', JSON.stringify({ ...forged, metadata: { name: '../../lethe' } }));
      await commit(mallory, 'status: mark 0042 done', ['status/']);

      // (7) An approver who authored the content inside a merge commit on the merged branch, then merged it.
      await gitAs(w, undefined, ['checkout', '-q', '-b', 'side', 'main']);
      await put('notes/side.txt', 'x\n');
      await commit(PEOPLE.requester, 'side work');
      await gitAs(w, undefined, ['checkout', '-q', '-b', 'dpo-own', 'main']);
      await put('notes/own.txt', 'y\n');
      await commit(PEOPLE.requester, 'own work');
      await gitAs(w, PEOPLE.dpo, ['merge', '-q', '--no-ff', '--no-commit', 'side']);
      await put(
        'requests/2026/11/2026-11-0061.yaml',
        request('2026-11-0061', DEMO_SUBJECTS[0]!.email, '[elasticpath]'),
      );
      await commit(PEOPLE.dpo, 'Merge side into dpo-own');
      await gitAs(w, undefined, ['checkout', '-q', 'main']);
      await merge(PEOPLE.dpo, 'dpo-own');

      // (8) A non-approver merges with an Approved-by trailer copied from the pull-request description.
      await pr('copied-trailer', PEOPLE.requester, {
        'requests/2026/11/2026-11-0063.yaml': request('2026-11-0063', DEMO_SUBJECTS[0]!.email, '[elasticpath]'),
      });
      await merge(
        mallory,
        'copied-trailer',
        'Merge pull request #7 from copied-trailer\n\nApproved-by: Data Protection Officer <dpo@example.com>',
      );

      // (9) After the unapproved lethe.yaml change, in the same push: a request properly approved by the DPO...
      await pr('approved-after', PEOPLE.requester, {
        'requests/2026/11/2026-11-0062.yaml': request('2026-11-0062', DEMO_SUBJECTS[3]!.email, '[elasticpath]'),
      });
      await merge(PEOPLE.dpo, 'approved-after');
      // ...and one "approved" by Mallory under the policy she wrote herself.
      await pr('mallory-approved', PEOPLE.requester, {
        'requests/2026/11/2026-11-0064.yaml': request('2026-11-0064', DEMO_SUBJECTS[0]!.email, '[elasticpath]'),
      });
      await merge(
        mallory,
        'mallory-approved',
        `Merge mallory-approved\n\nApproved-by: ${mallory.name} <${mallory.email}>`,
      );
      await gitAs(w, undefined, ['push', '-q', 'origin', 'main']);

      const lines: string[] = [];
      const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
      const controller = await openController({
        remote: repo.origin,
        dataDir,
        drivers: createDriverTable(),
        env,
        log,
        degradedRetryMs: 500,
      });
      const runner = new Runner({ controller, log, schedule: '*/2 * * * * *', untilIdle: true, maxSleepMs: 500 });
      const stop = setTimeout(() => runner.stop(), 300_000);
      await runner.start();
      clearTimeout(stop);
      await controller.close();

      // Nothing reached the attacker: no call, so no secret, no subject.
      assert.deepEqual(
        attacker.calls.map((c) => `${c.method} ${c.url}`),
        [],
      );

      const files = await statusFiles(repo);
      const status = (name: string) => PrivacyRequestStatus.parse(parse(files.get(`status/${name}.yaml`)!));
      // Approved work completed at the real vendors under the approved configuration.
      for (const name of ['2026-11-0042', '2026-11-0045', '2026-11-0048', '2026-11-0062']) {
        assert.equal(
          status(name).status.phase,
          'Completed',
          `${name}: ${JSON.stringify(status(name).status.conditions)}`,
        );
      }
      assert.deepEqual(Object.keys(status('2026-11-0042').status.vendors).sort(), ['elasticpath', 'maestroqa']);
      assert.ok(
        sandbox.ledger().some((e) => e.vendor === 'maestroqa' && e.authOk === true),
        'maestroqa was called with its approved token',
      );
      // The edited subject was never sent anywhere; the approved one was.
      const stats = sandbox.stats();
      assert.ok(stats.acme.calls > 0);
      assert.ok(!JSON.stringify(sandbox.ledger()).includes(attackerEmail));
      // Nothing unapproved ran.
      for (const name of ['2026-11-0060', '2026-11-0061', '2026-11-0063', '2026-11-0064']) {
        const s = status(name).status;
        assert.equal(s.phase, 'AwaitingApproval', name);
        assert.ok(
          Object.values(s.vendors).every((v) => v.attempts === 0),
          name,
        );
      }
      assert.match(status('2026-11-0061').status.approval!.reason, /authored the request/);
      assert.match(
        status('2026-11-0063').status.approval!.reason,
        /sam\.support@example\.com> is not a listed approver/,
      );
      assert.ok(!('evil' in status('2026-11-0042').status.vendors));

      // Pending changes are loud: dashboard section, conditions, a warn line per pass.
      const readme = files.get('status/README.md')!;
      assert.match(readme, /## Unapproved changes on main/);
      for (const path of [
        'lethe.yaml',
        'vendors/maestroqa.yaml',
        'vendors/evil.yaml',
        p45,
        repo.requests.get('2026-11-0048')!,
      ]) {
        assert.ok(readme.includes(`| ${path} |`), `${path} listed`);
      }
      assert.match(
        readme,
        /vendors\/maestroqa\.yaml \| edit \| [0-9a-f]{12} \| Sam Support <sam\.support@example\.com> \| spec\.baseUrl, spec\.credentials\.apiToken/,
      );
      assert.match(readme, /## Files under status\/ not written by Lethe[\s\S]*status\/evil\.yaml/);
      // The root of trust is the privacy lead's setup commit, recorded in the data dir and shown.
      const setup = (await gitAs(repo.origin, undefined, ['rev-list', '--max-parents=0', 'main'])).trim();
      assert.ok(readme.includes(`Root of trust: \`${setup}\``));
      assert.equal(JSON.parse(await readFile(join(dataDir, 'trust-root.json'), 'utf8')).root, setup);
      assert.ok(
        !readme.includes(attackerEmail) && !readme.includes(DEMO_SUBJECTS[0]!.email),
        'no personal data in the dashboard',
      );
      const pending42 = status('2026-11-0042').status.conditions.find((c) => c.type === 'PendingChange');
      assert.equal(pending42?.status, 'True');
      assert.match(pending42!.message, /vendors\/maestroqa\.yaml/);
      assert.ok(
        status('2026-11-0045').status.conditions.some((c) => c.type === 'PendingChange' && c.message.includes(p45)),
      );
      assert.ok(lines.some((l) => l.includes('"level":"warn"') && l.includes('unapproved changes')));
      assert.ok(!lines.join('\n').includes('e2e-salt-do-not-send'));
    } finally {
      await attacker.close();
      await sandbox.stop();
      await rm(repo.root, { recursive: true, force: true });
    }
  });
});
