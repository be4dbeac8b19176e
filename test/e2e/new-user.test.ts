import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { DEMO_SUBJECTS, pointAtSandbox, sandboxEnv } from '../../examples/demo/sandbox-wiring.ts';
import { createScratchRepo, removeScratchRepo, type ScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { startSandbox } from '../../examples/sandbox/index.ts';
import { PrivacyRequest, PrivacyRequestStatus } from '../../specs/index.ts';
import { createEpochKey, readEpochIdentities } from '../../controller/subjects/keys.ts';
import { decryptSubject } from '../../controller/subjects/sealed.ts';
import { runUntilIdleArgs } from '../support/e2e.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLE_NAMES = Array.from({ length: 9 }, (_, i) => `2026-11-${String(42 + i).padStart(4, '0')}`);

/** The CLI as a privacy engineer runs it, in `cwd`, with git knowing them as `who` through repository config only. */
function lethe(cwd: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(ROOT, 'controller/cli/bin.mjs'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', ...env },
  });
}

async function actAs(repo: ScratchRepo, who: { name: string; email: string }): Promise<void> {
  await gitAs(repo.work, undefined, ['config', 'user.name', who.name]);
  await gitAs(repo.work, undefined, ['config', 'user.email', who.email]);
  await gitAs(repo.work, undefined, ['config', 'commit.gpgsign', 'false']);
}

const repos: ScratchRepo[] = [];
after(async () => {
  for (const r of repos) await removeScratchRepo(r);
});

async function exampleRepo(omit: string[] = []): Promise<ScratchRepo> {
  const repo = await createScratchRepo({ omit });
  repos.push(repo);
  await actAs(repo, PEOPLE.requester);
  return repo;
}

describe('lethe new', () => {
  it('allocates the next name, writes a quoted, valid manifest and commits it as the git user on request/<name>', async () => {
    const repo = await exampleRepo();
    const r = lethe(repo.work, [
      'new',
      '--action',
      'erasure',
      '--regulation',
      'gdpr',
      '--email',
      'jane.doe@example.com',
      '--email',
      'j.doe@example.com',
      '--vendor',
      'maestroqa,elasticpath',
      '--received',
      '2026-11-28',
      '--justification',
      'Art. 17 via ticket SUP-9',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const name = '2026-11-0051';
    const path = `requests/2026/11/${name}.yaml`;
    assert.match(r.stdout, new RegExp(`Created ${path} on branch request/${name}`));
    assert.match(r.stdout, /Next: git push -u origin request\/2026-11-0051/);

    assert.equal(await gitAs(repo.work, undefined, ['rev-parse', '--abbrev-ref', 'HEAD']), `request/${name}`);
    const [author, committer, subject] = (
      await gitAs(repo.work, undefined, ['log', '-1', '--format=%ae%n%ce%n%s'])
    ).split('\n');
    assert.equal(author, PEOPLE.requester.email);
    assert.equal(committer, PEOPLE.requester.email);
    assert.equal(subject, `Add privacy request ${name} (erasure, gdpr)`);
    assert.deepEqual((await gitAs(repo.work, undefined, ['show', '--name-only', '--format=', 'HEAD'])).split('\n'), [
      path,
    ]);

    const text = readFileSync(join(repo.work, path), 'utf8');
    assert.match(text, /receivedAt: "2026-11-28"/, 'dates are written quoted');
    const parsed = PrivacyRequest.parse(parseYaml(text));
    assert.deepEqual(parsed.spec.subject.emails, ['jane.doe@example.com', 'j.doe@example.com']);
    assert.deepEqual(parsed.spec.vendors, ['maestroqa', 'elasticpath']);
    // Personal data stays in the file: not in the branch, the commit message, nor the output.
    assert.ok(!r.stdout.includes('jane') && !subject!.includes('jane'));
    assert.equal(lethe(repo.work, ['validate']).status, 0);
  });

  it('does not hand out a name an open pull request already uses; --push publishes the branch', async () => {
    const repo = await exampleRepo();
    await gitAs(repo.work, undefined, ['checkout', '-q', '-b', 'request/2026-11-0077', 'main']);
    await gitAs(repo.work, PEOPLE.outsider, ['commit', '-q', '--allow-empty', '-m', 'placeholder']);
    await gitAs(repo.work, undefined, ['checkout', '-q', 'main']);
    const r = lethe(repo.work, [
      'new',
      '--action',
      'access',
      '--regulation',
      'ccpa',
      '--email',
      'x@example.com',
      '--received',
      '2026-11-02',
      '--justification',
      'ticket 1',
      '--push',
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /request\/2026-11-0078/);
    assert.match(r.stdout, /Next: open a pull request from request\/2026-11-0078 into main/);
    assert.ok(
      (await gitAs(repo.origin, undefined, ['branch', '--list', 'request/2026-11-0078'])).includes(
        'request/2026-11-0078',
      ),
    );
    // No vendor given: "all", quoted date, and a new month starts at 0001.
    const text = await gitAs(repo.origin, undefined, [
      'show',
      'request/2026-11-0078:requests/2026/11/2026-11-0078.yaml',
    ]);
    assert.match(text, /vendors: all/);
    const december = lethe(repo.work, [
      'new',
      '--action',
      'optout',
      '--regulation',
      'ccpa',
      '--email',
      'y@example.com',
      '--received',
      '2026-12-01',
      '--justification',
      'GPC',
      '--base',
      'main',
    ]);
    assert.equal(december.status, 0, december.stderr);
    assert.match(december.stdout, /requests\/2026\/12\/2026-12-0001\.yaml/);
  });

  it('writes nothing when the request would be invalid, with a did-you-mean for the vendor', async () => {
    const repo = await exampleRepo();
    const r = lethe(repo.work, [
      'new',
      '--action',
      'erasure',
      '--regulation',
      'gdpr',
      '--email',
      'a@example.com',
      '--vendor',
      'maestro',
      '--received',
      '2026-11-03',
      '--justification',
      't',
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /UNKNOWN_VENDOR/);
    assert.match(r.stderr, /did you mean "maestroqa"/);
    assert.ok(!r.stderr.includes('a@example.com'));
    assert.equal(await gitAs(repo.work, undefined, ['rev-parse', '--abbrev-ref', 'HEAD']), 'main');
    assert.equal(await gitAs(repo.work, undefined, ['branch', '--list', 'request/*']), '');
    assert.equal(await gitAs(repo.work, undefined, ['status', '--porcelain']), '');
  });

  it('seals the subject to the current key epoch of lethe.yaml: no plain email reaches the file or git', async () => {
    const secrets = mkdtempSync(join(tmpdir(), 'lethe-new-keys-'));
    const key = await createEpochKey(secrets, '2026Q4');
    const repo = await createScratchRepo({
      rewriteConfig: (text) =>
        `${text.trimEnd()}\n  subjects:\n    requireEncryption: true\n    epochs:\n      - id: 2026Q4\n        recipient: ${key.recipient}\n`,
    });
    repos.push(repo);
    await actAs(repo, PEOPLE.requester);
    const r = lethe(repo.work, [
      'new',
      '--action',
      'erasure',
      '--regulation',
      'gdpr',
      '--email',
      'sealed.subject@example.com',
      '--vendor',
      'maestroqa',
      '--received',
      '2026-11-28',
      '--justification',
      't',
    ]);
    assert.equal(r.status, 0, r.stderr);
    const path = 'requests/2026/11/2026-11-0051.yaml';
    const text = readFileSync(join(repo.work, path), 'utf8');
    assert.ok(!text.includes('sealed.subject'), 'the file holds no plain email');
    assert.ok(
      !(await gitAs(repo.work, undefined, ['log', '-p', '--all'])).includes('sealed.subject'),
      'nor does any commit',
    );
    const sealed = PrivacyRequest.parse(parseYaml(text));
    const opened = await decryptSubject('2026-11-0051', sealed.spec.subject, (epoch) =>
      readEpochIdentities(secrets, epoch),
    );
    assert.deepEqual(opened.emails, ['sealed.subject@example.com']);
    // The example requests are plain, so validate fails on them: never on the sealed one.
    const v = lethe(repo.work, ['validate']);
    assert.match(v.stdout + v.stderr, /SUBJECT_NOT_ENCRYPTED/);
    assert.ok(!(v.stdout + v.stderr).includes(path), 'the sealed request meets requireEncryption');
    rmSync(secrets, { recursive: true, force: true });
  });

  it('usage errors exit 2 and name what is missing; month 13 is called invalid', async () => {
    const repo = await exampleRepo();
    const missing = lethe(repo.work, ['new', '--action', 'erasure']);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /missing --regulation, --email, --justification \(not a terminal/);
    const month = lethe(repo.work, [
      'new',
      '--action',
      'erasure',
      '--regulation',
      'gdpr',
      '--email',
      'a@example.com',
      '--received',
      '2026-13-01',
      '--justification',
      't',
    ]);
    assert.equal(month.status, 2);
    assert.match(month.stderr, /month 13 is invalid/);
    const action = lethe(repo.work, [
      'new',
      '--action',
      'delete',
      '--regulation',
      'gdpr',
      '--email',
      'a@example.com',
      '--justification',
      't',
    ]);
    assert.equal(action.status, 2);
    assert.match(action.stderr, /--action must be erasure, access, optout/);
    assert.equal(lethe(repo.work, ['new', '--bogus']).status, 2);
    const base = lethe(repo.work, ['new', '--base', 'trunk', '--action', 'erasure']);
    assert.equal(base.status, 2);
    assert.match(base.stderr, /branch trunk does not exist .*pass --base BRANCH/);
  });

  it('outside a repository says so, without git\'s raw "fatal:"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lethe-norepo-'));
    try {
      const r = lethe(dir, ['new', '--action', 'erasure']);
      assert.equal(r.status, 3);
      assert.match(r.stderr, /GIT_NOT_A_REPOSITORY .* is not inside a git repository/);
      assert.match(r.stderr, /hint: Run the command inside a clone/);
      assert.ok(!r.stderr.includes('fatal:'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a user git does not know gets told how to set an identity', async () => {
    const repo = await exampleRepo();
    await gitAs(repo.work, undefined, ['config', '--unset', 'user.name']);
    await gitAs(repo.work, undefined, ['config', '--unset', 'user.email']);
    const r = lethe(
      repo.work,
      [
        'new',
        '--action',
        'erasure',
        '--regulation',
        'gdpr',
        '--email',
        'a@example.com',
        '--received',
        '2026-11-03',
        '--justification',
        't',
      ],
      {
        GIT_AUTHOR_NAME: '',
        GIT_AUTHOR_EMAIL: '',
        GIT_COMMITTER_NAME: '',
        GIT_COMMITTER_EMAIL: '',
        EMAIL: '',
        // user.useConfigOnly makes git refuse to guess an identity from the host name.
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'user.useConfigOnly',
        GIT_CONFIG_VALUE_0: 'true',
      },
    );
    assert.equal(r.status, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /GIT_IDENTITY_MISSING/);
    assert.match(r.stderr, /git config --global user.name/);
  });
});

describe('a new privacy team, end to end', () => {
  it('lethe new -> push -> merge by an approver -> lethe run -> the request completes at the vendor', async () => {
    const sandbox = await startSandbox({ port: 0, timeScale: 0.02, seed: 3, subjects: DEMO_SUBJECTS });
    const repo = await createScratchRepo({ rewriteVendor: pointAtSandbox(sandbox.config), omit: EXAMPLE_NAMES });
    repos.push(repo);
    try {
      await actAs(repo, PEOPLE.requester);
      const filed = lethe(repo.work, [
        'new',
        '--action',
        'erasure',
        '--regulation',
        'other',
        '--email',
        'priya.nair@example.com',
        '--vendor',
        'elasticpath',
        '--received',
        '2026-11-30',
        '--justification',
        'LGPD request, ticket SUP-1',
        '--push',
      ]);
      assert.equal(filed.status, 0, filed.stderr);
      const name = '2026-11-0001';
      assert.ok(existsSync(join(repo.work, `requests/2026/11/${name}.yaml`)));

      const dataDir = join(repo.root, 'data');
      const env = { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'new-user-salt' };

      // The DPO merges the pull request (a merge commit, as the merge policy wants).
      await gitAs(repo.work, undefined, ['checkout', '-q', 'main']);
      await gitAs(repo.work, undefined, ['fetch', '-q', 'origin']);
      await gitAs(repo.work, PEOPLE.dpo, [
        'merge',
        '-q',
        '--no-ff',
        '-m',
        `Merge pull request #1 from request/${name}`,
        `origin/request/${name}`,
      ]);
      await gitAs(repo.work, undefined, ['push', '-q', 'origin', 'main']);

      const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, runUntilIdleArgs(repo.origin, dataDir, ['--log-level', 'warn']), {
          cwd: ROOT,
          env: { ...process.env, ...env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        const timer = setTimeout(() => child.kill('SIGTERM'), 90_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, stderr });
        });
      });
      assert.equal(run.code, 0, run.stderr);

      const status = PrivacyRequestStatus.parse(
        parseYaml(await gitAs(repo.origin, undefined, ['show', `main:status/${name}.yaml`])),
      );
      assert.equal(status.status.phase, 'Completed');
      assert.equal(status.status.approval?.approvers[0]?.email, PEOPLE.dpo.email);
      assert.equal(status.status.vendors.elasticpath?.outcome, 'Erased');
      const erasures = sandbox.ledger().filter((e) => e.vendor === 'elasticpath' && e.method === 'POST');
      assert.ok(erasures.length >= 1, 'the vendor was asked');

      // A pull-request job: a fresh data directory (no journal), on the next request's branch.
      await gitAs(repo.work, undefined, ['pull', '-q', 'origin', 'main']);
      const next = lethe(repo.work, [
        'new',
        '--action',
        'erasure',
        '--regulation',
        'gdpr',
        '--email',
        'tom.baker@example.com',
        '--vendor',
        'elasticpath',
        '--received',
        '2026-11-30',
        '--justification',
        'ticket SUP-2',
      ]);
      assert.equal(next.status, 0, next.stderr);
      await gitAs(repo.work, PEOPLE.requester, ['commit', '-q', '--allow-empty', '-m', 'nothing']);
      const vendorFile = join(repo.work, 'vendors/elasticpath.yaml');
      writeFileSync(vendorFile, readFileSync(vendorFile, 'utf8') + '# tuned for the new store\n');
      await gitAs(repo.work, PEOPLE.requester, ['commit', '-q', '-am', 'Tune elasticpath']);
      const plan = lethe(
        repo.work,
        [
          'plan',
          '--format',
          'md',
          '--repo',
          '.',
          '--branch',
          'request/2026-11-0002',
          '--base',
          'main',
          '--data',
          join(repo.root, 'pr-job'),
        ],
        env,
      );
      assert.equal(plan.status, 0, plan.stderr);
      assert.match(plan.stdout, /1 open request \(1 already final, not shown\)/);
      assert.ok(!plan.stdout.includes(`| ${name} |`), 'the completed request is not planned again');
      assert.match(
        plan.stdout,
        /\| 2026-11-0002 \| erasure \| 2026-12-30 \| [0-9-]+ \| no: added or edited by this change[^|]+\| elasticpath: starts once approved \|/,
      );
      assert.match(plan.stdout, /Control-plane changes awaiting approval[\s\S]*- `vendors\/elasticpath.yaml` modified/);
      assert.ok(!plan.stdout.includes('AT RISK') && !plan.stdout.includes('at risk ⚠️'));
      assert.ok(!plan.stdout.includes('tom.baker') && !plan.stdout.includes('priya'));
      assert.ok(!existsSync(join(repo.root, 'pr-job', 'journal.json')), 'lethe plan writes no journal');
      const explained = lethe(repo.work, ['status', '--ref', 'main', '--explain', name]);
      assert.equal(explained.status, 0, explained.stderr);
      assert.match(explained.stdout, new RegExp(`^${name}: Completed \\(erasure, other\\)`));
      assert.match(explained.stdout, /approval \(merge\): approved — merged into main .* by Data Protection Officer/);
    } finally {
      await sandbox.stop();
    }
  });
});
