// Handlers that honour UpdatePolicy / CreationPolicy (an Auto Scaling group's rolling update) get
// them from the executor, with intrinsics resolved.
import { afterAll, expect, test } from 'vitest';
import { harness, fake } from './harness.js';
import type { ResourceContext, ResourceHandler } from '../../src/model/provider.js';

const h = harness();
afterAll(() => h.cleanup());

test('the executor hands each resource its UpdatePolicy and CreationPolicy, resolved', async () => {
  const seen: Array<{ op: string; id: string; policies: ResourceContext['policies'] }> = [];
  const original = h.provider.handler.bind(h.provider);
  Object.assign(h.provider, {
    handler: (type: string): ResourceHandler | undefined => {
      const inner = original(type);
      if (!inner) return inner;
      return {
        ...inner,
        create: (ctx, props) => (seen.push({ op: 'create', id: ctx.logicalId, policies: ctx.policies }), inner.create(ctx, props)),
        update: (ctx, props, prev) => (seen.push({ op: 'update', id: ctx.logicalId, policies: ctx.policies }), inner.update!(ctx, props, prev)),
      };
    },
  });
  const template = (size: string) => ({
    Parameters: { Batch: { Type: 'Number', Default: '2' } },
    Resources: {
      Group: fake(
        { Size: size },
        {
          UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: { Ref: 'Batch' }, PauseTime: 'PT0S' } },
          CreationPolicy: { ResourceSignal: { Count: 1 } },
        },
      ),
      Plain: fake({ Size: size }),
    },
  });
  expect((await h.deploy(template('1'))).outcome).toBe('complete');
  expect((await h.deploy(template('2'))).outcome).toBe('complete');
  const group = { UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: '2', PauseTime: 'PT0S' } }, CreationPolicy: { ResourceSignal: { Count: 1 } } };
  expect(seen.filter((s) => s.id === 'Group')).toEqual([
    { op: 'create', id: 'Group', policies: group },
    { op: 'update', id: 'Group', policies: group },
  ]);
  expect(seen.filter((s) => s.id === 'Plain').map((s) => s.policies)).toEqual([undefined, undefined]);
});
