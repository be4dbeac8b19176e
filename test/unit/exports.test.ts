import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, beforeEach, describe, it } from 'node:test';
import { LetheError } from '../../controller/errors/types.ts';
import { readExportIndex, sha256, verifyExport, writeExport } from '../../controller/exports/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function lethe(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, ['controller/cli/bin.mjs', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, LETHE_DATA_DIR: undefined, ...env } as NodeJS.ProcessEnv,
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('exports store', () => {
  let data: string;
  let dir: string;
  const files = [
    { name: 'report_1.csv', content: Buffer.from('id,plan\n1,pro\n') },
    { name: 'report_2.csv', content: Buffer.from('id,country\n1,BE\n') },
  ];

  beforeEach(async () => {
    data = await mkdtemp(join(tmpdir(), 'lethe-exports-'));
    dir = join(data, 'exports', 'req-access', 'acme');
    await mkdir(dir, { recursive: true });
  });
  after(async () => {
    await rm(data, { recursive: true, force: true });
  });

  it('writes the files and an index.json of names, sizes and sha256 that matches them', async () => {
    const index = await writeExport(dir, files, new Date('2026-11-20T10:00:00Z'));
    assert.deepEqual(
      index.files,
      files.map((f) => ({ name: f.name, bytes: f.content.length, sha256: sha256(f.content) })),
    );
    assert.deepEqual(await readExportIndex(dir), index);
    assert.equal(index.writtenAt, '2026-11-20T10:00:00.000Z');
    assert.deepEqual((await readdir(dir)).sort(), ['index.json', 'report_1.csv', 'report_2.csv']);
    for (const f of files) assert.deepEqual(await readFile(join(dir, f.name)), f.content);
    assert.deepEqual(await verifyExport(dir), []);
  });

  it('a rewrite replaces the export: stale files and crash leftovers are removed', async () => {
    await writeExport(dir, files);
    await writeFile(join(dir, '.report_3.csv.tmp-dead'), 'half');
    await writeExport(dir, [files[0]!]);
    assert.deepEqual((await readdir(dir)).sort(), ['index.json', 'report_1.csv']);
    assert.deepEqual(await verifyExport(dir), []);
  });

  it('verifyExport finds modified, resized, missing and extra files, and a missing index', async () => {
    await writeExport(dir, files);
    await writeFile(join(dir, 'report_1.csv'), 'id,plan\n1,PRO\n'); // same size, other bytes
    await writeFile(join(dir, 'report_2.csv'), 'id\n');
    await writeFile(join(dir, 'notes.txt'), 'x');
    const problems = await verifyExport(dir);
    assert.deepEqual(
      problems.map((p) => `${p.kind}:${p.file}`),
      ['hash:report_1.csv', 'size:report_2.csv', 'extra:notes.txt'],
    );
    await rm(join(dir, 'report_1.csv'));
    assert.ok((await verifyExport(dir)).some((p) => p.kind === 'missing' && p.file === 'report_1.csv'));
    await rm(join(dir, 'index.json'));
    assert.deepEqual(
      (await verifyExport(dir)).map((p) => p.kind),
      ['index'],
    );
  });

  it('refuses names that are not plain file names, before writing anything', async () => {
    for (const name of ['../escape.csv', 'index.json', 'a/b.csv', '.hidden', '']) {
      await assert.rejects(
        writeExport(dir, [{ name, content: Buffer.from('x') }]),
        (e: unknown) => e instanceof LetheError && e.code === 'EXPORT_INVALID_FILE_NAME',
      );
    }
    await assert.rejects(writeExport(dir, [files[0]!, files[0]!]), LetheError);
    assert.deepEqual(await readdir(dir), []);
  });

  it('lethe export (real process): prints the files per vendor; exit 0 when verified, 1 after tampering, 2 on usage errors', async () => {
    await writeExport(dir, files);
    await mkdir(join(data, 'exports', 'req-access', 'qualifio-main'), { recursive: true });
    await writeExport(join(data, 'exports', 'req-access', 'qualifio-main'), [
      { name: 'qualifio-abc.json', content: Buffer.from('{"profiles":[]}') },
    ]);

    const ok = lethe(['export', 'req-access', '--data', data]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^acme: .*exports\/req-access\/acme — verified$/m);
    assert.match(ok.out, /^qualifio-main: .* — verified$/m);
    assert.match(
      ok.out,
      new RegExp(`report_1.csv  ${files[0]!.content.length} bytes  sha256 ${sha256(files[0]!.content)}`),
    );

    const viaEnv = lethe(['export', 'req-access', '--json'], { LETHE_DATA_DIR: data });
    assert.equal(viaEnv.code, 0, viaEnv.err);
    const json = JSON.parse(viaEnv.out);
    assert.equal(json.ok, true);
    assert.deepEqual(
      json.vendors.map((v: { vendor: string }) => v.vendor),
      ['acme', 'qualifio-main'],
    );

    await writeFile(join(dir, 'report_2.csv'), 'tampered');
    const bad = lethe(['export', 'req-access', '--data', data]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /! size: report_2.csv/);

    assert.equal(lethe(['export', 'req-unknown', '--data', data]).code, 1);
    assert.equal(lethe(['export', '--data', data]).code, 2);
    assert.equal(lethe(['export', '../etc', '--data', data]).code, 2);
    assert.equal(lethe(['export', 'req-access']).code, 2, 'no data directory');
    assert.equal(lethe(['export', 'req-access', '--data', data, '--bogus']).code, 2);
  });
});
