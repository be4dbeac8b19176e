import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seedTask } from '../../controller/core/planner.ts';
import { lookup } from '../../controller/errors/catalogue.ts';
import type { LetheError } from '../../controller/errors/types.ts';
import { nodeFs, type StateFs } from '../../state/files.ts';
import { Journal, JournalData, taskKey } from '../../state/journal.ts';

describe('journal', () => {
  it('writes exactly its data as compact JSON, from per-record fragments kept up to date', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-journal-'));
    try {
      const j = await Journal.open(join(dir, 'journal.json'));
      assert.equal(j.fresh, true);
      for (let i = 0; i < 50; i++) j.putTask({ ...seedTask(`r${i}`, 'v', 'erasure'), data: { id: `job-${i}`, n: i } });
      j.putApproval('requests/r1.yaml', {
        blob: 'b:p',
        evidence: {
          approved: true,
          mode: 'merge',
          approvers: [{ name: 'D', email: 'dpo@example.com' }],
          reason: 'merged',
        },
      });
      j.setLastCommit('abc');
      j.putIntent('i1', {
        tasks: ['r1/v'],
        vendor: 'v',
        name: 'submit',
        detail: { request: 'r1' },
        at: '2026-11-25T00:00:00.000Z',
      });
      await j.flush();
      const first = await readFile(join(dir, 'journal.json'), 'utf8');
      assert.deepEqual(JSON.parse(first), JSON.parse(JSON.stringify(j.data)));
      // Change one task: the file follows; the others keep their cached text.
      j.putTask({ ...j.task(taskKey('r7', 'v'))!, phase: 'Completed', step: 'done' });
      j.closeIntent('i1');
      await j.flush();
      const second = JournalData.parse(JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')));
      assert.equal(second.tasks['r7/v']!.phase, 'Completed');
      assert.equal(second.tasks['r8/v']!.phase, 'Waiting');
      assert.deepEqual(second.intents, {});
      const text = await readFile(join(dir, 'journal.json'), 'utf8');
      assert.equal(text, JSON.stringify(JSON.parse(text)) + '\n', 'compact, valid JSON');
      assert.deepEqual(
        JSON.parse(text),
        JSON.parse(JSON.stringify(j.data)),
        'the file is the journal, field for field',
      );
      j.deleteTask('r3/v');
      j.deleteApproval('requests/r1.yaml');
      await j.flush();
      const third = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as JournalData;
      assert.equal(third.tasks['r3/v'], undefined);
      assert.deepEqual(third.approvals, {});
      // Reopened: the same state, and records are frozen so nobody edits them in place.
      const again = await Journal.open(join(dir, 'journal.json'));
      assert.equal(again.fresh, false);
      assert.deepEqual(again.data, JSON.parse(JSON.stringify(j.data)));
      assert.throws(() => {
        (again.task('r1/v') as { phase: string }).phase = 'Failed';
      }, TypeError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a journal of a newer format instead of discarding it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-journal-'));
    try {
      const path = join(dir, 'journal.json');
      await writeFile(path, '{"version":2}');
      await assert.rejects(
        Journal.open(path),
        (err: LetheError) => err.code === 'JOURNAL_NEWER_VERSION' && err.message.includes(path),
      );
      assert.equal(await readFile(path, 'utf8'), '{"version":2}', 'left in place');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('journal durability', () => {
  const withDir = async (fn: (dir: string, path: string) => Promise<void>) => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-journal-'));
    try {
      await fn(dir, join(dir, 'journal.json'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const logged = () => {
    const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
    const at =
      (level: string) =>
      (msg: string, fields: Record<string, unknown> = {}) =>
        lines.push({ level, msg, fields });
    return { lines, log: { info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug') } };
  };
  const twoGenerations = async (path: string) => {
    const j = await Journal.open(path);
    j.putTask({
      ...seedTask('r1', 'v', 'erasure'),
      phase: 'InProgress',
      step: 'poll',
      submissions: 1,
      jobIds: ['job-1'],
    });
    await j.flush();
    j.putTask({ ...seedTask('r2', 'v', 'erasure'), phase: 'Completed', step: 'done' });
    await j.flush();
    return j;
  };

  it('keeps the previous generation beside the current one', () =>
    withDir(async (dir, path) => {
      await twoGenerations(path);
      const names = await readdir(dir);
      assert.deepEqual(names.sort(), ['journal.json', 'journal.json.prev']);
      const prev = JournalData.parse(JSON.parse(await readFile(`${path}.prev`, 'utf8')));
      assert.deepEqual(Object.keys(prev.tasks), ['r1/v']);
    }));

  for (const [name, damage] of [
    ['empty (power loss before the data reached the disk)', ''],
    ['torn half-way', '{"version":1,"tasks":{"r1/v":{"request":"r1","vend'],
    ['valid JSON but not a journal', '{"version":1,"tasks":[]}'],
  ] as const) {
    it(`falls back to the previous generation when journal.json is ${name}, moving the damaged file aside by name`, () =>
      withDir(async (dir, path) => {
        await twoGenerations(path);
        await writeFile(path, damage);
        const { lines, log } = logged();
        const j = await Journal.open(path, { log });
        assert.equal(j.fellBack, true);
        assert.equal(j.fresh, false);
        assert.deepEqual(Object.keys(j.data.tasks), ['r1/v'], 'the previous generation');
        const aside = (await readdir(dir)).find((n) => n.startsWith('journal.json.unreadable-'));
        assert.ok(aside, 'the damaged file is kept for a post-mortem');
        assert.equal(await readFile(join(dir, aside), 'utf8'), damage);
        const error = lines.find((l) => l.fields.code === 'JOURNAL_UNREADABLE');
        assert.equal(error?.fields.path, path);
        assert.ok(lines.some((l) => l.fields.code === 'JOURNAL_PREVIOUS_GENERATION'));
        assert.ok(!JSON.stringify(lines).includes('vend'), 'no file content in the log');
      }));
  }

  it('starts fresh (the controller rebuilds from git) when no generation is readable', () =>
    withDir(async (dir, path) => {
      await twoGenerations(path);
      await writeFile(path, '');
      await writeFile(`${path}.prev`, '{"ver');
      const { lines, log } = logged();
      const j = await Journal.open(path, { log });
      assert.equal(j.fresh, true);
      assert.equal(j.fellBack, false);
      assert.equal(lines.filter((l) => l.fields.code === 'JOURNAL_UNREADABLE').length, 2);
      assert.equal((await readdir(dir)).filter((n) => n.includes('.unreadable-')).length, 2);
      await j.flush();
      assert.equal(JournalData.parse(JSON.parse(await readFile(path, 'utf8'))).version, 1, 'writable again');
    }));

  it('takes the complete .tmp when a crash fell between the two renames of a write', () =>
    withDir(async (_dir, path) => {
      await twoGenerations(path);
      // What writeDurably leaves after the first rename: .prev and a complete, fsync'd .tmp.
      const current = await readFile(path, 'utf8');
      await rename(path, `${path}.prev`);
      await writeFile(`${path}.tmp`, current);
      const j = await Journal.open(path);
      assert.equal(j.fellBack, false);
      assert.deepEqual(Object.keys(j.data.tasks).sort(), ['r1/v', 'r2/v']);
    }));

  it('a flush that would write the same bytes writes nothing; after a failed write the same bytes are written again', () =>
    withDir(async (dir, path) => {
      const tmpOpens: string[] = [];
      let failDirectory = false;
      const fs: StateFs = {
        ...nodeFs,
        open: (async (p: string, flags?: string, mode?: number) => {
          if (String(p).endsWith('.tmp')) tmpOpens.push(String(p));
          // After the rename: the new text is in place, but the write as a whole failed.
          if (failDirectory && String(p) === dir)
            throw Object.assign(new Error('EIO: simulated'), { code: 'EIO', syscall: 'open', path: p });
          return nodeFs.open(p, flags, mode);
        }) as StateFs['open'],
      };
      const j = await Journal.open(path, { fs });
      const waiting = seedTask('r1', 'v', 'erasure');
      j.putTask(waiting);
      await j.flush();
      await j.flush();
      j.putTask({ ...waiting });
      await j.flush();
      assert.equal(tmpOpens.length, 1, 'a quiet pass leaves the file alone');
      assert.equal(j.writes, 1);

      failDirectory = true;
      j.putTask({ ...waiting, phase: 'Completed', step: 'done' });
      await assert.rejects(j.flush());
      failDirectory = false;
      // Nothing changed since, but the write did not complete: it is made again.
      await j.flush();
      assert.equal(tmpOpens.length, 3);
      assert.equal(JournalData.parse(JSON.parse(await readFile(path, 'utf8'))).tasks['r1/v']?.phase, 'Completed');
      // Back to what an earlier write held: the file holds something else now.
      j.putTask(waiting);
      await j.flush();
      assert.equal(tmpOpens.length, 4);
      assert.equal(JournalData.parse(JSON.parse(await readFile(path, 'utf8'))).tasks['r1/v']?.phase, 'Waiting');
    }));

  for (const [code, errno] of [
    ['STATE_DISK_FULL', 'ENOSPC'],
    ['STATE_READ_ONLY', 'EROFS'],
    ['STATE_PERMISSION_DENIED', 'EACCES'],
  ] as const) {
    it(`${errno} while writing: the error names the file and the operation, the last good journal stays, and writing resumes`, () =>
      withDir(async (_dir, path) => {
        let failing = true;
        const fs: StateFs = {
          ...nodeFs,
          open: (async (p: string, flags?: string, mode?: number) => {
            if (failing && String(p).endsWith('.tmp'))
              throw Object.assign(new Error(`${errno}: simulated`), { code: errno, syscall: 'open', path: p });
            return nodeFs.open(p, flags, mode);
          }) as StateFs['open'],
        };
        const j = await Journal.open(path, { fs });
        j.putTask(seedTask('r1', 'v', 'erasure'));
        failing = false;
        await j.flush();
        failing = true;
        j.putTask({ ...seedTask('r1', 'v', 'erasure'), phase: 'Completed', step: 'done' });
        await assert.rejects(j.flush(), (err: LetheError) => {
          assert.equal(err.code, code);
          assert.ok(err.message.includes(`${path}.tmp`) && err.message.includes('create'), err.message);
          assert.ok(lookup(code)?.hint, 'lethe explain knows it');
          return true;
        });
        assert.equal(
          JournalData.parse(JSON.parse(await readFile(path, 'utf8'))).tasks['r1/v']?.phase,
          'Waiting',
          'the last good write is intact',
        );
        failing = false;
        await j.flush();
        assert.equal(JournalData.parse(JSON.parse(await readFile(path, 'utf8'))).tasks['r1/v']?.phase, 'Completed');
      }));
  }
});
