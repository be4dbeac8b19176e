import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { audit } from '../../controller/audit/audit.ts';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { removeScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { originFile, originLog, scenario, type Scenario } from '../support/scenario.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

const keyDir = mkdtempSync(join(tmpdir(), 'lethe-chain-key-'));
const KEY = 'lethe-status-signing-test';
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lethe-test', '-f', join(keyDir, KEY)]);
const PUB = readFileSync(join(keyDir, `${KEY}.pub`), 'utf8').trim();
after(() => rmSync(keyDir, { recursive: true, force: true }));

const declareKey = (text: string) => text.replace(/(\n {2}identity:\n(?: {4}.*\n)*)/, `$1    signingKey: "${PUB}"\n`);

/** A scenario whose lethe.yaml declares the key, with the private key in <data dir>/secrets. */
async function signedScenario(vendor: TestVendor, options: { omit?: string[] } = {}): Promise<Scenario> {
  const s = await scenario(vendor.url, { rewriteConfig: declareKey, unapproved: ['2026-11-0050'], ...options });
  mkdirSync(join(s.dataDir, 'secrets'), { recursive: true });
  for (const f of [KEY, `${KEY}.pub`]) copyFileSync(join(keyDir, f), join(s.dataDir, 'secrets', f));
  execFileSync('chmod', ['600', join(s.dataDir, 'secrets', KEY)]);
  return s;
}

async function passes(s: Scenario, n: number) {
  const c = await s.open();
  try {
    const reports = [];
    for (let i = 0; i < n; i++) {
      reports.push(await c.reconciler.pass());
      await new Promise((res) => setTimeout(res, 40));
    }
    return reports;
  } finally {
    await c.close();
  }
}

describe('signed, chained status commits (controller)', () => {
  let vendor: TestVendor;
  before(async () => {
    vendor = await startTestVendor();
  });
  after(async () => {
    await vendor.close();
  });
  beforeEach(() => vendor.reset());

  it('signs every status commit with the declared key, chains them, and the audit proves the completed requests', async () => {
    const s = await signedScenario(vendor, {
      omit: ['2026-11-0044', '2026-11-0046', '2026-11-0047', '2026-11-0048', '2026-11-0049'],
    });
    try {
      await passes(s, 4);
      const log = (await originLog(s.repo)).filter((c) => c.subject.startsWith('lethe:'));
      assert.ok(log.length >= 2);
      for (const [i, c] of log.entries()) {
        const previous = /^Lethe-Previous-Status: ([0-9a-f]{40})$/m.exec(c.body)?.[1];
        assert.equal(previous, log[i + 1]?.sha, `status commit ${i} names the one before it`);
      }
      assert.match(
        await originFile(s.repo, 'status/README.md'),
        /Status commits are signed by the controller key SHA256:/,
      );
      const report = await audit({ dir: s.repo.origin });
      assert.equal(report.signing.unsignedStatusCommits, 0);
      for (const q of report.requests) assert.equal(q.verdict, 'Proven', `${q.name}: ${q.reasons.join('; ')}`);
      assert.ok(report.requests.some((q) => q.phase === 'Completed'));
    } finally {
      await removeScratchRepo(s.repo);
    }
  });

  it('stops writing after a force-push dropped its status commits: HistoryRewritten on the dashboard, an error logged, the break in the audit', async () => {
    vendor.pollsToFinish = 3;
    const s = await signedScenario(vendor, {
      omit: ['2026-11-0044', '2026-11-0046', '2026-11-0047', '2026-11-0048', '2026-11-0049'],
    });
    try {
      await passes(s, 1);
      const [dropped, ...rest] = (await originLog(s.repo)).map((c) => c.sha);
      // Someone resets main to before the controller's status commit and force-pushes.
      await gitAs(s.repo.origin, PEOPLE.outsider, ['update-ref', 'refs/heads/main', rest[0]!]);
      const [report] = await passes(s, 1);
      assert.deepEqual(report!.historyRewritten, { branch: 'main', missing: dropped });
      assert.ok(
        s.logs.some((l) => l.includes('"level":"error"') && l.includes('STATUS_HISTORY_REWRITTEN')),
        'an error is logged',
      );
      const dashboard = await originFile(s.repo, 'status/README.md');
      assert.match(
        dashboard,
        new RegExp(
          `^> \\*\\*HistoryRewritten\\*\\*: the last status commit this controller pushed \\(${dropped}\\) is no longer on main`,
        ),
      );
      const head = (await originLog(s.repo))[0]!.sha;
      await passes(s, 4);
      assert.ok([...vendor.calls].filter((c) => c.method === 'GET').length >= 3, 'vendor work went on');
      assert.equal((await originLog(s.repo))[0]!.sha, head, 'nothing more is written');
      const audited = await audit({ dir: s.repo.origin });
      assert.match(
        audited.chain.map((c) => c.reason).join('\n'),
        new RegExp(`names ${dropped!.slice(0, 12)} as the previous status commit, which is not in this history`),
      );
      assert.ok(audited.requests.every((q) => q.verdict === 'Unproven'));
    } finally {
      await removeScratchRepo(s.repo);
    }
  });

  it('rebuilds a lost journal only from proven status: a hand-pushed status file claiming a vendor job is ignored', async () => {
    vendor.pollsToFinish = 50;
    const s = await signedScenario(vendor, {
      omit: ['2026-11-0044', '2026-11-0046', '2026-11-0047', '2026-11-0048', '2026-11-0049'],
    });
    try {
      await passes(s, 1);
      // Mallory rewrites one in-flight status so that a rebuild would "recover" a job that is not ours.
      const work = s.repo.work;
      await gitAs(work, undefined, ['pull', '-q', 'origin', 'main']);
      const name = '2026-11-0042';
      const doc = PrivacyRequestStatus.parse(parse(await originFile(s.repo, `status/${name}.yaml`)));
      for (const v of Object.values(doc.status.vendors)) v.jobIds = ['job-forged'];
      writeFileSync(join(work, `status/${name}.yaml`), stringify(doc));
      await gitAs(work, PEOPLE.outsider, ['commit', '-q', '-am', 'adjust status']);
      await gitAs(work, undefined, ['push', '-q', 'origin', 'main']);
      await rm(join(s.dataDir, 'journal.json'));
      const c = await s.open();
      try {
        await c.reconciler.pass();
        const tasks = Object.values(c.journal.data.tasks).filter((t) => t.request === name);
        assert.ok(tasks.length > 0);
        assert.ok(
          tasks.every((t) => !t.jobIds.includes('job-forged')),
          JSON.stringify(tasks.map((t) => t.jobIds)),
        );
        assert.ok(
          s.logs.some((l) => l.includes('journal rebuild ignores an unproven status file') && l.includes(name)),
        );
        const ignored = s.logs.filter((l) => l.includes('journal rebuild ignores')).map((l) => JSON.parse(l).request);
        assert.deepEqual([...new Set(ignored)], [name], 'the signed statuses are still trusted');
      } finally {
        await c.close();
      }
    } finally {
      vendor.pollsToFinish = 1;
      await removeScratchRepo(s.repo);
    }
  });
});
