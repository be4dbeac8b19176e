import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DEMO_SUBJECTS } from '../../examples/demo/sandbox-wiring.ts';
import { runDemo, UNAPPROVED, UNAPPROVED_VENDOR_EDIT } from '../../examples/demo/main.ts';
import { listRequestExports } from '../../controller/exports/index.ts';
import { gitAs } from '../../examples/demo/git-as.ts';
import { renderHtml, renderJson, renderText } from '../../controller/audit/render.ts';
import { leaked } from '../support/e2e.ts';

describe('npm start (the demo) as a test', () => {
  it('takes every approved request to a final phase at the five vendors, within limits, with an audit trail and no personal data', {
    timeout: 180_000,
  }, async () => {
    const r = await runDemo(['--quiet', '--time-scale', '0.02', '--timeout-seconds', '150']);
    try {
      assert.equal(r.exitCode, 0);
      const byName = new Map(r.statuses.map((s) => [s.metadata.name, s]));
      assert.equal(byName.size, 9);
      assert.equal(byName.get(UNAPPROVED)?.status.phase, 'AwaitingApproval');
      for (const [name, s] of byName) {
        if (name === UNAPPROVED) continue;
        assert.equal(s.status.phase, 'Completed', name);
        assert.equal(s.status.approval?.approvers[0]?.email, 'dpo@example.com');
        assert.ok(
          Object.values(s.status.vendors).every((v) => v.phase === 'Completed' && v.completedAt),
          name,
        );
        assert.equal(s.status.conditions.find((c) => c.type === 'Overdue')?.reason, 'CompletedOnTime');
      }
      // Every vendor was driven, within its limits, and nothing was submitted twice.
      for (const [vendor, st] of Object.entries(r.stats)) {
        assert.ok(st.calls > 0, `${vendor} was called`);
        assert.equal(st.rateLimitViolations, 0, vendor);
        assert.equal(st.duplicateSubmissions, 0, vendor);
        assert.equal(st.unauthenticated, 0, vendor);
      }

      // The non-approver's vendor edit was ignored (MaestroQA was driven at its approved URL) and reported.
      const dashboard = await gitAs(r.origin!, undefined, ['show', 'main:status/README.md']);
      assert.match(
        dashboard,
        new RegExp(
          `## Unapproved changes on main[\\s\\S]*\\| ${UNAPPROVED_VENDOR_EDIT} \\| edit \\| [0-9a-f]{12} \\| Sam Support <sam\\.support@example\\.com> \\| spec\\.baseUrl \\|`,
        ),
      );
      assert.ok(
        byName
          .get('2026-11-0042')
          ?.status.conditions.some((c) => c.type === 'PendingChange' && c.message.includes(UNAPPROVED_VENDOR_EDIT)),
      );

      // The metrics scraped after the run agree with the statuses and the sandbox's ledger.
      const metric = (name: string) =>
        r.metrics
          .split('\n')
          .filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '))
          .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
      assert.equal(metric('lethe_requests{phase="Completed"}'), 8);
      assert.equal(metric('lethe_requests{phase="AwaitingApproval"}'), 1);
      assert.equal(metric('lethe_passes_total{result="ok"}'), r.passes);
      assert.equal(metric('lethe_requests_overdue'), 0);
      assert.equal(metric('lethe_tasks{phase="InProgress"}') + metric('lethe_tasks{phase="Waiting"}'), 0);
      assert.equal(
        metric('lethe_vendor_calls_total'),
        Object.values(r.stats).reduce((n, st) => n + st.calls, 0),
        'every vendor call counted once',
      );
      assert.equal(
        metric('lethe_vendor_rate_limited_total'),
        Object.values(r.stats).reduce((n, st) => n + st.sent429, 0),
        'every 429 counted',
      );
      assert.ok(!r.metrics.includes('@example.com'), 'no personal data in metrics');

      // The audit trail: status commits by the controller only touch status/, each names its requests.
      const log = await gitAs(r.origin!, undefined, ['log', '--format=%x1e%ae%x1f%s%x1f%b', '--name-only', 'main']);
      const commits = log.split('\x1e').filter((c) => c.trim());
      const lethe = commits.filter((c) => c.startsWith('lethe-bot@example.com'));
      assert.ok(lethe.length >= 2);
      for (const c of lethe) {
        const files = c
          .split('\x1f')[2]!
          .split('\n')
          .filter((l) => l.startsWith('status/'));
        assert.ok(files.length > 0, 'no empty status commit');
        assert.match(c, /Lethe-Request: 2026-11-\d{4}/);
        assert.ok(
          c.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('status/') && l.includes('/')).length === 0,
          'nothing outside status/',
        );
      }
      const humans = commits.filter((c) => !c.startsWith('lethe-bot@example.com'));
      assert.ok(humans.some((c) => c.startsWith('dpo@example.com') && c.includes('Merge pull request')));

      // The proof from git alone: every completed request Proven, the unapproved one listed as not approved.
      assert.equal(r.audit.unproven, 0, r.audit.requests.flatMap((q) => q.reasons).join('\n'));
      assert.equal(r.audit.signing.unsignedStatusCommits, 0);
      assert.match(r.audit.requests.find((q) => q.name === UNAPPROVED)!.notes.join('\n'), /^not approved: /);

      // Access exports exist and verify, outside git.
      for (const name of ['2026-11-0043', '2026-11-0046']) {
        const exports = await listRequestExports(r.dataDir, name);
        assert.ok(exports.length > 0, name);
        assert.ok(exports.every((e) => e.problems.length === 0 && (e.index?.files.length ?? 0) > 0));
      }

      // Privacy: no subject email in status files, commit messages, the controller log or the journal.
      const statusTexts: Array<[string, string]> = [];
      for (const p of (await gitAs(r.origin!, undefined, ['ls-tree', '-r', '--name-only', 'main', 'status/']))
        .split('\n')
        .filter(Boolean)) {
        statusTexts.push([p, await gitAs(r.origin!, undefined, ['show', `main:${p}`])]);
      }
      const found = leaked(
        DEMO_SUBJECTS.map((s) => s.email),
        [
          ...statusTexts,
          ['commit messages', lethe.join('\n')],
          ['controller log', await readFile(r.logFile, 'utf8')],
          ['journal', await readFile(join(r.dataDir, 'journal.json'), 'utf8')],
          ['rate log', await readFile(join(r.dataDir, 'rate-log.json'), 'utf8')],
          ['audit', renderText(r.audit) + renderJson(r.audit) + renderHtml(r.audit)],
        ],
      );
      assert.deepEqual(found, []);
    } finally {
      await rm(r.root, { recursive: true, force: true });
    }
  });
});
