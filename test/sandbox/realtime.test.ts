import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { presentAt, startSandbox } from '../../examples/sandbox/index.ts';
import { call, epToken, eventually } from './helpers.ts';

describe('sandbox: real time and the CLI', () => {
  it('time-scale shrinks vendor delays on the system clock', async () => {
    const sb = await startSandbox({ timeScale: 0.001, outcomes: { elasticpathFailureRate: 0 } });
    try {
      const h = { authorization: `Bearer ${await epToken(sb)}` };
      const id = (
        await call(sb, 'GET', `/elasticpath/v2/customers?filter=eq(email,${presentAt('elasticpath')[0]!.email})`, {
          headers: h,
        })
      ).json.data[0].id;
      const e = await call(sb, 'POST', '/elasticpath/v2/personal-data/erasure-requests', {
        headers: h,
        json: { data: { type: 'erasure_request', resource_type: 'customer', resource_id: id } },
      });
      let status = e.json.data.status as string;
      assert.equal(status, 'CREATED');
      // 30 s nominal x 0.001 = 30 ms
      for (let i = 0; i < 50 && status !== 'SUCCESS'; i++) {
        await new Promise((r) => setTimeout(r, 40));
        status = (
          await call(sb, 'GET', `/elasticpath/v2/personal-data/erasure-requests/${e.json.data.id}`, { headers: h })
        ).json.data.status;
      }
      assert.equal(status, 'SUCCESS');
    } finally {
      await sb.stop();
    }
  });

  it('lethe-sandbox prints the base URLs and stops on SIGTERM with exit code 0', async () => {
    const bin = fileURLToPath(new URL('../../examples/sandbox/bin.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, '--port', '0', '--seed', '7', '--faults', 'acme:5xx=0.5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await eventually(() => out.includes('Ctrl-C'), 15_000);
      const base = /http:\/\/127\.0\.0\.1:\d+/.exec(out)![0];
      assert.match(out, /maestroqa\s+http:\/\/127\.0\.0\.1:\d+\/maestroqa\/api\/v1/);
      const cfg = (await (await fetch(`${base}/_sandbox/config`)).json()) as { seed: number };
      assert.equal(cfg.seed, 7);
    } finally {
      child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 0);
  });

  it('lethe-sandbox: a bad fault spec and an unknown flag are usage errors', async () => {
    const bin = fileURLToPath(new URL('../../examples/sandbox/bin.mjs', import.meta.url));
    for (const args of [
      ['--faults', 'nonsense'],
      ['--prot', '1'],
    ]) {
      const child = spawn(process.execPath, [bin, ...args], { stdio: 'ignore' });
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      assert.equal(code, 2, args.join(' '));
    }
  });
});
