import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { spawnGit } from '../git/exec.ts';
import { gitErrors } from '../git/errors.ts';
import { recordSplitter } from '../git/history.ts';

/**
 * The audit's two git processes, both streamed: the walk is parsed while git still writes it,
 * and the objects it names are read by ONE `cat-file --batch` started alongside, so git's two
 * processes and the parsing in this one overlap instead of running one after another.
 */

/** Resolves when `child` exits 0; rejects with GIT_FAILED (git's stderr, never stdin) otherwise. */
function exited(child: ChildProcessWithoutNullStreams, command: string): Promise<void> {
  const err: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  return new Promise((resolve, reject) => {
    child.on('error', (cause) =>
      reject(gitErrors.error('GIT_FAILED', { command, reason: 'it could not start' }, { cause })),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else
        reject(
          gitErrors.error('GIT_FAILED', {
            command,
            reason: `exit ${code ?? 128}: ${Buffer.concat(err).toString('utf8').trim()}`,
          }),
        );
    });
  });
}

/**
 * Runs `git <args>` and hands each complete record (the text between two \x01 characters;
 * the output must start with one) to `onRecord` as soon as it has arrived.
 */
export async function streamRecords(cwd: string, args: string[], onRecord: (record: string) => void): Promise<void> {
  const child = spawnGit(cwd, args);
  child.stdin.end();
  const done = exited(child, args[0] ?? '');
  child.stdout.setEncoding('utf8');
  let failure: unknown;
  // Cut into records as chunks arrive, never searching an unfinished record again (history.ts).
  const records = recordSplitter(onRecord);
  child.stdout.on('data', (chunk: string) => {
    if (failure !== undefined) return;
    try {
      records.push(chunk);
    } catch (err) {
      failure = err;
      child.kill();
    }
  });
  try {
    await done;
  } catch (err) {
    throw failure ?? err;
  }
  if (failure !== undefined) throw failure;
  records.end();
}

/**
 * One long-lived `git cat-file --batch`: objects are requested while the walk that names them
 * is still running, each is handed to `onObject` as it arrives (to parse or verify it while git
 * works on), and the process ends with `close`. `--buffer`: git writes its answers in large
 * blocks, and all of them by the time stdin ends.
 */
export class ObjectReader {
  readonly objects = new Map<string, Buffer>();
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly done: Promise<void>;
  private readonly requested = new Set<string>();
  private queued: string[] = [];
  private buffer = Buffer.alloc(0);
  private failure: unknown;

  constructor(
    cwd: string,
    private readonly onObject: (id: string, bytes: Buffer) => void = () => undefined,
  ) {
    this.child = spawnGit(cwd, ['cat-file', '--batch', '--buffer']);
    this.child.stdin.on('error', () => undefined); // git may exit early; `close` reports why
    this.done = exited(this.child, 'cat-file');
    this.done.catch(() => undefined); // observed in close()
    this.child.stdout.on('data', (chunk: Buffer) => this.receive(chunk));
  }

  /** Asks for `id` (once, however often it is requested). */
  request(id: string): void {
    if (this.requested.has(id)) return;
    this.requested.add(id);
    this.queued.push(id);
    // One write per turn of the event loop (a parsed chunk of the walk), not one per object.
    if (this.queued.length === 1) setImmediate(() => this.send());
  }

  /** Ends the batch and waits for git to exit; every requested object has then arrived. */
  async close(): Promise<Map<string, Buffer>> {
    this.send();
    this.child.stdin.end();
    try {
      await this.done;
    } catch (err) {
      throw this.failure ?? err; // what made us stop git, not git's exit after the kill
    }
    if (this.failure !== undefined) throw this.failure;
    return this.objects;
  }

  /** Stops git without waiting (an error elsewhere ended the audit). */
  abort(): void {
    if (this.child.exitCode === null) this.child.kill();
  }

  private send(): void {
    if (this.queued.length === 0 || this.child.stdin.writableEnded) return;
    this.child.stdin.write(`${this.queued.join('\n')}\n`);
    this.queued = [];
  }

  private receive(chunk: Buffer): void {
    if (this.failure !== undefined) return;
    let buf = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    try {
      while (offset < buf.length) {
        const eol = buf.indexOf(0x0a, offset);
        if (eol === -1) break;
        const header = buf.subarray(offset, eol).toString('latin1').split(' ');
        if (header[1] === 'missing' || header.length < 3) {
          offset = eol + 1;
          continue;
        }
        const size = Number(header[2]);
        if (eol + 1 + size + 1 > buf.length) break;
        const bytes = buf.subarray(eol + 1, eol + 1 + size);
        offset = eol + 1 + size + 1;
        this.objects.set(header[0]!, bytes);
        this.onObject(header[0]!, bytes);
      }
    } catch (err) {
      this.failure = err;
      this.abort();
    }
    buf = buf.subarray(offset);
    // Keep only the unparsed tail, copied so the big chunk it came from can be freed.
    this.buffer = buf.length > 0 ? Buffer.from(buf) : Buffer.alloc(0);
  }
}
