/**
 * Benchmark 7 — `lethe audit --all` over N requests, against `git log --format` over the
 * status path (what an auditor ran by hand before). The history: N approved requests merged
 * by the DPO, then, per batch of 5 requests, three signed status commits (InProgress,
 * InProgress with evidence, Completed): 3N/5 status commits, 3N status file versions.
 * The audit walks the history once, reads every status version, checks every signature and
 * the chain, and re-evaluates every approval; the baseline only lists the commits.
 * Rounds alternate audit and baseline; medians.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { audit } from '../../controller/audit/audit.ts';
import { commitMessage } from '../../controller/core/commit-message.ts';
import { renderStatus } from '../../controller/core/status.ts';
import { withPrevious } from '../../controller/git/chain.ts';
import type { RequestPhase, VendorTaskStatus } from '../../specs/index.ts';
import {
  bulkRequests,
  createBenchRepo,
  letheConfigText,
  maestroqaYaml,
  median,
  pad,
  result,
  round,
  tempDir,
  timed,
  type BenchContext,
  type BenchResult,
} from './lib.ts';
import { NOWHERE } from './noop.ts';

const run = promisify(execFile);
const BATCH = 5;

function statusText(name: string, phase: RequestPhase, step: number): string {
  const vendor: VendorTaskStatus =
    phase === 'Completed'
      ? {
          phase: 'Completed',
          step: 'done',
          jobIds: [`job-${name}`],
          outcome: 'Erased',
          attempts: 1,
          completedAt: '2026-11-25T10:00:00.000Z',
          evidence: { auditLabel: `lethe:${name}`, deepDeletion: 'completed' },
        }
      : {
          phase: 'InProgress',
          step: step === 0 ? 'submitted' : 'polling',
          jobIds: [`job-${name}`],
          attempts: 1,
          ...(step > 0 ? { evidence: { auditLabel: `lethe:${name}` } } : {}),
        };
  return renderStatus({
    apiVersion: 'lethe/v1',
    kind: 'PrivacyRequestStatus',
    metadata: { name },
    status: {
      phase,
      source: `requests/bench/${name}.yaml`,
      action: 'erasure',
      regulation: 'gdpr',
      receivedAt: '2026-11-20',
      dueAt: '2026-12-20',
      subjectRef: `hmac-sha256:${pad(Number(name.slice(6)), 24)}`,
      approval: {
        approved: true,
        mode: 'merge',
        approvers: [{ name: 'Data Protection Officer', email: 'dpo@example.com' }],
        reason: 'merged into main by Data Protection Officer <dpo@example.com>',
      },
      conditions: [
        {
          type: 'Ready',
          status: phase === 'Completed' ? 'True' : 'False',
          reason: phase,
          message: `${phase}: ${phase === 'Completed' ? 1 : 0}/1 vendors done`,
          lastTransitionTime: '2026-11-25T10:00:00.000Z',
        },
      ],
      vendors: { maestroqa: vendor },
      ...(phase === 'Completed' ? { completedAt: '2026-11-25T10:00:00.000Z' } : {}),
    },
  });
}

/** `ssh-ed25519 <base64>` wire encoding: a uint32 length, then the bytes. */
const wireString = (b: Buffer | string): Buffer => {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
};

/**
 * An ed25519 key that signs commit objects the way `git commit-tree -S` with gpg.format=ssh
 * does (an SSHSIG over the object without its gpgsig header, namespace "git", sha512), in
 * process: 6,000 `ssh-keygen -Y sign` processes would take longer than the audit measured.
 * The builder checks one signed commit with `git verify-commit`, so this signer cannot
 * drift into agreeing only with the controller's own verifier.
 */
function benchSigner(): { publicLine: string; sign(payload: Buffer): string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const keyBlob = Buffer.concat([wireString('ssh-ed25519'), wireString(raw)]);
  return {
    publicLine: `ssh-ed25519 ${keyBlob.toString('base64')} bench`,
    sign(payload) {
      const digest = createHash('sha512').update(payload).digest();
      const toSign = Buffer.concat([
        Buffer.from('SSHSIG', 'latin1'),
        wireString('git'),
        wireString(''),
        wireString('sha512'),
        wireString(digest),
      ]);
      const signature = cryptoSign(null, toSign, privateKey);
      const version = Buffer.alloc(4);
      version.writeUInt32BE(1);
      const blob = Buffer.concat([
        Buffer.from('SSHSIG', 'latin1'),
        version,
        wireString(keyBlob),
        wireString('git'),
        wireString(''),
        wireString('sha512'),
        wireString(Buffer.concat([wireString('ssh-ed25519'), wireString(signature)])),
      ]).toString('base64');
      const lines = blob.match(/.{1,70}/g)!;
      return ['-----BEGIN SSH SIGNATURE-----', ...lines, '-----END SSH SIGNATURE-----'].join('\n');
    },
  };
}

const LETHE = 'Lethe <lethe-bot@example.com>';

/**
 * The status history, built fast: one `git fast-import` lays out every status commit's tree
 * on a scratch ref (unsigned), then each commit is made again as the controller makes it
 * (same tree, the previous status commit as parent, commitMessage + Lethe-Previous-Status,
 * signed) and written as an object directly; main moves to the last one and the repository
 * is packed, as any clone an auditor runs on is. Building 6,000 commits through
 * GitSource.writeStatus (temporary index, commit-tree -S, update-ref per commit) took about
 * 35 minutes per 1,000 requests on a loaded machine; this takes seconds.
 */
async function buildStatusHistory(dir: string, n: number, signer: ReturnType<typeof benchSigner>): Promise<number> {
  const base = (await run('git', ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
  const batches: { names: string[]; phase: RequestPhase }[] = [];
  for (let first = 1; first <= n; first += BATCH) {
    const names = Array.from({ length: Math.min(BATCH, n - first + 1) }, (_, i) => `bench-${pad(first + i)}`);
    for (const phase of ['InProgress', 'InProgress', 'Completed'] as const) batches.push({ names, phase });
  }
  const stream: Buffer[] = [];
  const data = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    stream.push(Buffer.from(`data ${bytes.length}\n`), bytes, Buffer.from('\n'));
  };
  const steps = new Map<string, number>();
  batches.forEach((b, i) => {
    stream.push(Buffer.from(`commit refs/bench/scratch\ncommitter ${LETHE} 1764064800 +0000\n`));
    data('scratch');
    if (i === 0) stream.push(Buffer.from(`from ${base}\n`));
    for (const name of b.names) {
      const step = steps.get(name) ?? 0;
      steps.set(name, step + 1);
      stream.push(Buffer.from(`M 100644 inline status/${name}.yaml\n`));
      data(statusText(name, b.phase, step));
    }
  });
  stream.push(Buffer.from('done\n'));
  const importer = spawn('git', ['fast-import', '--quiet', '--done'], {
    cwd: dir,
    stdio: ['pipe', 'inherit', 'inherit'],
  });
  const exited = once(importer, 'exit');
  for (const chunk of stream) if (!importer.stdin.write(chunk)) await once(importer.stdin, 'drain');
  importer.stdin.end();
  const [code] = await exited;
  if (code !== 0) throw new Error(`git fast-import exited with ${code}`);
  const trees = (
    await run('git', ['log', '--reverse', '--format=%T', `${base}..refs/bench/scratch`], {
      cwd: dir,
      maxBuffer: 1 << 28,
    })
  ).stdout
    .trim()
    .split('\n');
  if (trees.length !== batches.length) throw new Error(`expected ${batches.length} trees, got ${trees.length}`);

  let parent = base;
  let previous: string | undefined;
  for (const [i, b] of batches.entries()) {
    const when = 1764064800 + i;
    const message = withPrevious(
      commitMessage(
        b.names.map((name) => ({ name, to: b.phase })),
        parent,
      ),
      previous,
    );
    const headers = `tree ${trees[i]}\nparent ${parent}\nauthor ${LETHE} ${when} +0000\ncommitter ${LETHE} ${when} +0000\n`;
    const armor = signer.sign(Buffer.from(`${headers}\n${message}`, 'utf8'));
    const body = Buffer.from(`${headers}gpgsig ${armor.replace(/\n/g, '\n ')}\n\n${message}`, 'utf8');
    const object = Buffer.concat([Buffer.from(`commit ${body.length}\0`), body]);
    const id = createHash('sha1').update(object).digest('hex');
    const file = join(dir, '.git', 'objects', id.slice(0, 2), id.slice(2));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, deflateSync(object));
    parent = id;
    previous = id;
  }
  await run('git', ['update-ref', '-d', 'refs/bench/scratch'], { cwd: dir });
  await run('git', ['update-ref', 'refs/heads/main', parent, base], { cwd: dir });
  await run('git', ['reset', '-q', '--hard'], { cwd: dir });
  // What git verify-commit says of the last commit must be "good" for the bench key.
  const allowed = join(dir, '.git', 'bench-allowed-signers');
  await writeFile(allowed, `lethe-bot@example.com namespaces="git" ${signer.publicLine}\n`);
  await run('git', ['-c', `gpg.ssh.allowedSignersFile=${allowed}`, 'verify-commit', parent], { cwd: dir });
  await run('git', ['-c', 'gc.reflogExpire=now', 'gc', '-q', '--prune=now'], { cwd: dir });
  return batches.length;
}

export async function benchAudit(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 50 : 10_000;
  const rounds = ctx.quick ? 3 : 5;
  const signer = benchSigner();
  const config = (await letheConfigText()).replace(
    /(\n {2}identity:\n(?: {4}.*\n)*)/,
    `$1    signingKey: "${signer.publicLine}"\n`,
  );
  let commits = 0;
  const built = await timed(async () => {
    const dir = await createBenchRepo({
      dir: await tempDir(ctx.tmp, 'audit-'),
      vendors: { maestroqa: maestroqaYaml({ baseUrl: NOWHERE }) },
      approved: bulkRequests(n, ['maestroqa']),
      config,
    });
    commits = await buildStatusHistory(dir, n, signer);
    return dir;
  });
  const dir = built.value;
  ctx.log(`  built ${n} requests and ${commits} signed status commits in ${Math.round(built.ms)} ms`);

  const auditMs: number[] = [];
  const logMs: number[] = [];
  let proven = 0;
  for (let r = 0; r < rounds; r++) {
    const a = await timed(() => audit({ dir }));
    auditMs.push(a.ms);
    proven = a.value.proven;
    const g = await timed(() =>
      run('git', ['log', '--format=%H %an <%ae> %ad %s%n%b', '--', 'status/'], { cwd: dir, maxBuffer: 1 << 30 }),
    );
    logMs.push(g.ms);
  }
  const ratio = round(median(auditMs) / median(logMs));
  return [
    result({
      name: 'audit',
      figure: 'lethe audit --all / git log --format -- status/',
      value: ratio,
      unit: 'x',
      target: 3,
      cmp: '<=',
      valid: proven === n,
      details: {
        requests: n,
        statusCommits: commits,
        statusVersions: 3 * n,
        auditMs: round(median(auditMs)),
        gitLogMs: round(median(logMs)),
        proven,
      },
      note: 'the audit also reads and parses every status version, verifies every signature and re-evaluates every approval; the baseline only lists commits',
    }),
  ];
}
