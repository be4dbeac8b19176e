import type { RequestPhase } from '../../specs/index.ts';

export interface PhaseChange {
  name: string;
  from?: RequestPhase;
  to: RequestPhase;
}

const LABEL: Record<RequestPhase, string> = {
  Invalid: 'invalid',
  AwaitingApproval: 'awaiting approval',
  Pending: 'pending',
  InProgress: 'in progress',
  Completed: 'completed',
  Failed: 'failed',
  Withdrawn: 'withdrawn',
};

/**
 * One commit per pass: a subject that counts the requests by their new phase, a line per
 * request, and trailers an auditor can query with `git log --format=%(trailers)`.
 * Request names only: never subjects, never vendor payloads.
 */
export function commitMessage(changes: PhaseChange[], observedCommit: string): string {
  const sorted = [...changes].sort((a, b) => a.name.localeCompare(b.name));
  const counts = new Map<RequestPhase, number>();
  for (const c of sorted) counts.set(c.to, (counts.get(c.to) ?? 0) + 1);
  const order: RequestPhase[] = [
    'Completed',
    'Failed',
    'InProgress',
    'Pending',
    'AwaitingApproval',
    'Invalid',
    'Withdrawn',
  ];
  const subject = `lethe: ${
    order
      .filter((p) => counts.has(p))
      .map((p) => `${counts.get(p)} ${LABEL[p]}`)
      .join(', ') || 'status updated'
  }`;
  const body = sorted.map((c) => `- ${c.name}: ${c.from && c.from !== c.to ? `${c.from} -> ${c.to}` : c.to}`);
  const trailers = [
    ...sorted.map((c) => `Lethe-Request: ${c.name}`),
    ...sorted.map((c) => `Lethe-Phase: ${c.name}=${c.to}`),
    `Lethe-Observed-Commit: ${observedCommit}`,
  ];
  return `${subject}\n\n${body.join('\n')}\n\n${trailers.join('\n')}\n`;
}
