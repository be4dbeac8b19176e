import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { Notifier } from '../../controller/core/notify.ts';
import type { RequestPlan } from '../../controller/core/planner.ts';
import { createLogger } from '../../controller/log.ts';
import { LetheConfigSpec, type PrivacyRequestStatus } from '../../specs/index.ts';

const SUBJECT_REF = 'sha256:9f2c4e1d0b7a';

function status(
  name: string,
  phase: PrivacyRequestStatus['status']['phase'],
  o: { stalled?: boolean; overdue?: boolean; vendors?: Record<string, string> } = {},
): PrivacyRequestStatus {
  const cond = (type: 'Stalled' | 'Overdue', on: boolean | undefined) =>
    ({
      type,
      status: on ? 'True' : 'False',
      reason: 'Test',
      message: '',
      lastTransitionTime: '2026-12-01T00:00:00.000Z',
    }) as const;
  return {
    apiVersion: 'lethe/v1',
    kind: 'PrivacyRequestStatus',
    metadata: { name },
    status: {
      phase,
      action: 'erasure',
      dueAt: '2026-12-20',
      subjectRef: SUBJECT_REF,
      conditions: [cond('Overdue', o.overdue), cond('Stalled', o.stalled)],
      vendors: Object.fromEntries(
        Object.entries(o.vendors ?? {}).map(([v, p]) => [v, { phase: p as 'Stalled', step: 'done', attempts: 0 }]),
      ),
    },
  };
}

const plan = (name: string, atRisk: boolean): RequestPlan => ({
  name,
  dueAt: '2026-12-20',
  eta: '2026-12-19',
  atRisk,
  vendors: {},
});

describe('notifications (spec.notifications) to a 127.0.0.1 receiver', () => {
  let server: Server;
  let url: string;
  let received: Array<{ path: string; body: Record<string, unknown> }>;
  let failNext = 0;
  let dir: string;
  let now: number;
  let logs: string[];
  before(async () => {
    server = createServer(async (req, res) => {
      let body = '';
      for await (const chunk of req) body += chunk;
      if (failNext > 0) {
        failNext--;
        res.writeHead(500).end();
        return;
      }
      received.push({ path: req.url ?? '', body: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  afterEach(() => rm(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    received = [];
    failNext = 0;
    logs = [];
    now = Date.parse('2026-12-02T10:00:00Z');
    dir = await mkdtemp(join(tmpdir(), 'lethe-notify-'));
  });

  const config = (maxPerHour = 20) =>
    LetheConfigSpec.shape.notifications.parse({
      maxPerHour,
      targets: [
        { name: 'team-chat', type: 'slack', url: 'env:SLACK_WEBHOOK_URL' },
        { name: 'ticketing', type: 'webhook', url: 'env:TICKET_WEBHOOK_URL', events: ['Stalled', 'Failed'] },
      ],
    });
  const notifier = (
    env: Record<string, string> = {
      SLACK_WEBHOOK_URL: `${url}/slack/T000/B000/secret-token`,
      TICKET_WEBHOOK_URL: `${url}/tickets`,
    },
  ) =>
    new Notifier({
      dataDir: dir,
      env,
      log: createLogger({ level: 'info', write: (l) => logs.push(l) }),
      now: () => now,
    });

  it('announces what needs attention once, to the targets that want it, without personal data; restarts repeat nothing', async () => {
    const statuses = [
      status('2026-11-0001', 'Completed'),
      status('2026-11-0002', 'InProgress', { stalled: true, vendors: { maestroqa: 'Stalled', qualifio: 'Completed' } }),
      status('2026-11-0003', 'AwaitingApproval'),
      status('2026-11-0004', 'InProgress', { overdue: true }),
      status('2026-11-0005', 'InProgress'),
    ];
    const plans = [plan('2026-11-0005', true)];
    await notifier().afterPass(config(), statuses, plans);
    const slack = received.filter((r) => r.path.startsWith('/slack'));
    const tickets = received.filter((r) => r.path === '/tickets');
    assert.equal(slack.length, 1, 'one message per target per pass');
    const text = String(slack[0]!.body.text);
    assert.match(text, /Stalled: 2026-11-0002 .*vendors: maestroqa/);
    assert.match(text, /Awaiting approval: 2026-11-0003/);
    assert.match(text, /Overdue: 2026-11-0004/);
    assert.match(text, /AT RISK: 2026-11-0005/);
    assert.ok(!text.includes('2026-11-0001'), 'what was already Completed at first start is history, not news');
    assert.equal(tickets.length, 1);
    const events = tickets[0]!.body.events as Array<{ request: string; event: string; vendors?: string[] }>;
    assert.deepEqual(
      events.map((e) => [e.request, e.event]),
      [['2026-11-0002', 'Stalled']],
    );
    for (const r of received)
      assert.ok(!JSON.stringify(r.body).includes(SUBJECT_REF), 'no subject reference in a notification');
    assert.ok(!logs.join('\n').includes('secret-token'), 'the webhook URL never reaches the log');

    await notifier().afterPass(config(), statuses, plans);
    await notifier().afterPass(config(), statuses, plans);
    assert.equal(received.length, 2, 'the same events are not announced again, also after a restart');

    // 0002 completes: Completed is news now; its Stalled cleared, so a new stall would be announced again.
    statuses[1] = status('2026-11-0002', 'Completed');
    await notifier().afterPass(config(), statuses, plans);
    assert.equal(received.length, 3);
    assert.match(String(received[2]!.body.text), /Completed: 2026-11-0002/);
  });

  it('holds events beyond maxPerHour and sends them together later; a refused delivery is retried', async () => {
    const n = notifier();
    await n.afterPass(config(1), [], []); // a controller that started with nothing to say
    const statuses = [status('2026-11-0010', 'Failed', { vendors: { answerhub: 'Failed' } })];
    await n.afterPass(config(1), statuses, []);
    assert.equal(received.length, 2);
    statuses.push(
      status('2026-11-0011', 'InProgress', { overdue: true }),
      status('2026-11-0012', 'InProgress', { stalled: true }),
    );
    await n.afterPass(config(1), statuses, []);
    assert.equal(received.length, 2, "the hour's budget is spent: nothing sent");
    now += 3_600_001;
    failNext = 1;
    await n.afterPass(config(1), statuses, []);
    assert.equal(received.length, 1 + 2, 'the slack target failed (500) and keeps its events; the webhook got 0012');
    assert.match(logs.join('\n'), /"code":"NOTIFY_FAILED","reason":"notification target team-chat answered 500"/);
    now += 3_600_001;
    await n.afterPass(config(1), statuses, []);
    const last = String(received.at(-1)!.body.text);
    assert.match(last, /Overdue: 2026-11-0011/);
    assert.match(last, /Stalled: 2026-11-0012/);
  });

  it('names a missing URL variable, refuses plain http to other hosts, and sends nothing then', async () => {
    const n = notifier({ TICKET_WEBHOOK_URL: 'http://hooks.example.net/x' });
    await n.afterPass(config(), [], []);
    await n.afterPass(config(), [status('2026-11-0020', 'Failed')], []);
    assert.equal(received.length, 0);
    const text = logs.join('\n');
    assert.match(
      text,
      /"target":"team-chat","code":"CREDENTIAL_ENV_MISSING","reason":"environment variable SLACK_WEBHOOK_URL is not set"/,
    );
    assert.match(text, /"target":"ticketing","code":"NOTIFY_URL_INSECURE"/);
  });
});
