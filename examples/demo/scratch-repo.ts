import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitAs, PEOPLE } from './git-as.ts';

export const EXAMPLE_REPO = fileURLToPath(new URL('../privacy-repo/', import.meta.url));

export interface ScratchRepoOptions {
  /** A privacy repository to copy (default: examples/privacy-repo). */
  from?: string;
  /** Where to create it (default: a new temp dir). */
  dir?: string;
  /** Rewrites a vendor file, e.g. to point its base URL at the sandbox. */
  rewriteVendor?(name: string, text: string): string;
  /** Rewrites lethe.yaml, e.g. to declare the controller's signing key or subject key epochs. */
  rewriteConfig?(text: string): string;
  /** Rewrites a request file, e.g. to use an id the sandbox knows. */
  rewriteRequest?(name: string, text: string): string;
  /** Request names pushed straight to main by a non-approver: they must stay AwaitingApproval. */
  unapproved?: string[];
  /** Requests to leave out of the history entirely. */
  omit?: string[];
}

export interface ScratchRepo {
  root: string;
  /** The bare repository playing the git host. */
  origin: string;
  /** A working clone, as a privacy engineer's laptop would have. */
  work: string;
  /** Request files in the history, by name. */
  requests: Map<string, string>;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out.sort();
}

/**
 * Builds a privacy repository with the history Lethe's approval gate expects: the setup
 * committed by the privacy lead, each request proposed by a requester on a branch and
 * merged (no fast-forward) by the DPO, and optionally a request pushed straight to main by
 * someone who may not approve anything.
 */
export async function createScratchRepo(options: ScratchRepoOptions = {}): Promise<ScratchRepo> {
  const from = options.from ?? EXAMPLE_REPO;
  const root = options.dir ?? (await mkdtemp(join(tmpdir(), 'lethe-repo-')));
  const origin = join(root, 'origin.git');
  const work = join(root, 'work');
  await mkdir(root, { recursive: true });
  await gitAs(root, undefined, ['init', '-q', '--bare', origin]);
  await gitAs(root, undefined, ['clone', '-q', origin, work]);
  await gitAs(work, undefined, ['checkout', '-q', '-B', 'main']);

  const files = (await walk(from)).map((f) => relative(from, f));
  const requestFiles = files.filter((f) => f.startsWith('requests/'));
  const omit = new Set(options.omit ?? []);
  for (const f of files.filter((f) => !f.startsWith('requests/') && !f.startsWith('status/'))) {
    await mkdir(dirname(join(work, f)), { recursive: true });
    let text = await readFile(join(from, f), 'utf8');
    if (f.startsWith('vendors/') && options.rewriteVendor)
      text = options.rewriteVendor(basename(f).replace(/\.ya?ml$/, ''), text);
    if (f === 'lethe.yaml' && options.rewriteConfig) text = options.rewriteConfig(text);
    await writeFile(join(work, f), text);
  }
  await gitAs(work, PEOPLE.lead, ['add', '-A']);
  await gitAs(work, PEOPLE.lead, ['commit', '-q', '-m', 'Set up the privacy repository']);

  const copyRequest = async (f: string) => {
    await mkdir(dirname(join(work, f)), { recursive: true });
    const text = await readFile(join(from, f), 'utf8');
    await writeFile(
      join(work, f),
      options.rewriteRequest ? options.rewriteRequest(basename(f).replace(/\.ya?ml$/, ''), text) : text,
    );
  };
  const requests = new Map<string, string>();
  const unapproved = new Set(options.unapproved ?? []);
  const approved = requestFiles.filter((f) => {
    const name = basename(f).replace(/\.ya?ml$/, '');
    requests.set(name, f);
    return !unapproved.has(name) && !omit.has(name);
  });
  for (const name of omit) requests.delete(name);

  // Two pull requests, as a privacy team would batch the week's requests.
  const half = Math.ceil(approved.length / 2);
  for (const [i, batch] of [approved.slice(0, half), approved.slice(half)].entries()) {
    if (batch.length === 0) continue;
    const branch = `requests/batch-${i + 1}`;
    await gitAs(work, undefined, ['checkout', '-q', '-b', branch, 'main']);
    for (const f of batch) {
      await copyRequest(f);
      await gitAs(work, PEOPLE.requester, ['add', f]);
      await gitAs(work, PEOPLE.requester, [
        'commit',
        '-q',
        '-m',
        `Add privacy request ${basename(f).replace(/\.ya?ml$/, '')}`,
      ]);
    }
    await gitAs(work, undefined, ['checkout', '-q', 'main']);
    await gitAs(work, PEOPLE.dpo, [
      'merge',
      '-q',
      '--no-ff',
      '-m',
      `Merge pull request #${i + 1} from ${branch}`,
      branch,
    ]);
  }
  for (const name of unapproved) {
    const f = requests.get(name);
    if (!f) throw new Error(`no request named ${name} in ${from}`);
    await copyRequest(f);
    await gitAs(work, PEOPLE.outsider, ['add', f]);
    await gitAs(work, PEOPLE.outsider, ['commit', '-q', '-m', `Add privacy request ${name}`]);
  }
  await gitAs(work, undefined, ['push', '-q', 'origin', 'main']);
  return { root, origin, work, requests };
}

export async function removeScratchRepo(repo: ScratchRepo): Promise<void> {
  await rm(repo.root, { recursive: true, force: true });
}
