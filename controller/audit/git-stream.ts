import { exitedOk, spawnGit } from '../git/exec.ts';
import { recordSplitter } from '../git/history.ts';

/**
 * The audit's two git processes, both streamed: the walk is parsed while git still writes it,
 * and the objects it names are read by ONE `cat-file --batch` started alongside
 * (git/object-reader.ts), so git's two processes and the parsing in this one overlap instead
 * of running one after another.
 */

/**
 * Runs `git <args>` and hands each complete record (the text between two \x01 characters;
 * the output must start with one) to `onRecord` as soon as it has arrived.
 */
export async function streamRecords(cwd: string, args: string[], onRecord: (record: string) => void): Promise<void> {
  const child = spawnGit(cwd, args);
  child.stdin.end();
  const done = exitedOk(child, args[0] ?? '');
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
