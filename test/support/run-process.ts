/**
 * `lethe run` with the test driver table, for tests that run controllers as processes
 * (lease, SIGKILL takeover). argv: the `lethe run` flags; credentials come from the env.
 */
import { runController } from '../../controller/cli/commands/run.ts';
import { testDriverTable } from './test-driver.ts';

process.exitCode = await runController(process.argv.slice(2), testDriverTable());
