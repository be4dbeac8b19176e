// Sealed subjects on a real repository (issue 21): encrypted and plain requests side by
// side through the controller, the approver's `lethe show`, a missing epoch key (the
// request waits with a clear code, nothing lost), shredding refused while open or within
// retention then accepted, after which a fresh clone plus every key left cannot recover
// the subject while status still shows what was done; and a scan of the whole history of
// a repository that requires encryption.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { openController, type Controller } from '../../controller/core/app.ts';
import { subjectRef } from '../../controller/core/subject.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { createLogger } from '../../controller/log.ts';
import { createEpochKey, epochKeyPath, readEpochIdentities } from '../../controller/subjects/keys.ts';
import { sealRequestText } from '../../controller/subjects/seal-text.ts';
import { decryptSubject } from '../../controller/subjects/sealed.ts';
import { shredEpoch } from '../../controller/subjects/shred-epoch.ts';
import { showRequest } from '../../controller/subjects/show.ts';
import { gitAs } from '../../examples/demo/git-as.ts';
import { createScratchRepo, EXAMPLE_REPO, type ScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { PrivacyRequestStatus, SEALED_VALUE, SubjectsPolicy } from '../../specs/index.ts';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { originFile, originLog, pointVendorsAt, TEST_ENV } from '../support/scenario.ts';
import { testDriverTable } from '../support/test-driver.ts';
import { startTestVendor, type TestVendor } from '../support/test-vendor.ts';

const BIN = fileURLToPath(new URL('../../controller/cli/bin.mjs', import.meta.url));
const LATER_CLOCK = fileURLToPath(new URL('../support/later-clock.mjs', import.meta.url));
/** The CLI as a person runs it (standard output is a pipe here, not a terminal). */
const lethe = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });

const OLD = '2026Q3';
const CURRENT = '2026Q4';
const MONTH = 31 * 86_400_000;

interface Sealed {
  repo: ScratchRepo;
  dataDir: string;
  secrets: string;
  /** The controller's status signing key as lethe.yaml declares it (with `signed`). */
  signingKey?: string;
  logs: string[];
  reviewerOld: string;
  reviewerCurrent: string;
  emails: string[];
  open(): Promise<Controller>;
}

async function examples(): Promise<Map<string, string>> {
  const dir = join(EXAMPLE_REPO, 'requests', '2026', '11');
  const out = new Map<string, string>();
  for (const f of (await readdir(dir)).sort()) out.set(basename(f, '.yaml'), await readFile(join(dir, f), 'utf8'));
  return out;
}

/**
 * The example repository with two key epochs declared (2026Q3 with a reviewer, the current
 * 2026Q4 with another), the controller's keys of both in its secrets directory, and the
 * requests `seal` names sealed to 2026Q3 before they are first committed.
 */
async function sealedRepo(
  vendorUrl: string,
  o: {
    seal: (name: string) => boolean;
    requireEncryption?: boolean;
    edit?: (name: string, text: string) => string;
    signed?: boolean;
  },
): Promise<Sealed> {
  const root = await mkdtemp(join(tmpdir(), 'lethe-sealed-'));
  const secrets = join(root, 'secrets');
  // With `signed`, the controller's status signing key is made as an operator makes it (lethe
  // keygen) in the same secrets directory, and lethe.yaml declares it.
  let signingKey: string | undefined;
  if (o.signed) {
    const made = lethe(['keygen', '--secrets-dir', secrets]);
    assert.equal(made.status, 0, made.stderr);
    signingKey = /signingKey: "(ssh-ed25519 [^"]+)"/.exec(made.stdout)?.[1];
    assert.ok(signingKey, made.stdout);
  }
  const old = await createEpochKey(secrets, OLD);
  const current = await createEpochKey(secrets, CURRENT);
  const reviewerOld = await generateX25519Identity();
  const reviewerCurrent = await generateX25519Identity();
  const epochs = [
    {
      id: OLD,
      recipient: old.recipient,
      reviewers: [{ name: 'DPO', recipient: await identityToRecipient(reviewerOld) }],
    },
    {
      id: CURRENT,
      recipient: current.recipient,
      reviewers: [{ name: 'DPO', recipient: await identityToRecipient(reviewerCurrent) }],
    },
  ];
  const sealing = SubjectsPolicy.parse({ epochs: [epochs[0]] });
  const texts = new Map<string, string>();
  const emails = new Set<string>();
  for (const [name, original] of await examples()) {
    const text = o.edit ? o.edit(name, original) : original;
    for (const m of text.matchAll(/[\w.+-]+@example\.com/g)) emails.add(m[0]);
    texts.set(name, o.seal(name) ? await sealRequestText(text, sealing) : text);
  }
  const subjects = [
    '  subjects:',
    `    requireEncryption: ${o.requireEncryption ?? false}`,
    '    retention: 24 months',
    '    epochs:',
    ...epochs.flatMap((e) => [
      `      - id: ${e.id}`,
      `        recipient: ${e.recipient}`,
      '        reviewers:',
      `          - name: DPO`,
      `            recipient: ${e.reviewers[0]!.recipient}`,
    ]),
  ].join('\n');
  const repo = await createScratchRepo({
    dir: join(root, 'repo'),
    rewriteVendor: pointVendorsAt(vendorUrl),
    rewriteConfig: (text) => {
      const declared = signingKey
        ? text.replace(/(\n {2}identity:\n(?: {4}.*\n)*)/, `$1    signingKey: "${signingKey}"\n`)
        : text;
      assert.ok(!signingKey || declared.includes(signingKey), 'lethe.yaml declares the signing key');
      return `${declared.trimEnd()}\n${subjects}\n`;
    },
    rewriteRequest: (name) => texts.get(name)!,
    unapproved: ['2026-11-0050'],
  });
  const dataDir = join(root, 'data');
  const logs: string[] = [];
  return {
    repo,
    dataDir,
    secrets,
    ...(signingKey ? { signingKey } : {}),
    logs,
    reviewerOld,
    reviewerCurrent,
    emails: [...emails],
    open: () =>
      openController({
        remote: repo.origin,
        dataDir,
        drivers: testDriverTable(),
        env: { ...TEST_ENV, LETHE_SECRETS_DIR: secrets },
        push: true,
        log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
        degradedRetryMs: 0,
      }),
  };
}

async function passes(s: Sealed, n: number, until?: (c: Controller) => boolean): Promise<void> {
  const c = await s.open();
  try {
    for (let i = 0; i < n; i++) {
      await c.reconciler.pass();
      if (until?.(c)) return;
      await new Promise((r) => setTimeout(r, 40));
    }
  } finally {
    await c.close();
  }
}

const settled = (c: Controller) =>
  Object.values(c.journal.data.tasks).every((t) => ['Completed', 'Failed', 'Skipped', 'Cancelled'].includes(t.phase));

async function statusOf(s: Sealed, name: string): Promise<PrivacyRequestStatus> {
  return PrivacyRequestStatus.parse(parse(await originFile(s.repo, `status/${name}.yaml`)));
}

/** Every text where a subject must never appear: status files, commit messages, the log, the journal. */
async function assertNoSubject(s: Sealed): Promise<void> {
  const files = (await gitAs(s.repo.origin, undefined, ['ls-tree', '-r', '--name-only', 'main', 'status/']))
    .split('\n')
    .filter(Boolean);
  const texts = [
    ...(await Promise.all(files.map((f) => originFile(s.repo, f)))),
    (await originLog(s.repo)).map((c) => `${c.subject}\n${c.body}`).join('\n'),
    s.logs.join('\n'),
    await readFile(join(s.dataDir, 'journal.json'), 'utf8'),
  ]
    .join('\n')
    .toLowerCase();
  for (const e of s.emails) assert.ok(!texts.includes(e.toLowerCase()), 'a subject email leaked');
}

/** Every object of a repository (blobs and commit messages of every ref, and unreachable ones), as text. */
async function wholeHistory(gitDir: string): Promise<string> {
  const { stdout } = await promisify(execFile)('git', ['cat-file', '--batch-all-objects', '--batch'], {
    cwd: gitDir,
    maxBuffer: 256 * 1024 * 1024,
  });
  return stdout;
}

describe('sealed subjects on a real repository', () => {
  let vendor: TestVendor;
  const roots: string[] = [];
  before(async () => {
    vendor = await startTestVendor();
  });
  after(async () => {
    await vendor.close();
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });
  beforeEach(() => vendor.reset());

  it('runs sealed and plain requests side by side; vendors get the plain address; per-subject order uses the hash of the decrypted address', async () => {
    // 2026-11-0046 (access, plain) is rewritten to concern the subject of 2026-11-0044
    // (erasure, sealed): at every vendor the access must finish before the erasure starts.
    const s = await sealedRepo(vendor.url, {
      seal: (n) => n === '2026-11-0042' || n === '2026-11-0044',
      edit: (n, t) => (n === '2026-11-0046' ? t.replace('lena.schmidt@example.com', 'sam.rivera@example.com') : t),
    });
    roots.push(s.repo.root, join(s.repo.root, '..'));
    vendor.pollsToFinish = 2;
    await passes(s, 40, settled);

    const sealed = await statusOf(s, '2026-11-0044');
    const plain = await statusOf(s, '2026-11-0046');
    assert.equal(sealed.status.phase, 'Completed');
    assert.equal(plain.status.phase, 'Completed');
    assert.equal(sealed.status.subjectEpoch, OLD);
    assert.equal(plain.status.subjectEpoch, undefined);
    assert.equal(
      sealed.status.subjectRef,
      subjectRef(TEST_ENV.LETHE_SUBJECT_SALT, ['sam.rivera@example.com', 's.rivera@example.com']),
    );
    for (const [v, erasure] of Object.entries(sealed.status.vendors)) {
      const access = plain.status.vendors[v];
      if (!access) continue;
      assert.ok(
        erasure.startedAt! >= access.completedAt!,
        `${v}: the erasure started before the access of the same subject finished`,
      );
    }
    const jane = await statusOf(s, '2026-11-0042');
    assert.equal(jane.status.phase, 'Completed');
    assert.equal(jane.status.subjectRef, subjectRef(TEST_ENV.LETHE_SUBJECT_SALT, ['jane.doe@example.com']));
    // The vendor received plain addresses, never a sealed value.
    assert.ok(vendor.emails.has('jane.doe@example.com') && vendor.emails.has('sam.rivera@example.com'));
    assert.ok(vendor.calls.every((c) => !c.body.includes('age:')));
    await assertNoSubject(s);
  });

  it('lethe show: an approver opens a request with their own key of its epoch; other keys cannot, and nothing is written', async () => {
    const s = await sealedRepo(vendor.url, { seal: (n) => n === '2026-11-0042' });
    roots.push(join(s.repo.root, '..'));
    const shown = await showRequest(s.repo.work, '2026-11-0042', [s.reviewerOld]);
    assert.equal(shown.kind, 'shown');
    assert.match(
      shown.kind === 'shown' ? shown.text : '',
      /jane\.doe@example\.com[\s\S]*elasticpath\.customerId: 6c1b2f0e/,
    );
    assert.match(shown.kind === 'shown' ? shown.text : '', /sealed to epoch 2026Q3/);
    const plain = await showRequest(s.repo.work, '2026-11-0043', [s.reviewerOld]);
    assert.match(plain.kind === 'shown' ? plain.text : '', /marc\.dupont@example\.com {2}\(plain in the repository\)/);
    for (const wrong of [s.reviewerCurrent, await generateX25519Identity()]) {
      const err = await showRequest(s.repo.work, '2026-11-0042', [wrong]).catch((e: unknown) => e);
      assert.ok(err instanceof LetheError && err.code === 'IDENTITY_CANNOT_OPEN');
      assert.doesNotMatch(err.message, /jane/);
    }
    assert.equal((await gitAs(s.repo.work, undefined, ['status', '--porcelain'])).trim(), '');

    // The command: a pipe is refused unless --stdout says so; sealed and plain validate side by side.
    const identity = join(s.repo.root, 'dpo.key');
    await writeFile(identity, `${s.reviewerOld}\n`, { mode: 0o600 });
    const piped = lethe(['show', '2026-11-0042', '--repo', s.repo.work, '--identity', identity]);
    assert.equal(piped.status, 1);
    assert.match(piped.stderr, /SHOW_NOT_A_TERMINAL/);
    assert.doesNotMatch(piped.stdout + piped.stderr, /jane/);
    const asked = lethe(['show', '2026-11-0042', '--repo', s.repo.work, '--stdout'], { LETHE_AGE_IDENTITY: identity });
    assert.equal(asked.status, 0, asked.stderr);
    assert.match(asked.stdout, /jane\.doe@example\.com/);
    const validate = lethe(['validate', '--repo', s.repo.work]);
    assert.equal(validate.status, 0, validate.stdout);
  });

  it('a missing epoch key stalls its requests with SUBJECT_KEY_MISSING, nothing lost; shred refused while open and within retention, then accepted; afterwards nobody can read the subject, status still shows the work and lethe audit on a fresh clone proves it', async () => {
    const s = await sealedRepo(vendor.url, { seal: (n) => n === '2026-11-0042', signed: true });
    roots.push(join(s.repo.root, '..'));
    const keyFile = epochKeyPath(s.secrets, OLD);
    const backup = join(s.repo.root, '..', 'backup.key');
    await rename(keyFile, backup);

    await passes(s, 6, (c) =>
      Object.values(c.journal.data.tasks)
        .filter((t) => t.request !== '2026-11-0042')
        .every((t) => t.phase === 'Completed'),
    );
    const locked = await statusOf(s, '2026-11-0042');
    assert.equal(locked.status.phase, 'Pending');
    const stalled = locked.status.conditions.find((c) => c.type === 'Stalled')!;
    assert.deepEqual([stalled.status, stalled.reason], ['True', 'SubjectLocked']);
    assert.match(stalled.message, /^SUBJECT_KEY_MISSING: .*2026Q3/);
    assert.ok(
      Object.values(locked.status.vendors).every(
        (v) => v.lastError?.code === 'SUBJECT_KEY_MISSING' && v.attempts === 0,
      ),
    );
    assert.ok(
      ![...vendor.submissions.keys()].some((l) => l.startsWith('2026-11-0042/')),
      'no vendor call for a locked request',
    );
    assert.equal((await statusOf(s, '2026-11-0043')).status.phase, 'Completed', 'the other requests proceed');

    // Shredding now is refused: the epoch has an open request.
    const c1 = await s.open();
    const config = (await c1.reconciler.config())!;
    await c1.close();
    await rename(backup, keyFile);
    const refuse = async (now: number) => {
      const c = await s.open();
      try {
        return await shredEpoch({ source: c.source, config, secretsDir: s.secrets, epoch: OLD, now }).catch(
          (e: unknown) => e,
        );
      } finally {
        await c.close();
      }
    };
    assert.equal(((await refuse(Date.now())) as LetheError).code, 'SHRED_REQUEST_OPEN');
    assert.equal(((await refuse(Date.now())) as LetheError).code, 'SHRED_REQUEST_OPEN');
    assert.equal(((await refuse(Date.now() + 30 * MONTH)) as LetheError).code, 'SHRED_REQUEST_OPEN');

    // The key is back: the request resumes on the next pass and completes.
    await passes(s, 20, settled);
    const done = await statusOf(s, '2026-11-0042');
    assert.equal(done.status.phase, 'Completed');
    assert.equal(done.status.conditions.find((c) => c.type === 'Stalled')!.status, 'False');
    assert.equal(vendor.submissions.get('2026-11-0042/maestroqa'), 1);

    assert.equal(((await refuse(Date.now())) as LetheError).code, 'SHRED_WITHIN_RETENTION');
    const cli = lethe(['shred', '--epoch', OLD, '--remote', s.repo.origin, '--data', s.dataDir], {
      ...TEST_ENV,
      LETHE_SECRETS_DIR: s.secrets,
    });
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /refused: SHRED_WITHIN_RETENTION .*request 2026-11-0042/);
    assert.equal((await readEpochIdentities(s.secrets, OLD)).length, 1, 'a refused shred leaves the key');
    // 25 months later, the operator runs lethe shred (a real process whose clock is moved on).
    const shredLater = () =>
      spawnSync(
        process.execPath,
        ['--import', LATER_CLOCK, BIN, 'shred', '--epoch', OLD, '--remote', s.repo.origin, '--data', s.dataDir],
        {
          encoding: 'utf8',
          env: {
            ...process.env,
            ...TEST_ENV,
            LETHE_SECRETS_DIR: s.secrets,
            LETHE_TEST_CLOCK_OFFSET_MS: String(25 * MONTH),
          },
        },
      );
    // Without the private half of the declared signing key, nothing is destroyed and nothing
    // is committed: an unsigned record would read as a forgery to every audit.
    const signingFile = (await readdir(s.secrets)).find(
      (f) => f.startsWith('lethe-status-signing') && !f.endsWith('.pub'),
    )!;
    const headBefore = (await originLog(s.repo))[0]!.sha;
    await rename(join(s.secrets, signingFile), join(s.repo.root, signingFile));
    const unsignable = shredLater();
    assert.notEqual(unsignable.status, 0);
    assert.match(unsignable.stderr, /STATUS_SIGNING_KEY_MISSING/);
    assert.equal(
      (await readEpochIdentities(s.secrets, OLD)).length,
      1,
      'the epoch key is left when the record cannot be signed',
    );
    assert.equal((await originLog(s.repo))[0]!.sha, headBefore, 'nothing committed');
    await rename(join(s.repo.root, signingFile), join(s.secrets, signingFile));
    const later = shredLater();
    assert.equal(later.status, 0, `refused after the retention: ${later.stderr}`);
    assert.match(
      later.stdout,
      /Epoch 2026Q3 shredded: its key was destroyed; 1 request\(s\) recorded in commit [0-9a-f]{40}, pushed/,
    );
    assert.deepEqual(await readEpochIdentities(s.secrets, OLD), [], 'the key is gone');

    const shredCommit = (await originLog(s.repo))[0]!;
    assert.match(shredCommit.body, /^Lethe-Shredded: 2026Q3$/m);
    assert.match(
      shredCommit.body,
      /^Lethe-Previous-Status: [0-9a-f]{40}$/m,
      'the shred commit is a link of the status chain',
    );
    // Signed by the controller key lethe.yaml declares, as git itself checks it.
    const allowed = join(s.repo.root, 'allowed_signers');
    await writeFile(allowed, `lethe namespaces="git" ${s.signingKey}\n`);
    const verify = (sha: string) =>
      spawnSync('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', sha], {
        cwd: s.repo.origin,
        encoding: 'utf8',
      });
    assert.equal(verify(shredCommit.sha).status, 0, `git verify-commit: ${verify(shredCommit.sha).stderr}`);
    assert.equal(
      (
        await gitAs(s.repo.origin, undefined, [
          '-c',
          `gpg.ssh.allowedSignersFile=${allowed}`,
          'log',
          '-1',
          '--format=%G?',
          shredCommit.sha,
        ])
      ).trim(),
      'G',
    );
    const record = parse(await originFile(s.repo, 'status/epochs/2026Q3.yaml')) as {
      requests: Array<{ name: string; phase: string }>;
    };
    assert.deepEqual(
      record.requests.map((r) => [r.name, r.phase]),
      [['2026-11-0042', 'Completed']],
    );

    // The reviewer of 2026Q3 destroys their key of the epoch with it (docs/privacy.md); what
    // is left: the controller's key of 2026Q4 and the reviewer's key of 2026Q4.
    const left = [...(await readEpochIdentities(s.secrets, CURRENT)), s.reviewerCurrent];
    const fresh = join(s.repo.root, 'fresh');
    await gitAs(s.repo.root, undefined, ['clone', '-q', '--mirror', s.repo.origin, fresh]);
    const sealedValues = [
      ...new Set((await wholeHistory(fresh)).match(new RegExp(SEALED_VALUE.source.slice(1, -1), 'g')) ?? []),
    ];
    assert.ok(sealedValues.length >= 2, 'the history holds the sealed values');
    for (const value of sealedValues) {
      const err = await decryptSubject('probe', { emails: [value] }, async () => left).catch((e: unknown) => e);
      assert.ok(
        err instanceof LetheError && err.code === 'SUBJECT_UNREADABLE',
        'a sealed value of a shredded epoch opened',
      );
    }
    assert.ok(!(await wholeHistory(fresh)).includes('jane.doe@example.com'));

    // Status still shows what was done, and later passes leave the finished request alone.
    await passes(s, 2);
    const after = await statusOf(s, '2026-11-0042');
    assert.equal(after.status.phase, 'Completed');
    assert.equal(after.status.subjectRef, done.status.subjectRef);
    assert.equal(after.status.conditions.find((c) => c.type === 'Stalled')!.status, 'False');
    assert.ok(Object.values(after.status.vendors).every((v) => v.phase === 'Completed' && v.completedAt));
    await assertNoSubject(s);

    // lethe audit, from a fresh clone and no key at all, still proves what was done for the
    // shredded request, and finds the shred commit a sound link of the signed status chain.
    const auditClone = join(s.repo.root, 'audit-clone');
    await gitAs(s.repo.root, undefined, ['clone', '-q', s.repo.origin, auditClone]);
    const noKeys = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LETHE_')));
    const audited = spawnSync(process.execPath, [BIN, 'audit', '2026-11-0042', '--repo', auditClone], {
      encoding: 'utf8',
      env: noKeys,
    });
    assert.equal(audited.status, 0, audited.stdout + audited.stderr);
    assert.match(audited.stdout, /2026-11-0042[^\n]*Proven/);
    assert.match(audited.stdout, /^Verdicts: 1 Proven, 0 Unproven$/m);
    const asJson = spawnSync(process.execPath, [BIN, 'audit', '--all', '--format', 'json', '--repo', auditClone], {
      encoding: 'utf8',
      env: noKeys,
    });
    const report = JSON.parse(asJson.stdout) as {
      requests: Array<{
        name: string;
        verdict: string;
        reasons: string[];
        shredded: Array<{ epoch: string; commit: string; signature: string }>;
      }>;
      chain: Array<{ reason: string }>;
      signing: { unsignedStatusCommits: number; statusCommits: number };
    };
    assert.equal(
      asJson.status,
      0,
      report.requests
        .filter((q) => q.verdict !== 'Proven')
        .map((q) => `${q.name}: ${q.reasons.join('; ')}`)
        .join('\n'),
    );
    assert.deepEqual(report.chain, [], 'no break in the status chain');
    assert.deepEqual(
      report.requests.find((q) => q.name === '2026-11-0042')!.shredded.map((x) => [x.epoch, x.commit, x.signature]),
      [['2026Q3', shredCommit.sha, 'good']],
      'the audit shows when the subject became unreadable, under the controller signature',
    );
    assert.match(audited.stdout, /^ {2}subject: epoch 2026Q3 key destroyed at \S+ \(record [0-9a-f]{12} \[good\]\)$/m);
    assert.equal(report.signing.unsignedStatusCommits, 0);
    assert.ok(report.signing.statusCommits >= 3, "the shred commit and the controller's are audited as status commits");
    for (const text of [audited.stdout, audited.stderr, asJson.stdout, asJson.stderr]) {
      for (const e of s.emails)
        assert.ok(!text.toLowerCase().includes(e.toLowerCase()), 'the audit output names a subject');
    }
  });

  it('with requireEncryption, no subject email is anywhere in the history of any ref, in origin or in the working clone', async () => {
    const s = await sealedRepo(vendor.url, { seal: () => true, requireEncryption: true });
    roots.push(join(s.repo.root, '..'));
    await passes(s, 40, settled);
    assert.equal((await statusOf(s, '2026-11-0042')).status.phase, 'Completed');
    // Pushed to main by a non-approver: recorded, but its subject is never decrypted (no
    // hash of it exists) and no vendor hears of it.
    const unapproved = await statusOf(s, '2026-11-0050');
    assert.equal(unapproved.status.phase, 'AwaitingApproval');
    assert.equal(unapproved.status.subjectRef, undefined);
    assert.equal(unapproved.status.subjectEpoch, OLD);
    assert.ok(![...vendor.submissions.keys()].some((l) => l.startsWith('2026-11-0050/')));
    assert.ok(!vendor.emails.has('dana.white@example.com'));
    await gitAs(s.repo.work, undefined, ['fetch', '-q', 'origin']);
    for (const dir of [s.repo.origin, s.repo.work]) {
      const history = (await wholeHistory(dir)).toLowerCase();
      assert.ok(history.includes('age:2026q3:'), 'the scan sees the request files');
      for (const e of s.emails)
        assert.ok(!history.includes(e.toLowerCase()), `a subject email is in the history of ${basename(dir)}`);
    }
    await assertNoSubject(s);

    // lethe validate reports a plain value at file:line once encryption is required.
    assert.equal(lethe(['validate', '--repo', s.repo.work]).status, 0);
    const file = join(s.repo.work, 'requests/2026/11/2026-11-0043.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(/emails:\n\s+- "?age:\S+/, 'emails:\n      - "marc.dupont@example.com"'),
    );
    const r = lethe(['validate', '--repo', s.repo.work]);
    assert.equal(r.status, 1);
    assert.match(
      r.stdout,
      /^requests\/2026\/11\/2026-11-0043\.yaml:\d+:\d+ SUBJECT_NOT_ENCRYPTED spec\.subject\.emails\[0\]/m,
    );
    assert.doesNotMatch(r.stdout, /marc/);
  });
});
