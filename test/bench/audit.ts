/**
 * Benchmark 7 — `lethe audit --all` over N requests, against `git log --format` over the
 * status path (what an auditor ran by hand before). The history: N approved requests merged
 * by the DPO, then, per batch of 5 requests, three signed status commits (InProgress,
 * InProgress with evidence, Completed): 3N/5 status commits, 3N status file versions.
 * The audit walks the history once, reads every status version, checks every signature and
 * the chain, and re-evaluates every approval; the baseline only lists the commits.
 * Rounds alternate audit and baseline; medians.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { audit } from '../../controller/audit/audit.ts';
import { commitMessage } from '../../controller/core/commit-message.ts';
import { renderStatus } from '../../controller/core/status.ts';
import { findSigner } from '../../controller/git/signing.ts';
import { GitSource } from '../../controller/git/source.ts';
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

export async function benchAudit(ctx: BenchContext): Promise<BenchResult[]> {
  const n = ctx.quick ? 50 : 10_000;
  const rounds = ctx.quick ? 3 : 5;
  const keyDir = await tempDir(ctx.tmp, 'audit-key-');
  await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    'bench',
    '-f',
    join(keyDir, 'lethe-status-signing-bench'),
  ]);
  const pub = (await readFile(join(keyDir, 'lethe-status-signing-bench.pub'), 'utf8')).trim();
  const config = (await letheConfigText()).replace(/(\n {2}identity:\n(?: {4}.*\n)*)/, `$1    signingKey: "${pub}"\n`);
  const dir = await createBenchRepo({
    dir: await tempDir(ctx.tmp, 'audit-'),
    vendors: { maestroqa: maestroqaYaml({ baseUrl: NOWHERE }) },
    approved: bulkRequests(n, ['maestroqa']),
    config,
  });
  const source = await GitSource.open({
    repo: dir,
    branch: 'main',
    dataDir: await tempDir(ctx.tmp, 'audit-data-'),
    identity: { name: 'Lethe', email: 'lethe-bot@example.com' },
  });
  source.useSigner(await findSigner(keyDir, pub));
  const built = await timed(async () => {
    for (let first = 1; first <= n; first += BATCH) {
      const names = Array.from({ length: Math.min(BATCH, n - first + 1) }, (_, i) => `bench-${pad(first + i)}`);
      for (const [step, phase] of (['InProgress', 'InProgress', 'Completed'] as const).entries()) {
        const head = await source.sync();
        const files = new Map(names.map((name) => [`status/${name}.yaml`, statusText(name, phase, step)]));
        await source.writeStatus(
          files,
          commitMessage(
            names.map((name) => ({ name, to: phase })),
            head,
          ),
        );
      }
    }
  });
  ctx.log(`  built ${n} requests and ${(3 * n) / BATCH} signed status commits in ${Math.round(built.ms)} ms`);

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
        statusCommits: (3 * n) / BATCH,
        statusVersions: 3 * n,
        auditMs: round(median(auditMs)),
        gitLogMs: round(median(logMs)),
        proven,
      },
      note: 'the audit also reads and parses every status version, verifies every signature and re-evaluates every approval; the baseline only lists commits',
    }),
  ];
}
