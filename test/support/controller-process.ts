/**
 * A controller process for crash tests: one reconcile pass with the test driver table.
 * argv: <origin> <dataDir> — the environment carries the credentials (TEST_ENV).
 */
import { openController } from '../../controller/core/app.ts';
import { createLogger } from '../../controller/log.ts';
import { testDriverTable } from './test-driver.ts';

const [origin, dataDir] = process.argv.slice(2);
const c = await openController({
  remote: origin!,
  dataDir: dataDir!,
  drivers: testDriverTable(),
  push: true,
  log: createLogger({ level: 'info', format: 'json' }),
});
await c.reconciler.pass();
await c.close();
process.stdout.write('pass done\n');
