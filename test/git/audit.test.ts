import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { audit, type AuditReport, type RequestAudit } from '../../controller/audit/audit.ts';
import { computeMetrics, renderMetrics } from '../../controller/audit/metrics.ts';
import { renderHtml, renderMarkdown, renderText } from '../../controller/audit/render.ts';
import { commitMessage } from '../../controller/core/commit-message.ts';
import { renderStatus } from '../../controller/core/status.ts';
import { findSigner } from '../../controller/git/signing.ts';
import { GitSource } from '../../controller/git/source.ts';
import { shredMessage, shredRecord, shredRecordPath } from '../../controller/subjects/shred.ts';
import type { RequestPhase, VendorTaskStatus } from '../../specs/index.ts';
import {
  alice,
  bob,
  cleanup,
  commitFile,
  head,
  lethe,
  makeKey,
  mallory,
  mergePr,
  openPr,
  rita,
  sh,
  tempDir,
  write,
  type Who,
} from './helpers.ts';

after(cleanup);

function config(approvers: Who[], signingKey?: string): string {
  return [
    'apiVersion: lethe/v1',
    'kind: LetheConfig',
    'metadata:',
    '  name: audit-test',
    'spec:',
    '  approval:',
    '    approvers:',
    ...approvers.map((a) => `      - email: ${a.email}`),
    '  identity:',
    `    name: ${lethe.name}`,
    `    email: ${lethe.email}`,
    ...(signingKey ? [`    signingKey: "${signingKey}"`] : []),
    '',
  ].join('\n');
}

const COMPLETED: Record<string, VendorTaskStatus> = {
  acme: {
    phase: 'Completed',
    step: 'done',
    jobIds: ['job-17'],
    outcome: 'Erased',
    attempts: 1,
    completedAt: '2026-01-10T00:00:00.000Z',
  },
};
const RUNNING: Record<string, VendorTaskStatus> = {
  acme: { phase: 'InProgress', step: 'polling', jobIds: ['job-17'], attempts: 1 },
};

function statusYaml(name: string, phase: RequestPhase, vendors: Record<string, VendorTaskStatus>): string {
  return renderStatus({
    apiVersion: 'lethe/v1',
    kind: 'PrivacyRequestStatus',
    metadata: { name },
    status: {
      phase,
      source: `requests/${name}.yaml`,
      action: 'erasure',
      regulation: 'gdpr',
      receivedAt: '2026-01-02',
      dueAt: '2026-02-02',
      approval: {
        approved: phase !== 'AwaitingApproval',
        mode: 'merge',
        approvers: [],
        reason: 'as the controller saw it',
      },
      conditions: [],
      vendors,
      ...(phase === 'Completed' ? { completedAt: '2026-01-10T00:00:00.000Z' } : {}),
    },
  });
}

interface Repo {
  dir: string;
  source: GitSource;
  key: { dir: string; pub: string };
  record(name: string, phase: RequestPhase, vendors?: Record<string, VendorTaskStatus>): Promise<string>;
}

/** lethe.yaml by Alice (the root of trust), r1 proposed by Rita and merged by Alice, then two signed status commits. */
async function repo(options: { signed?: boolean } = {}): Promise<Repo> {
  const key = makeKey();
  const dir = tempDir();
  sh(dir, ['init', '-q', '-b', 'main']);
  commitFile(
    dir,
    'lethe.yaml',
    config([alice, bob], options.signed === false ? undefined : key.pub),
    alice,
    'Set up Lethe',
  );
  openPr(dir, 'r1', 'requests/r1.yaml', 'spec: r1\n');
  mergePr(dir, 'r1', alice);
  const source = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
  if (options.signed !== false) source.useSigner(await findSigner(key.dir, key.pub));
  const record = async (name: string, phase: RequestPhase, vendors = phase === 'Completed' ? COMPLETED : RUNNING) => {
    const r = await source.writeStatus(
      new Map([[`status/${name}.yaml`, statusYaml(name, phase, vendors)]]),
      commitMessage([{ name, to: phase }], head(dir)),
    );
    return r.commit!;
  };
  await record('r1', 'InProgress');
  await record('r1', 'Completed');
  return { dir, source, key, record };
}

const find = (r: AuditReport, name: string): RequestAudit => r.requests.find((q) => q.name === name)!;

describe('lethe audit', () => {
  it('proves a request merged by an approver whose status changes are all signed and chained, as git verify-commit agrees', async () => {
    const { dir, key } = await repo();
    const report = await audit({ dir });
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Proven', r1.reasons.join('\n'));
    assert.deepEqual(
      r1.status.map((s) => [s.phase, s.signature]),
      [
        ['InProgress', 'good'],
        ['Completed', 'good'],
      ],
    );
    assert.equal(r1.approval?.approved, true);
    assert.deepEqual(r1.approval?.approvers, [`${alice.name} <${alice.email}>`]);
    assert.deepEqual(
      r1.manifest.map((m) => [m.change, m.merge, m.author]),
      [
        ['added', false, `${rita.name} <${rita.email}>`],
        ['modified', true, `${alice.name} <${alice.email}>`],
      ],
    );
    assert.match(r1.outcome, /^Completed on 2026-01-10, 23 day\(s\) before the due date 2026-02-02$/);
    assert.equal(report.chain.length, 0);
    // The same verdict from git itself: an allowed-signers file with the declared key.
    const allowed = join(tempDir(), 'allowed');
    writeFileSync(allowed, `${lethe.email} namespaces="git" ${key.pub}\n`);
    for (const s of r1.status) {
      const v = spawnSync('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', s.commit], {
        cwd: dir,
      });
      assert.equal(v.status, 0, v.stderr.toString());
    }
    // A status commit altered after signing (same signature, other bytes) fails both checks.
    const raw = sh(dir, ['cat-file', 'commit', r1.status[1]!.commit]).replace(
      'Lethe-Phase: r1=Completed',
      'Lethe-Phase: r1=Failed',
    );
    const forged = spawnSync('git', ['hash-object', '-w', '-t', 'commit', '--stdin'], { cwd: dir, input: raw + '\n' })
      .stdout.toString()
      .trim();
    sh(dir, ['update-ref', 'refs/heads/forged', forged]);
    assert.notEqual(
      spawnSync('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', forged], { cwd: dir }).status,
      0,
    );
    const tampered = find(await audit({ dir, ref: 'forged' }), 'r1');
    assert.equal(tampered.verdict, 'Unproven');
    assert.match(
      tampered.reasons.join('\n'),
      /has a signature that does not verify: the signature does not match the commit \(altered after signing\)/,
    );
  });

  it('finds a hand-edited status file and names the commit and its author', async () => {
    const { dir, record } = await repo();
    write(dir, 'status/r1.yaml', statusYaml('r1', 'Completed', { acme: { ...COMPLETED.acme!, jobIds: ['job-99'] } }));
    sh(dir, ['commit', '-q', '-am', 'fix status'], mallory);
    const hand = head(dir);
    await record('r2', 'InProgress');
    const r1 = find(await audit({ dir }), 'r1');
    assert.equal(r1.verdict, 'Unproven');
    assert.equal(r1.reasons.length, 1, r1.reasons.join('\n'));
    assert.match(
      r1.reasons[0]!,
      new RegExp(
        `^status/r1\\.yaml changed in ${hand.slice(0, 12)} \\(.*\\) by Mallory <mallory@corp\\.example>: has no signature, though lethe\\.yaml declares the controller key SHA256:`,
      ),
    );
  });

  it("finds a status commit made under the controller's name without its signature", async () => {
    const { dir } = await repo();
    write(dir, 'status/r1.yaml', statusYaml('r1', 'Failed', COMPLETED));
    sh(dir, ['commit', '-q', '-am', `lethe: 1 failed\n\nLethe-Previous-Status: ${head(dir)}`], lethe);
    const r1 = find(await audit({ dir }), 'r1');
    assert.equal(r1.verdict, 'Unproven');
    assert.match(
      r1.reasons.join('\n'),
      /by Lethe <lethe@corp\.example>: has no signature, though lethe\.yaml declares the controller key/,
    );
    assert.equal(r1.status.at(-1)?.signature, 'none');
  });

  it('shows when a shred record made the subject unreadable, and a shred record forged by a person as no proof', async () => {
    const { dir, source } = await repo();
    const shred = await source.writeStatus(
      new Map([
        [
          shredRecordPath('2026Q1'),
          shredRecord('2026Q1', undefined, [{ name: 'r1' }], new Date('2026-03-01T00:00:00Z'), '24 months'),
        ],
      ]),
      shredMessage('2026Q1', 1),
    );
    write(
      dir,
      shredRecordPath('2026Q2'),
      shredRecord('2026Q2', undefined, [{ name: 'r1' }], new Date('2026-04-01T00:00:00Z'), '24 months'),
    );
    sh(dir, ['add', '-A'], mallory);
    sh(dir, ['commit', '-q', '-m', 'Shred subject key epoch 2026Q2 (1 request)\n\nLethe-Shredded: 2026Q2'], mallory);
    const forged = head(dir);
    const report = await audit({ dir, names: ['r1'] });
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Proven', r1.reasons.join('\n'));
    assert.deepEqual(
      r1.shredded.map((s) => [s.epoch, s.shreddedAt, s.commit, s.signature]),
      [
        ['2026Q1', '2026-03-01T00:00:00.000Z', shred.commit, 'good'],
        ['2026Q2', '2026-04-01T00:00:00.000Z', forged, 'none'],
      ],
    );
    assert.deepEqual(r1.notes, [
      `the shred record of epoch 2026Q2 in ${forged.slice(0, 12)} by ${mallory.name} <${mallory.email}> is not signed by the controller key (none): it does not show that the key was destroyed`,
    ]);
    assert.match(
      renderText(report),
      new RegExp(
        `^ {2}subject: epoch 2026Q1 key destroyed at 2026-03-01T00:00:00\\.000Z \\(record ${shred.commit!.slice(0, 12)} \\[good\\]\\)$`,
        'm',
      ),
    );
    assert.match(renderMarkdown(report), /^- Subject: epoch 2026Q2 key destroyed at .* \\\[none\\\]\)$/m);
    assert.match(renderHtml(report), /<h4>Subject<\/h4><ul><li>epoch 2026Q1 key destroyed/);
    // A record that is not a shred record (here: no requests list) names nobody.
    write(dir, shredRecordPath('2026Q3'), 'epoch: 2026Q3\nrequests: r1\n');
    sh(dir, ['add', '-A'], mallory);
    sh(dir, ['commit', '-q', '-m', 'not a record'], mallory);
    assert.equal(find(await audit({ dir }), 'r1').shredded.length, 2);
  });

  it('finds a rebased status history: the commits lost their signatures and name predecessors that are gone', async () => {
    const { dir } = await repo();
    const merge = sh(dir, ['rev-parse', 'HEAD~2']);
    sh(dir, ['checkout', '-q', '-b', 'elsewhere', merge]);
    commitFile(dir, 'notes.md', 'notes\n', bob);
    sh(dir, ['checkout', '-q', 'main']);
    sh(dir, ['rebase', '-q', '--onto', 'elsewhere', merge, 'main'], bob);
    const report = await audit({ dir });
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Unproven');
    assert.equal(r1.status.length, 2);
    assert.ok(r1.status.every((s) => s.signature === 'none'));
    assert.equal(report.chain.length, 1, 'the first status commit had no predecessor');
    assert.match(
      report.chain[0]!.reason,
      /names [0-9a-f]{12} as the previous status commit, which is not in this history: status commits were dropped \(force-push\) or rewritten/,
    );
    assert.match(r1.reasons.join('\n'), /status history broken: status commit [0-9a-f]{12} .* not in this history/);
  });

  it('finds a force-push that dropped status commits, through the commit the controller writes when it notices', async () => {
    const { dir, record, source } = await repo();
    const kept = head(dir);
    const dropped = await record('r1', 'Completed', { acme: { ...COMPLETED.acme!, evidence: { receipt: 'r-1' } } });
    sh(dir, ['reset', '-q', '--hard', kept], mallory);
    const rewritten = await source.historyRewritten();
    assert.deepEqual(rewritten, { branch: 'main', missing: dropped });
    await source.writeStatus(
      new Map([['status/README.md', '> **HistoryRewritten**\n']]),
      'lethe: status history rewritten\n',
      { previous: rewritten!.missing, remember: false },
    );
    assert.deepEqual(
      await source.historyRewritten(),
      rewritten,
      'the alarm commit does not make the rewrite acceptable',
    );
    const report = await audit({ dir });
    assert.equal(report.chain.length, 1);
    assert.match(
      report.chain[0]!.reason,
      new RegExp(
        `names ${dropped.slice(0, 12)} as the previous status commit, which is not in this history: status commits were dropped \\(force-push\\) or rewritten`,
      ),
    );
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Unproven');
    assert.match(r1.reasons.join('\n'), /^status history broken: /m);
  });

  it("keeps a request Proven whose approval was valid under the policy in force then but not under today's", async () => {
    const { dir } = await repo();
    // Alice leaves the approvers, approved by Bob: a valid policy change after the fact.
    const key = readFileSync(join(dir, 'lethe.yaml'), 'utf8').match(/signingKey: "(.*)"/)![1]!;
    openPr(dir, 'policy', 'lethe.yaml', config([bob, mallory], key));
    mergePr(dir, 'policy', bob);
    const report = await audit({ dir });
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Proven', r1.reasons.join('\n'));
    assert.equal(r1.approval?.validToday, false);
    assert.match(
      r1.notes.join('\n'),
      /approval valid under the policy in force then; today's policy would not accept it \(.*Alice Approver <alice@corp\.example> is not a listed approver/,
    );
  });

  it('marks a request acted on without a valid approval Unproven, and one merely not approved Proven with a note', async () => {
    const { dir, record } = await repo();
    commitFile(dir, 'requests/r2.yaml', 'spec: r2\n', rita, 'push r2 straight to main');
    await record('r2', 'Completed');
    commitFile(dir, 'requests/r3.yaml', 'spec: r3\n', rita, 'push r3 straight to main');
    await record('r3', 'AwaitingApproval', {});
    const report = await audit({ dir });
    const r2 = find(report, 'r2');
    assert.equal(r2.verdict, 'Unproven');
    assert.match(
      r2.reasons.join('\n'),
      /^acted on without a valid approval: requests\/r2\.yaml reached main in [0-9a-f]{12} without a merge commit/m,
    );
    const r3 = find(report, 'r3');
    assert.equal(r3.verdict, 'Proven', r3.reasons.join('\n'));
    assert.match(r3.notes.join('\n'), /^not approved: .*nothing was done for it$/m);
    // The CLI: exit 1 when any selected request is Unproven, 0 for a proven selection.
    const cli = (args: string[]) =>
      spawnSync(process.execPath, ['controller/cli/bin.mjs', 'audit', '--repo', dir, ...args], { encoding: 'utf8' });
    assert.equal(cli(['--all']).status, 1);
    const proven = cli(['r1', 'r3', '--format', 'json']);
    assert.equal(proven.status, 0, proven.stderr);
    assert.deepEqual(
      JSON.parse(proven.stdout).requests.map((q: RequestAudit) => q.verdict),
      ['Proven', 'Proven'],
    );
  });

  it('reports unsigned operation, and a signing key changed without approval as not the controller key', async () => {
    const unsigned = await repo({ signed: false });
    const u = find(await audit({ dir: unsigned.dir }), 'r1');
    assert.equal(u.verdict, 'Unproven');
    assert.match(u.reasons[0]!, /is not signed: no spec\.identity\.signingKey was declared \(unsigned operation\)/);
    assert.equal((await audit({ dir: unsigned.dir })).signing.unsignedStatusCommits, 2);
    const listing = spawnSync(process.execPath, ['controller/cli/bin.mjs', 'status', '--repo', unsigned.dir], {
      encoding: 'utf8',
    });
    assert.match(listing.stdout, /^Status commits are not signed \(no spec\.identity\.signingKey in lethe\.yaml\)/m);

    const { dir, source } = await repo();
    const attacker = makeKey('mallory');
    commitFile(dir, 'lethe.yaml', config([alice, bob], attacker.pub), mallory, 'rotate key');
    source.useSigner(await findSigner(attacker.dir, attacker.pub));
    await source.writeStatus(
      new Map([
        ['status/r1.yaml', statusYaml('r1', 'Completed', { acme: { ...COMPLETED.acme!, jobIds: ['job-00'] } })],
      ]),
      commitMessage([{ name: 'r1', to: 'Completed' }], head(dir)),
    );
    const report = await audit({ dir });
    assert.match(
      report.config.join('\n'),
      /lethe\.yaml change in [0-9a-f]{12} \(signing key\) is not approved under the policy in force, so it is ignored: .*without a merge commit/,
    );
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Unproven');
    assert.match(r1.reasons.join('\n'), /is signed by SHA256:\S+, not by the controller key in force SHA256:/);
  });

  it('audits a separate status branch against the manifests on the protected branch', async () => {
    const key = makeKey();
    const dir = tempDir();
    sh(dir, ['init', '-q', '-b', 'main']);
    commitFile(
      dir,
      'lethe.yaml',
      `${config([alice, bob], key.pub)}  statusBranch: lethe-status\n`,
      alice,
      'Set up Lethe',
    );
    openPr(dir, 'r1', 'requests/r1.yaml', 'spec: r1\n');
    mergePr(dir, 'r1', alice);
    const source = await GitSource.open({
      repo: dir,
      branch: 'main',
      statusBranch: 'lethe-status',
      dataDir: tempDir(),
      identity: lethe,
    });
    source.useSigner(await findSigner(key.dir, key.pub));
    for (const phase of ['InProgress', 'Completed'] as const) {
      await source.writeStatus(
        new Map([['status/r1.yaml', statusYaml('r1', phase, phase === 'Completed' ? COMPLETED : RUNNING)]]),
        commitMessage([{ name: 'r1', to: phase }], head(dir, 'main')),
      );
    }
    commitFile(dir, 'notes.md', 'later work on main\n', bob);
    const report = await audit({ dir, ref: 'lethe-status' });
    assert.equal(report.manifestHead, head(dir, 'main'));
    const r1 = find(report, 'r1');
    assert.equal(r1.verdict, 'Proven', r1.reasons.join('\n'));
    assert.equal(r1.status.length, 2);
  });

  it('renders text, Markdown and one self-contained HTML page, and yearly metrics', async () => {
    const { dir, record } = await repo();
    commitFile(dir, 'requests/r2.yaml', 'spec: r2\n', rita);
    await record('r2', 'AwaitingApproval', {});
    const report = await audit({ dir });
    const html = renderHtml(report);
    assert.match(html, /^<!doctype html>/);
    assert.doesNotMatch(html, /<script|<link|<img|@import|url\(|(src|href)="(?!#)/i);
    assert.ok(renderText(report).split('\n').includes('r1  Proven  erasure gdpr  received 2026-01-02  due 2026-02-02'));
    assert.match(renderMarkdown(report), /\| r1 \| Proven \| erasure \| gdpr \|/);
    assert.equal(renderText(await audit({ dir })), renderText(report), 'reproducible');
    const metrics = computeMetrics(report, 2026);
    const gdpr = metrics.rows.find((r) => r.action === 'erasure' && r.regulation === 'gdpr')!;
    assert.deepEqual(
      [
        gdpr.received,
        gdpr.completedWhole,
        gdpr.open,
        gdpr.meanDays,
        gdpr.medianDays,
        gdpr.completedLate,
        gdpr.unproven,
      ],
      [2, 1, 1, 8, 8, 0, 0],
    );
    assert.equal(computeMetrics(report, 2025).rows.length, 0);
    assert.match(renderMetrics(metrics, 'csv'), /^action,regulation,received,completedWhole,/);
    const cli = spawnSync(
      process.execPath,
      ['controller/cli/bin.mjs', 'audit', '--metrics', '--year', '2026', '--format', 'csv', '--repo', dir],
      { encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, renderMetrics(metrics, 'csv'));
  });
});
