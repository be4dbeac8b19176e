import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitErrors } from './errors.ts';

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
 * The branch's first-parent history as the root of trust needs it. Answers come from git
 * (approved-tree.ts reads them lazily), so a start that already knows its walk reads no diff.
 */
export interface BranchView {
  /** Whether `sha` is on the first-parent chain of the branch head. */
  contains(sha: string): Promise<boolean>;
  /** Commits of that chain whose id starts with `prefix`. */
  matching(prefix: string): Promise<string[]>;
  /** The first commit of that chain whose first-parent diff adds lethe.yaml. */
  firstConfigCommit(): Promise<string | undefined>;
}

/**
 * The commit whose content is trusted as it stands: the first commit on the branch's
 * first-parent history that adds lethe.yaml, unless the operator pins another. Once
 * trusted it is recorded in the data directory and must stay in the branch's history: if a
 * force-push removes it, the controller stops instead of trusting a new first commit.
 */
export class TrustRoot {
  private recorded?: string | null;
  /** The pinned root once found on the branch: later passes only check it is still there. */
  private pinnedRoot?: string;

  constructor(private readonly o: TrustRootOptions) {}

  /** Whether this controller writes into its data directory (not `lethe plan`). */
  get records(): boolean {
    return this.o.record;
  }

  get branch(): string {
    return this.o.branch;
  }

  get path(): string {
    return join(this.o.dataDir, TRUST_ROOT_FILE);
  }

  private async readRecorded(): Promise<string | undefined> {
    if (this.recorded === undefined) {
      this.recorded = existsSync(this.path)
        ? ((JSON.parse(await readFile(this.path, 'utf8')) as { root?: string }).root ?? null)
        : null;
    }
    return this.recorded ?? undefined;
  }

  private async record(root: string): Promise<void> {
    this.recorded = root;
    if (!this.o.record) return;
    await writeFile(
      this.path,
      JSON.stringify({ root, branch: this.o.branch, recordedAt: new Date().toISOString() }, null, 2) + '\n',
      { mode: 0o600 },
    );
  }

  /** The root for the branch as `branch` shows it; throws when it cannot be trusted. */
  async resolve(branch: BranchView): Promise<string> {
    const recorded = await this.readRecorded();
    const pinned = this.o.pinned?.toLowerCase();
    if (pinned !== undefined) {
      if (this.pinnedRoot !== undefined && (await branch.contains(this.pinnedRoot))) return this.pinnedRoot;
      const found = pinned.length < 7 ? [] : await branch.matching(pinned);
      if (found.length !== 1) {
        throw gitErrors.error('TRUST_ROOT_NOT_ON_BRANCH', { root: pinned, branch: this.o.branch });
      }
      const root = found[0]!;
      this.pinnedRoot = root;
      if (recorded !== root) {
        if (recorded !== undefined)
          this.o.log.warn('root of trust changed by the operator', { from: recorded, to: root });
        await this.record(root);
      }
      return root;
    }
    if (recorded !== undefined) {
      if (await branch.contains(recorded)) return recorded;
      throw gitErrors.error('TRUST_ROOT_LOST', { root: recorded.slice(0, 12), file: this.path, branch: this.o.branch });
    }
    const root = await branch.firstConfigCommit();
    if (!root) throw gitErrors.error('TRUST_ROOT_MISSING', { branch: this.o.branch });
    await this.record(root);
    return root;
  }
}
