import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitErrors } from './errors.ts';
import type { HistoryIndex } from './history.ts';

export interface TrustRootOptions {
  dataDir: string;
  branch: string;
  /** `--trust-root <sha>` / LETHE_TRUST_ROOT: the operator's pin. */
  pinned?: string;
  /** Write the root trusted into the data directory (not for `lethe plan`). */
  record: boolean;
  log: { warn(msg: string, fields?: Record<string, unknown>): void };
}

export const TRUST_ROOT_FILE = 'trust-root.json';

/**
 * The commit whose content is trusted as it stands: the first commit on the branch's
 * first-parent history that adds lethe.yaml, unless the operator pins another. Once
 * trusted it is recorded in the data directory and must stay in the branch's history: if a
 * force-push removes it, the controller stops instead of trusting a new first commit.
 */
export class TrustRoot {
  private recorded?: string | null;

  constructor(private readonly o: TrustRootOptions) {}

  get path(): string {
    return join(this.o.dataDir, TRUST_ROOT_FILE);
  }

  private async readRecorded(): Promise<string | undefined> {
    if (this.recorded === undefined) {
      this.recorded = existsSync(this.path) ? ((JSON.parse(await readFile(this.path, 'utf8')) as { root?: string }).root ?? null) : null;
    }
    return this.recorded ?? undefined;
  }

  private async record(root: string): Promise<void> {
    this.recorded = root;
    if (!this.o.record) return;
    await writeFile(this.path, JSON.stringify({ root, branch: this.o.branch, recordedAt: new Date().toISOString() }, null, 2) + '\n', { mode: 0o600 });
  }

  /** The root for the branch as `index` holds it; throws when it cannot be trusted. */
  async resolve(index: HistoryIndex): Promise<string> {
    const recorded = await this.readRecorded();
    const pinned = this.o.pinned?.toLowerCase();
    if (pinned !== undefined) {
      const found = index.chain.filter((sha) => sha.startsWith(pinned));
      if (pinned.length < 7 || found.length !== 1) {
        throw gitErrors.error('TRUST_ROOT_NOT_ON_BRANCH', { root: pinned, branch: this.o.branch });
      }
      const root = found[0]!;
      if (recorded !== root) {
        if (recorded !== undefined) this.o.log.warn('root of trust changed by the operator', { from: recorded, to: root });
        await this.record(root);
      }
      return root;
    }
    if (recorded !== undefined) {
      if (index.position(recorded) >= 0) return recorded;
      throw gitErrors.error('TRUST_ROOT_LOST', { root: recorded.slice(0, 12), file: this.path, branch: this.o.branch });
    }
    const root = index.chain.find((sha) => index.commit(sha)!.changes.some((ch) => ch.path === 'lethe.yaml' && ch.status !== 'D'));
    if (!root) throw gitErrors.error('TRUST_ROOT_MISSING', { branch: this.o.branch });
    await this.record(root);
    return root;
  }
}
