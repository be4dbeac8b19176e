import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { git } from './exec.ts';
import { STATUS_DIR } from './paths.ts';

/**
 * The status chain: every status commit names the status commit before it, so that a
 * status history with commits dropped or rewritten shows a link to a commit that is not
 * there (`lethe audit` reports it), and the controller remembers the last status commit it
 * put on the branch to notice the same thing from its side.
 */
export const PREVIOUS_TRAILER = 'Lethe-Previous-Status';

/** Puts `Lethe-Previous-Status: <previous>` into the message's trailer block (replacing any). */
export function withPrevious(message: string, previous: string | undefined): string {
  const lines = message
    .replace(/\n+$/, '')
    .split('\n')
    .filter((l) => !l.startsWith(`${PREVIOUS_TRAILER}:`));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (previous === undefined) return lines.join('\n') + '\n';
  // A trailer block is the last paragraph (after a blank line) when all its lines are `Key: value`.
  const blank = lines.lastIndexOf('');
  const paragraph = blank === -1 ? [] : lines.slice(blank + 1);
  const inBlock = paragraph.length > 0 && paragraph.every((l) => /^[A-Za-z0-9-]+: /.test(l));
  return [...lines, ...(inBlock ? [] : ['']), `${PREVIOUS_TRAILER}: ${previous}`].join('\n') + '\n';
}

/** The newest commit on `base` that changed status/: what the next status commit names. */
export async function lastStatusCommit(cwd: string, base: string): Promise<string | undefined> {
  return (await git(cwd, ['rev-list', '-1', base, '--', STATUS_DIR])) || undefined;
}

/** What the controller remembers in its data directory about the chain it writes. */
export interface ChainMemory {
  branch: string;
  /** The last status commit the controller saw on origin after a push. */
  pushed?: string;
  /** The last status commit it wrote (a local working copy has no origin to compare with). */
  written?: string;
}

/**
 * `<data dir>/status-chain.json`. Deleting it is how an operator accepts a rewritten status
 * history after looking into it (docs/audit.md).
 */
export class ChainMemoryFile {
  constructor(private readonly dataDir: string) {}

  get path(): string {
    return join(this.dataDir, 'status-chain.json');
  }

  async read(branch: string): Promise<ChainMemory> {
    if (!existsSync(this.path)) return { branch };
    try {
      const parsed = JSON.parse(await readFile(this.path, 'utf8')) as Partial<ChainMemory>;
      if (parsed.branch !== branch) return { branch };
      const sha = (v: unknown) => (typeof v === 'string' && /^[0-9a-f]{40,64}$/.test(v) ? v : undefined);
      return { branch, pushed: sha(parsed.pushed), written: sha(parsed.written) };
    } catch {
      return { branch };
    }
  }

  async update(branch: string, change: { pushed?: string; written?: string }): Promise<void> {
    const next: ChainMemory = { ...(await this.read(branch)), ...change };
    const tmp = `${this.path}.tmp`;
    // GitSource may run before anything else made the data directory (local mode, benches).
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(tmp, JSON.stringify(next) + '\n');
    await rename(tmp, this.path);
  }
}
