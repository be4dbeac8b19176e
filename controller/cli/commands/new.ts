import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ACTIONS, isoDateProblem, REGULATIONS, type Action, type Regulation } from '../../../specs/index.ts';
import { gitErrors } from '../../git/errors.ts';
import { git } from '../../git/exec.ts';
import { repositoryRoot } from '../../git/source.ts';
import { lsTree, readBlobs } from '../../git/tree.ts';
import {
  checkRepository,
  formatText,
  listManifestPaths,
  manifestKind,
  nameFromPath,
  parseManifest,
  type ParsedManifest,
} from '../../manifests/index.ts';
import { encryptSubject } from '../../subjects/sealed.ts';
import {
  nextRequestName,
  renderRequestManifest,
  requestPath,
  type RequestFields,
  type SubjectFields,
} from '../../manifests/render-request.ts';
import { EXIT, parseFlags } from '../main.ts';
import { exitOnError, UsageError } from './controller-flags.ts';
import { createDriverTable } from '../../vendors/registry.ts';

export const usage =
  'new --action erasure|access|optout --regulation gdpr|ccpa|other --email ADDRESS [--email ...] [--vendor NAME ...] [--received YYYY-MM-DD] ' +
  '[--justification TEXT] [--extension REASON [--extension-months N]] [--repo DIR] [--base BRANCH] [--push]';
export const summary =
  'File a request: next free name, requests/YYYY/MM/<name>.yaml, validated, committed on a new branch request/<name>.';

const FLAGS = {
  action: { type: 'string' },
  regulation: { type: 'string' },
  email: { type: 'string', multiple: true },
  vendor: { type: 'string', multiple: true },
  received: { type: 'string' },
  justification: { type: 'string' },
  extension: { type: 'string' },
  'extension-months': { type: 'string' },
  repo: { type: 'string' },
  base: { type: 'string' },
  remote: { type: 'string' },
  push: { type: 'boolean' },
} as const;

const run$ = promisify(execFile);

/** Asks for what the flags did not give, on a terminal only: a script gets a usage error instead. */
class Prompter {
  private rl =
    process.stdin.isTTY && process.stdout.isTTY
      ? createInterface({ input: process.stdin, output: process.stdout })
      : undefined;

  get interactive(): boolean {
    return this.rl !== undefined;
  }

  async ask(question: string, fallback?: string): Promise<string | undefined> {
    if (!this.rl) return fallback;
    const answer = (await this.rl.question(`${question}${fallback ? ` [${fallback}]` : ''}: `)).trim();
    return answer === '' ? fallback : answer;
  }

  close(): void {
    this.rl?.close();
  }
}

const list = (values: string[] | undefined): string[] =>
  (values ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);

interface Gathered {
  fields: Omit<RequestFields, 'name'>;
  subject: SubjectFields;
}

async function gather(
  values: ReturnType<typeof parseFlags<typeof FLAGS>>['values'],
  prompt: Prompter,
  today: string,
): Promise<Gathered> {
  const action = values.action ?? (await prompt.ask(`action (${ACTIONS.join(', ')})`));
  const regulation = values.regulation ?? (await prompt.ask(`regulation (${REGULATIONS.join(', ')})`));
  let emails = list(values.email);
  if (emails.length === 0) emails = list([(await prompt.ask('subject email addresses (comma-separated)')) ?? '']);
  let vendors: string[] | 'all' = list(values.vendor);
  if (vendors.length === 0) {
    const answer = await prompt.ask('vendors (comma-separated names of vendors/*.yaml, or all)', 'all');
    vendors = answer === undefined || answer === 'all' ? 'all' : list([answer]);
  }
  if (vendors !== 'all' && vendors.length === 1 && vendors[0] === 'all') vendors = 'all';
  const receivedAt = values.received ?? (await prompt.ask('received on (YYYY-MM-DD)', today)) ?? today;
  const justification =
    values.justification ?? (await prompt.ask('justification (ticket reference, legal basis; no personal data)'));

  const missing = [
    action === undefined ? '--action' : '',
    regulation === undefined ? '--regulation' : '',
    emails.length === 0 ? '--email' : '',
    justification === undefined ? '--justification' : '',
  ].filter(Boolean);
  if (missing.length > 0)
    throw new UsageError(
      `missing ${missing.join(', ')}${prompt.interactive ? '' : ' (not a terminal, so nothing was asked)'}`,
    );
  if (!(ACTIONS as readonly string[]).includes(action!)) throw new UsageError(`--action must be ${ACTIONS.join(', ')}`);
  if (!(REGULATIONS as readonly string[]).includes(regulation!))
    throw new UsageError(`--regulation must be ${REGULATIONS.join(', ')}`);
  const dateProblem = isoDateProblem(receivedAt);
  if (dateProblem) throw new UsageError(`--received: ${dateProblem}`);
  let extension: RequestFields['extension'];
  if (values.extension !== undefined) {
    const months = values['extension-months'] === undefined ? undefined : Number(values['extension-months']);
    if (months !== undefined && !(months === 1 || months === 2))
      throw new UsageError('--extension-months must be 1 or 2');
    extension = { reason: values.extension, ...(months === undefined ? {} : { months }) };
  } else if (values['extension-months'] !== undefined)
    throw new UsageError('--extension-months needs --extension REASON');
  return {
    fields: {
      action: action as Action,
      regulation: regulation as Regulation,
      receivedAt,
      vendors,
      justification: justification!,
      extension,
    },
    subject: { emails },
  };
}

/** Every request name this clone knows of: on any branch (open pull requests too), in history, in the working tree. */
async function takenNames(root: string): Promise<Set<string>> {
  const names = new Set<string>();
  const paths = await git(root, ['log', '--all', '--format=', '--name-only', '--', 'requests']);
  for (const p of paths.split('\n')) if (manifestKind(p) === 'PrivacyRequest') names.add(nameFromPath(p));
  for (const p of await listManifestPaths(root)) if (manifestKind(p) === 'PrivacyRequest') names.add(nameFromPath(p));
  const refs = await git(root, ['for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/remotes']);
  for (const ref of refs.split('\n')) {
    const m = /\/request\/([^/]+)$/.exec(ref);
    if (m) names.add(m[1]!);
  }
  return names;
}

/** The branch requests are merged into: approval.protectedBranch of the working tree's lethe.yaml, else main. */
function protectedBranch(root: string): string {
  const file = join(root, 'lethe.yaml');
  if (!existsSync(file)) return 'main';
  try {
    const branch = (parseYaml(readFileSync(file, 'utf8')) as { spec?: { approval?: { protectedBranch?: unknown } } })
      ?.spec?.approval?.protectedBranch;
    return typeof branch === 'string' && branch !== '' ? branch : 'main';
  } catch {
    return 'main';
  }
}

/** Every manifest on `base`, parsed: the cross-checks (vendor names, identifiers) see what the merge will. */
async function manifestsAt(root: string, base: string): Promise<ParsedManifest[]> {
  const tree = await lsTree(root, base);
  const paths = [...tree.keys()].filter((p) => manifestKind(p) !== undefined);
  const blobs = await readBlobs(
    root,
    paths.map((p) => tree.get(p)!.id),
  );
  return paths.map((p) => parseManifest(p, blobs.get(tree.get(p)!.id) ?? ''));
}

/** The problems of the new file, checked with the repository at `base` around it. */
function problemsOf(atBase: readonly ParsedManifest[], path: string, text: string) {
  const model = checkRepository(
    [...atBase.filter((m) => m.path !== path), parseManifest(path, text)],
    createDriverTable(),
  );
  return model.problems.filter((p) => p.file === path);
}

/** git as the person running lethe new: their identity and their signing settings. */
async function gitAsUser(root: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run$('git', args, { cwd: root, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    return stdout.trim();
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '');
    if (/Please tell me who you are|unable to auto-detect email|empty ident/i.test(stderr)) {
      throw gitErrors.error('GIT_IDENTITY_MISSING');
    }
    throw gitErrors.error('GIT_FAILED', {
      command: args[0]!,
      reason:
        stderr
          .replace(/^fatal: /gm, '')
          .trim()
          .split('\n')[0] ?? '',
    });
  }
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, FLAGS);
  const prompt = new Prompter();
  try {
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]!.slice(0, 40)}"`);
    const root = await repositoryRoot(resolve(values.repo ?? '.'));
    const base = values.base ?? protectedBranch(root);
    const baseCommit = await git(root, ['rev-parse', '--verify', '-q', `refs/heads/${base}^{commit}`], {
      okCodes: [1],
    });
    if (!baseCommit) {
      throw new UsageError(
        `branch ${base} does not exist in ${root}; pass --base BRANCH (the branch approvers merge into, approval.protectedBranch)`,
      );
    }
    const { fields, subject } = await gather(values, prompt, new Date().toISOString().slice(0, 10));
    prompt.close();
    const name = nextRequestName(fields.receivedAt.slice(0, 7), await takenNames(root));
    const path = requestPath(name);
    const atBase = await manifestsAt(root, baseCommit);
    // With key epochs in the approved lethe.yaml, the subject is sealed to the current epoch
    // before anything is written: the plain values never reach the working tree or git.
    const config = atBase.find((m) => m.kind === 'LetheConfig')?.value;
    const sealed = await encryptSubject(subject, config?.kind === 'LetheConfig' ? config.spec.subjects : undefined);
    const text = renderRequestManifest({ ...fields, name }, sealed);
    const problems = problemsOf(atBase, path, text);
    if (problems.length > 0) {
      process.stderr.write(`lethe new: the request would be invalid; nothing was written\n${formatText(problems)}`);
      return EXIT.invalid;
    }

    const branch = `request/${name}`;
    await gitAsUser(root, ['checkout', '-q', '-b', branch, base]);
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text, { flag: 'wx' });
    await gitAsUser(root, ['add', '--', path]);
    // The message names the request, never the subject: git history is kept forever.
    await gitAsUser(root, [
      'commit',
      '-q',
      '-m',
      `Add privacy request ${name} (${fields.action}, ${fields.regulation})`,
      '--',
      path,
    ]);
    const commit = await git(root, ['rev-parse', '--short=12', 'HEAD']);
    const remote = values.remote ?? 'origin';
    const lines = [`Created ${path} on branch ${branch} (commit ${commit}, from ${base}).`];
    if (values.push) {
      await gitAsUser(root, ['push', '-q', '-u', remote, branch]);
      lines.push(`Pushed ${branch} to ${remote}.`, `Next: open a pull request from ${branch} into ${base}.`);
    } else {
      lines.push(
        `Next: git push -u ${remote} ${branch}, then open a pull request into ${base} (or run lethe new with --push).`,
      );
    }
    lines.push(
      'An approver listed in lethe.yaml who is not you approves it (merge or review, as the policy says); Lethe acts only after that.',
    );
    process.stdout.write(lines.join('\n') + '\n');
    return EXIT.ok;
  } catch (err) {
    return exitOnError('new', err);
  } finally {
    prompt.close();
  }
}
