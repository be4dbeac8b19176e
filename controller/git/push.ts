import { setTimeout as sleep } from 'node:timers/promises';
import { LetheError } from '../errors/types.ts';
import { gitErrors } from './errors.ts';
import { git, runGit, type Identity } from './exec.ts';
import { replayStatusCommits } from './rebase.ts';
import type { StatusSigner } from './signing.ts';

export interface PushRetry {
  attempts: number;
  budgetMs: number;
  baseDelayMs: number;
}

export const DEFAULT_PUSH_RETRY: PushRetry = { attempts: 5, budgetMs: 30_000, baseDelayMs: 500 };

export interface PushOutcome {
  pushed: boolean;
  /** Why the push was given up (the commits stay local and are pushed next pass). */
  error?: { code: string; message: string };
}

const REJECTED = /\[rejected\]|non-fast-forward|fetch first|\[remote rejected\]/;

async function resolve(cwd: string, ref: string): Promise<string | undefined> {
  return (await git(cwd, ['rev-parse', '--verify', '-q', ref], { okCodes: [1] })) || undefined;
}

/**
 * Pushes `branch` to origin. A rejection means people pushed meanwhile: fetch, replay the
 * controller's status commits on the new remote head (`rebase` false refuses instead, for a
 * branch a person has checked out) and try again, with jittered exponential backoff bounded
 * in attempts and total time.
 */
export async function pushWithRetry(
  cwd: string,
  branch: string,
  identity: Identity,
  options: { retry: PushRetry; rebase: boolean; signer?: StatusSigner },
): Promise<PushOutcome> {
  const { retry } = options;
  const local = `refs/heads/${branch}`;
  const tracking = `refs/remotes/origin/${branch}`;
  const deadline = Date.now() + retry.budgetMs;
  let error = { code: 'GIT_PUSH_FAILED', message: 'push not attempted' };
  for (let attempt = 0; attempt < retry.attempts; attempt++) {
    if (attempt > 0) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const delay = Math.min(retry.baseDelayMs * 2 ** (attempt - 1), remaining);
      await sleep(delay * (0.5 + Math.random() / 2));
    }
    const tip = await resolve(cwd, local);
    if (!tip) throw gitErrors.error('GIT_BRANCH_MISSING', { branch, where: 'the controller clone' });
    if (tip === (await resolve(cwd, tracking))) return { pushed: true };
    const push = await runGit(cwd, ['push', '--porcelain', '--no-verify', 'origin', `${local}:${local}`], {
      okCodes: [1, 128],
    });
    if (push.code === 0) {
      await git(cwd, ['update-ref', tracking, tip]);
      return { pushed: true };
    }
    const output = push.stdout.toString('utf8') + push.stderr;
    if (!REJECTED.test(output)) {
      error = {
        code: 'GIT_PUSH_FAILED',
        message: gitErrors.message('GIT_PUSH_FAILED', { branch, reason: push.stderr.trim().split('\n')[0] ?? '' }),
      };
      continue;
    }
    error = {
      code: 'GIT_PUSH_REJECTED',
      message: gitErrors.message('GIT_PUSH_REJECTED', { branch, attempts: attempt + 1 }),
    };
    if (!options.rebase) {
      return {
        pushed: false,
        error: { code: 'GIT_PUSH_NEEDS_PULL', message: gitErrors.message('GIT_PUSH_NEEDS_PULL', { branch }) },
      };
    }
    const fetch = await runGit(cwd, ['fetch', '--no-tags', 'origin', `+${local}:${tracking}`], { okCodes: [1, 128] });
    if (fetch.code !== 0) continue;
    const upstream = (await resolve(cwd, tracking))!;
    try {
      const rebased = await replayStatusCommits(cwd, upstream, tip, identity, false, options.signer);
      await git(cwd, ['update-ref', local, rebased, tip]);
    } catch (cause) {
      if (cause instanceof LetheError && cause.code === 'GIT_REBASE_REFUSED')
        return { pushed: false, error: { code: cause.code, message: cause.message } };
      throw cause;
    }
  }
  return { pushed: false, error };
}
