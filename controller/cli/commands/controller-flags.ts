import { asCatalogued } from '../../../state/files.ts';
import type { ParseArgsConfig } from 'node:util';
import { openController, type Controller, type ControllerOptions } from '../../core/app.ts';
import { lookup } from '../../errors/catalogue.ts';
import { EXIT } from '../main.ts';
import { createLogger, type Level } from '../../log.ts';
import { createDriverTable } from '../../vendors/registry.ts';

/** Flags shared by the commands that run the controller. */
export const CONTROLLER_FLAGS = {
  repo: { type: 'string' },
  remote: { type: 'string' },
  branch: { type: 'string' },
  data: { type: 'string' },
  'trust-root': { type: 'string' },
  'secrets-dir': { type: 'string' },
  'no-push': { type: 'boolean' },
  push: { type: 'boolean' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const CONTROLLER_USAGE =
  '[--repo DIR | --remote URL] [--branch B] [--data DIR] [--trust-root SHA] [--secrets-dir DIR] [--push | --no-push] [--log-level debug|info|warn|error] [--log-format json|text]';

type Values = {
  [K in keyof typeof CONTROLLER_FLAGS]?: (typeof CONTROLLER_FLAGS)[K]['type'] extends 'boolean' ? boolean : string;
};

export class UsageError extends Error {}

/**
 * How a controller command ends on an error: a usage error is exit 2; anything else is
 * exit 3 with the catalogue code. Only LetheError messages are printed: they are built
 * without personal data, unlike an arbitrary exception's.
 */
export function exitOnError(command: string, err: unknown): number {
  if (err instanceof UsageError) {
    process.stderr.write(`lethe ${command}: ${err.message}\n`);
    return EXIT.usage;
  }
  const known = asCatalogued(err);
  const what = known
    ? `${known.code} ${known.message}`
    : `CONTROLLER_ERROR ${err instanceof Error ? err.name : 'error'}`;
  const hint = lookup(known ? known.code : 'CONTROLLER_ERROR')?.hint;
  process.stderr.write(`lethe ${command}: ${what}\n${hint ? `  hint: ${hint}\n` : ''}`);
  return EXIT.error;
}

export function loggerFrom(values: Values, defaultFormat: 'json' | 'text') {
  const level = (values['log-level'] ?? 'info') as Level;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new UsageError(`--log-level must be debug, info, warn or error`);
  const format = (values['log-format'] ?? defaultFormat) as 'json' | 'text';
  if (format !== 'json' && format !== 'text') throw new UsageError('--log-format must be json or text');
  return createLogger({ level, format });
}

/** Flags of the commands that act (run, reconcile): the single-writer lease. */
export const LEASE_FLAGS = {
  'wait-for-lease': { type: 'boolean' },
  'lease-seconds': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export const LEASE_USAGE = '[--wait-for-lease] [--lease-seconds N]';

export function leaseFrom(
  values: { 'wait-for-lease'?: boolean; 'lease-seconds'?: string },
  signal?: AbortSignal,
): NonNullable<ControllerOptions['lease']> {
  const seconds = values['lease-seconds'] === undefined ? 60 : Number(values['lease-seconds']);
  if (!Number.isFinite(seconds) || seconds < 3)
    throw new UsageError('--lease-seconds must be a number of seconds, at least 3');
  return { wait: values['wait-for-lease'] === true, durationMs: seconds * 1000, signal };
}

export async function controllerFrom(
  values: Values,
  log: ReturnType<typeof createLogger>,
  extra: Pick<ControllerOptions, 'maxPassMs' | 'readOnly' | 'lease' | 'metrics'> & {
    drivers?: ControllerOptions['drivers'];
  } = {},
): Promise<Controller> {
  if (values.repo && values.remote) throw new UsageError('give either --repo or --remote, not both');
  const repo = values.repo ?? (values.remote ? undefined : '.');
  const push = values['no-push'] ? false : values.push ? true : undefined;
  return openController({
    repo,
    remote: values.remote,
    branch: values.branch,
    dataDir: values.data,
    trustRoot: values['trust-root'],
    secretsDir: values['secrets-dir'],
    push,
    log,
    ...extra,
    drivers: extra.drivers ?? createDriverTable(),
  });
}
