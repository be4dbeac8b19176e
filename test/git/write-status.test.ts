import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GitSource } from '../../controller/git/source.ts';
import { alice, bob, cleanup, commitFile, head, lethe, makeRepo, sh, tempDir, write } from './helpers.ts';

after(cleanup);

const MESSAGE = 'lethe: reconcile 2 requests\n\nLethe-Request: 2026-11-0042\nLethe-Phase: 2026-11-0042=Pending\n';
const fastRetry = { attempts: 5, budgetMs: 5_000, baseDelayMs: 10 };

function withOrigin(): { work: string; origin: string } {
  const work = makeRepo();
  const origin = tempDir();
  sh(origin, ['init', '-q', '--bare', '-b', 'main']);
  sh(work, ['remote', 'add', 'origin', origin]);
  sh(work, ['push', '-q', '-u', 'origin', 'main']);
  return { work, origin };
}

describe('writeStatus', () => {
  it('writes only under status/', async () => {
    const dir = makeRepo();
    const git = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
    for (const path of [
      'requests/x.yaml',
      'status/../lethe.yaml',
      '/status/x.yaml',
      'status/',
      'status//x',
      'status\\x',
    ]) {
      await assert.rejects(git.writeStatus(new Map([[path, 'x']]), MESSAGE), { code: 'GIT_WRITE_OUTSIDE_STATUS' });
    }
    assert.equal(sh(dir, ['rev-list', '--count', 'HEAD']), '1');
  });

  it('makes one commit as the controller, keeps the message, and no empty commits', async () => {
    const dir = makeRepo();
    const git = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
    const files = new Map<string, string | null>([
      ['status/a.yaml', 'phase: Pending\n'],
      ['status/b.yaml', 'phase: Pending\n'],
    ]);
    const first = await git.writeStatus(files, MESSAGE);
    assert.ok(first.commit);
    assert.equal(first.pushed, false);
    assert.equal(head(dir), first.commit);
    assert.equal(
      sh(dir, ['log', '-1', '--format=%an <%ae>|%cn <%ce>']),
      'Lethe <lethe@corp.example>|Lethe <lethe@corp.example>',
    );
    assert.equal(sh(dir, ['log', '-1', '--format=%B']), MESSAGE.trim());
    assert.equal(sh(dir, ['show', `${first.commit}:status/a.yaml`]), 'phase: Pending');
    assert.deepEqual(await git.writeStatus(files, MESSAGE), { pushed: false });
    const removal = await git.writeStatus(new Map([['status/a.yaml', null]]), 'lethe: withdraw\n');
    assert.ok(removal.commit);
    assert.equal(sh(dir, ['ls-tree', '-r', '--name-only', 'HEAD', 'status/']), 'status/b.yaml');
    assert.equal(sh(dir, ['rev-list', '--count', 'HEAD']), '3');
  });

  it("never touches a person's uncommitted work in a local working copy", async () => {
    const dir = makeRepo();
    commitFile(dir, 'requests/a.yaml', 'a: 1\n', alice);
    write(dir, 'requests/a.yaml', 'a: work in progress\n');
    write(dir, 'requests/staged.yaml', 'staged: yes\n');
    sh(dir, ['add', 'requests/staged.yaml'], alice);
    write(dir, 'notes.txt', 'untracked\n');
    const before = sh(dir, ['status', '--porcelain']);
    const git = await GitSource.open({ repo: dir, branch: 'main', dataDir: tempDir(), identity: lethe });
    const { commit } = await git.writeStatus(new Map([['status/a.yaml', 'phase: Pending\n']]), MESSAGE);
    assert.equal(head(dir), commit);
    assert.deepEqual(sh(dir, ['show', '--name-only', '--format=', 'HEAD']), 'status/a.yaml');
    assert.equal(sh(dir, ['status', '--porcelain']), before, 'only the human changes remain, status/ is clean');
    assert.equal(readFileSync(join(dir, 'requests/a.yaml'), 'utf8'), 'a: work in progress\n');
    assert.equal(readFileSync(join(dir, 'status/a.yaml'), 'utf8'), 'phase: Pending\n');
    await git.writeStatus(new Map([['status/a.yaml', null]]), MESSAGE);
    assert.equal(sh(dir, ['status', '--porcelain']), before);

    write(dir, 'status/a.yaml', 'hand edit\n');
    await assert.rejects(git.writeStatus(new Map([['status/b.yaml', 'x\n']]), MESSAGE), { code: 'GIT_STATUS_DIRTY' });
    assert.equal(readFileSync(join(dir, 'status/a.yaml'), 'utf8'), 'hand edit\n');
  });

  it('commits to a status branch without moving the protected branch', async () => {
    const dir = makeRepo();
    const main = head(dir);
    const git = await GitSource.open({
      repo: dir,
      branch: 'main',
      statusBranch: 'lethe-status',
      dataDir: tempDir(),
      identity: lethe,
    });
    const first = await git.writeStatus(new Map([['status/a.yaml', '1\n']]), MESSAGE);
    const second = await git.writeStatus(new Map([['status/a.yaml', '2\n']]), MESSAGE);
    assert.equal(head(dir), main);
    assert.equal(sh(dir, ['status', '--porcelain']), '');
    assert.equal(head(dir, 'lethe-status'), second.commit);
    assert.equal(head(dir, 'lethe-status~1'), first.commit);
    assert.equal(head(dir, 'lethe-status~2'), main);
    assert.equal(await git.statusHead(), second.commit);
  });
});

describe('pushing status', () => {
  it('rebases onto commits pushed meanwhile: both survive, the human commit is unchanged', async () => {
    const { work, origin } = withOrigin();
    const git = await GitSource.open({
      remote: origin,
      branch: 'main',
      dataDir: tempDir(),
      identity: lethe,
      pushRetry: fastRetry,
    });
    await git.sync();
    commitFile(work, 'requests/new.yaml', 'n\n', bob);
    commitFile(work, 'status/a.yaml', 'a human wrote this\n', bob);
    sh(work, ['push', '-q', 'origin', 'main']);
    const human = head(work);
    const result = await git.writeStatus(
      new Map([
        ['status/a.yaml', 'phase: Pending\n'],
        ['status/b.yaml', 'phase: Pending\n'],
      ]),
      MESSAGE,
    );
    assert.equal(result.pushed, true, JSON.stringify(result.pushError));
    const log = sh(origin, ['log', '--format=%H %ae %s', 'main']).split('\n');
    assert.equal(log.length, 4);
    assert.match(log[0]!, / lethe@corp\.example lethe: reconcile 2 requests$/);
    assert.equal(log[1]!.split(' ')[0], human);
    assert.equal(sh(origin, ['show', 'main:status/a.yaml']), 'phase: Pending', "the controller's status wins");
    assert.equal(sh(origin, ['show', 'main:requests/new.yaml']), 'n');
    // Replayed onto the new head, the commit names the status commit now before it: Bob's.
    assert.equal(sh(origin, ['log', '-1', '--format=%B', 'main']), `${MESSAGE}Lethe-Previous-Status: ${human}`);
  });

  it('keeps unpushed commits through sync and pushes them next pass', async () => {
    const { work, origin } = withOrigin();
    const dataDir = tempDir();
    const offline = await GitSource.open({ remote: origin, branch: 'main', dataDir, identity: lethe, push: false });
    await offline.sync();
    const { commit } = await offline.writeStatus(new Map([['status/a.yaml', '1\n']]), MESSAGE);
    commitFile(work, 'requests/x.yaml', 'x\n', bob);
    sh(work, ['push', '-q', 'origin', 'main']);
    const online = await GitSource.open({
      remote: origin,
      branch: 'main',
      dataDir,
      identity: lethe,
      pushRetry: fastRetry,
    });
    const synced = await online.sync();
    assert.notEqual(synced, commit);
    assert.equal(head(offline.dir, 'main~1'), head(work));
    assert.deepEqual(await online.writeStatus(new Map([['status/a.yaml', '1\n']]), MESSAGE), { pushed: true });
    assert.equal(head(origin, 'main'), synced);
  });

  it('gives up with a code instead of rebasing a checked-out local branch', async () => {
    const { work, origin } = withOrigin();
    const other = tempDir();
    sh(other, ['clone', '-q', origin, '.']);
    commitFile(other, 'requests/y.yaml', 'y\n', bob);
    sh(other, ['push', '-q', 'origin', 'main']);
    const git = await GitSource.open({
      repo: work,
      branch: 'main',
      dataDir: tempDir(),
      identity: lethe,
      push: true,
      pushRetry: fastRetry,
    });
    const result = await git.writeStatus(new Map([['status/a.yaml', '1\n']]), MESSAGE);
    assert.equal(result.pushed, false);
    assert.equal(result.pushError?.code, 'GIT_PUSH_NEEDS_PULL');
    assert.equal(head(work), result.commit, 'the commit stays local');
  });

  it('pushes a status branch from a local working copy', async () => {
    const { work, origin } = withOrigin();
    const git = await GitSource.open({
      repo: work,
      branch: 'main',
      statusBranch: 'lethe-status',
      dataDir: tempDir(),
      identity: lethe,
      push: true,
      pushRetry: fastRetry,
    });
    const result = await git.writeStatus(new Map([['status/a.yaml', '1\n']]), MESSAGE);
    assert.equal(result.pushed, true);
    assert.equal(head(origin, 'lethe-status'), result.commit);
  });
});
