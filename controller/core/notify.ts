import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NotificationEvent, NotificationTarget, Notifications, PrivacyRequestStatus } from '../../specs/index.ts';
import type { Logger } from '../contracts/log.ts';
import { LetheError } from '../errors/types.ts';
import { resolveCredential } from '../http/credentials.ts';
import { coreErrors } from './errors.ts';
import type { RequestPlan } from './planner.ts';

/** One thing a team is told: names, phases and dates only, never a subject. */
export interface NotificationItem {
  request: string;
  event: NotificationEvent;
  phase: string;
  action?: string;
  dueAt?: string;
  /** Vendors concerned (the stalled or failed ones), by connection name. */
  vendors?: string[];
}

const on = (s: PrivacyRequestStatus, type: string) =>
  s.status.conditions.some((c) => c.type === type && c.status === 'True');
const FINAL_PHASES = new Set(['Completed', 'Failed', 'Withdrawn']);

/** The events that hold for a request now. A notification is sent when one starts to hold. */
export function eventsOf(s: PrivacyRequestStatus, plan: RequestPlan | undefined): NotificationItem[] {
  const base = { request: s.metadata.name, phase: s.status.phase, action: s.status.action, dueAt: s.status.dueAt };
  const vendorsIn = (phase: string) =>
    Object.entries(s.status.vendors)
      .filter(([, v]) => v.phase === phase)
      .map(([n]) => n)
      .sort();
  const out: NotificationItem[] = [];
  if (on(s, 'Stalled')) out.push({ ...base, event: 'Stalled', vendors: vendorsIn('Stalled') });
  if (s.status.phase === 'Failed') out.push({ ...base, event: 'Failed', vendors: vendorsIn('Failed') });
  if (s.status.phase === 'Completed') out.push({ ...base, event: 'Completed' });
  if (s.status.phase === 'AwaitingApproval') out.push({ ...base, event: 'UnapprovedChange' });
  if (!FINAL_PHASES.has(s.status.phase)) {
    if (on(s, 'Overdue')) out.push({ ...base, event: 'Overdue' });
    else if (plan?.atRisk) out.push({ ...base, event: 'AtRisk' });
  }
  return out;
}

const key = (i: NotificationItem) => `${i.request}:${i.event}`;

/** Persisted in the data directory, so a restart neither repeats nor loses a notification. */
interface NotifierState {
  /** Events that hold and were queued (request:event). */
  active: string[];
  /** Per target: items not yet delivered, and the send times of the last hour. */
  targets: Record<string, { pending: NotificationItem[]; sent: number[] }>;
}

export function slackText(items: NotificationItem[]): string {
  const label: Record<NotificationEvent, string> = {
    Stalled: ':warning: Stalled',
    Overdue: ':rotating_light: Overdue',
    AtRisk: ':hourglass: AT RISK',
    Failed: ':x: Failed',
    Completed: ':white_check_mark: Completed',
    UnapprovedChange: ':lock: Awaiting approval',
  };
  const lines = items.slice(0, 20).map((i) => {
    const extra = [
      i.action,
      i.dueAt && `due ${i.dueAt}`,
      i.vendors?.length ? `vendors: ${i.vendors.join(', ')}` : undefined,
    ]
      .filter(Boolean)
      .join(' · ');
    return `${label[i.event]}: ${i.request} (${i.phase}${extra ? ` · ${extra}` : ''})`;
  });
  if (items.length > 20) lines.push(`…and ${items.length - 20} more`);
  return ['*Lethe*', ...lines].join('\n');
}

export interface NotifierOptions {
  dataDir: string;
  env: Readonly<Record<string, string | undefined>>;
  log: Logger & { secrets?: string[] };
  now?: () => number;
  /** Per-request timeout of a webhook POST. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * spec.notifications: after each pass, the events that started to hold (a request became
 * Stalled, Overdue, AT RISK, Failed, Completed, or a change awaits approval) are queued per
 * target, once each while they hold (de-duplicated across passes and restarts), and sent
 * as one message per target, at most maxPerHour messages an hour: what the limit holds
 * back goes out with the next message. A failed delivery is retried after the next pass.
 */
export class Notifier {
  private state?: NotifierState;
  private readonly now: () => number;

  constructor(private readonly o: NotifierOptions) {
    this.now = o.now ?? Date.now;
  }

  private get path(): string {
    return join(this.o.dataDir, 'notifications.json');
  }

  private async load(): Promise<NotifierState | undefined> {
    if (this.state) return this.state;
    try {
      this.state = JSON.parse(await readFile(this.path, 'utf8')) as NotifierState;
    } catch {
      this.state = undefined;
    }
    return this.state;
  }

  private async save(state: NotifierState): Promise<void> {
    this.state = state;
    await writeFile(`${this.path}.tmp`, JSON.stringify(state) + '\n');
    await rename(`${this.path}.tmp`, this.path);
  }

  /** After a pass: queue what started to hold, then deliver within the rate limit. */
  async afterPass(
    config: Notifications | undefined,
    statuses: PrivacyRequestStatus[],
    plans: RequestPlan[],
  ): Promise<void> {
    if (!config) return;
    const byName = new Map(plans.map((p) => [p.name, p]));
    const current = statuses.flatMap((s) => eventsOf(s, byName.get(s.metadata.name)));
    const previous = await this.load();
    // The first time: what is already final is history, not news; what needs attention is announced.
    const known = new Set(
      previous?.active ?? current.filter((i) => i.event === 'Completed' || i.event === 'Failed').map(key),
    );
    const fresh = current.filter((i) => !known.has(key(i)));
    const targets: NotifierState['targets'] = {};
    for (const t of config.targets) {
      const kept = previous?.targets[t.name] ?? { pending: [], sent: [] };
      const pending = [...kept.pending, ...fresh.filter((i) => t.events.includes(i.event))];
      targets[t.name] = { pending, sent: kept.sent.filter((at) => at > this.now() - 3_600_000) };
    }
    const state: NotifierState = { active: current.map(key).sort(), targets };
    for (const t of config.targets) await this.deliver(t, state.targets[t.name]!, config.maxPerHour);
    await this.save(state);
  }

  private async deliver(
    target: NotificationTarget,
    queue: NotifierState['targets'][string],
    maxPerHour: number,
  ): Promise<void> {
    if (queue.pending.length === 0 || queue.sent.length >= maxPerHour) return;
    const items = queue.pending;
    try {
      const url = await resolveCredential(target.url, this.o.env, (p) => readFile(p, 'utf8'));
      this.o.log.secrets?.push(url);
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        // The parser's error quotes the URL, a secret: it is not passed on.
        throw coreErrors.error('NOTIFY_URL_INVALID', { target: target.name });
      }
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
      if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback)) {
        throw coreErrors.error('NOTIFY_URL_INSECURE', { target: target.name });
      }
      const body =
        target.type === 'slack'
          ? { text: slackText(items) }
          : { source: 'lethe', sentAt: new Date(this.now()).toISOString(), events: items };
      const res = await (this.o.fetch ?? fetch)(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 10_000),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw coreErrors.error('NOTIFY_FAILED', { target: target.name, status: res.status });
      queue.sent.push(this.now());
      queue.pending = [];
      this.o.log.info('notification sent', { target: target.name, events: items.length });
    } catch (err) {
      const code = err instanceof LetheError ? err.code : 'NOTIFY_FAILED';
      this.o.log.warn('notification not delivered; retried after the next pass', {
        target: target.name,
        code,
        reason: err instanceof LetheError ? err.message : undefined,
      });
    }
  }
}
