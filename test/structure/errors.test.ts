// Every catalogue code raised through the factory its module uses, and a sample of real
// throw sites: the error's `terminal` flag and message must be what the catalogue says
// (`lethe explain` and docs/reference/errors.md promise it). Until issue 13, eight git
// throw sites raised terminal codes as retryable and nothing noticed.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { coreErrors } from '../../controller/core/errors.ts';
import { catalogue } from '../../controller/errors/catalogue.ts';
import { type ErrorSet, type ErrorTable, LetheError } from '../../controller/errors/types.ts';
import { validationErrors } from '../../controller/errors/validation.ts';
import { exportErrors, writeExport } from '../../controller/exports/store.ts';
import { gitErrors } from '../../controller/git/errors.ts';
import { runGit } from '../../controller/git/exec.ts';
import { assertStatusPaths } from '../../controller/git/paths.ts';
import { GitSource } from '../../controller/git/source.ts';
import { resolveCredential } from '../../controller/http/credentials.ts';
import { httpErrors } from '../../controller/http/errors.ts';
import { renderTemplate } from '../../controller/http/template.ts';
import { definitionErrors } from '../../controller/vendors/define.ts';
import { driverErrors } from '../../controller/vendors/registry.ts';
import { stateErrors } from '../../state/files.ts';
import { subjectErrors } from '../../controller/subjects/errors.ts';
import { cleanup, lethe, sh, tempDir, write } from '../git/helpers.ts';

/** The module error sets, by the source name the catalogue gives them. */
const SETS: Record<string, ErrorSet<ErrorTable>> = {
  validation: validationErrors,
  controller: coreErrors,
  git: gitErrors,
  http: httpErrors,
  exports: exportErrors,
  'data directory': stateErrors,
  subjects: subjectErrors,
};

const placeholders = (template: string): string[] => [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);

/** Details that name each placeholder, and the message the template must then produce. */
function sample(template: string): { details: Record<string, string>; expected: string } {
  const details = Object.fromEntries(placeholders(template).map((name) => [name, `<${name}>`]));
  return { details, expected: template.replace(/\{(\w+)\}/g, (_whole, name: string) => `<${name}>`) };
}

function assertMatchesCatalogue(err: unknown, table: ErrorTable, code: string): void {
  assert.ok(err instanceof LetheError, `${code}: not a LetheError: ${String(err)}`);
  assert.equal(err.code, code);
  assert.equal(err.terminal, table[code]!.terminal ?? false, `${code}: terminal flag differs from the catalogue`);
}

/** The template as a pattern: placeholders match any non-empty text. */
function templatePattern(template: string): RegExp {
  const parts = template.split(/\{\w+\}/).map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.+')}$`, 's');
}

async function raised(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

after(cleanup);

describe('every catalogue code through its factory', () => {
  it('the catalogue lists exactly the tables of the module error sets, plus the drivers', () => {
    const sources = catalogue().map((c) => c.source);
    assert.deepEqual(sources.sort(), [...Object.keys(SETS), 'vendors'].sort());
    for (const { source, table } of catalogue())
      if (source !== 'vendors') assert.equal(table, SETS[source]!.table, source);
  });

  for (const [source, set] of Object.entries(SETS)) {
    it(`${source}: message filled from the template, terminal as the entry says`, () => {
      const codes = Object.keys(set.table);
      assert.ok(codes.length > 0);
      for (const code of codes) {
        const entry = set.table[code]!;
        const { details, expected } = sample(entry.message);
        const err = set.error(code, details);
        assertMatchesCatalogue(err, set.table, code);
        assert.equal(err.message, expected, code);
        assert.equal(set.terminal(code), entry.terminal ?? false, code);
        assert.equal(set.hint(code, sample(entry.hint).details), sample(entry.hint).expected, code);
      }
    });
  }

  it('a caller cannot override the terminal flag of a catalogue entry', () => {
    const options = { terminal: false } as unknown as Parameters<typeof gitErrors.error>[2];
    assert.equal(gitErrors.error('GIT_SOURCE_CONFIG', {}, options).terminal, true);
  });

  it('vendors: every driver code through its own errors.ts set, and nothing else in the driver table', async () => {
    // Each vendor folder declares its codes with defineErrors() in errors.ts (docs/adding-a-vendor.md).
    const vendorsDir = join('controller', 'vendors');
    const sets: Array<ErrorSet<ErrorTable>> = [];
    for (const folder of readdirSync(vendorsDir)) {
      const file = join(vendorsDir, folder, 'errors.ts');
      if (!statSync(join(vendorsDir, folder)).isDirectory()) continue;
      const module = (await import(join(process.cwd(), file))) as Record<string, unknown>;
      const found = Object.values(module).filter(
        (value): value is ErrorSet<ErrorTable> =>
          typeof value === 'object' && value !== null && 'table' in value && 'error' in value,
      );
      assert.equal(found.length, 1, `${file}: exactly one defineErrors() set`);
      sets.push(found[0]!);
    }
    const declared = new Set(sets.flatMap((set) => Object.keys(set.table)));
    const listed = Object.keys(driverErrors()).filter((code) => !(code in definitionErrors.table));
    assert.deepEqual(
      [...declared].sort(),
      listed.sort(),
      'the catalogue lists exactly the codes the vendor folders declare',
    );
    assert.ok(declared.size > 20);
    for (const set of sets) {
      for (const [code, entry] of Object.entries(set.table)) {
        const { details, expected } = sample(entry.message);
        const err = set.error(code, details);
        assertMatchesCatalogue(err, driverErrors(), code);
        assert.equal(err.message, expected, code);
      }
    }
  });
});

describe('real throw sites raise what the catalogue says', () => {
  const git = gitErrors.table;

  it('git: a write outside status/ (GIT_WRITE_OUTSIDE_STATUS, terminal)', () => {
    const err = (() => {
      try {
        assertStatusPaths(['status/ok.yaml', 'requests/evil.yaml']);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    assertMatchesCatalogue(err, git, 'GIT_WRITE_OUTSIDE_STATUS');
    assert.match((err as Error).message, templatePattern(git.GIT_WRITE_OUTSIDE_STATUS.message));
  });

  it('git: both or neither of repo and remote (GIT_SOURCE_CONFIG, terminal)', async () => {
    const dataDir = tempDir();
    for (const where of [{}, { repo: dataDir, remote: 'file:///nowhere' }]) {
      const err = await raised(() => GitSource.open({ branch: 'main', dataDir, identity: lethe, ...where }));
      assertMatchesCatalogue(err, git, 'GIT_SOURCE_CONFIG');
    }
  });

  it('git: a branch that does not exist (GIT_BRANCH_MISSING, terminal)', async () => {
    const repo = tempDir();
    sh(repo, ['init', '-q', '-b', 'main']);
    write(repo, 'lethe.yaml', 'x: 1\n');
    sh(repo, ['add', '.']);
    sh(repo, ['commit', '-qm', 'init']);
    const source = await GitSource.open({ repo, branch: 'no-such-branch', dataDir: tempDir(), identity: lethe });
    const err = await raised(() => source.sync());
    assertMatchesCatalogue(err, git, 'GIT_BRANCH_MISSING');
    assert.match((err as Error).message, templatePattern(git.GIT_BRANCH_MISSING.message));
    assert.match((err as Error).message, /no-such-branch/);
  });

  it('git: a failing command (GIT_FAILED, retryable)', async () => {
    const err = await raised(() => runGit(tempDir(), ['rev-parse', '--verify', 'refs/heads/nothing']));
    assertMatchesCatalogue(err, git, 'GIT_FAILED');
    assert.match((err as Error).message, templatePattern(git.GIT_FAILED.message));
  });

  it('http: credential references (CREDENTIAL_*, terminal)', async () => {
    const readFile = () => Promise.reject(Object.assign(new Error('no'), { code: 'ENOENT' }));
    const cases: Array<[string, string]> = [
      ['inline-secret', 'CREDENTIAL_REF_INVALID'],
      ['env:VENDOR_TEST_UNSET_VARIABLE', 'CREDENTIAL_ENV_MISSING'],
      ['env:LETHE_SUBJECT_SALT', 'CREDENTIAL_ENV_FORBIDDEN'],
      ['file:/nonexistent/secret', 'CREDENTIAL_FILE_UNREADABLE'],
    ];
    for (const [ref, code] of cases) {
      const err = await raised(() => resolveCredential(ref, {}, readFile));
      assertMatchesCatalogue(err, httpErrors.table, code);
      assert.doesNotMatch((err as Error).message, /inline-secret/, 'a credential value never reaches a message');
    }
  });

  it('http: a template with an unknown placeholder (TEMPLATE_UNKNOWN_PLACEHOLDER, terminal)', async () => {
    const err = await raised(() => renderTemplate('/users/{nobody}', {}, 'url', 'url'));
    assertMatchesCatalogue(err, httpErrors.table, 'TEMPLATE_UNKNOWN_PLACEHOLDER');
  });

  it('exports: a file name that is not plain (EXPORT_INVALID_FILE_NAME, terminal)', async () => {
    const err = await raised(() => writeExport(tempDir(), [{ name: '../escape', content: Buffer.from('x') }]));
    assertMatchesCatalogue(err, exportErrors.table, 'EXPORT_INVALID_FILE_NAME');
    assert.match((err as Error).message, templatePattern(exportErrors.table.EXPORT_INVALID_FILE_NAME.message));
  });
});

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('one way to raise', () => {
  it('no hand-built LetheError outside the catalogue module', () => {
    // defineErrors() sets are the way to raise, the drivers' too; only the catalogue's own
    // module builds a LetheError by hand.
    const allowed = (file: string) => file === join('controller', 'errors', 'types.ts');
    const offenders = [...sourceFiles('controller'), ...sourceFiles('state')].filter(
      (file) => !allowed(file) && readFileSync(file, 'utf8').includes('new LetheError('),
    );
    assert.deepEqual(offenders, []);
  });
});
