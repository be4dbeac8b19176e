import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitErrors } from './errors.ts';
import { git, identityEnv, spawnGit, type Identity } from './exec.ts';
import { signingArgs, type StatusSigner } from './signing.ts';

const NULL_ID = '0000000000000000000000000000000000000000';

/** A tree edit: the blob to place at `path`, or null to remove it. */
export interface TreeChange {
  path: string;
  blob: string | null;
  mode?: string;
}

/** git's id of a blob, hashed from the text itself (no copy of 10,000 status files as buffers). */
const blobId = (content: string): string =>
  createHash('sha1')
    .update(`blob ${Buffer.byteLength(content, 'utf8')}\0`)
    .update(content, 'utf8')
    .digest('hex');

/**
 * Writes contents as blobs (exact bytes) and returns their ids. A quiet pass rewrites
 * byte-identical status files, so ids are computed here and only blobs git lacks are written.
 * They go through one `git fast-import`, which writes a single pack: loose objects cost
 * about a millisecond of filesystem time each, so 1,000 changed status files took ~0.6 s in
 * hash-object alone (the commit benchmark), against ~0.1 s as a pack. fast-import keeps
 * fewer than fastimport.unpackLimit (100) objects loose, as before.
 */
export async function hashBlobs(cwd: string, contents: string[]): Promise<string[]> {
  const ids = contents.map(blobId);
  if (ids.length === 0) return ids;
  const check = await git(cwd, ['cat-file', '--batch-check=%(objectname)'], { input: ids.join('\n') + '\n' });
  const missing = new Set(
    check
      .split('\n')
      .filter((line) => line.endsWith(' missing'))
      .map((line) => line.split(' ')[0]!),
  );
  if (missing.size === 0) return ids;
  const blobs = new BlobWriter(cwd);
  for (let i = 0; i < contents.length; i++) if (missing.has(ids[i]!)) await blobs.add(contents[i]!);
  await blobs.close();
  return ids;
}

/** A blob already written (hashBlobs), by id: writeStatus takes it in place of its text. */
export interface WrittenBlob {
  blob: string;
}

/** About what a pipe holds: one write wakes git once per 64 KB of blobs. */
const WRITE_BYTES = 64 * 1024;

/**
 * Blobs written through one `git fast-import` (one pack) as they are handed over, waiting
 * whenever git's pipe is full: the input is never built as one buffer (10,000 new status
 * files are about 17 MB, which that buffer and its parts held three times over). Blobs go
 * to the pipe about 64 KB at a time: a write per 1.7 KB status was a system call and a
 * wake-up of git each, 0.5 s of the first pass over 10,000 requests. The blobs are in the
 * repository once close() resolves, not before. git is started on the first blob: a writer
 * nothing was added to costs no process.
 */
export class BlobWriter {
  private child?: ReturnType<typeof spawnGit>;
  private done?: Promise<void>;
  private readonly queued = new Set<string>();
  private exited = false;
  private pending: string[] = [];
  private pendingBytes = 0;

  constructor(private readonly cwd: string) {}

  /** Writes `content` as a blob (exact bytes) and returns its id. */
  async add(content: string): Promise<string> {
    const id = blobId(content);
    if (this.queued.has(id)) return id;
    this.queued.add(id);
    const bytes = Buffer.byteLength(content, 'utf8');
    this.pending.push(`blob\ndata ${bytes}\n`, content, '\n');
    this.pendingBytes += bytes;
    if (this.pendingBytes >= WRITE_BYTES) await this.flush();
    return id;
  }

  /** Ends the input; resolves once every blob is in the repository (nothing to do when none was added). */
  async close(): Promise<void> {
    if (this.pending.length > 0) await this.flush();
    if (!this.child) return;
    this.child.stdin.end('done\n');
    return this.done!;
  }

  private async flush(): Promise<void> {
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    const child = this.child ?? this.start();
    // A git that stopped reads nothing more: close() reports why.
    if (this.exited || child.stdin.write(text)) return;
    await new Promise<void>((resolve) => {
      const go = () => {
        child.stdin.off('drain', go);
        child.off('close', go);
        resolve();
      };
      child.stdin.on('drain', go);
      child.on('close', go);
    });
  }

  private start(): ReturnType<typeof spawnGit> {
    const child = spawnGit(this.cwd, ['fast-import', '--quiet', '--done']);
    const err: Buffer[] = [];
    let failure: Error | undefined;
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (cause) => {
      failure = gitErrors.error('GIT_FAILED', { command: 'fast-import', reason: 'it could not start' }, { cause });
    });
    child.stdin.on('error', () => undefined); // git may exit before reading all input; close reports it
    this.done = new Promise((resolve, reject) => {
      child.on('close', (code) => {
        this.exited = true;
        if (failure) return reject(failure);
        if (code === 0) return resolve();
        const reason = `exit ${code ?? 128}: ${Buffer.concat(err).toString('utf8').trim()}`;
        reject(gitErrors.error('GIT_FAILED', { command: 'fast-import', reason }));
      });
    });
    // Observed by close(); a stream abandoned after a failure must not crash the process.
    this.done.catch(() => undefined);
    this.child = child;
    return child;
  }
}

/**
 * Applies `changes` to `base`'s tree in a throwaway index, so neither the working tree nor
 * the real index (which may hold a person's staged work) is ever involved.
 */
export async function editTree(cwd: string, base: string, changes: TreeChange[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lethe-index-'));
  const env = { GIT_INDEX_FILE: join(dir, 'index') };
  try {
    await git(cwd, ['read-tree', base], { env });
    const lines = changes.map((c) =>
      c.blob === null ? `0 ${NULL_ID}\t${c.path}` : `${c.mode ?? '100644'} ${c.blob}\t${c.path}`,
    );
    if (lines.length > 0) await git(cwd, ['update-index', '--index-info'], { env, input: lines.join('\n') + '\n' });
    return await git(cwd, ['write-tree'], { env });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface CommitSpec {
  tree: string;
  parents: string[];
  message: string;
  committer: Identity;
  /** Kept when replaying a commit; defaults to the committer. */
  author?: Identity & { date?: string };
  /** Sign with git's SSH signing; unsigned without. */
  signer?: StatusSigner;
}

export async function commitTree(cwd: string, spec: CommitSpec): Promise<string> {
  const env = identityEnv(spec.committer);
  if (spec.author) {
    env.GIT_AUTHOR_NAME = spec.author.name;
    env.GIT_AUTHOR_EMAIL = spec.author.email;
    if (spec.author.date) env.GIT_AUTHOR_DATE = spec.author.date;
  }
  const parents = spec.parents.flatMap((p) => ['-p', p]);
  const sign = spec.signer ? [...signingArgs(spec.signer), 'commit-tree', '-S'] : ['commit-tree', '--no-gpg-sign'];
  return git(cwd, [...sign, spec.tree, ...parents, '-F', '-'], { env, input: spec.message });
}

export const treeOf = (cwd: string, commit: string): Promise<string> => git(cwd, ['rev-parse', `${commit}^{tree}`]);
