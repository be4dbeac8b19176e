// A request manifest saved where Lethe does not read it (issue 19): `request/2026/11/x.yaml`,
// a top-level `2026-11-0061.yaml`. The reconcile pass reports it on the dashboard and logs a
// warning with the catalogue code, `lethe plan` shows it with the file and the hint to move
// it, and nothing is ever done for it, even merged by an approver. Once moved as the hint
// says, it is an ordinary request. A file name holding an email address is not repeated.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { originFile, scenario, TEST_ENV, type Scenario } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

const BIN = fileURLToPath(new URL('../../controller/cli/bin.mjs', import.meta.url));
const lethe = (args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...TEST_ENV } });

const MISPLACED_EMAIL = 'misplaced.person@example.com';

/** A request text of the example repository renamed, for a subject no other request has. */
async function requestText(s: Scenario, name: string): Promise<string> {
  const text = await readFile(join(s.repo.work, 'requests/2026/11/2026-11-0043.yaml'), 'utf8');
  return text.replace('name: 2026-11-0043', `name: ${name}`).replace('marc.dupont@example.com', MISPLACED_EMAIL);
}

/** Files proposed on a branch by the requester and merged (--no-ff) by the DPO, then pushed. */
async function mergeByDpo(s: Scenario, branch: string, change: () => Promise<void>): Promise<void> {
  const work = s.repo.work;
  await gitAs(work, undefined, ['pull', '-q', '--no-rebase', 'origin', 'main']);
  await gitAs(work, undefined, ['checkout', '-q', '-b', branch, 'main']);
  await change();
  await gitAs(work, PEOPLE.requester, ['add', '-A']);
  await gitAs(work, PEOPLE.requester, ['commit', '-q', '-m', `Proposed on ${branch}`]);
  await gitAs(work, undefined, ['checkout', '-q', 'main']);
  await gitAs(work, PEOPLE.dpo, ['merge', '-q', '--no-ff', '-m', `Merge pull request from ${branch}`, branch]);
  await gitAs(work, undefined, ['push', '-q', 'origin', 'main']);
}

async function put(s: Scenario, path: string, text: string): Promise<void> {
  await mkdir(dirname(join(s.repo.work, path)), { recursive: true });
  await writeFile(join(s.repo.work, path), text);
}

async function passes(s: Scenario, n: number): Promise<void> {
  const c = await s.open();
  try {
    for (let i = 0; i < n; i++) {
      await c.reconciler.pass();
      await new Promise((r) => setTimeout(r, 30));
    }
  } finally {
    await c.close();
  }
}

describe('a request manifest outside requests/', () => {
  let vendor: TestVendor;
  let s: Scenario;
  before(async () => {
    vendor = await startTestVendor();
    s = await scenario(vendor.url, {
      omit: ['2026-11-0044', '2026-11-0045', '2026-11-0046', '2026-11-0047', '2026-11-0048', '2026-11-0049'],
    });
  });
  after(async () => {
    await vendor.close();
    await removeScratchRepo(s.repo);
  });

  it('is reported by the pass (dashboard, one warning with its code) and by lethe plan with the hint to move it, and never acted on', async () => {
    await mergeByDpo(s, 'requests/misfiled', async () => {
      await put(s, 'request/2026/11/2026-11-0060.yaml', await requestText(s, '2026-11-0060'));
      await put(s, '2026-11-0061.yaml', await requestText(s, '2026-11-0061'));
      // Named after its subject: reported, but the name is not repeated.
      await put(s, 'inbox/jane.doe@example.com.yaml', await requestText(s, '2026-11-0062'));
      // Other YAML is not a manifest and is not reported.
      await put(s, 'docs/mkdocs.yml', 'site_name: Privacy\nkind: Documentation\n');
    });
    await passes(s, 4);

    const dashboard = await originFile(s.repo, 'status/README.md');
    const section = dashboard.slice(dashboard.indexOf('## Manifests Lethe does not read'));
    assert.ok(dashboard.includes('## Manifests Lethe does not read'), dashboard);
    assert.match(
      section,
      /^- request\/2026\/11\/2026-11-0060\.yaml:3: this file is a PrivacyRequest, but Lethe reads PrivacyRequest manifests only from requests\/: it is ignored\. .*git mv request\/2026\/11\/2026-11-0060\.yaml requests\/2026\/11\/2026-11-0060\.yaml/m,
    );
    assert.match(
      section,
      /^- 2026-11-0061\.yaml:3: .*git mv 2026-11-0061\.yaml requests\/2026\/11\/2026-11-0061\.yaml/m,
    );
    assert.match(section, /^- inbox\/\(name withheld: it contains "@"\):3: /m);
    assert.doesNotMatch(dashboard, /jane\.doe|mkdocs/);

    // One warning per file with the catalogue code, not one per pass.
    const warnings = s.logs
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.code === 'MISPLACED_MANIFEST');
    assert.deepEqual(
      warnings.map((w) => [w.level, w.file]),
      [
        ['warn', '2026-11-0061.yaml'],
        ['warn', 'inbox/(name withheld: it contains "@")'],
        ['warn', 'request/2026/11/2026-11-0060.yaml'],
      ],
    );
    assert.match(
      String(warnings[2]!.hint),
      /git mv request\/2026\/11\/2026-11-0060\.yaml requests\/2026\/11\/2026-11-0060\.yaml/,
    );
    assert.ok(!s.logs.join('\n').includes('jane.doe'));

    // Never acted on: no status, no vendor call, the subject unheard of; the others go on.
    for (const name of ['2026-11-0060', '2026-11-0061', '2026-11-0062']) {
      assert.equal(
        spawnSync('git', ['cat-file', '-e', `main:status/${name}.yaml`], { cwd: s.repo.origin }).status,
        128,
        `a status for ${name}`,
      );
      assert.ok(![...vendor.submissions.keys()].some((k) => k.startsWith(`${name}/`)), `a vendor call for ${name}`);
    }
    assert.ok(!vendor.emails.has(MISPLACED_EMAIL));
    assert.ok(vendor.calls.length > 0, 'the correctly placed requests were worked on');

    // lethe plan (a real process with a data directory of its own) says the same, with the hint.
    const plan = lethe(['plan', '--remote', s.repo.origin, '--data', join(s.repo.root, 'plan-data')]);
    assert.equal(plan.status, 0, plan.stderr);
    assert.match(
      plan.stdout,
      /Manifests Lethe does not read \(nothing is done for them until they are moved\):\n(?: {2}.*\n {6}hint: .*\n)*? {2}request\/2026\/11\/2026-11-0060\.yaml:3:1 MISPLACED_MANIFEST .*\n {6}hint: Move it where Lethe reads it: git mv request\/2026\/11\/2026-11-0060\.yaml requests\/2026\/11\/2026-11-0060\.yaml/,
    );
    assert.doesNotMatch(plan.stdout, /Invalid manifests/);
    const md = lethe(['plan', '--format', 'md', '--remote', s.repo.origin, '--data', join(s.repo.root, 'plan-data')]);
    assert.equal(md.status, 0, md.stderr);
    assert.match(
      md.stdout,
      /\*\*Manifests Lethe does not read\*\*[\s\S]*- `2026-11-0061\.yaml:3` MISPLACED_MANIFEST .*git mv 2026-11-0061\.yaml requests\/2026\/11\/2026-11-0061\.yaml/,
    );
    for (const out of [plan.stdout, md.stdout]) assert.doesNotMatch(out, /jane\.doe|2026-11-0060 +access/);
  });

  it('moved as the hint says and merged, it is an ordinary request and the dashboard no longer lists it', async () => {
    await mergeByDpo(s, 'requests/move-misfiled', async () => {
      await gitAs(s.repo.work, PEOPLE.requester, [
        'mv',
        'request/2026/11/2026-11-0060.yaml',
        'requests/2026/11/2026-11-0060.yaml',
      ]);
    });
    await passes(s, 8);
    const status = await originFile(s.repo, 'status/2026-11-0060.yaml');
    assert.match(status, /phase: (Pending|InProgress|Completed)/);
    assert.ok(vendor.emails.has(MISPLACED_EMAIL), 'the moved request reached its vendor');
    const dashboard = await originFile(s.repo, 'status/README.md');
    assert.doesNotMatch(dashboard, /request\/2026\/11\/2026-11-0060\.yaml/);
    assert.match(dashboard, /2026-11-0061\.yaml:3/, 'the one still misplaced stays listed');
  });
});
