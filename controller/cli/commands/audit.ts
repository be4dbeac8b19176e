import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { audit } from '../../audit/audit.ts';
import { computeMetrics, renderMetrics } from '../../audit/metrics.ts';
import { renderHtml, renderJson, renderMarkdown, renderText } from '../../audit/render.ts';
import { LetheError } from '../../errors/types.ts';
import { EXIT, parseFlags } from '../main.ts';

export const usage =
  'audit [NAME...|--all] [--repo DIR] [--ref REF] [--branch B] [--format text|md|json|html] [--out FILE] | audit --metrics --year YYYY [--format md|csv|json]';
export const summary =
  'Prove from a clone alone what was done for each request, on whose approval, and that the record is intact (exit 1 if any is Unproven); or yearly metrics.';

const FORMATS = ['text', 'md', 'json', 'html'] as const;
const METRIC_FORMATS = ['md', 'csv', 'json'] as const;

/**
 * Reads nothing but the repository: no journal, no vendor, no secret. Verdicts follow
 * docs/audit.md: Proven needs a valid approval under the policy in force then, every status
 * change signed by the controller key on an unbroken chain, and evidence for every outcome.
 */
export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    all: { type: 'boolean' },
    repo: { type: 'string' },
    ref: { type: 'string' },
    branch: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    metrics: { type: 'boolean' },
    year: { type: 'string' },
  });
  const usageError = (message: string) => {
    process.stderr.write(`lethe audit: ${message}\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  };
  const dir = resolve(values.repo ?? '.');
  if (values.metrics) {
    const format = (values.format ?? 'md') as (typeof METRIC_FORMATS)[number];
    if (!METRIC_FORMATS.includes(format)) return usageError('--format for --metrics is md, csv or json');
    if (!values.year || !/^\d{4}$/.test(values.year)) return usageError('--metrics needs --year YYYY');
    if (positionals.length > 0 || values.all) return usageError('--metrics covers every request; give no names');
    const report = await run0(() => audit({ dir, ref: values.ref, branch: values.branch }));
    if (typeof report === 'number') return report;
    return emit(renderMetrics(computeMetrics(report, Number(values.year)), format), values.out, EXIT.ok);
  }
  const format = (values.format ?? 'text') as (typeof FORMATS)[number];
  if (!FORMATS.includes(format)) return usageError('--format is text, md, json or html');
  if (values.all === positionals.length > 0) return usageError('give request names or --all');
  const report = await run0(() =>
    audit({ dir, ref: values.ref, branch: values.branch, names: values.all ? undefined : positionals }),
  );
  if (typeof report === 'number') return report;
  const text =
    format === 'json'
      ? renderJson(report)
      : format === 'md'
        ? renderMarkdown(report)
        : format === 'html'
          ? renderHtml(report)
          : renderText(report);
  return emit(text, values.out, report.unproven > 0 ? EXIT.invalid : EXIT.ok);
}

async function run0<T>(f: () => Promise<T>): Promise<T | number> {
  try {
    return await f();
  } catch (err) {
    // Only LetheError messages are printed: they are built without personal data.
    const what =
      err instanceof LetheError
        ? `${err.code} ${err.message}`
        : `CONTROLLER_ERROR ${err instanceof Error ? err.name : 'error'}`;
    process.stderr.write(`lethe audit: ${what}\n`);
    return EXIT.error;
  }
}

async function emit(text: string, out: string | undefined, code: number): Promise<number> {
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
  return code;
}
