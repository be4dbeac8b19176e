import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { elasticPath } from '../../controller/vendors/elasticpath/index.ts';
import { presentAt, absentAt, startSandbox, type Sandbox } from '../../examples/sandbox/index.ts';
import { ElasticPathSpec } from '../../specs/index.ts';
import { drive, type DriveRequest } from '../support/drive.ts';

/**
 * Contract test (`npm run test:contract`, not part of `npm test`): the Elastic Path driver
 * runs through Stoplight Prism in proxy mode, one Prism per OpenAPI document of
 * test/fixtures/vendor-specs/elasticpath/, in front of the sandbox, with `--errors`: any
 * request the driver sends or answer the sandbox gives that violates the vendor's OpenAPI
 * turns into a Prism error answer (422 / 500 problem+json) and a logged violation.
 *
 *   driver -> front (by path) -> Prism(authentication.openapi.yaml) -> sandbox /elasticpath
 *                             -> Prism(personal-data.openapi.yaml)  -> sandbox /elasticpath
 *                             -> sandbox directly for /v2/customers, /v2/account-members
 *                                (documented in get-all-customers.mdx only: no OpenAPI)
 *
 * Prism is fetched on demand with `npx --yes @stoplight/prism-cli@5` into a cache directory
 * (LETHE_PRISM_CACHE, default <tmpdir>/lethe-prism-cache); the first run downloads it.
 */

const SPECS = fileURLToPath(new URL('../fixtures/vendor-specs/elasticpath/', import.meta.url));
const CACHE = process.env.LETHE_PRISM_CACHE ?? join(tmpdir(), 'lethe-prism-cache');
const PRISM = process.env.LETHE_PRISM_PACKAGE ?? '@stoplight/prism-cli@5';

interface Prism {
  url: string;
  output: string[];
  child: ChildProcess;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startPrism(spec: string, upstream: string): Promise<Prism> {
  await mkdir(join(CACHE, 'npm'), { recursive: true });
  const port = await freePort();
  const output: string[] = [];
  const child = spawn(
    'npx',
    ['--yes', PRISM, 'proxy', join(SPECS, spec), upstream, '--errors', '--host', '127.0.0.1', '--port', String(port)],
    {
      env: {
        ...process.env,
        npm_config_cache: join(CACHE, 'npm'),
        npm_config_update_notifier: 'false',
        FORCE_COLOR: '0',
        NO_COLOR: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: npx does not pass a signal on to the Prism it started.
      detached: true,
    },
  );
  child.stdout!.on('data', (d) => output.push(String(d)));
  child.stderr!.on('data', (d) => output.push(String(d)));
  const deadline = Date.now() + 300_000;
  while (!output.join('').includes('Prism is listening')) {
    if (child.exitCode !== null) throw new Error(`prism exited (${child.exitCode}): ${output.join('').slice(-2000)}`);
    if (Date.now() > deadline) throw new Error(`prism did not start: ${output.join('').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url: `http://127.0.0.1:${port}`, output, child };
}

/** An erasure request id that only the self-check asks for: its answer breaks the OpenAPI. */
const BROKEN_ID = 'ffffffff-ffff-4fff-bfff-ffffffffffff';

/**
 * Forwards by path, as one host (the two OpenAPI documents each cover part of the API),
 * or, with `broken`, answers BROKEN_ID with a body the OpenAPI forbids (self-check).
 */
async function startFront(routes: (path: string) => string, broken = false): Promise<{ url: string; server: Server }> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = req.url ?? '/';
    if (broken && path.endsWith(`/erasure-requests/${BROKEN_ID}`)) {
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ data: { id: 42, type: 'not_an_erasure_request' } }));
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of ['authorization', 'content-type', 'accept'])
      if (req.headers[h]) headers[h] = String(req.headers[h]);
    try {
      const up = await fetch(routes(path) + path, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const out: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (k === 'content-type' || k === 'retry-after') out[k] = v;
      });
      res.writeHead(up.status, out).end(Buffer.from(await up.arrayBuffer()));
    } catch {
      res.destroy();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

/** Prism's own report of a contract breach (with --errors it also answers 422/500 problem+json). */
const violations = (p: Prism) =>
  p.output
    .join('')
    .split('\n')
    .filter((l) => /violation|\berror\b/i.test(l) && !/Prism is listening/.test(l));

describe('Elastic Path driver through Prism (proxy, --errors) on the vendor OpenAPI', { timeout: 900_000 }, () => {
  let sb: Sandbox;
  let auth: Prism;
  let personal: Prism;
  let front: { url: string; server: Server };
  let upstreamTap: { url: string; server: Server };
  const dirs: string[] = [];

  before(async () => {
    sb = await startSandbox({ port: 0, timeScale: 0.001, seed: 21, outcomes: { elasticpathFailureRate: 0 } });
    const upstream = sb.config.vendors.elasticpath.baseUrl;
    // Between Prism and the sandbox: passes everything through, except the self-check's id.
    upstreamTap = await startFront(() => upstream, true);
    [auth, personal] = await Promise.all([
      startPrism('authentication.openapi.yaml', upstream),
      startPrism('personal-data.openapi.yaml', upstreamTap.url),
    ]);
    front = await startFront((path) =>
      path.startsWith('/oauth/') ? auth.url : path.startsWith('/v2/personal-data/') ? personal.url : upstream,
    );
  });

  after(async () => {
    for (const p of [auth, personal]) if (p?.child.pid) process.kill(-p.child.pid, 'SIGTERM');
    front?.server.close();
    upstreamTap?.server.close();
    await sb?.stop();
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  const run = async (requests: DriveRequest[], extra: Record<string, unknown> = {}) => {
    const dir = await mkdtemp(join(tmpdir(), 'lethe-contract-'));
    dirs.push(dir);
    const spec = ElasticPathSpec.parse({
      type: 'elasticpath',
      baseUrl: front.url,
      environment: 'development',
      credentials: { clientId: 'env:EP_CLIENT_ID', clientSecret: 'env:EP_CLIENT_SECRET' },
      pollIntervalSeconds: 0.05,
      ...extra,
    });
    const c = sb.config.vendors.elasticpath.credentials;
    return drive({
      driver: elasticPath.create(),
      vendor: 'elasticpath',
      spec,
      secrets: { clientId: String(c.clientId), clientSecret: String(c.clientSecret) },
      requests,
      dataDir: dir,
      maxSleepMs: 200,
      maxPasses: 100,
    });
  };

  it('self-check: Prism rejects a request that violates the OpenAPI (so a violation cannot pass unseen)', async () => {
    const res = await fetch(`${front.url}/v2/personal-data/erasure-requests`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer x' },
      body: JSON.stringify({ nodata: true }),
    });
    assert.equal(res.status, 422, 'a body without the required `data` is a request violation');
    const broken = await fetch(`${front.url}/v2/personal-data/erasure-requests/${BROKEN_ID}`, {
      headers: { authorization: 'Bearer x' },
    });
    await broken.text();
    assert.ok(broken.status >= 500, `an answer that breaks the OpenAPI is a response violation (got ${broken.status})`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(violations(personal).length > 0, 'Prism logs the violation');
    personal.output.length = 0;
  });

  it('erases customers and account members and reports no data held, without a single violation', async () => {
    const [a, b] = presentAt('elasticpath');
    const nobody = absentAt('elasticpath')[0]!;
    const customers = await run([
      { name: 'c-erase', action: 'erasure', emails: [a!.email] },
      { name: 'c-none', action: 'erasure', emails: [nobody.email] },
    ]);
    assert.equal(customers.tasks['c-erase']!.outcome, 'Erased', JSON.stringify(customers.tasks['c-erase']!.lastError));
    assert.equal(
      customers.tasks['c-none']!.outcome,
      'NoDataHeld',
      JSON.stringify(customers.tasks['c-none']!.lastError),
    );
    const members = await run([{ name: 'm-erase', action: 'erasure', emails: [b!.email] }], {
      resourceType: 'account_member',
    });
    assert.equal(members.tasks['m-erase']!.outcome, 'Erased', JSON.stringify(members.tasks['m-erase']!.lastError));

    const through = sb.ledger().filter((e) => e.vendor === 'elasticpath');
    for (const route of [
      '/elasticpath/oauth/access_token',
      '/elasticpath/v2/personal-data/erasure-requests',
      '/elasticpath/v2/personal-data/erasure-requests/{id}',
    ]) {
      assert.ok(
        through.some((e) => e.route === route),
        `the run went through ${route}`,
      );
    }
    assert.deepEqual(violations(auth), [], 'authentication.openapi.yaml');
    assert.deepEqual(violations(personal), [], 'personal-data.openapi.yaml');
    assert.equal(sb.stats().elasticpath.duplicateSubmissions, 0);
  });
});
