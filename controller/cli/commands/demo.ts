import { fileURLToPath } from 'node:url';
import { dueDate } from '../../deadlines.ts';
import { formatText, loadRepositoryFromDisk } from '../../manifests/index.ts';
import { EXIT } from '../main.ts';

export const usage = 'demo';
export const summary = 'Validate the example repository and print its requests with their legal due dates.';

const EXAMPLE = fileURLToPath(new URL('../../../examples/privacy-repo/', import.meta.url));

export async function run(): Promise<number> {
  const { model } = await loadRepositoryFromDisk(EXAMPLE);
  if (model.problems.length > 0 || !model.config) {
    process.stdout.write(formatText(model.problems));
    return EXIT.invalid;
  }
  const other = model.config.spec.regulations.other;
  const rows = [...model.requests.values()]
    .map(({ request, vendors }) => [
      request.metadata.name,
      request.spec.action,
      request.spec.regulation,
      dueDate(request.spec, other),
      vendors.join(', '),
    ])
    .sort((a, b) => a[3]!.localeCompare(b[3]!) || a[0]!.localeCompare(b[0]!));
  const table = [['NAME', 'ACTION', 'REGULATION', 'DUE', 'VENDORS'], ...rows];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const lines = table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  process.stdout.write(
    `examples/privacy-repo is valid: ${model.vendors.size} vendors, ${model.requests.size} requests (earliest due first)\n\n` +
      lines.join('\n') + '\n',
  );
  return EXIT.ok;
}
