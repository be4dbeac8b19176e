// Sealed subjects (issue 21): the value format, encryption to an epoch and its reviewers,
// decryption that never quotes a value, validation of plain and sealed values side by
// side, the shredding rules, and the planner holding a locked request.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import fc from 'fast-check';
import { checkRepository, parseManifest } from '../../controller/manifests/index.ts';
import { plan, type PlanVendor } from '../../controller/core/planner.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { sealRequestText } from '../../controller/subjects/seal-text.ts';
import { decryptSubject, encryptSubject, sealValue, subjectEpochs } from '../../controller/subjects/sealed.ts';
import { retentionEnd, shredRefusal, type EpochRequest } from '../../controller/subjects/shred.ts';
import { isSealed, sealedEpoch, SubjectEmail, SubjectsPolicy, type KeyEpoch } from '../../specs/index.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';

async function keyPair(): Promise<{ identity: string; recipient: string }> {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
}

const config = (subjects: string) => `apiVersion: lethe/v1
kind: LetheConfig
metadata: { name: t }
spec:
  approval: { approvers: [{ email: dpo@example.com }] }
${subjects}`;

const vendor = `apiVersion: lethe/v1
kind: VendorConnection
metadata: { name: maestroqa }
spec:
  type: maestroqa
  credentials: { apiToken: env:MAESTROQA_API_TOKEN }
`;

const request = (name: string, emails: string[]) => `apiVersion: lethe/v1
kind: PrivacyRequest
metadata:
  name: ${name}
spec:
  action: erasure
  regulation: gdpr
  receivedAt: "2026-11-20"
  subject:
    emails:
${emails.map((e) => `      - "${e}"`).join('\n')}
  vendors: [maestroqa]
  justification: ticket 1
`;

describe('sealing and opening subject values', () => {
  it('round-trips emails and identifiers; the controller and each reviewer open them, nobody else', async () => {
    const controller = await keyPair();
    const reviewer = await keyPair();
    const stranger = await keyPair();
    const epoch: KeyEpoch = {
      id: '2026Q4',
      recipient: controller.recipient,
      reviewers: [{ name: 'DPO', recipient: reviewer.recipient }],
    };
    const sealed = await encryptSubject(
      { emails: ['jane@example.com'], identifiers: { elasticpath: { customerId: 'c-42' } } },
      { requireEncryption: false, retention: '24 months', epochs: [epoch] },
    );
    assert.ok(sealed.emails.every(isSealed));
    assert.equal(sealedEpoch(sealed.emails[0]!), '2026Q4');
    assert.ok(!JSON.stringify(sealed).includes('jane') && !JSON.stringify(sealed).includes('c-42'));
    assert.deepEqual(subjectEpochs(sealed), ['2026Q4']);
    for (const who of [controller, reviewer]) {
      assert.deepEqual(await decryptSubject('r1', sealed, async () => [who.identity]), {
        emails: ['jane@example.com'],
        identifiers: { elasticpath: { customerId: 'c-42' } },
      });
    }
    const err = await decryptSubject('r1', sealed, async () => [stranger.identity]).catch((e: unknown) => e);
    assert.ok(err instanceof LetheError && err.code === 'SUBJECT_UNREADABLE');
    assert.doesNotMatch(err.message + String(err.stack), /jane|c-42/);
    const missing = await decryptSubject('r1', sealed, async () => []).catch((e: unknown) => e);
    assert.ok(missing instanceof LetheError && missing.code === 'SUBJECT_KEY_MISSING');
    assert.match(missing.message, /2026Q4/);
  });

  it('two seals of one address differ, so the repository does not link two requests of one person', async () => {
    const k = await keyPair();
    const epoch = { id: 'e1', recipient: k.recipient };
    assert.notEqual(await sealValue('jane@example.com', epoch), await sealValue('jane@example.com', epoch));
  });

  it('any address lethe validate accepts survives sealing and opening (property)', async () => {
    const k = await keyPair();
    const epoch = { id: 'e1', recipient: k.recipient };
    await fc.assert(
      fc.asyncProperty(
        fc.emailAddress().filter((e) => SubjectEmail.safeParse(e).success),
        async (email) => {
          const sealed = await sealValue(email, epoch);
          assert.ok(isSealed(sealed) && !sealed.includes(email));
          assert.deepEqual((await decryptSubject('r', { emails: [sealed] }, async () => [k.identity])).emails, [email]);
        },
      ),
      { numRuns: 15 },
    );
  });

  it('a sealed value that opens to something other than an email address is refused, without quoting it', async () => {
    const k = await keyPair();
    const sealed = await sealValue('not an address, with secrets', { id: 'e1', recipient: k.recipient });
    const err = await decryptSubject('r9', { emails: [sealed] }, async () => [k.identity]).catch((e: unknown) => e);
    assert.ok(err instanceof LetheError && err.code === 'SUBJECT_SEALED_INVALID');
    assert.doesNotMatch(err.message, /secrets/);
  });

  it('without epochs lethe new writes plain values; values already sealed are kept as they are', async () => {
    const plain = { emails: ['a@example.com'] };
    assert.deepEqual(await encryptSubject(plain, undefined), plain);
    const k = await keyPair();
    const policy = SubjectsPolicy.parse({ epochs: [{ id: 'e1', recipient: k.recipient }] });
    const once = await encryptSubject(plain, policy);
    assert.deepEqual(await encryptSubject(once, policy), once);
  });

  it('sealRequestText seals a manifest and keeps it a valid request', async () => {
    const k = await keyPair();
    const policy = SubjectsPolicy.parse({ epochs: [{ id: 'e1', recipient: k.recipient }] });
    const text = await sealRequestText(request('r1', ['jane@example.com', 'j.d@example.com']), policy);
    assert.doesNotMatch(text, /@example\.com/);
    const m = parseManifest('requests/r1.yaml', text);
    assert.deepEqual(m.problems, []);
    assert.deepEqual(
      (
        await decryptSubject('r1', m.kind === 'PrivacyRequest' ? m.value!.spec.subject : { emails: [] }, async () => [
          k.identity,
        ])
      ).emails,
      ['jane@example.com', 'j.d@example.com'],
    );
  });
});

describe('lethe validate with sealed and plain values side by side', () => {
  it('accepts both by default; with requireEncryption reports each plain value at file:line, never the value', async () => {
    const k = await keyPair();
    const sealed = await sealValue('jane@example.com', { id: 'e1', recipient: k.recipient });
    const files = (requireEncryption: boolean) => [
      parseManifest(
        'lethe.yaml',
        config(
          `  subjects:\n    requireEncryption: ${requireEncryption}\n    epochs:\n      - id: e1\n        recipient: ${k.recipient}\n`,
        ),
      ),
      parseManifest('vendors/maestroqa.yaml', vendor),
      parseManifest('requests/r1.yaml', request('r1', [sealed])),
      parseManifest('requests/r2.yaml', request('r2', ['bob@example.com', sealed])),
    ];
    assert.deepEqual(checkRepository(files(false), createDriverTable()).problems, []);
    const problems = checkRepository(files(true), createDriverTable()).problems;
    assert.deepEqual(
      problems.map((p) => `${p.file}:${p.line}:${p.column} ${p.code}`),
      ['requests/r2.yaml:11:9 SUBJECT_NOT_ENCRYPTED'],
    );
    assert.doesNotMatch(JSON.stringify(problems), /bob@/);
    assert.ok(checkRepository(files(true), createDriverTable()).invalidRequests.has('requests/r2.yaml'));
  });

  it('reports an undeclared epoch, mixed epochs, and a damaged sealed value', async () => {
    const k = await keyPair();
    const e1 = await sealValue('a@example.com', { id: 'e1', recipient: k.recipient });
    const e2 = await sealValue('b@example.com', { id: 'e2', recipient: k.recipient });
    const e9 = await sealValue('c@example.com', { id: 'e9', recipient: k.recipient });
    const files = [
      parseManifest(
        'lethe.yaml',
        config(
          `  subjects:\n    epochs:\n      - id: e1\n        recipient: ${k.recipient}\n      - id: e2\n        recipient: ${k.recipient}\n`,
        ),
      ),
      parseManifest('vendors/maestroqa.yaml', vendor),
      parseManifest('requests/r1.yaml', request('r1', [e1, e2])),
      parseManifest('requests/r2.yaml', request('r2', [e9])),
      parseManifest('requests/r3.yaml', request('r3', ['age:e1:not base64!'])),
    ];
    const problems = checkRepository(files, createDriverTable()).problems.map((p) => `${p.file} ${p.code}`);
    assert.deepEqual(problems, [
      'requests/r1.yaml SUBJECT_EPOCH_MIXED',
      'requests/r2.yaml SUBJECT_EPOCH_UNKNOWN',
      'requests/r3.yaml INVALID_FORMAT',
    ]);
  });
});

describe('shredding rules', () => {
  const day = 86_400_000;
  const policy = SubjectsPolicy.parse({
    retention: '24 months',
    epochs: [
      { id: 'old', recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p' },
      { id: 'new', recipient: 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p' },
    ],
  });
  const status = (phase: 'Completed' | 'InProgress' | 'Withdrawn', at: string): EpochRequest['status'] => ({
    phase,
    completedAt: phase === 'Completed' ? at : undefined,
    conditions: [{ type: 'Ready', status: 'False', reason: phase, message: '', lastTransitionTime: at }],
    vendors: {},
  });
  const done: EpochRequest = { name: 'r1', status: status('Completed', '2026-12-01T10:00:00.000Z') };
  const end = retentionEnd('2026-12-01T10:00:00.000Z', '24 months').getTime();

  it('refuses an unknown or the current epoch', () => {
    assert.equal(shredRefusal('nope', policy, [], end)?.code, 'EPOCH_UNKNOWN');
    assert.equal(shredRefusal('new', policy, [], end)?.code, 'SHRED_CURRENT_EPOCH');
  });

  it('refuses while a request is open or not yet recorded, and within retention; accepts after', () => {
    assert.equal(
      shredRefusal(
        'old',
        policy,
        [done, { name: 'r2', status: status('InProgress', '2026-12-01T10:00:00.000Z') }],
        end + day,
      )?.code,
      'SHRED_REQUEST_OPEN',
    );
    assert.equal(shredRefusal('old', policy, [done, { name: 'r3' }], end + day)?.code, 'SHRED_REQUEST_OPEN');
    const within = shredRefusal('old', policy, [done], end - 1);
    assert.equal(within?.code, 'SHRED_WITHIN_RETENTION');
    assert.match(within!.message, /2028-12-01/);
    assert.equal(
      shredRefusal('old', policy, [done, { name: 'w', status: status('Withdrawn', '2026-10-01T00:00:00.000Z') }], end),
      undefined,
    );
  });

  it('retention adds calendar months, clamped to the end of a shorter month', () => {
    assert.equal(retentionEnd('2026-01-31T00:00:00.000Z', '1 month').toISOString(), '2026-02-28T00:00:00.000Z');
    assert.equal(retentionEnd('2026-01-31T00:00:00.000Z', '2 years').toISOString(), '2028-01-31T00:00:00.000Z');
    assert.equal(retentionEnd('2026-01-31T00:00:00.000Z', '90 days').toISOString(), '2026-05-01T00:00:00.000Z');
  });
});

describe('the planner and a locked request', () => {
  it('creates its tasks but makes no call for it, while another request of the same vendor proceeds', () => {
    const vendors = new Map<string, PlanVendor>([
      ['v', { name: 'v', available: true, fingerprint: 'f', canCancel: false, drainMs: () => 0 }],
    ]);
    const base = {
      action: 'erasure' as const,
      dueAt: '2026-12-20',
      receivedAt: '2026-11-20',
      vendors: ['v'],
      approved: true,
      fingerprint: 'x',
    };
    const p = plan({
      now: Date.parse('2026-11-21T00:00:00Z'),
      requests: [
        { ...base, name: 'locked', subjectKeys: [], locked: 'SUBJECT_KEY_MISSING' },
        { ...base, name: 'open', subjectKeys: ['k'] },
      ],
      tasks: [],
      openIntents: new Set(),
      vendors,
    });
    assert.deepEqual(
      p.actions.map((a) => a.keys),
      [['open/v']],
    );
    assert.deepEqual(p.requests.find((r) => r.name === 'locked')?.vendors.v, { wait: 'SubjectLocked' });
  });
});

describe('the exports index and subject data', () => {
  it('holds names, sizes and hashes only; a file named after a subject is refused without quoting it', async () => {
    const { mkdtemp, readFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeExport, INDEX_FILE } = await import('../../controller/exports/index.ts');
    const dir = await mkdtemp(join(tmpdir(), 'lethe-export-'));
    try {
      await writeExport(dir, [{ name: 'report_1.csv', content: Buffer.from('email\njane@example.com\n') }]);
      const index = JSON.parse(await readFile(join(dir, INDEX_FILE), 'utf8')) as { files: object[] };
      assert.deepEqual(Object.keys(index).sort(), ['files', 'version', 'writtenAt']);
      assert.deepEqual(Object.keys(index.files[0]!).sort(), ['bytes', 'name', 'sha256']);
      assert.doesNotMatch(JSON.stringify(index), /jane/);
      const err = await writeExport(dir, [{ name: 'jane@example.com.csv', content: Buffer.from('x') }]).catch(
        (e: unknown) => e,
      );
      assert.ok(err instanceof LetheError && err.code === 'EXPORT_INVALID_FILE_NAME');
      assert.doesNotMatch(err.message, /jane/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
