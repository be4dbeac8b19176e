import type { LetheConfig } from '../../specs/index.ts';
import type { GitSource, WriteResult } from '../git/source.ts';
import { findSigner } from '../git/signing.ts';
import { epochRequests } from './epoch-requests.ts';
import { subjectErrors } from './errors.ts';
import { destroyEpochKey, epochKeyPath } from './keys.ts';
import { shredMessage, shredRecord, shredRecordPath, shredRefusal, type EpochRequest } from './shred.ts';
import { existsSync } from 'node:fs';

export interface ShredOptions {
  source: GitSource;
  config: LetheConfig;
  secretsDir: string;
  epoch: string;
  now: number;
  /** The key was destroyed by other means (or a previous run died before committing): only record it. */
  recordOnly?: boolean;
}

export interface ShredResult {
  requests: EpochRequest[];
  keyDestroyed: boolean;
  write: WriteResult;
}

/**
 * `lethe shred`: refuses (throws the catalogue error) unless every request of the epoch
 * has been final for longer than the retention; then destroys the epoch's private key and
 * commits `status/epochs/<epoch>.yaml` with a `Lethe-Shredded: <epoch>` trailer. The key
 * goes first: a crash before the commit leaves a shredded epoch without its record (run
 * again with --record-only), never a record of a key that still exists.
 *
 * The record is a status commit like any other: chained, and signed with the controller key
 * lethe.yaml declares (looked up in the same secrets directory as the epoch keys). Its
 * private half is found before anything is destroyed: an unsigned record would look forged
 * to every later audit, so a missing signing key refuses the shred with the key intact.
 */
export async function shredEpoch(o: ShredOptions): Promise<ShredResult> {
  const requests = await epochRequests(o.source, o.epoch);
  const refusal = shredRefusal(o.epoch, o.config.spec.subjects, requests, o.now);
  if (refusal) throw refusal;
  if (!o.recordOnly && !existsSync(epochKeyPath(o.secretsDir, o.epoch))) {
    throw subjectErrors.error('SHRED_KEY_ELSEWHERE', { epoch: o.epoch, dir: o.secretsDir });
  }
  const declared = o.config.spec.identity.signingKey;
  if (declared !== undefined) o.source.useSigner(await findSigner(o.secretsDir, declared));
  const keyDestroyed = o.recordOnly ? false : await destroyEpochKey(o.secretsDir, o.epoch);
  const recipient = o.config.spec.subjects?.epochs.find((e) => e.id === o.epoch)?.recipient;
  const record = shredRecord(o.epoch, recipient, requests, new Date(o.now), o.config.spec.subjects!.retention);
  const write = await o.source.writeStatus(
    new Map([[shredRecordPath(o.epoch), record]]),
    shredMessage(o.epoch, requests.length),
  );
  return { requests, keyDestroyed, write };
}
