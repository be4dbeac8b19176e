/**
 * `npm start`: the whole story on one machine. A scratch privacy repository (a bare
 * `origin` and a working clone) gets the example requests the way a team would add them —
 * proposed on branches, merged by the DPO, one pushed straight to main by someone who may
 * not approve — and the Lethe controller reconciles it against the vendor sandbox until
 * every approved request is final. `npm start -- --repo DIR` runs the same controller on
 * your own repository (its vendors get the sandbox's credentials).
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openController } from '../../controller/core/app.ts';
import { renderStatusTable } from '../../controller/core/dashboard.ts';
import { startHealthServer } from '../../controller/core/health-server.ts';
import { ControllerMetrics } from '../../controller/core/metrics.ts';
import { Runner } from '../../controller/core/runner.ts';
import { parseListen } from '../../controller/cli/commands/run.ts';
import { VERSION } from '../../controller/version.ts';
import { listRequestExports } from '../../controller/exports/index.ts';
import { createLogger } from '../../controller/log.ts';
import { DRIVERS } from '../../controller/vendors/registry.ts';
import type { PrivacyRequestStatus } from '../../specs/index.ts';
import { startSandbox } from '../sandbox/index.ts';
import type { VendorStats } from '../sandbox/ledger.ts';
import { gitAs, PEOPLE } from './git-as.ts';
import { Progress } from './progress.ts';
import { DEMO_SUBJECTS, pointAtSandbox, sandboxEnv, useSandboxIds } from './sandbox-wiring.ts';
import { createScratchRepo } from './scratch-repo.ts';
import { prepareSealing, type DemoSealing } from './sealing.ts';
import { showRequest } from '../../controller/subjects/show.ts';
import { identitiesIn } from '../../controller/subjects/keys.ts';

export const UNAPPROVED = '2026-11-0050';
/** Edited straight on main by a non-approver: the controller must ignore it and report it. */
export const UNAPPROVED_VENDOR_EDIT = 'vendors/maestroqa.yaml';
/** Where the unapproved edit points the vendor: nothing listens there, and nothing may be sent. */
const NOWHERE = 'http://127.0.0.1:9';

export interface DemoResult {
  exitCode: number;
  root: string;
  repoDir: string;
  /** The bare repository playing the git host (absent with --repo). */
  origin?: string;
  dataDir: string;
  logFile: string;
  statuses: PrivacyRequestStatus[];
  stats: Record<string, VendorStats>;
  /** GET /metrics as scraped once the controller stopped. */
  metrics: string;
  passes: number;
}

export async function runDemo(argv: string[]): Promise<DemoResult> {
  const { values } = parseArgs({
    args: argv,
    options: {
      repo: { type: 'string' },
      'time-scale': { type: 'string' },
      seed: { type: 'string' },
      faults: { type: 'string' },
      'timeout-seconds': { type: 'string' },
      quiet: { type: 'boolean' },
      'metrics-listen': { type: 'string' },
    },
    strict: true,
  });
  const timeScale = Number(values['time-scale'] ?? 0.1);
  const timeoutMs = Number(values['timeout-seconds'] ?? 240) * 1000;
  const out = (line = '') => {
    if (!values.quiet) process.stdout.write(line + '\n');
  };

  const sandbox = await startSandbox({ port: 0, timeScale, seed: Number(values.seed ?? 7), subjects: DEMO_SUBJECTS, faults: values.faults });
  const root = mkdtempSync(join(tmpdir(), 'lethe-demo-'));
  const dataDir = join(root, 'data');
  out(`Vendor sandbox on ${sandbox.url} (time scale ${timeScale}: vendor-side delays run ${Math.round(1 / timeScale)}x faster)`);

  let repoDir: string;
  let origin: string | undefined;
  let sealing: DemoSealing | undefined;
  if (values.repo) {
    repoDir = resolve(values.repo);
    out(`Reconciling your repository ${repoDir} (its vendors get the sandbox's credentials)`);
  } else {
    sealing = await prepareSealing({ secretsDir: join(dataDir, 'secrets'), root, rewrite: useSandboxIds });
    const repo = await createScratchRepo({
      dir: join(root, 'repo'),
      rewriteVendor: pointAtSandbox(sandbox.config),
      rewriteConfig: sealing.rewriteConfig,
      rewriteRequest: sealing.rewriteRequest,
      unapproved: [UNAPPROVED],
    });
    repoDir = repo.work;
    origin = repo.origin;
    out(`Scratch privacy repository: ${repo.root}`);
    out(`  ${repo.requests.size - 1} requests proposed on branches by ${'Riley Requester'} and merged by the DPO;`);
    out(`  ${UNAPPROVED} pushed straight to main by a non-approver: it must stay AwaitingApproval.`);
    out('  Subject emails and identifiers are age-encrypted (lethe.yaml requires it): none is in git history.');
    // The same non-approver repoints a vendor: the approved baseUrl and credentials stay in force.
    const vendorFile = join(repoDir, UNAPPROVED_VENDOR_EDIT);
    writeFileSync(vendorFile, readFileSync(vendorFile, 'utf8').replace(/baseUrl: .*/, `baseUrl: ${NOWHERE}`));
    await gitAs(repoDir, PEOPLE.outsider, ['commit', '-q', '-am', 'Point MaestroQA at the new endpoint']);
    await gitAs(repoDir, undefined, ['push', '-q', 'origin', 'main']);
    out(`  ${UNAPPROVED_VENDOR_EDIT} repointed on main by the same non-approver: it must be ignored and reported.`);
  }
  out('');

  mkdirSync(dataDir, { recursive: true });
  const logFile = join(dataDir, 'lethe.log');
  const log = createLogger({ level: 'info', format: 'json', write: (line) => appendFileSync(logFile, line + '\n') });
  const metrics = new ControllerMetrics(VERSION);
  const health = await startHealthServer({
    ...parseListen(values['metrics-listen'] ?? '127.0.0.1:0', '--metrics-listen'),
    registry: metrics.registry,
    notReady: () => (metrics.lastSuccessAt === undefined ? 'no successful pass yet' : undefined),
  });
  out(`Controller metrics while it runs: ${health.url}/metrics (readiness ${health.url}/readyz)`);
  const controller = await openController({
    ...(origin ? { remote: origin } : { repo: repoDir }),
    dataDir,
    drivers: DRIVERS,
    env: { ...process.env, ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: process.env.LETHE_SUBJECT_SALT ?? 'demo-salt' },
    log,
    degradedRetryMs: 2_000,
    maxPassMs: 30_000,
    metrics,
  });
  metrics.setLeaseHeld(true);
  const progress = new Progress(controller, out, process.stdout.isTTY === true && !values.quiet);
  const runner = new Runner({
    controller,
    log,
    schedule: '* * * * *',
    untilIdle: true,
    maxSleepMs: 1_000,
    onPass: (report, ms) => {
      metrics.passSucceeded(ms / 1000, Date.now(), report, controller.journal.data, controller.reconciler.currentStatuses());
      progress.pass(report);
    },
    onPassFailed: (_err, ms) => metrics.passFailed(ms / 1000),
  });
  const timer = setTimeout(() => {
    out(`\nStopping after ${timeoutMs / 1000} s: some vendor work is still open (see the table).`);
    runner.stop();
  }, timeoutMs);
  const stop = () => runner.stop();
  process.once('SIGINT', stop);
  const started = Date.now();
  await runner.start();
  clearTimeout(timer);
  process.off('SIGINT', stop);
  progress.done();

  const statuses = controller.reconciler.currentStatuses();
  await controller.close();
  const scraped = await (await fetch(`${health.url}/metrics`)).text();
  await health.close();
  out(`\nFinished in ${((Date.now() - started) / 1000).toFixed(0)} s after ${runner.passes} passes.\n`);
  out('Requests (as committed in status/):');
  out(renderStatusTable(statuses).trimEnd().replace(/^/gm, '  '));

  const gitDir = origin ?? repoDir;
  const dashboard = await gitAs(gitDir, undefined, ['show', 'HEAD:status/README.md']).catch(() => '');
  const pendingSection = /^## Unapproved changes on [\s\S]*?(?=^## |(?![\s\S]))/m.exec(dashboard)?.[0]?.trimEnd();
  if (pendingSection) out(`\n${pendingSection.replace(/^/gm, '  ')}`);
  const vendorEditOk = values.repo !== undefined || (pendingSection?.includes(`| ${UNAPPROVED_VENDOR_EDIT} | edit |`) ?? false);
  const history = await gitAs(gitDir, undefined, ['log', '--format=%h %ad %s', '--date=format:%H:%M:%S', '-n', '12', '--author=lethe', 'HEAD']);
  out('\nStatus commits (git log --author=lethe):');
  out(history.replace(/^/gm, '  '));

  if (sealing) {
    const identities = identitiesIn(await readFile(sealing.dpoIdentityFile, 'utf8'));
    const shown = await showRequest(repoDir, '2026-11-0042', identities);
    out(`\nWhat the DPO sees with their own key (lethe show 2026-11-0042 --identity ${sealing.dpoIdentityFile}):`);
    out(shown.kind === 'shown' ? shown.text.trimEnd().replace(/^/gm, '  ') : `  (${shown.kind})`);
  }

  out('\nAccess exports (never in git):');
  let exportsOk = true;
  for (const s of statuses.filter((x) => x.status.action === 'access')) {
    for (const e of await listRequestExports(dataDir, s.metadata.name)) {
      exportsOk &&= e.problems.length === 0;
      const files = e.index?.files.length ?? 0;
      out(`  ${s.metadata.name} ${e.vendor}: ${files} files in ${e.dir} (${e.problems.length === 0 ? 'sha256 verified' : `${e.problems.length} problems`})`);
    }
  }

  const stats = sandbox.stats();
  out('\nSandbox ledger:');
  let violations = 0;
  let duplicates = 0;
  for (const [vendor, s] of Object.entries(stats)) {
    violations += s.rateLimitViolations;
    duplicates += s.duplicateSubmissions;
    out(`  ${vendor.padEnd(12)} ${String(s.calls).padStart(4)} calls, ${s.sent429} answered 429, ${s.rateLimitViolations} rate-limit violations, ${s.duplicateSubmissions} duplicate submissions`);
  }
  await sandbox.stop();

  const approved = statuses.filter((s) => s.status.approval?.approved);
  const result = { root, repoDir, origin, dataDir, logFile, statuses, stats, metrics: scraped, passes: runner.passes };
  const final = approved.filter((s) => s.status.phase === 'Completed' || s.status.phase === 'Failed');
  const unapprovedOk = values.repo !== undefined || statuses.find((s) => s.metadata.name === UNAPPROVED)?.status.phase === 'AwaitingApproval';
  out(`\n${final.length}/${approved.length} approved requests final · ${violations} rate-limit violations · ${duplicates} duplicate submissions`);
  out(`Controller log (JSON lines, no personal data): ${logFile}`);
  out(`Explore the audit trail: git -C ${repoDir} pull -q && git -C ${repoDir} log --stat`);
  return { ...result, exitCode: final.length === approved.length && violations === 0 && duplicates === 0 && exportsOk && unapprovedOk && vendorEditOk ? 0 : 1 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = (await runDemo(process.argv.slice(2))).exitCode;
}
