import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { createScratchRepo, type ScratchRepo } from '../../examples/demo/scratch-repo.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const repos: ScratchRepo[] = [];
after(() => {
  for (const r of repos) rmSync(r.root, { recursive: true, force: true });
});
const lethe = (...args: string[]) =>
  spawnSync(process.execPath, ['controller/cli/bin.mjs', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', LETHE_SUBJECT_SALT: 'cli-salt' },
    timeout: 120_000,
  });

test('a pinned root of trust off the branch refuses the start; lethe plan and lethe status show the root and the unapproved changes', {
  timeout: 240_000,
}, async () => {
  // Every vendor URL points at a closed local port: nothing may leave the machine.
  const repo = await createScratchRepo({
    rewriteVendor: (_name, text) => text.replace(/https?:\/\/[^\s"']+/g, 'http://127.0.0.1:9'),
    omit: [
      '2026-11-0043',
      '2026-11-0044',
      '2026-11-0045',
      '2026-11-0046',
      '2026-11-0047',
      '2026-11-0049',
      '2026-11-0050',
    ],
  });
  repos.push(repo);
  const data = join(repo.root, 'data');
  await gitAs(repo.work, undefined, ['checkout', '-q', '-b', 'elsewhere']);
  await gitAs(repo.work, PEOPLE.outsider, ['commit', '-q', '--allow-empty', '-m', 'off the branch']);
  const off = await gitAs(repo.work, undefined, ['rev-parse', 'HEAD']);
  await gitAs(repo.work, undefined, ['checkout', '-q', 'main']);

  const refused = lethe('reconcile', '--once', '--repo', repo.work, '--data', data, '--trust-root', off);
  assert.equal(refused.status, 3, refused.stderr);
  assert.match(refused.stderr, /TRUST_ROOT_NOT_ON_BRANCH/);

  // A non-approver repoints a vendor: plan lists it, and the approved version is what plans.
  const vendor = 'vendors/maestroqa.yaml';
  await gitAs(repo.work, PEOPLE.outsider, ['rm', '-q', vendor]);
  await gitAs(repo.work, PEOPLE.outsider, ['commit', '-q', '-m', 'Drop MaestroQA']);
  const plan = lethe('plan', '--repo', repo.work, '--data', data);
  assert.equal(plan.status, 0, plan.stderr);
  assert.match(
    plan.stdout,
    /Unapproved changes on main \(not acted on; the approved versions stay in force\):\n {2}unapproved delete of vendors\/maestroqa\.yaml in [0-9a-f]{12} by Sam Support/,
  );
  const setup = (await gitAs(repo.work, undefined, ['rev-list', '--max-parents=0', 'main'])).trim();
  assert.match(plan.stdout, new RegExp(`Root of trust: ${setup}`));
  assert.match(
    plan.stdout,
    /2026-11-0042 .*\n.*maestroqa: start/,
    `the approved vendor is still planned:\n${plan.stdout}`,
  );

  const once = lethe('reconcile', '--once', '--repo', repo.work, '--data', data, '--no-push');
  assert.ok(once.status === 0 || once.status === 1, once.stderr);
  const status = lethe('status', '--repo', repo.work);
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`Root of trust: ${setup}`));
  assert.match(status.stdout, /## Unapproved changes on main[\s\S]*vendors\/maestroqa\.yaml \| delete/);
});
