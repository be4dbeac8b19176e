// `lethe new` in a terminal asks for what its flags did not give (issue 19). Node has no
// pseudo-terminal module, so the CLI runs under util-linux `script`, which gives it a real
// pty for stdin and stdout (isTTY true): the test answers each question when it appears,
// as a person would type, and then checks the manifest written and committed.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { gitAs, PEOPLE } from '../../examples/demo/git-as.ts';
import { createScratchRepo, removeScratchRepo, type ScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { PrivacyRequest } from '../../specs/index.ts';

const BIN = fileURLToPath(new URL('../../controller/cli/bin.mjs', import.meta.url));
const SCRIPT = spawnSync('which', ['script'], { encoding: 'utf8' }).stdout.trim();

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `lethe new ARGS` on a pseudo-terminal in `cwd`. Each [prompt, answer] pair is typed
 * once the prompt text has appeared on the terminal, in order; resolves with the exit code
 * and everything the terminal showed.
 */
function onTerminal(
  cwd: string,
  args: string[],
  dialogue: Array<[RegExp, string]>,
): Promise<{ code: number | null; screen: string; asked: string[] }> {
  const command = [process.execPath, BIN, 'new', ...args].map(quote).join(' ');
  const child = spawn(SCRIPT, ['-qec', command, '/dev/null'], {
    cwd,
    env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1', TERM: 'dumb' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let screen = '';
  let next = 0;
  let answeredUpTo = 0;
  const asked: string[] = [];
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  child.stdout.on('data', (chunk: Buffer) => {
    screen += chunk.toString('utf8');
    // Only what appeared after the last answer can be the next question.
    while (next < dialogue.length) {
      const [prompt, answer] = dialogue[next]!;
      const m = prompt.exec(screen.slice(answeredUpTo));
      if (!m) break;
      asked.push(m[0]);
      answeredUpTo = screen.length;
      next++;
      child.stdin.write(`${answer}\r`);
    }
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen, asked });
    });
  });
}

const repos: ScratchRepo[] = [];
after(async () => {
  for (const r of repos) await removeScratchRepo(r);
});

describe('lethe new on a terminal', () => {
  it('asks for every missing field, takes the defaults on Enter, and writes, validates and commits the manifest as the git user', async () => {
    assert.ok(SCRIPT, 'util-linux script is needed to give the CLI a pseudo-terminal');
    const repo = await createScratchRepo({
      omit: ['2026-11-0044', '2026-11-0045', '2026-11-0046', '2026-11-0047', '2026-11-0048', '2026-11-0049'],
    });
    repos.push(repo);
    for (const [k, v] of [
      ['user.name', PEOPLE.requester.name],
      ['user.email', PEOPLE.requester.email],
      ['commit.gpgsign', 'false'],
    ]) {
      await gitAs(repo.work, undefined, ['config', k!, v!]);
    }

    const run = await onTerminal(
      repo.work,
      ['--vendor', 'maestroqa'],
      [
        [/action \(erasure, access, optout\): $/, 'erasure'],
        [/regulation \(gdpr, ccpa, other\): $/, 'gdpr'],
        [/subject email addresses \(comma-separated\): $/, 'typed.subject@example.com, second.address@example.com'],
        [/received on \(YYYY-MM-DD\) \[\d{4}-\d{2}-\d{2}\]: $/, '2026-11-27'],
        [/justification \(ticket reference, legal basis; no personal data\): $/, 'Art. 17 via ticket SUP-501'],
      ],
    );
    assert.equal(run.code, 0, run.screen);
    assert.equal(run.asked.length, 5, `not every question was asked:\n${run.screen}`);
    assert.doesNotMatch(run.screen, /vendors \(/, '--vendor was given: not asked');

    const name = '2026-11-0051';
    const path = `requests/2026/11/${name}.yaml`;
    assert.match(run.screen, new RegExp(`Created ${path} on branch request/${name}`));
    assert.equal(await gitAs(repo.work, undefined, ['rev-parse', '--abbrev-ref', 'HEAD']), `request/${name}`);
    const [author, message] = (await gitAs(repo.work, undefined, ['log', '-1', '--format=%ae%n%s'])).split('\n');
    assert.equal(author, PEOPLE.requester.email);
    assert.equal(message, `Add privacy request ${name} (erasure, gdpr)`);
    const text = readFileSync(join(repo.work, path), 'utf8');
    assert.match(text, /receivedAt: "2026-11-27"/);
    const written = PrivacyRequest.parse(parseYaml(text));
    assert.equal(written.metadata.name, name);
    assert.equal(written.spec.action, 'erasure');
    assert.equal(written.spec.regulation, 'gdpr');
    assert.deepEqual(written.spec.subject.emails, ['typed.subject@example.com', 'second.address@example.com']);
    assert.deepEqual(written.spec.vendors, ['maestroqa']);
    assert.equal(written.spec.justification, 'Art. 17 via ticket SUP-501');

    // Back on main, nothing given but the email: Enter takes "all" vendors and today's date.
    await gitAs(repo.work, undefined, ['checkout', '-q', 'main']);
    const today = new Date().toISOString().slice(0, 10);
    const defaults = await onTerminal(
      repo.work,
      ['--email', 'other.subject@example.com', '--action', 'access', '--regulation', 'ccpa'],
      [
        [/vendors \(comma-separated names of vendors\/\*\.yaml, or all\) \[all\]: $/, ''],
        [/received on \(YYYY-MM-DD\) \[\d{4}-\d{2}-\d{2}\]: $/, ''],
        [/justification \(ticket reference, legal basis; no personal data\): $/, 'CCPA access, ticket SUP-502'],
      ],
    );
    assert.equal(defaults.code, 0, defaults.screen);
    const created = /Created (requests\/\S+\.yaml)/.exec(defaults.screen)?.[1];
    assert.ok(created, defaults.screen);
    const second = PrivacyRequest.parse(parseYaml(readFileSync(join(repo.work, created), 'utf8')));
    assert.equal(second.spec.vendors, 'all');
    assert.equal(second.spec.receivedAt, today);
    assert.equal(second.spec.action, 'access');

    // A wrong answer is refused with the usage message; nothing is written.
    await gitAs(repo.work, undefined, ['checkout', '-q', 'main']);
    const wrong = await onTerminal(
      repo.work,
      ['--email', 'x@example.com', '--vendor', 'maestroqa', '--received', '2026-11-27', '--justification', 't'],
      [
        [/action \(erasure, access, optout\): $/, 'erase'],
        [/regulation \(gdpr, ccpa, other\): $/, 'gdpr'],
      ],
    );
    assert.equal(wrong.code, 2, wrong.screen);
    assert.match(wrong.screen, /--action must be erasure, access, optout/);
    assert.equal(await gitAs(repo.work, undefined, ['rev-parse', '--abbrev-ref', 'HEAD']), 'main');
    assert.equal(await gitAs(repo.work, undefined, ['status', '--porcelain']), '');
  });
});
