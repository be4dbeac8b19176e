/**
 * `npm start`: the whole story on one machine. A scratch privacy repository (a bare
 * `origin` and a working clone) gets the example requests the way a team would add them —
 * proposed on branches, merged by the DPO, one pushed straight to main by someone who may
 * not approve — and the Lethe controller reconciles it against the vendor sandbox until
 * every approved request is final. `npm start -- --repo DIR --port N` runs the same
 * controller on your own repository: it prints the sandbox's base URLs and credentials, says
 * what it will write before writing, and never changes the repository's subject salt (it
 * uses the configured one, or works on a scratch copy).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { audit, type AuditReport } from '../../controller/audit/audit.ts';
import { renderSummary } from '../../controller/audit/render.ts';
import { defaultDataDir, openController } from '../../controller/core/app.ts';
import { renderStatusTable } from '../../controller/core/dashboard.ts';
import { lookup } from '../../controller/errors/catalogue.ts';
import { startHealthServer } from '../../controller/core/health-server.ts';
import { ControllerMetrics } from '../../controller/core/metrics.ts';
import { Runner } from '../../controller/core/runner.ts';
import { parseListen } from '../../controller/cli/commands/run.ts';
import { VERSION } from '../../controller/version.ts';
import { listRequestExports } from '../../controller/exports/index.ts';
import { createLogger } from '../../controller/log.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import type { PrivacyRequestStatus } from '../../specs/index.ts';
import { startSandbox } from '../sandbox/index.ts';
import type { VendorStats } from '../sandbox/ledger.ts';
import { gitAs, PEOPLE } from './git-as.ts';
import { Progress } from './progress.ts';
import { DEMO_SUBJECTS, DEMO_VENDORS, pointAtSandbox, sandboxEnv, useSandboxIds } from './sandbox-wiring.ts';
import { createScratchRepo } from './scratch-repo.ts';
import { plural } from '../../controller/plural.ts';
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
  /** `lethe audit --all` of the repository the demo reconciled. */
  audit: AuditReport;
  /** One line per task that stopped for an operator: what happened and what to do. */
  explanations: string[];
  /** The run stopped by itself (every approved task final or stalled), not at --timeout-seconds. */
  idle: boolean;
  /** GET /metrics as scraped once the controller stopped. */
  metrics: string;
  passes: number;
}

export const DEMO_USAGE =
  'npm start -- [--repo DIR] [--port N] [--time-scale X] [--seed N] [--faults SPEC] [--timeout-seconds N] [--metrics-listen HOST:PORT] [--quiet]';

export class DemoUsageError extends Error {}

function listenOption(value: string | undefined): { host: string; port: number } {
  try {
    return parseListen(value ?? '127.0.0.1:0', '--metrics-listen');
  } catch (err) {
    throw new DemoUsageError((err as Error).message);
  }
}

function demoOptions(argv: string[]) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        repo: { type: 'string' },
        port: { type: 'string' },
        'time-scale': { type: 'string' },
        seed: { type: 'string' },
        faults: { type: 'string' },
        'timeout-seconds': { type: 'string' },
        quiet: { type: 'boolean' },
        'metrics-listen': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new DemoUsageError((err as Error).message);
  }
  const number = (flag: string, raw: string | undefined, fallback: number, ok: (n: number) => boolean): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !ok(n)) throw new DemoUsageError(`--${flag} ${raw.slice(0, 20)} is not valid`);
    return n;
  };
  return {
    repo: values.repo,
    port: number('port', values.port, 0, (n) => Number.isInteger(n) && n >= 0 && n <= 65535),
    timeScale: number('time-scale', values['time-scale'], 0.1, (n) => n > 0),
    seed: number('seed', values.seed, 7, Number.isInteger),
    faults: values.faults,
    timeoutMs: number('timeout-seconds', values['timeout-seconds'], 240, (n) => n > 0) * 1000,
    quiet: values.quiet === true,
    metricsListen: listenOption(values['metrics-listen']),
  };
}

/**
 * The subject salt of a repository's controller, when one is configured: LETHE_SUBJECT_SALT,
 * else the one `lethe reconcile` keeps in its data directory. The demo must reuse it, or
 * every subjectRef in the repository's status files would change.
 */
function configuredSalt(repoDir: string): string | undefined {
  if (process.env.LETHE_SUBJECT_SALT) return process.env.LETHE_SUBJECT_SALT;
  const file = join(defaultDataDir({ repo: repoDir }), 'subject-salt');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

export async function runDemo(argv: string[]): Promise<DemoResult> {
  const o = demoOptions(argv);
  const { timeScale, timeoutMs } = o;
  const out = (line = '') => {
    if (!o.quiet) process.stdout.write(line + '\n');
  };

  const sandbox = await startSandbox({
    port: o.port,
    timeScale,
    seed: o.seed,
    subjects: DEMO_SUBJECTS,
    faults: o.faults,
  });
  const root = mkdtempSync(join(tmpdir(), 'lethe-demo-'));
  const dataDir = join(root, 'data');
  out(
    `Vendor sandbox on ${sandbox.url} (time scale ${timeScale}: vendor-side delays run ${Math.round(1 / timeScale)}x faster)`,
  );

  let repoDir: string;
  let origin: string | undefined;
  mkdirSync(dataDir, { recursive: true });
  let sealing: DemoSealing | undefined;
  let salt = process.env.LETHE_SUBJECT_SALT ?? 'demo-salt';
  if (o.repo) {
    const own = resolve(o.repo);
    out('Point your vendors/*.yaml baseUrl at these (the sandbox checks the same credentials as below):');
    for (const [name, v] of Object.entries(sandbox.config.vendors)) out(`  ${name.padEnd(12)} ${v.baseUrl}`);
    out('The controller runs with these credentials in its environment (your env: references must use these names):');
    for (const [name, value] of Object.entries(sandboxEnv(sandbox.config))) out(`  ${name}=${value}`);
    const configured = configuredSalt(own);
    if (configured !== undefined) {
      salt = configured;
      repoDir = own;
      out(`Your repository's subject salt is configured: the demo uses it, so no subjectRef changes.`);
    } else {
      // Without the repository's salt every subjectRef would be rewritten: work on a copy instead.
      repoDir = join(root, 'copy');
      await gitAs(root, undefined, ['clone', '-q', '--no-hardlinks', own, repoDir]);
      out(`No subject salt is configured for ${own} (LETHE_SUBJECT_SALT, or a lethe reconcile data dir): the demo`);
      out(`runs on a scratch copy, ${repoDir}, and your repository is not changed.`);
    }
    const branch = (await gitAs(repoDir, undefined, ['rev-parse', '--abbrev-ref', 'HEAD'])) || 'main';
    out(`It will write: status/<request>.yaml and status/README.md, committed on the status branch of ${repoDir}`);
    out(`(statusBranch in lethe.yaml, else ${branch}) as the identity in lethe.yaml; nothing is pushed.`);
    out(`Journal, log and exports go to ${dataDir}. Vendors are called at the baseUrl your vendors/*.yaml give.`);
  } else {
    const signingKey = createSigningKey(join(dataDir, 'secrets'));
    const seal = await prepareSealing({ secretsDir: join(dataDir, 'secrets'), root, rewrite: useSandboxIds });
    sealing = seal;
    const repo = await createScratchRepo({
      dir: join(root, 'repo'),
      rewriteVendor: pointAtSandbox(sandbox.config),
      rewriteConfig: (text) =>
        seal.rewriteConfig(text.replace(/(\n {2}identity:\n(?: {4}.*\n)*)/, `$1    signingKey: "${signingKey}"\n`)),
      rewriteRequest: seal.rewriteRequest,
      unapproved: [UNAPPROVED],
    });
    repoDir = repo.work;
    origin = repo.origin;
    out(`Scratch privacy repository: ${repo.root}`);
    out(
      `  ${plural(repo.requests.size - 1, 'request')} proposed on branches by ${'Riley Requester'} and merged by the DPO;`,
    );
    out(`  ${UNAPPROVED} pushed straight to main by a non-approver: it must stay AwaitingApproval.`);
    out('  Status commits are signed with an ed25519 key made for this run (lethe keygen), declared in lethe.yaml.');
    out('  Subject emails and identifiers are age-encrypted (lethe.yaml requires it): none is in git history.');
    // The same non-approver repoints a vendor: the approved baseUrl and credentials stay in force.
    const vendorFile = join(repoDir, UNAPPROVED_VENDOR_EDIT);
    writeFileSync(vendorFile, readFileSync(vendorFile, 'utf8').replace(/baseUrl: .*/, `baseUrl: ${NOWHERE}`));
    await gitAs(repoDir, PEOPLE.outsider, ['commit', '-q', '-am', 'Point MaestroQA at the new endpoint']);
    await gitAs(repoDir, undefined, ['push', '-q', 'origin', 'main']);
    out(`  ${UNAPPROVED_VENDOR_EDIT} repointed on main by the same non-approver: it must be ignored and reported.`);
  }
  out('');

  const logFile = join(dataDir, 'lethe.log');
  const log = createLogger({ level: 'info', format: 'json', write: (line) => appendFileSync(logFile, line + '\n') });
  const metrics = new ControllerMetrics(VERSION);
  const health = await startHealthServer({
    ...o.metricsListen,
    registry: metrics.registry,
    notReady: () => (metrics.lastSuccessAt === undefined ? 'no successful pass yet' : undefined),
  });
  out(`Controller metrics while it runs: ${health.url}/metrics (readiness ${health.url}/readyz)`);
  const controller = await openController({
    ...(origin ? { remote: origin } : { repo: repoDir, push: false }),
    dataDir,
    drivers: createDriverTable(),
    env: { ...process.env, ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: salt },
    log,
    degradedRetryMs: 2_000,
    maxPassMs: 30_000,
    metrics,
  });
  metrics.setLeaseHeld(true);
  const progress = new Progress(controller, out, process.stdout.isTTY === true && !o.quiet);
  const runner = new Runner({
    controller,
    log,
    schedule: '* * * * *',
    untilIdle: true,
    maxSleepMs: 1_000,
    onPass: (report, ms) => {
      metrics.passSucceeded(
        ms / 1000,
        Date.now(),
        report,
        controller.journal.data,
        controller.reconciler.currentStatuses(),
      );
      progress.pass(report);
    },
    onPassFailed: (_err, ms) => metrics.passFailed(ms / 1000),
  });
  let idle = true;
  const timer = setTimeout(() => {
    idle = false;
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
  out(
    `\nFinished in ${((Date.now() - started) / 1000).toFixed(0)} s after ${plural(runner.passes, 'pass', 'passes')}.\n`,
  );
  out('Requests (as committed in status/):');
  out(renderStatusTable(statuses).trimEnd().replace(/^/gm, '  '));
  // A Stalled task waits for a person: say what stopped it and what to do (lethe explain CODE).
  const explanations = statuses.flatMap((s) =>
    Object.entries(s.status.vendors)
      .filter(([, v]) => v.phase === 'Stalled')
      .map(([vendor, v]) => {
        const code = v.lastError?.code ?? 'UNKNOWN';
        return `${s.metadata.name} ${vendor}: Stalled, ${code}. ${lookup(code)?.hint ?? `see lethe explain ${code}`}`;
      }),
  );
  if (explanations.length > 0) {
    out('\nNeeds an operator (lethe explain CODE):');
    for (const line of explanations) out(`  ${line}`);
  }

  const gitDir = origin ?? repoDir;
  const dashboard = await gitAs(gitDir, undefined, ['show', 'HEAD:status/README.md']).catch(() => '');
  const pendingSection = /^## Unapproved changes on [\s\S]*?(?=^## |(?![\s\S]))/m.exec(dashboard)?.[0]?.trimEnd();
  if (pendingSection) out(`\n${pendingSection.replace(/^/gm, '  ')}`);
  const vendorEditOk =
    o.repo !== undefined || (pendingSection?.includes(`| ${UNAPPROVED_VENDOR_EDIT} | edit |`) ?? false);
  const history = await gitAs(gitDir, undefined, [
    'log',
    '--format=%h %ad %s',
    '--date=format:%H:%M:%S',
    '-n',
    '12',
    '--author=lethe',
    'HEAD',
  ]);
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
      out(
        `  ${s.metadata.name} ${e.vendor}: ${plural(files, 'file')} in ${e.dir} (${e.problems.length === 0 ? 'sha256 verified' : plural(e.problems.length, 'problem')})`,
      );
    }
  }

  const all = sandbox.stats();
  const stats = Object.fromEntries(DEMO_VENDORS.map((vendor) => [vendor, all[vendor]]));
  out('\nSandbox ledger:');
  let violations = 0;
  let duplicates = 0;
  for (const [vendor, s] of Object.entries(stats)) {
    violations += s.rateLimitViolations;
    duplicates += s.duplicateSubmissions;
    out(
      `  ${vendor.padEnd(12)} ${plural(s.calls, 'call').padStart(10)}, ${s.sent429} answered 429, ${plural(s.rateLimitViolations, 'rate-limit violation')}, ${plural(s.duplicateSubmissions, 'duplicate submission')}`,
    );
  }
  await sandbox.stop();

  // The proof an auditor gets from a clone alone: the same as `lethe audit --all`.
  const report = await audit({ dir: gitDir });
  out(`\n$ lethe audit --all   (in a clone of ${gitDir})`);
  out(renderSummary(report).trimEnd().replace(/^/gm, '  '));
  const auditOk = o.repo !== undefined || report.unproven === 0;

  const approved = statuses.filter((s) => s.status.approval?.approved);
  const result = {
    root,
    repoDir,
    origin,
    dataDir,
    logFile,
    statuses,
    stats,
    explanations,
    idle,
    metrics: scraped,
    passes: runner.passes,
  };
  const final = approved.filter((s) => s.status.phase === 'Completed' || s.status.phase === 'Failed');
  const unapprovedOk =
    o.repo !== undefined || statuses.find((s) => s.metadata.name === UNAPPROVED)?.status.phase === 'AwaitingApproval';
  out(
    `\n${final.length}/${plural(approved.length, 'approved request')} final · ${plural(violations, 'rate-limit violation')} · ${plural(duplicates, 'duplicate submission')}`,
  );
  out(`Controller log (JSON lines, no personal data): ${logFile}`);
  out(
    `Explore the audit trail: git -C ${repoDir} pull -q && npm run lethe -- audit --repo ${repoDir} --all --format html --out audit.html`,
  );
  return {
    ...result,
    audit: report,
    exitCode:
      final.length === approved.length &&
      violations === 0 &&
      duplicates === 0 &&
      exportsOk &&
      unapprovedOk &&
      auditOk &&
      vendorEditOk
        ? 0
        : 1,
  };
}

/** What `lethe keygen` does: an ed25519 key pair in the secrets directory; returns the public key line. */
function createSigningKey(secretsDir: string): string {
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const file = join(secretsDir, 'lethe-status-signing-demo');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lethe-demo', '-f', file]);
  return readFileSync(`${file}.pub`, 'utf8').trim();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = (await runDemo(process.argv.slice(2))).exitCode;
  } catch (err) {
    if (!(err instanceof DemoUsageError)) throw err;
    process.stderr.write(`npm start: ${err.message}\nusage: ${DEMO_USAGE}\n`);
    process.exitCode = 2;
  }
}
