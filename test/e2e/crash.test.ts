import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { mulberry32 } from '../../examples/sandbox/random.ts';
import { PrivacyRequestStatus } from '../../specs/index.ts';
import { history, leaked, startE2E, statusFiles, UNAPPROVED, type E2E } from '../support/e2e.ts';

const KILLS = Number(process.env.LETHE_CRASH_KILLS ?? 20);

describe('SIGKILL at random moments', () => {
  let e: E2E;
  before(
    async () => {
      // Vendor work lasts about 45 s (MaestroQA's deep delete dominates), so every kill lands mid-run.
      e = await startE2E({ timeScale: 0.05 });
    },
    { timeout: 60_000 },
  );
  after(async () => e.close(), { timeout: 60_000 });

  it(`loses nothing and submits nothing twice across ${KILLS} kills and restarts`, { timeout: 600_000 }, async (t) => {
    // Seeded: the kill moments are the same on every run of the test.
    const random = mulberry32(20261125);
    const output: string[] = [];
    const run = (killAfterMs?: number) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        const child = spawn(process.execPath, e.runArgs(), {
          env: { ...process.env, ...e.env },
          stdio: ['ignore', 'pipe', 'pipe'],
          signal: t.signal,
          killSignal: 'SIGKILL',
        });
        child.stdout.on('data', (d) => output.push(String(d)));
        child.stderr.on('data', (d) => output.push(String(d)));
        const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        child.on('exit', (code, signal) => {
          clearTimeout(timer);
          resolve({ code, signal });
        });
      });

    const human = join(e.repo.root, 'human');
    await gitAs(e.repo.root, undefined, ['clone', '-q', e.repo.origin, human]);
    const humanCommits: string[] = [];
    let kills = 0;
    for (let i = 0; kills < KILLS && i < KILLS * 3; i++) {
      const r = await run(500 + Math.floor(random() * 1500));
      if (r.signal === 'SIGKILL') kills++;
      if (i % 5 === 2) {
        // A person pushes while the controller works: their commit must survive unchanged.
        await gitAs(human, PEOPLE.lead, ['pull', '-q', '--rebase', 'origin', 'main']);
        await writeFile(join(human, 'NOTES.md'), `note ${i}\n`);
        await gitAs(human, PEOPLE.lead, ['add', '-A']);
        await gitAs(human, PEOPLE.lead, ['commit', '-q', '-m', `Team note ${i}`]);
        await gitAs(human, undefined, ['push', '-q', 'origin', 'main']);
        humanCommits.push(await gitAs(human, undefined, ['rev-parse', 'HEAD']));
      }
    }
    assert.equal(kills, KILLS, 'every kill landed while the controller was running');
    const final = await run();
    assert.equal(final.code, 0, output.slice(-5).join(''));

    // Every approved request is final. The only acceptable exception: a kill during the network
    // round trip of a MaestroQA or AnswerHub submission. Neither vendor can be asked whether it
    // took effect, so the task waits for an operator (lethe explain <code>), never resubmits.
    const files = await statusFiles(e.repo);
    const statuses = [...files]
      .filter(([p]) => p !== 'status/README.md')
      .map(([, t]) => PrivacyRequestStatus.parse(parse(t)));
    assert.equal(statuses.length, 9, 'no status lost');
    for (const s of statuses) {
      if (s.metadata.name === UNAPPROVED) {
        assert.equal(s.status.phase, 'AwaitingApproval');
        continue;
      }
      for (const [vendor, v] of Object.entries(s.status.vendors)) {
        const operatorNeeded =
          v.phase === 'Stalled' &&
          ['MAESTROQA_SUBMISSION_UNCONFIRMED', 'ANSWERHUB_SCHEDULE_UNCONFIRMED'].includes(v.lastError?.code ?? '');
        assert.ok(
          v.phase === 'Completed' || operatorNeeded,
          `${s.metadata.name}/${vendor}: ${v.phase} ${v.lastError?.code ?? ''}`,
        );
      }
    }

    const stats = e.sandbox.stats();
    for (const [vendor, st] of Object.entries(stats)) {
      assert.equal(st.duplicateSubmissions, 0, `${vendor}: duplicate submissions`);
      assert.equal(st.rateLimitViolations, 0, `${vendor}: rate-limit violations`);
    }

    // A clean history: status commits are non-empty and touch only status/; human commits are intact.
    const log = await history(e.repo);
    for (const c of log.filter((x) => x.author === 'lethe-bot@example.com')) {
      assert.ok(c.files.length > 0, `empty status commit ${c.sha}`);
      assert.ok(
        c.files.every((f) => f.startsWith('status/')),
        `status commit ${c.sha} touched ${c.files.join(', ')}`,
      );
      assert.match(c.message, /^lethe: /);
    }
    for (const sha of humanCommits)
      assert.ok(
        log.some((c) => c.sha === sha),
        `human commit ${sha} survived unchanged`,
      );
    await gitAs(e.repo.origin, undefined, ['fsck', '--strict', '--no-progress']);

    assert.deepEqual(
      leaked(e.emails, [
        ...[...files],
        ['commit messages', log.map((c) => c.message).join('\n')],
        ['controller output', output.join('')],
        ['journal', await readFile(join(e.dataDir, 'journal.json'), 'utf8')],
      ]),
      [],
    );
  });
});
