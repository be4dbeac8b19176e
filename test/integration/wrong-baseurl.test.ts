import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse, parseDocument } from 'yaml';
import { openController } from '../../controller/core/app.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { DEMO_SUBJECTS, pointAtSandbox, sandboxEnv, useSandboxIds } from '../../examples/demo/sandbox-wiring.ts';
import { createScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { startSandbox } from '../../examples/sandbox/index.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { leaked, statusFiles } from '../support/e2e.ts';

/**
 * A connection whose baseUrl is wrong must never make a request look done: the reconciler,
 * against the sandbox (whose unknown paths answer like a web server), ends the MaestroQA
 * and Elastic Path tasks Stalled with a configuration code, and the request stays open.
 * Once an operator fixes the connection in git, the same tasks are retried and complete.
 */
const KEEP = ['2026-11-0042', '2026-11-0048'];
const ALL = [
  '2026-11-0042',
  '2026-11-0043',
  '2026-11-0044',
  '2026-11-0045',
  '2026-11-0046',
  '2026-11-0047',
  '2026-11-0048',
  '2026-11-0049',
  '2026-11-0050',
];
const WRONG = { maestroqa: '/maestroqa/api/v2', elasticpath: '/elasticpath/v2' } as const;

describe('wrong baseUrl, end to end', () => {
  it('MaestroQA and Elastic Path stall with configuration codes, never Completed; fixing the connection completes them', {
    timeout: 180_000,
  }, async () => {
    const sandbox = await startSandbox({ port: 0, timeScale: 0.005, seed: 3, subjects: DEMO_SUBJECTS });
    const toSandbox = pointAtSandbox(sandbox.config);
    const wrong = (name: string, text: string): string => {
      const doc = parseDocument(toSandbox(name, text));
      if (name === 'maestroqa' || name === 'elasticpath') {
        doc.setIn(['spec', 'baseUrl'], sandbox.url + WRONG[name]);
        doc.setIn(['spec', 'pollIntervalSeconds'], 0.5);
      }
      return String(doc);
    };
    const repo = await createScratchRepo({
      rewriteVendor: wrong,
      rewriteRequest: useSandboxIds,
      omit: ALL.filter((n) => !KEEP.includes(n)),
    });
    const dataDir = join(repo.root, 'data');
    const lines: string[] = [];
    const open = () =>
      openController({
        remote: repo.origin,
        dataDir,
        drivers: createDriverTable(),
        env: { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'e2e-salt' },
        log: createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) }),
        degradedRetryMs: 0,
      });
    const statusOf = async (name: string) => {
      const files = await statusFiles(repo);
      return PrivacyRequestStatus.parse(parse(files.get(`status/${name}.yaml`)!));
    };
    /** Passes until `done` holds for every kept request (bounded). */
    const passUntil = async (done: (s: PrivacyRequestStatus) => boolean, maxPasses: number) => {
      const c = await open();
      try {
        for (let i = 0; i < maxPasses; i++) {
          await c.reconciler.pass();
          if (
            c.reconciler
              .currentStatuses()
              .filter((s) => KEEP.includes(s.metadata.name))
              .every(done)
          )
            return;
          await new Promise((r) => setTimeout(r, 250));
        }
      } finally {
        await c.close();
      }
    };
    try {
      const stalled = (s: PrivacyRequestStatus) => Object.values(s.status.vendors).every((v) => v.phase === 'Stalled');
      await passUntil(stalled, 12);
      for (const name of KEEP) {
        const s = await statusOf(name);
        assert.notEqual(s.status.phase, 'Completed', name);
        assert.equal(s.status.conditions.find((c) => c.type === 'Stalled')?.status, 'True', name);
        assert.equal(s.status.conditions.find((c) => c.type === 'Ready')?.status, 'False', name);
        for (const [vendor, t] of Object.entries(s.status.vendors)) {
          assert.equal(t.phase, 'Stalled', `${name} ${vendor}`);
          assert.equal(t.outcome, undefined, `${name} ${vendor}: no outcome claimed`);
          assert.equal(
            t.lastError?.code,
            vendor === 'maestroqa' ? 'MAESTROQA_NOT_FOUND' : 'ELASTICPATH_NOT_FOUND',
            `${name} ${vendor}`,
          );
        }
      }
      // Nothing reached a vendor route: every call hit a path no application serves.
      const served = sandbox
        .ledger()
        .filter((e) => (e.vendor === 'maestroqa' || e.vendor === 'elasticpath') && e.route !== '(unmatched)');
      assert.deepEqual(served, []);

      // The operator fixes both connections on main; the stalled tasks are retried.
      // The fix is a reviewed change: committed by the lead on a branch, merged by the DPO
      // (an unapproved edit of vendors/ would never be acted on).
      const work = join(repo.root, 'fix');
      await gitAs(repo.root, undefined, ['clone', '-q', repo.origin, work]);
      await gitAs(work, undefined, ['checkout', '-q', '-b', 'fix-base-urls']);
      for (const [name, prefix] of Object.entries(WRONG)) {
        const file = join(work, 'vendors', `${name}.yaml`);
        const text = await readFile(file, 'utf8');
        await writeFile(
          file,
          text.replace(
            sandbox.url + prefix,
            name === 'maestroqa'
              ? sandbox.config.vendors.maestroqa.baseUrl
              : sandbox.config.vendors.elasticpath.baseUrl,
          ),
        );
      }
      await gitAs(work, PEOPLE.lead, ['commit', '-qam', 'Fix the MaestroQA and Elastic Path base URLs']);
      await gitAs(work, undefined, ['checkout', '-q', 'main']);
      await gitAs(work, PEOPLE.dpo, ['merge', '-q', '--no-ff', '-m', 'Merge the base URL fix', 'fix-base-urls']);
      await gitAs(work, undefined, ['push', '-q', 'origin', 'main']);
      await passUntil((s) => s.status.phase === 'Completed', 80);
      for (const name of KEEP) {
        const s = await statusOf(name);
        assert.equal(
          s.status.phase,
          'Completed',
          `${name}: ${JSON.stringify(Object.fromEntries(Object.entries(s.status.vendors).map(([v, t]) => [v, `${t.phase} ${t.lastError?.code ?? ''}`])))}`,
        );
        for (const t of Object.values(s.status.vendors)) assert.equal(t.outcome, 'Erased');
      }
      const stats = sandbox.stats();
      for (const v of ['maestroqa', 'elasticpath'] as const) {
        assert.equal(stats[v].duplicateSubmissions, 0, `${v} duplicates`);
        assert.equal(stats[v].rateLimitViolations, 0, `${v} rate-limit violations`);
      }
      const files = await statusFiles(repo);
      const emails = DEMO_SUBJECTS.map((s) => s.email);
      assert.deepEqual(
        leaked(emails, [...[...files].map(([p, t]): [string, string] => [p, t]), ['log', lines.join('\n')]]),
        [],
      );
    } finally {
      await sandbox.stop();
      await rm(repo.root, { recursive: true, force: true });
    }
  });
});
