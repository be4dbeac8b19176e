import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { exitedOk, spawnGit } from './exec.ts';

/**
 * One long-lived `git cat-file --batch`: objects are requested while the walk that names them
 * is still running, each is handed to `onObject` as it arrives (to parse or verify it while git
 * works on; a slice of git's output, to copy if kept), and the process ends with `close`.
 * Nothing is kept here: a caller that parses as objects arrive never holds them all.
 * `--buffer`: git writes its answers in large blocks, and all of them by the time stdin ends.
 */
export class ObjectReader {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly done: Promise<void>;
  private readonly requested = new Set<string>();
  private queued: string[] = [];
  private buffer = Buffer.alloc(0);
  private failure: unknown;

  constructor(
    cwd: string,
    private readonly onObject: (id: string, bytes: Buffer) => void,
  ) {
    this.child = spawnGit(cwd, ['cat-file', '--batch', '--buffer']);
    this.child.stdin.on('error', () => undefined); // git may exit early; `close` reports why
    this.done = exitedOk(this.child, 'cat-file');
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

  /** Ends the batch and waits for git to exit; every requested object has then been handed over. */
  async close(): Promise<void> {
    this.send();
    this.child.stdin.end();
    try {
      await this.done;
    } catch (err) {
      throw this.failure ?? err; // what made us stop git, not git's exit after the kill
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops git without waiting (an error elsewhere ended the reading). */
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
