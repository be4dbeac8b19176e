/**
 * `npm run test:pack` (not part of `npm test`: it installs the dependencies from the
 * registry or the npm cache, some 30 s): the package as a user gets it. `npm pack`, then
 * `npm install -g ./lethe-*.tgz` into a temporary prefix, then the installed `lethe` runs
 * from a temporary directory: --version, --help and validate on a copy of the example
 * privacy repository.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('npm pack + npm install -g gives a working lethe', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'lethe-pack-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('packs only what runs, installs globally, and runs from any directory', () => {
    const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', tmp], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    })
      .trim()
      .split('\n')
      .pop()!;
    assert.equal(packed, `lethe-${VERSION}.tgz`);
    const tarball = join(tmp, packed);
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    assert.ok(files.includes('package/controller/cli/bin.mjs'));
    assert.ok(files.includes('package/examples/deploy/prometheus-rules.yaml'), 'the alert rules ship with the package');
    assert.ok(
      files.includes('package/examples/sandbox/bin.mjs') && files.includes('package/examples/sandbox/index.ts'),
      'lethe-sandbox runs the vendor sandbox',
    );
    assert.ok(
      !files.some((f) => /^package\/(test|node_modules|examples\/demo)\//.test(f)),
      'no tests or demo in the package',
    );

    const prefix = join(tmp, 'prefix');
    const install = spawnSync('npm', ['install', '-g', tarball, '--prefix', prefix, '--no-audit', '--no-fund'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 240_000,
    });
    assert.equal(install.status, 0, install.stderr);
    const lethe = join(prefix, 'bin', 'lethe');

    const run = (args: string[], cwd: string) =>
      spawnSync(lethe, args, {
        cwd,
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` },
      });
    const version = run(['--version'], tmp);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), `lethe ${VERSION}`);
    const help = run(['--help'], tmp);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /lethe run .*--metrics-listen HOST:PORT/);
    assert.doesNotMatch(help.stdout, /sandbox/, 'the simulators are not a lethe subcommand');
    const sandbox = spawnSync(join(prefix, 'bin', 'lethe-sandbox'), ['--help'], {
      cwd: tmp,
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(sandbox.status, 0, sandbox.stderr);
    assert.match(sandbox.stdout, /^usage: lethe-sandbox /);

    const repo = join(tmp, 'privacy');
    cpSync(join(ROOT, 'examples', 'privacy-repo'), repo, { recursive: true });
    const validate = run(['validate'], repo);
    assert.equal(validate.status, 0, validate.stdout + validate.stderr);
    assert.match(validate.stdout, /^ok: \d+ vendors, \d+ requests$/m);
  });
});
