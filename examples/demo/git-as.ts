import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Person {
  name: string;
  email: string;
}

/** The cast of the example history: who asks, who approves, who should not be able to. */
export const PEOPLE = {
  requester: { name: 'Riley Requester', email: 'riley.requester@example.com' },
  dpo: { name: 'Data Protection Officer', email: 'dpo@example.com' },
  lead: { name: 'Privacy Lead', email: 'privacy-lead@example.com' },
  outsider: { name: 'Sam Support', email: 'sam.support@example.com' },
} as const satisfies Record<string, Person>;

/**
 * Runs git as `person` (author and committer), independent of the machine's git config:
 * CI has no global identity and a developer's commit.gpgsign must not leak into demos.
 */
export async function gitAs(
  cwd: string,
  person: Person | undefined,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<string> {
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    ...extraEnv,
  };
  if (person) {
    Object.assign(env, {
      GIT_AUTHOR_NAME: person.name,
      GIT_AUTHOR_EMAIL: person.email,
      GIT_COMMITTER_NAME: person.name,
      GIT_COMMITTER_EMAIL: person.email,
    });
  }
  const { stdout } = await run('git', ['-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', ...args], {
    cwd,
    env,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout.trim();
}
