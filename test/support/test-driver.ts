import type { VendorSpec } from '../../specs/index.ts';
import type { DriverTable } from '../../controller/core/reconcile.ts';
import { LetheError } from '../../controller/errors/types.ts';
import { createDriverTable } from '../../controller/vendors/registry.ts';
import type { AnyDriver, Driver, DriverContext, StepResult, TaskInput } from '../../controller/contracts/driver.ts';

/**
 * A driver for the controller's own tests: submit (non-idempotent, journaled intent),
 * poll, and recover by asking the test vendor for jobs carrying the request's label. It
 * reads the vendor's URL from `spec.baseUrl`, whatever the connection's type.
 */
export function testDriver(type: VendorSpec['type']): AnyDriver {
  const base = (ctx: DriverContext) => {
    const spec = ctx.spec as VendorSpec;
    return spec.type === 'apiproxy' ? new URL(spec.connection.queries.test[0]!.url).origin : (spec.baseUrl ?? '');
  };
  const headers = (ctx: DriverContext) => ({ 'x-test-token': ctx.secrets[Object.keys(ctx.secrets)[0]!] ?? '' });

  async function submit(ctx: DriverContext, task: TaskInput): Promise<StepResult> {
    const label = `${task.request}/${ctx.vendor}`;
    const res = await ctx.intent('submit', { label }, () =>
      ctx.http.request({
        method: 'POST',
        url: `${base(ctx)}/jobs`,
        headers: headers(ctx),
        body: { label, emails: task.subject.emails },
        safe: false,
        label: 'test.submit',
      }),
    );
    if (res.status === 401)
      throw new LetheError('TEST_UNAUTHORIZED', 'test vendor refused the token', { scope: 'vendor' });
    if (res.status !== 201) throw new LetheError('TEST_SUBMIT_FAILED', `test vendor answered ${res.status}`);
    const { id } = res.json<{ id: string }>();
    return {
      kind: 'continue',
      step: 'poll',
      data: { id },
      jobIds: [id],
      submissions: task.state.submissions + 1,
      checkAfterMs: 0,
    };
  }

  async function poll(ctx: DriverContext, task: TaskInput): Promise<StepResult> {
    const id = String(task.state.data.id);
    const res = await ctx.http.request({
      method: 'GET',
      url: `${base(ctx)}/jobs/${encodeURIComponent(id)}`,
      headers: headers(ctx),
      safe: true,
      label: 'test.poll',
    });
    if (res.status !== 200) throw new LetheError('TEST_POLL_FAILED', `test vendor answered ${res.status}`);
    const { status } = res.json<{ status: string }>();
    if (status === 'done')
      return {
        kind: 'completed',
        outcome: task.action === 'access' ? 'Exported' : task.action === 'optout' ? 'OptedOut' : 'Erased',
      };
    return { kind: 'continue', step: 'poll', checkAfterMs: 50 };
  }

  const driver: Driver = {
    type,
    actions: ['erasure', 'access', 'optout'],
    defaultRateLimits: () => [{ limit: 50, perSeconds: 1 }],
    // The real driver's identifier keys: validation checks manifests against this table.
    identifierKeys: createDriverTable()[type].identifierKeys,
    errors: {},
    configSchema: undefined as never,
    step(ctx, task) {
      return task.state.step === 'start' ? submit(ctx, task) : poll(ctx, task);
    },
    async recover(ctx, task) {
      const res = await ctx.http.request({
        method: 'GET',
        url: `${base(ctx)}/jobs?label=${encodeURIComponent(`${task.request}/${ctx.vendor}`)}`,
        headers: headers(ctx),
        safe: true,
        label: 'test.find',
      });
      const found = res.json<Array<{ id: string }>>();
      if (found.length > 0)
        return {
          kind: 'continue',
          step: 'poll',
          data: { id: found[0]!.id },
          jobIds: [found[0]!.id],
          submissions: Math.max(1, task.state.submissions),
        };
      return { kind: 'continue', step: 'start' };
    },
  };
  return driver as AnyDriver;
}

export function testDriverTable(): DriverTable {
  return {
    maestroqa: testDriver('maestroqa'),
    qualifio: testDriver('qualifio'),
    elasticpath: testDriver('elasticpath'),
    answerhub: testDriver('answerhub'),
    apiproxy: testDriver('apiproxy'),
  } as DriverTable;
}
