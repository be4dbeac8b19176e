import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * One entry per subcommand. Each module exports `run(args): Promise<number>` (the exit
 * code) and `usage` (one line for `lethe --help`). Imports are lazy so that `lethe
 * validate` does not load git or HTTP code.
 */
export interface Command {
  usage: string;
  summary: string;
  run(argv: string[]): Promise<number>;
}

export const COMMANDS: Record<string, () => Promise<Command>> = {
  reconcile: () => import('./commands/reconcile.ts'),
  run: () => import('./commands/run.ts'),
  plan: () => import('./commands/plan.ts'),
  status: () => import('./commands/status.ts'),
  validate: () => import('./commands/validate.ts'),
  schema: () => import('./commands/schema.ts'),
  export: () => import('./commands/export.ts'),
  explain: () => import('./commands/explain.ts'),
  keygen: () => import('./commands/keygen.ts'),
  audit: () => import('./commands/audit.ts'),
  epoch: () => import('./commands/epoch.ts'),
  shred: () => import('./commands/shred.ts'),
  show: () => import('./commands/show.ts'),
  new: () => import('./commands/new.ts'),
};

export const EXIT = {
  ok: 0,
  /** Invalid manifests, or requests that failed. */
  invalid: 1,
  /** Wrong usage of the CLI. */
  usage: 2,
  /** The controller could not run (repository unreachable, journal unreadable). */
  error: 3,
} as const;

/** parseArgs with Lethe's conventions: unknown flags are a usage error, not ignored. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

async function printHelp(): Promise<void> {
  const lines = ['lethe — GitOps reconciler for privacy requests', '', 'Usage:', '  lethe --version'];
  for (const name of Object.keys(COMMANDS).sort()) {
    const cmd = await COMMANDS[name]!();
    lines.push(`  lethe ${cmd.usage}`, `      ${cmd.summary}`);
  }
  lines.push('', 'Exit codes: 0 ok, 1 invalid input or failed requests, 2 usage error, 3 controller error.');
  process.stdout.write(lines.join('\n') + '\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    await printHelp();
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    const { VERSION } = await import('../version.ts');
    process.stdout.write(`lethe ${VERSION}\n`);
    return EXIT.ok;
  }
  const load = COMMANDS[name];
  if (!load) {
    process.stderr.write(`lethe: unknown command "${name}"; see lethe --help\n`);
    return EXIT.usage;
  }
  const cmd = await load();
  try {
    return await cmd.run(rest);
  } catch (err) {
    if (err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`lethe ${name}: ${err.message}\nusage: lethe ${cmd.usage}\n`);
      return EXIT.usage;
    }
    throw err;
  }
}
