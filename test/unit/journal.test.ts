import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { seedTask } from '../../controller/core/planner.ts';
import { Journal, JournalData, taskKey } from '../../state/journal.ts';

describe('journal', () => {
  it('writes exactly its data as compact JSON, from per-record fragments kept up to date', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-journal-'));
    try {
      const j = await Journal.open(join(dir, 'journal.json'));
      assert.equal(j.fresh, true);
      for (let i = 0; i < 50; i++) j.putTask({ ...seedTask(`r${i}`, 'v', 'erasure'), data: { id: `job-${i}`, n: i } });
      j.putApproval('requests/r1.yaml', { blob: 'b:p', evidence: { approved: true, mode: 'merge', approvers: [{ name: 'D', email: 'dpo@example.com' }], reason: 'merged' } });
      j.data.lastCommit = 'abc';
      j.data.intents.i1 = { tasks: ['r1/v'], vendor: 'v', name: 'submit', detail: { request: 'r1' }, at: '2026-11-25T00:00:00.000Z' };
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
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(j.data)), 'the file is the journal, field for field');
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

  it('refuses a journal it cannot read instead of starting empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-journal-'));
    try {
      const path = join(dir, 'journal.json');
      await (await import('node:fs/promises')).writeFile(path, '{"version":2}');
      await assert.rejects(Journal.open(path), /journal .* is not readable/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
