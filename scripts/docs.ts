// docs/reference/ is generated from the code: the CLI command table, the zod specs (through
// their JSON Schemas), the error catalogue and the driver registry. Each reference page has
// hand-written prose around one generated block between markers; `npm run docs` rewrites
// the blocks, and test/structure/docs.test.ts fails when a committed page drifts.
// Usage: node --import tsx scripts/docs.ts [--check]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, EXIT } from '../controller/cli/main.ts';
import { catalogue } from '../controller/errors/catalogue.ts';
import { manifestReference } from '../controller/manifests/reference.ts';
import { DRIVERS } from '../controller/vendors/registry.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export async function cliReference(): Promise<string> {
  const lines = ['| Command | What it does |', '|---|---|'];
  for (const name of Object.keys(COMMANDS).sort()) {
    const command = await COMMANDS[name]!();
    lines.push(`| \`lethe ${cell(command.usage)}\` | ${cell(command.summary)} |`);
  }
  lines.push('', '| Exit code | Name |', '|---|---|');
  for (const [name, code] of Object.entries(EXIT)) lines.push(`| \`${code}\` | \`${name}\` |`);
  return lines.join('\n');
}

export function errorReference(): string {
  const parts: string[] = [];
  for (const { source, table } of catalogue()) {
    const codes = Object.keys(table).sort();
    parts.push(`### ${source} (${codes.length} codes)`, '', '| Code | Terminal | Message | Fix |', '|---|---|---|---|');
    for (const code of codes) {
      const entry = table[code]!;
      parts.push(`| \`${code}\` | ${entry.terminal ? 'yes' : 'no'} | ${cell(entry.message)} | ${cell(entry.hint)} |`);
    }
    parts.push('');
  }
  return parts.join('\n').trimEnd();
}

/** Where a vendor's own documentation lives: its folder's README once the driver is one folder. */
function vendorReadme(type: string): string {
  const folder = `controller/vendors/${type}/README.md`;
  return existsSync(join(ROOT, folder)) ? folder : `controller/vendors/README-${type}.md`;
}

export function vendorReference(): string {
  const lines = [
    '| `type` | Identifier keys | Batching | Cancels own work | Health check | Error codes | Details |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const [type, driver] of Object.entries(DRIVERS).sort(([a], [b]) => a.localeCompare(b))) {
    const keys = driver.identifierKeys.map((key) => `\`${key}\``).join(', ') || '—';
    const batch = driver.batch ? `up to ${driver.batch.max} at step \`${driver.batch.step}\`` : 'no';
    const readme = vendorReadme(type);
    lines.push(
      `| \`${type}\` | ${keys} | ${batch} | ${driver.cancel ? 'yes' : 'no'} | ${driver.healthCheck ? 'yes' : 'no'} | ${Object.keys(driver.errors).length} | [${readme.split('/').slice(-2).join('/')}](../../${readme}) |`,
    );
  }
  return lines.join('\n');
}

/** The generated pages: path → function producing the block between that page's markers. */
export const GENERATED: Record<string, () => string | Promise<string>> = {
  'docs/reference/cli.md': cliReference,
  'docs/reference/manifests.md': () => manifestReference().trimEnd(),
  'docs/reference/errors.md': errorReference,
  'docs/reference/vendors.md': vendorReference,
};

export const START = '<!-- generated:start (npm run docs) -->';
export const END = '<!-- generated:end -->';

/** Replaces the block between the markers; throws when they are missing so drift is loud. */
export function withGenerated(page: string, block: string, path: string): string {
  const start = page.indexOf(START);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${path} is missing the ${START} / ${END} markers`);
  return `${page.slice(0, start + START.length)}\n\n${block}\n\n${page.slice(end)}`;
}

/** Every reference page as it should be, by repository path. */
export async function freshPages(): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  for (const [path, generate] of Object.entries(GENERATED)) {
    pages.set(path, withGenerated(readFileSync(join(ROOT, path), 'utf8'), await generate(), path));
  }
  return pages;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const [path, text] of await freshPages()) {
    if (readFileSync(join(ROOT, path), 'utf8') === text) continue;
    stale++;
    if (check) process.stderr.write(`${path} is out of date: run npm run docs\n`);
    else writeFileSync(join(ROOT, path), text);
  }
  process.exitCode = check && stale > 0 ? 1 : 0;
}
