import type { PrivacyRequestStatus } from '../../specs/index.ts';
import { taskKey, type Journal } from '../../state/journal.ts';
import { REBUILT_INTENT } from '../contracts/driver.ts';

/**
 * The journal is gone (new machine, wiped disk) but status/ in git remembers what each
 * vendor was asked. Tasks come back from it; those still under way get an open intent,
 * so the next pass asks each driver to find its job at the vendor (by the job ids git
 * recorded) instead of submitting again.
 */
export function rebuildTasks(journal: Journal, statuses: PrivacyRequestStatus[], now: number): number {
  let rebuilt = 0;
  const at = new Date(now).toISOString();
  for (const doc of statuses) {
    const name = doc.metadata.name;
    const action = doc.status.action;
    if (!action) continue;
    for (const [vendor, v] of Object.entries(doc.status.vendors)) {
      const key = taskKey(name, vendor);
      if (journal.task(key) || (v.phase === 'Waiting' && v.attempts === 0 && !v.jobIds)) continue;
      journal.putTask({
        request: name,
        vendor,
        action,
        phase: v.phase,
        step: v.step,
        data: { rebuiltFromStatus: true },
        submissions: v.attempts,
        attempts: 0,
        jobIds: v.jobIds ?? [],
        evidence: v.evidence ?? {},
        outcome: v.outcome,
        startedAt: v.startedAt,
        completedAt: v.completedAt,
        lastError: v.lastError && { code: v.lastError.code, message: v.lastError.message },
      });
      if (v.phase === 'InProgress' || v.phase === 'Waiting') {
        journal.putIntent(`rebuilt:${key}`, {
          tasks: [key],
          vendor,
          name: REBUILT_INTENT,
          detail: { jobIds: v.jobIds ?? [] },
          at,
        });
      }
      rebuilt++;
    }
  }
  return rebuilt;
}

/**
 * The journal's newest generation was lost and the previous one loaded: what the lost write
 * recorded (an intent, a vendor's answer) is unknown. Every unfinished task without an open
 * intent gets one as after a rebuild, so its driver looks its job up before submitting.
 */
export function reopenAfterFallback(journal: Journal, now: number): number {
  const at = new Date(now).toISOString();
  const open = new Set(Object.values(journal.data.intents).flatMap((i) => i.tasks));
  let reopened = 0;
  for (const [key, t] of Object.entries(journal.data.tasks)) {
    if (open.has(key) || !(t.phase === 'InProgress' || t.phase === 'Waiting')) continue;
    journal.putIntent(`rebuilt:${key}`, {
      tasks: [key],
      vendor: t.vendor,
      name: REBUILT_INTENT,
      detail: { jobIds: t.jobIds },
      at,
    });
    reopened++;
  }
  return reopened;
}
