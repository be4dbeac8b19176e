import { stringify } from 'yaml';
import { RETENTION, type PrivacyRequestStatus, type ShredRecord, type SubjectsPolicy } from '../../specs/index.ts';
import type { LetheError } from '../errors/types.ts';
import { currentEpoch } from './sealed.ts';
import { subjectErrors } from './errors.ts';

/** One request whose subject is sealed to the epoch, as the repository records it. */
export interface EpochRequest {
  name: string;
  /** Its status, when the controller has written one. */
  status?: PrivacyRequestStatus['status'];
}

const FINAL = new Set(['Completed', 'Failed', 'Withdrawn']);

/** When a final request finished: completion, or the moment it was withdrawn. */
export function finishedAt(status: PrivacyRequestStatus['status']): string | undefined {
  if (status.phase === 'Withdrawn') return status.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime;
  return status.completedAt;
}

/** `finished` plus the retention ("24 months"), in UTC; months clamp to the month's last day. */
export function retentionEnd(finished: string, retention: string): Date {
  const m = RETENTION.exec(retention);
  if (!m) throw new Error(`retention "${retention}" passed the schema but not RETENTION`);
  const n = Number(m[1]);
  const d = new Date(finished);
  if (m[2] === 'day') return new Date(d.getTime() + n * 86_400_000);
  const months = m[2] === 'year' ? 12 * n : n;
  const target = new Date(
    Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()),
  );
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target;
}

/**
 * Why the epoch may not be shredded now, or undefined when it may: it must be declared and
 * not current, and every request sealed to it final for longer than the retention. Pure.
 */
export function shredRefusal(
  epoch: string,
  policy: SubjectsPolicy | undefined,
  requests: readonly EpochRequest[],
  now: number,
): LetheError | undefined {
  if (!policy?.epochs.some((e) => e.id === epoch)) return subjectErrors.error('EPOCH_UNKNOWN', { epoch });
  if (currentEpoch(policy)?.id === epoch) return subjectErrors.error('SHRED_CURRENT_EPOCH', { epoch });
  for (const r of [...requests].sort((a, b) => a.name.localeCompare(b.name))) {
    const phase = r.status?.phase ?? 'not yet recorded';
    const finished = r.status && FINAL.has(r.status.phase) ? finishedAt(r.status) : undefined;
    if (!finished) return subjectErrors.error('SHRED_REQUEST_OPEN', { epoch, request: r.name, phase });
    const until = retentionEnd(finished, policy.retention);
    if (until.getTime() > now) {
      return subjectErrors.error('SHRED_WITHIN_RETENTION', {
        epoch,
        request: r.name,
        finished: finished.slice(0, 10),
        until: until.toISOString().slice(0, 10),
        retention: policy.retention,
      });
    }
  }
  return undefined;
}

export const SHRED_TRAILER = 'Lethe-Shredded';

export function shredRecordPath(epoch: string): string {
  return `status/epochs/${epoch}.yaml`;
}

/** The record committed with the shredding: which epoch, when, which requests it held. No personal data. */
export function shredRecord(
  epoch: string,
  recipient: string | undefined,
  requests: readonly EpochRequest[],
  now: Date,
  retention: string,
): string {
  return (
    '# Written by lethe shred. The private key of this epoch was destroyed: the sealed subjects of\n' +
    '# these requests can no longer be read by anyone holding only the repository and the keys left.\n' +
    stringify(
      {
        epoch,
        shreddedAt: now.toISOString(),
        recipient,
        retention,
        requests: requests.map((r) => ({
          name: r.name,
          phase: r.status?.phase,
          finishedAt: r.status ? finishedAt(r.status) : undefined,
        })),
      } satisfies ShredRecord,
      { lineWidth: 0 },
    )
  );
}

export function shredMessage(epoch: string, count: number): string {
  return (
    `Shred subject key epoch ${epoch} (${count} request${count === 1 ? '' : 's'})\n\n` +
    `lethe shred destroyed the controller's private key of epoch ${epoch}; ${shredRecordPath(epoch)} lists the requests it held.\n\n` +
    `${SHRED_TRAILER}: ${epoch}\n`
  );
}
