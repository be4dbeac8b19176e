import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RateLimiter } from '../../controller/http/rate-limiter.ts';
import { RateLog } from '../../state/rate-log.ts';
import type { LetheError } from '../../controller/errors/types.ts';
import { ManualClock } from './helpers.ts';

const windows = [
  { limit: 1, perSeconds: 1 },
  { limit: 3, perSeconds: 60 },
];
const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), 'lethe-ratelog-'));

describe('RateLog (lowdb file)', () => {
  it('survives a restart: a new limiter from the same file must wait', async () => {
    const path = join(await tmp(), 'nested', 'rate-log.json');
    const clock = new ManualClock(1_000_000);
    const log = await RateLog.open(path, clock.now());
    const first = new RateLimiter({ key: 'maestroqa:ab12', windows, clock, marginMs: 0, sink: log });
    for (let i = 0; i < 3; i++) {
      const p = first.acquire().then((s) => (s.sent(), s.release()));
      await clock.advance(1_000);
      await p;
    }
    await log.flush();
    const persisted = JSON.parse(await readFile(path, 'utf8'));
    assert.equal(persisted.keys['maestroqa:ab12'].sent.length, 3);

    const second = new RateLimiter({
      key: 'maestroqa:ab12',
      windows,
      clock,
      marginMs: 0,
      sink: await RateLog.open(path, clock.now()),
    });
    const firstSent: number = persisted.keys['maestroqa:ab12'].sent[0];
    assert.ok(second.nextFreeAt() > clock.now());
    assert.equal(second.nextFreeAt(), firstSent + 60_000, 'the per-minute window is still full after the restart');
    const other = new RateLimiter({ key: 'other', windows, clock, sink: await RateLog.open(path, clock.now()) });
    assert.equal(other.nextFreeAt(), clock.now(), 'keys are independent');
  });

  it('counts a call granted before a crash as sent at load time', async () => {
    const path = join(await tmp(), 'rate-log.json');
    const clock = new ManualClock(5_000_000);
    const limiter = new RateLimiter({
      key: 'k',
      windows,
      clock,
      marginMs: 0,
      sink: await RateLog.open(path, clock.now()),
    });
    await limiter.acquire(); // granted and persisted, then the process "dies" before sent()
    await clock.advance(30_000);
    const reloaded = new RateLimiter({
      key: 'k',
      windows,
      clock,
      marginMs: 0,
      sink: await RateLog.open(path, clock.now()),
    });
    assert.equal(reloaded.nextFreeAt(), clock.now() + 1_000);
  });

  it('drops keys nobody used within their longest window', async () => {
    const path = join(await tmp(), 'rate-log.json');
    await writeFile(
      path,
      JSON.stringify({
        version: 1,
        keys: {
          old: { sent: [1_000], open: [], pausedUntil: 0, horizonMs: 60_000 },
          paused: { sent: [], open: [], pausedUntil: 200_000, horizonMs: 1_000 },
          fresh: { sent: [90_000], open: [], pausedUntil: 0, horizonMs: 60_000 },
        },
      }),
    );
    const log = await RateLog.open(path, 100_000);
    assert.equal(log.load('old'), undefined);
    assert.equal(log.load('paused')?.pausedUntil, 200_000);
    assert.deepEqual(log.load('fresh')?.sent, [90_000]);
  });

  it('moves a corrupt file aside, starts empty and marked lost, without quoting its content', async () => {
    const dir = await tmp();
    const path = join(dir, 'rate-log.json');
    for (const content of ['{"version": 1, "keys": {"k": "jane@example.com"}}', 'jane@example.com not json', '']) {
      await writeFile(path, content);
      const log = await RateLog.open(path, Date.now());
      assert.match(log.lost ?? '', /^invalid content, moved aside to .*rate-log\.json\.unreadable-/);
      assert.ok(!log.lost!.includes('jane'), log.lost);
      assert.equal(log.load('k'), undefined);
    }
    assert.equal(
      (await readdir(dir)).filter((n) => n.includes('.unreadable-')).length >= 1,
      true,
      'kept for a post-mortem',
    );
    assert.equal((await RateLog.open(join(dir, 'absent.json'), 0)).lost, 'missing');
  });

  it('a lost log: the first call of a credential waits its longest window; 0 calls beyond any limit', async () => {
    const clock = new ManualClock(10_000_000);
    const log = await RateLog.open(join(await tmp(), 'rate-log.json'), clock.now());
    assert.equal(log.lost, 'missing');
    const limiter = new RateLimiter({ key: 'k', windows, clock, marginMs: 0, sink: log, startSpent: true });
    assert.equal(limiter.nextFreeAt(), clock.now() + 60_000, 'as if both windows had just been used up');
    let granted = false;
    const p = limiter.acquire().then((s) => {
      granted = true;
      s.sent();
      s.release();
    });
    await clock.advance(59_999);
    assert.equal(granted, false);
    await clock.advance(1);
    await p;
    assert.equal(granted, true);
    // The wait itself is persisted: a restart during it does not start the burst early.
    await log.flush();
    const again = new RateLimiter({ key: 'k2', windows, clock, marginMs: 0, sink: log });
    assert.equal(again.nextFreeAt(), clock.now(), 'a key with saved state or no startSpent is not held');
  });

  it('reports a failed write as RATE_LOG_WRITE_FAILED', async () => {
    const path = join(await tmp(), 'rate-log.json');
    const log = await RateLog.open(path, 0);
    await mkdir(path); // the atomic rename onto a directory fails, even for root
    const err = (await log
      .save('k', { sent: [1], open: [], pausedUntil: 0, horizonMs: 1 })
      .catch((e: unknown) => e)) as LetheError;
    assert.equal(err.code, 'RATE_LOG_WRITE_FAILED');
    assert.match(err.message, /EISDIR|EPERM|ENOTEMPTY/);
  });
});
