import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openController, type Controller } from '../../controller/core/app.ts';
import { createLogger } from '../../controller/log.ts';
import { gitAs } from '../../examples/demo/git-as.ts';
import { createScratchRepo, type ScratchRepo, type ScratchRepoOptions } from '../../examples/demo/scratch-repo.ts';
import { testDriverTable } from './test-driver.ts';

/** Points every example vendor at one base URL and makes every credential an env reference. */
export function pointVendorsAt(url: string) {
  return (_name: string, text: string): string =>
    text
      .replace(/^(\s*)baseUrl: .*$/m, `$1baseUrl: ${url}`)
      .replace(/^(\s*)type: elasticpath$/m, `$1type: elasticpath\n$1baseUrl: ${url}`)
      .replace(/file:\/run\/secrets\/answerhub-password/, 'env:ANSWERHUB_PASSWORD')
      .replaceAll('https://api.acme.com', url);
}

export const TEST_ENV = {
  MAESTROQA_API_TOKEN: 'test-token',
  QUALIFIO_API_TOKEN: 'test-token',
  ELASTICPATH_CLIENT_ID: 'test-token',
  ELASTICPATH_CLIENT_SECRET: 'test-token-secret',
  ANSWERHUB_USERNAME: 'test-token',
  ANSWERHUB_PASSWORD: 'test-token-password',
  ACME_API_CREDENTIALS: 'test-token',
  LETHE_SUBJECT_SALT: 'integration-test-salt',
};

export interface Scenario {
  repo: ScratchRepo;
  dataDir: string;
  logs: string[];
  open(options?: { push?: boolean }): Promise<Controller>;
}

/** A scratch repository from examples/privacy-repo whose vendors all point at `vendorUrl`, driven by the test driver. */
export async function scenario(vendorUrl: string, options: ScratchRepoOptions = {}): Promise<Scenario> {
  const repo = await createScratchRepo({ rewriteVendor: pointVendorsAt(vendorUrl), ...options });
  const dataDir = join(repo.root, 'data');
  const logs: string[] = [];
  return {
    repo,
    dataDir,
    logs,
    open: (o = {}) =>
      openController({
        remote: repo.origin,
        dataDir,
        drivers: testDriverTable(),
        env: TEST_ENV,
        push: o.push ?? true,
        log: createLogger({ level: 'debug', write: (l) => logs.push(l) }),
        degradedRetryMs: 0,
      }),
  };
}

/** The origin's history, newest first: sha, author, subject. */
export async function originLog(
  repo: ScratchRepo,
): Promise<Array<{ sha: string; author: string; subject: string; body: string }>> {
  const out = await gitAs(repo.origin, undefined, ['log', '--format=%H%x1f%ae%x1f%s%x1f%b%x1e', 'main']);
  return out
    .split('\x1e')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [sha, author, subject, body] = r.split('\x1f');
      return { sha: sha!, author: author!, subject: subject!, body: body ?? '' };
    });
}

export async function originFile(repo: ScratchRepo, path: string): Promise<string> {
  return gitAs(repo.origin, undefined, ['show', `main:${path}`]);
}

export async function exampleEmails(repo: ScratchRepo): Promise<string[]> {
  const emails = new Set<string>();
  for (const path of repo.requests.values()) {
    const text = await readFile(join(repo.work, path), 'utf8').catch(async () =>
      readFile(join(repo.work, '..', 'work', path), 'utf8'),
    );
    for (const m of text.matchAll(/[\w.+-]+@example\.com/g)) emails.add(m[0]);
  }
  return [...emails];
}
