import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ControllerLease, LEASE_REF, RemoteLease, type Holder } from '../../controller/core/lease.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { silentLogger } from '../../controller/log.ts';

const IDENTITY = { name: 'Lethe', email: 'lethe@localhost' };
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'T',
      GIT_AUTHOR_EMAIL: 't@localhost',
      GIT_COMMITTER_NAME: 'T',
      GIT_COMMITTER_EMAIL: 't@localhost',
    },
  }).trim();

/** A bare origin with one commit and `n` clones of it, as controllers on different machines have. */
function origin(n: number): { root: string; bare: string; clones: string[] } {
  const root = mkdtempSync(join(tmpdir(), 'lethe-lease-'));
  const bare = join(root, 'origin.git');
  git(root, 'init', '-q', '--bare', '-b', 'main', bare);
  const seed = join(root, 'seed');
  git(root, 'clone', '-q', bare, seed);
  git(seed, 'commit', '-q', '--allow-empty', '-m', 'init');
  git(seed, 'push', '-q', 'origin', 'HEAD:main');
  const clones = Array.from({ length: n }, (_, i) => {
    const dir = join(root, `clone-${i}`);
    git(root, 'clone', '-q', bare, dir);
    return dir;
  });
  return { root, bare, clones };
}

/** Holders on other machines: the process-liveness shortcut never applies, only expiry. */
const remoteHolder = (i: number): Holder => ({ id: `machine-${i}/1/abcd`, host: `machine-${i}`, pid: 1 });

describe('the remote lease (refs/lethe/lease, compare-and-swap)', () => {
  const roots: string[] = [];
  after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

  it('of controllers racing for a free lease exactly one wins, whatever the interleaving', async () => {
    for (let round = 0; round < 3; round++) {
      const o = origin(4);
      roots.push(o.root);
      const leases = o.clones.map((dir, i) => new RemoteLease(dir, remoteHolder(i), 60_000, IDENTITY));
      const results = await Promise.all(leases.map((l) => l.tryAcquire()));
      assert.equal(results.filter((r) => r.acquired).length, 1, `round ${round}: ${JSON.stringify(results)}`);
      const record = JSON.parse(git(o.bare, 'log', '-1', '--format=%B', LEASE_REF)) as {
        holder: string;
        expiresAt: string;
      };
      const winner = results.findIndex((r) => r.acquired);
      assert.equal(record.holder, remoteHolder(winner).id);
      for (const r of results) if (!r.acquired) assert.match(r.holder, /pid 1 on machine-\d/);
    }
  });

  it('a standby takes over only after a whole duration without renewal; the old holder then fails its renewal and its fence', async () => {
    const o = origin(2);
    roots.push(o.root);
    let now = Date.parse('2026-12-02T10:00:00Z');
    const clock = () => now;
    const log = silentLogger;
    const a = await ControllerLease.open({
      dataDir: join(o.root, 'data-a'),
      remoteDir: o.clones[0],
      identity: IDENTITY,
      durationMs: 30_000,
      log,
      now: clock,
      holder: remoteHolder(0),
    });
    mkdirSync(join(o.root, 'data-a'));
    await a.acquire();
    await a.fence();
    const b = new RemoteLease(o.clones[1]!, remoteHolder(1), 30_000, IDENTITY, clock);
    assert.equal((await b.tryAcquire()).acquired, false, 'held and fresh');
    now += 20_000;
    await a.renew(); // the holder renews: the standby's observation starts again
    assert.equal((await b.tryAcquire()).acquired, false);
    now += 20_000;
    // The holder has not renewed for 20 s (> half the duration): its fence renews first.
    await a.fence();
    now += 29_000;
    assert.equal(
      (await b.tryAcquire()).acquired,
      false,
      'not yet a whole duration since the standby saw the last renewal',
    );
    now += 31_000;
    assert.equal((await b.tryAcquire()).acquired, true, 'expired: the standby takes over');

    let lost: LetheError | undefined;
    a.onLost = (err) => (lost = err);
    await assert.rejects(a.fence(), (err: unknown) => err instanceof LetheError && err.code === 'LEASE_LOST');
    assert.equal(lost?.code, 'LEASE_LOST');
    assert.equal(a.held, false);
    await a.release();
    const record = JSON.parse(git(o.bare, 'log', '-1', '--format=%B', LEASE_REF)) as { holder: string };
    assert.equal(record.holder, remoteHolder(1).id, 'the old holder released nothing it no longer holds');
  });
});
