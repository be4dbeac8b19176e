import { parseArgs } from 'node:util';
import { EXIT } from '../../controller/cli/main.ts';
import { startSandbox } from './index.ts';

/**
 * `lethe-sandbox` (`npm run sandbox`): the vendor simulators as a process of their own. It
 * is not a `lethe` subcommand: the product never imports examples/, so an installed
 * controller runs without the simulators (they ship in the package for trying Lethe out).
 */
export const usage = 'lethe-sandbox [--port N] [--time-scale X] [--faults SPEC] [--seed N] [--limit-scale X]';

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        port: { type: 'string', default: '0' },
        'time-scale': { type: 'string' },
        faults: { type: 'string' },
        seed: { type: 'string', default: '1' },
        'limit-scale': { type: 'string' },
        help: { type: 'boolean' },
      },
    }));
  } catch (err) {
    process.stderr.write(`lethe-sandbox: ${(err as Error).message}\nusage: ${usage}\n`);
    return EXIT.usage;
  }
  if (values.help) {
    process.stdout.write(
      `usage: ${usage}\nRuns local simulators of the vendor APIs (rate limits, async jobs, faults, call ledger) until Ctrl-C.\n`,
    );
    return EXIT.ok;
  }
  const port = Number(values.port);
  const seed = Number(values.seed);
  const timeScale = values['time-scale'] === undefined ? undefined : Number(values['time-scale']);
  const limitScale = values['limit-scale'] === undefined ? undefined : Number(values['limit-scale']);
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !Number.isInteger(seed)) {
    process.stderr.write(`lethe-sandbox: --port and --seed must be integers\nusage: ${usage}\n`);
    return EXIT.usage;
  }
  if ((timeScale !== undefined && !(timeScale > 0)) || (limitScale !== undefined && !(limitScale > 0))) {
    process.stderr.write(`lethe-sandbox: --time-scale and --limit-scale must be positive numbers\n`);
    return EXIT.usage;
  }
  let sandbox;
  try {
    sandbox = await startSandbox({ port, seed, timeScale, limitScale, faults: values.faults });
  } catch (err) {
    process.stderr.write(`lethe-sandbox: ${(err as Error).message}\n`);
    return err instanceof Error && err.message.startsWith('fault spec') ? EXIT.usage : EXIT.error;
  }
  const { config } = sandbox;
  const lines = [`Lethe vendor sandbox on ${config.url} (time-scale ${config.timeScale}, seed ${config.seed})`];
  for (const [name, v] of Object.entries(config.vendors)) lines.push(`  ${name.padEnd(12)} ${v.baseUrl}`);
  lines.push(
    `  config       ${config.url}/_sandbox/config (credentials)`,
    `  stats        ${config.url}/_sandbox/stats`,
    'Ctrl-C to stop.',
  );
  process.stdout.write(lines.join('\n') + '\n');

  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await sandbox.stop();
  return EXIT.ok;
}
