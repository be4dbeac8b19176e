import { join } from 'node:path';
import { rebuildTasks } from '../../controller/core/rebuild.ts';
import { API_VERSION, type Action } from '../../specs/index.ts';
import { Journal } from '../../state/journal.ts';

/**
 * A journal lost and rebuilt from git, the way the controller does it: a fresh journal in
 * `dataDir` with the task of one request as its status file records it (step, job ids),
 * through the real `rebuildTasks`, so drivers' recovery sees exactly what production gives.
 */
export async function rebuiltJournal(
  dataDir: string,
  t: { request: string; vendor: string; action: Action; step: string; jobIds: string[]; submissions?: number },
): Promise<Journal> {
  const journal = await Journal.open(join(dataDir, 'journal.json'));
  rebuildTasks(
    journal,
    [
      {
        apiVersion: API_VERSION,
        kind: 'PrivacyRequestStatus',
        metadata: { name: t.request },
        status: {
          phase: 'InProgress',
          action: t.action,
          conditions: [],
          vendors: {
            [t.vendor]: { phase: 'InProgress', step: t.step, jobIds: t.jobIds, attempts: t.submissions ?? 1 },
          },
        },
      },
    ],
    Date.now(),
  );
  await journal.flush();
  return journal;
}
