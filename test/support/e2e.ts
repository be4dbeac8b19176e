import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { gitAs } from '../../examples/demo/git-as.ts';
import { DEMO_SUBJECTS, pointAtSandbox, sandboxEnv, useSandboxIds } from '../../examples/demo/sandbox-wiring.ts';
import { createScratchRepo, type ScratchRepo } from '../../examples/demo/scratch-repo.ts';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../examples/sandbox/index.ts';
import { UNAPPROVED } from '../../examples/demo/main.ts';

export { UNAPPROVED };

/** The example repository against the sandbox, as `npm start` builds it, for end-to-end tests. */
export interface E2E {
  sandbox: Sandbox;
  repo: ScratchRepo;
  dataDir: string;
  /** Credentials for the example vendors' env: references, plus a fixed subject salt. */
  env: Record<string, string>;
  /** Every subject email of the run: none may appear outside the exports directory. */
  emails: string[];
  /** `lethe run` against the scratch origin until every approved request is final. */
  runArgs(extra?: string[]): string[];
  close(): Promise<void>;
}

/**
 * Node's arguments for `lethe run` against `origin` until every approved request is final,
 * relative to the repository root (spawn with that as cwd).
 */
export function runUntilIdleArgs(origin: string, dataDir: string, extra: string[] = []): string[] {
  return [
    'controller/cli/bin.mjs',
    'run',
    '--remote',
    origin,
    '--data',
    dataDir,
    '--until-idle',
    // Seconds-resolution schedule: the loop never sleeps long in a test.
    '--schedule',
    '*/2 * * * * *',
    // Tests run side by side (and other checkouts too): each controller serves /metrics on a
    // free port, never the default one.
    '--metrics-listen',
    '127.0.0.1:0',
    ...extra,
  ];
}

export async function startE2E(options: SandboxOptions = {}): Promise<E2E> {
  const sandbox = await startSandbox({ port: 0, timeScale: 0.02, seed: 11, subjects: DEMO_SUBJECTS, ...options });
  const repo = await createScratchRepo({
    rewriteVendor: pointAtSandbox(sandbox.config),
    rewriteRequest: useSandboxIds,
    unapproved: [UNAPPROVED],
  });
  const dataDir = join(repo.root, 'data');
  const emails = DEMO_SUBJECTS.map((s) => s.email).concat(['s.rivera@example.com']);
  return {
    sandbox,
    repo,
    dataDir,
    env: { ...sandboxEnv(sandbox.config), LETHE_SUBJECT_SALT: 'e2e-salt' },
    emails,
    runArgs: (extra = []) => runUntilIdleArgs(repo.origin, dataDir, extra),
    async close() {
      await sandbox.stop();
      await rm(repo.root, { recursive: true, force: true });
    },
  };
}

/** Commits on origin/main, newest first, with the files each one touched. */
export async function history(
  repo: ScratchRepo,
): Promise<Array<{ sha: string; author: string; message: string; files: string[]; parents: number }>> {
  const out = await gitAs(repo.origin, undefined, [
    'log',
    '--format=%x1e%H%x1f%ae%x1f%P%x1f%B%x1f',
    '--name-only',
    'main',
  ]);
  return out
    .split('\x1e')
    .filter((r) => r.trim())
    .map((r) => {
      const [sha, author, parents, message, files] = r.split('\x1f');
      return {
        sha: sha!.trim(),
        author: author!,
        parents: parents!.trim().split(' ').filter(Boolean).length,
        message: message!,
        files: (files ?? '')
          .split('\n')
          .map((f) => f.trim())
          .filter(Boolean),
      };
    });
}

export async function statusFiles(repo: ScratchRepo): Promise<Map<string, string>> {
  const paths = (await gitAs(repo.origin, undefined, ['ls-tree', '-r', '--name-only', 'main', 'status/']))
    .split('\n')
    .filter(Boolean);
  const out = new Map<string, string>();
  for (const p of paths) out.set(p, await gitAs(repo.origin, undefined, ['show', `main:${p}`]));
  return out;
}

/** Returns the subject emails found in `texts` (case-insensitive): the privacy scan. */
export function leaked(emails: string[], texts: Array<[where: string, text: string]>): string[] {
  const found: string[] = [];
  for (const [where, text] of texts) {
    const lower = text.toLowerCase();
    for (const e of emails)
      if (lower.includes(e.toLowerCase())) found.push(`${where} (${e.replace(/^(.).*@/, '$1…@')})`);
  }
  return found;
}
