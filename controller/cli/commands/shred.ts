import { resolve } from 'node:path';
import { LetheError } from '../../errors/types.ts';
import { lookup } from '../../errors/catalogue.ts';
import { EpochId } from '../../../specs/index.ts';
import { subjectSecretsDir } from '../../subjects/keys.ts';
import { shredEpoch } from '../../subjects/shred-epoch.ts';
import { EXIT, parseFlags } from '../main.ts';
import { CONTROLLER_FLAGS, CONTROLLER_USAGE, controllerFrom, exitOnError, loggerFrom } from './controller-flags.ts';

export const usage = `shred --epoch ID [--secrets-dir DIR] [--record-only] ${CONTROLLER_USAGE}`;
export const summary =
  "Destroy a key epoch's private key once all its requests are final and past retention, and commit a Lethe-Shredded record.";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    ...CONTROLLER_FLAGS,
    epoch: { type: 'string' },
    'secrets-dir': { type: 'string' },
    'record-only': { type: 'boolean', default: false },
  });
  if (!values.epoch || !EpochId.safeParse(values.epoch).success) {
    process.stderr.write(`lethe shred: give --epoch ID (an epoch of spec.subjects.epochs)\nusage: lethe ${usage}\n`);
    return EXIT.usage;
  }
  let controller;
  try {
    const log = loggerFrom(values, 'text');
    controller = await controllerFrom(values, log, { readOnly: true });
    const config = await controller.reconciler.config();
    const secretsDir = subjectSecretsDir({
      flag: values['secrets-dir'],
      env: process.env,
      dataDir: resolve(controller.dataDir),
    });
    const result = await shredEpoch({
      source: controller.source,
      config,
      secretsDir,
      epoch: values.epoch,
      now: Date.now(),
      recordOnly: values['record-only'],
    });
    process.stdout.write(
      `Epoch ${values.epoch} shredded: ${result.keyDestroyed ? 'its key was destroyed' : 'recorded only (no key destroyed here)'}; ` +
        `${result.requests.length} request(s) recorded in commit ${result.write.commit ?? '(none)'}${result.write.pushed ? ', pushed' : ''}.\n` +
        "Copies of the key made elsewhere (backups, lethe epoch export) and reviewers' keys of this epoch must be destroyed too: see docs/privacy.md.\n",
    );
    return EXIT.ok;
  } catch (err) {
    if (err instanceof LetheError && (err.code.startsWith('SHRED_') || err.code === 'EPOCH_UNKNOWN')) {
      process.stderr.write(
        `lethe shred: refused: ${err.code} ${err.message}\n  hint: ${lookup(err.code)?.hint ?? ''}\n`,
      );
      return EXIT.invalid;
    }
    return exitOnError('shred', err);
  } finally {
    await controller?.close();
  }
}
