// The deploy engine's behaviour, one behaviour per test, against the fake provider.
import { afterEach, describe, expect, test } from 'vitest';
import { harness, fake } from './harness.js';
import { deployStack, destroyStack, planStack } from '../../src/deploy/index.js';
import { FakeProvider } from '../../src/providers/fake/index.js';

let h: ReturnType<typeof harness>;
afterEach(() => h?.cleanup());

describe('create', () => {
  test('a first deploy creates every resource, dependencies first, with CloudFormation events', async () => {
    h = harness();
    // GIVEN B references A
    const r = await h.deploy({ Resources: { A: fake({ Value: 'a' }), B: fake({ Value: { Ref: 'A' } }) }, Outputs: { BValue: { Value: { 'Fn::GetAtt': ['B', 'Value'] } } } });
    expect(r.outcome).toBe('complete');
    expect(r.finalStatus).toBe('CREATE_COMPLETE');
    // THEN A completes before B starts, and B got A's physical id
    expect(h.statuses()).toEqual([
      'demo CREATE_IN_PROGRESS',
      'A CREATE_IN_PROGRESS',
      'A CREATE_IN_PROGRESS',
      'A CREATE_COMPLETE',
      'B CREATE_IN_PROGRESS',
      'B CREATE_IN_PROGRESS',
      'B CREATE_COMPLETE',
      'demo CREATE_COMPLETE',
    ]);
    const a = h.live('A')!;
    expect(h.live('B')!.properties.Value).toBe(a.physicalId);
    expect(r.outputs.BValue!.value).toBe(a.physicalId);
    expect(h.provider.all()).toHaveLength(2);
    expect(h.store.stack('demo')!.status).toBe('CREATE_COMPLETE');
  });

  test('independent resources are created in parallel, bounded by the concurrency limit', async () => {
    h = harness();
    const resources: Record<string, unknown> = {};
    for (let i = 0; i < 6; i++) resources[`R${i}`] = fake({ Delay: 30 });
    await h.deploy({ Resources: resources }, { concurrency: 3 });
    let running = 0;
    let peak = 0;
    for (const c of h.provider.calls.filter((c) => c.op === 'create')) {
      running += c.phase === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(3);
  });

  test('deploying the same template again changes nothing', async () => {
    h = harness();
    const t = { Resources: { A: fake({ Value: 'a' }), B: fake({ Value: { Ref: 'A' } }) } };
    await h.deploy(t);
    const calls = h.provider.calls.length;
    const r = await h.deploy(t);
    expect(r.outcome).toBe('no-changes');
    expect(h.provider.calls.length).toBe(calls);
  });
});

describe('update', () => {
  test('a deploy evaluates the template once, as a plan does (the target is asked once per value)', async () => {
    h = harness();
    // GIVEN a provider that counts how often a parameter value is put to it
    class Counting extends FakeProvider {
      asked = 0;
      async normalizeParameter(_type: string, value: string): Promise<string> {
        this.asked++;
        return value;
      }
    }
    const t = { Parameters: { Ami: { Type: 'AWS::EC2::Image::Id' } }, Resources: { A: fake({ Value: { Ref: 'Ami' } }) } };
    const text = JSON.stringify(t);
    const provider = new Counting();
    const common = { stack: 'demo', store: h.store, provider, file: 'template.json', text, params: { Ami: 'ami-0123456789abcdef0' } };
    await planStack(common);
    const perEvaluation = provider.asked;
    expect(perEvaluation).toBeGreaterThan(0);
    provider.asked = 0;
    const r = await deployStack(common);
    expect(r.finalStatus).toBe('CREATE_COMPLETE');
    expect(provider.asked).toBe(perEvaluation);
    provider.asked = 0;
    await deployStack({ ...common, params: { Ami: 'ami-0123456789abcdef1' } });
    expect(provider.asked).toBe(perEvaluation);
  });

  test('a changed property updates in place, keeping the physical id', async () => {
    h = harness();
    await h.deploy({ Resources: { A: fake({ Value: 'one' }) } });
    const before = h.live('A')!.physicalId;
    h.log.events.length = 0;
    const r = await h.deploy({ Resources: { A: fake({ Value: 'two' }) } });
    expect(r.plan.steps[0]).toMatchObject({ kind: 'update', id: 'A', changed: ['Value'] });
    expect(r.finalStatus).toBe('UPDATE_COMPLETE');
    expect(h.live('A')!.physicalId).toBe(before);
    expect(h.provider.get(before)!.properties.Value).toBe('two');
    expect(h.statuses()).toEqual(['demo UPDATE_IN_PROGRESS', 'A UPDATE_IN_PROGRESS', 'A UPDATE_COMPLETE', 'demo UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'demo UPDATE_COMPLETE']);
  });

  test('a replacement creates the new copy first, repoints dependents, and deletes the old copy in cleanup', async () => {
    h = harness();
    await h.deploy({ Resources: { A: fake({ Name: 'first' }), B: fake({ Value: { Ref: 'A' } }) } });
    const oldA = h.live('A')!.physicalId;
    const bId = h.live('B')!.physicalId;
    h.log.events.length = 0;
    h.provider.calls.length = 0;
    // WHEN the create-only Name changes
    const r = await h.deploy({ Resources: { A: fake({ Name: 'second' }), B: fake({ Value: { Ref: 'A' } }) } });
    expect(r.plan.steps.find((s) => s.id === 'A')).toMatchObject({ kind: 'replace', because: ['Name'], order: 'create-first' });
    expect(r.plan.steps.find((s) => s.id === 'B')).toMatchObject({ kind: 'update', afterApply: ['Value'] });
    const newA = h.live('A')!.physicalId;
    expect(newA).not.toBe(oldA);
    // THEN create of the new A, then B's update, then the old A's delete
    const order = h.provider.calls.filter((c) => c.phase === 'end').map((c) => `${c.op} ${c.logicalId}`);
    expect(order).toEqual(['create A', 'update B', 'delete A']);
    expect(h.provider.calls.find((c) => c.op === 'delete')!.physicalId).toBe(oldA);
    expect(h.live('B')!.physicalId).toBe(bId);
    expect(h.live('B')!.properties.Value).toBe(newA);
    expect(h.provider.get(oldA)).toBeUndefined();
    expect(h.statuses()).toEqual([
      'demo UPDATE_IN_PROGRESS',
      'A UPDATE_IN_PROGRESS',
      'A UPDATE_IN_PROGRESS',
      'A UPDATE_COMPLETE',
      'B UPDATE_IN_PROGRESS',
      'B UPDATE_COMPLETE',
      'demo UPDATE_COMPLETE_CLEANUP_IN_PROGRESS',
      'A DELETE_IN_PROGRESS',
      'A DELETE_COMPLETE',
      'demo UPDATE_COMPLETE',
    ]);
  });

  test('a resource whose type cannot update is replaced on any change', async () => {
    h = harness();
    await h.deploy({ Resources: { A: { Type: 'Test::Fake::Immutable', Properties: { Value: 1 } } } });
    const r = await h.plan({ Resources: { A: { Type: 'Test::Fake::Immutable', Properties: { Value: 2 } } } });
    expect(r.plan.steps[0]).toMatchObject({ kind: 'replace', because: ['Value'] });
  });

  test('removed resources are deleted in reverse dependency order', async () => {
    h = harness();
    await h.deploy({ Resources: { Keep: fake(), A: fake(), B: fake({ Value: { Ref: 'A' } }), C: fake({ Value: { Ref: 'B' } }) } });
    h.provider.calls.length = 0;
    const r = await h.deploy({ Resources: { Keep: fake() } });
    expect(r.plan.steps.filter((s) => s.kind === 'delete').map((s) => s.id)).toEqual(['C', 'B', 'A']);
    expect(h.provider.calls.filter((c) => c.phase === 'end').map((c) => `${c.op} ${c.logicalId}`)).toEqual(['delete C', 'delete B', 'delete A']);
    expect(h.provider.all().map((o) => o.logicalId)).toEqual(['Keep']);
  });
});

describe('rollback', () => {
  test('a failed first create deletes what was made, in reverse order (ROLLBACK_COMPLETE)', async () => {
    h = harness();
    const r = await h.deploy({ Resources: { A: fake(), B: fake({ Value: { Ref: 'A' }, Fail: 'create' }) } });
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^B: Fake failure requested/);
    expect(h.statuses()).toEqual([
      'demo CREATE_IN_PROGRESS',
      'A CREATE_IN_PROGRESS',
      'A CREATE_IN_PROGRESS',
      'A CREATE_COMPLETE',
      'B CREATE_IN_PROGRESS',
      'B CREATE_FAILED',
      'demo ROLLBACK_IN_PROGRESS',
      'A DELETE_IN_PROGRESS',
      'A DELETE_COMPLETE',
      'demo ROLLBACK_COMPLETE',
    ]);
    const ev = h.store.events('demo').find((e) => e.status === 'ROLLBACK_IN_PROGRESS')!;
    expect(ev.reason).toBe('The following resource(s) failed to create: [B]. Rollback requested by user.');
    expect(h.provider.all()).toEqual([]);
    expect(h.store.resources('demo')).toEqual([]);
  });

  test('in-flight siblings of a failure are cancelled and rolled back too', async () => {
    h = harness();
    const r = await h.deploy({ Resources: { Slow: fake({ Delay: 2000 }), Bad: fake({ Fail: 'create' }) } });
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    const slow = h.store
      .events('demo')
      .filter((e) => e.logicalId === 'Slow')
      .map((e) => `${e.status} ${e.reason ?? ''}`.trim());
    expect(slow).toEqual(['CREATE_IN_PROGRESS', 'CREATE_FAILED Resource creation cancelled']);
    expect(h.provider.all()).toEqual([]);
  });

  test('a failed update rolls back to the previous deployment, restoring the previous physical ids', async () => {
    h = harness();
    await h.deploy({ Resources: { A: fake({ Name: 'a1' }), B: fake({ Value: 'b1' }), C: fake({ Value: { Ref: 'A' } }) } });
    const before = Object.fromEntries([...h.store.liveResources('demo')].map(([k, v]) => [k, { id: v.physicalId, props: v.properties }]));
    h.log.events.length = 0;
    // WHEN A is replaced, B updated in place, and the new D fails
    const r = await h.deploy({ Resources: { A: fake({ Name: 'a2' }), B: fake({ Value: 'b2' }), C: fake({ Value: { Ref: 'A' } }), D: fake({ Fail: 'create' }, { DependsOn: ['A', 'B', 'C'] }) } });
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^D: Fake failure/);
    // THEN every resource is back with its physical id and properties
    const after = Object.fromEntries([...h.store.liveResources('demo')].map(([k, v]) => [k, { id: v.physicalId, props: v.properties }]));
    expect(after).toEqual(before);
    expect(
      h.provider
        .all()
        .map((o) => o.physicalId)
        .sort(),
    ).toEqual(
      Object.values(before)
        .map((b) => b.id)
        .sort(),
    );
    expect(h.provider.get(before.B!.id)!.properties.Value).toBe('b1');
    const stackStatuses = h.statuses((e) => e.logicalId === 'demo');
    expect(stackStatuses).toEqual(['demo UPDATE_IN_PROGRESS', 'demo UPDATE_ROLLBACK_IN_PROGRESS', 'demo UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'demo UPDATE_ROLLBACK_COMPLETE']);
    // the new copy of A is deleted in the rollback cleanup
    expect(h.statuses((e) => e.logicalId === 'A').slice(-2)).toEqual(['A DELETE_IN_PROGRESS', 'A DELETE_COMPLETE']);
    // and the stack's parameters/template stay the previous deployment's
    expect(h.store.stack('demo')!.deployment).toBe(h.store.deployments('demo')[0]!.id);
  });

  test('after a rolled-back first create, fixing the template creates the stack anew', async () => {
    h = harness();
    await h.deploy({ Resources: { A: fake({ Fail: 'create' }) } });
    const firstId = h.store.stack('demo')!.stackId;
    const r = await h.deploy({ Resources: { A: fake() } });
    expect(r.finalStatus).toBe('CREATE_COMPLETE');
    expect(h.store.stack('demo')!.stackId).not.toBe(firstId);
    expect(h.store.events('demo').map((e) => e.status)[0]).toBe('CREATE_IN_PROGRESS');
  });

  test('RetainExceptOnCreate: deleted when the create that made it rolls back', async () => {
    h = harness();
    const r = await h.deploy({ Resources: { Keep: fake({}, { DeletionPolicy: 'RetainExceptOnCreate' }), Bad: fake({ Fail: 'create' }, { DependsOn: 'Keep' }) } });
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    expect(h.provider.all()).toEqual([]);
  });

  test('resources already updated in place are updated back when a later one fails', async () => {
    h = harness();
    await h.deploy({ Resources: { A: fake({ Value: 'old' }), B: fake({ Value: 'b' }, { DependsOn: 'A' }) } });
    const id = h.live('A')!.physicalId;
    h.provider.failNext('B', 'update');
    h.log.events.length = 0;
    const r = await h.deploy({ Resources: { A: fake({ Value: 'new' }), B: fake({ Value: 'b2' }, { DependsOn: 'A' }) } });
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^B: Fake failure requested \(update of B\)/);
    expect(h.statuses((e) => e.logicalId === 'A')).toEqual(['A UPDATE_IN_PROGRESS', 'A UPDATE_COMPLETE', 'A UPDATE_IN_PROGRESS', 'A UPDATE_COMPLETE']);
    expect(h.provider.get(id)!.properties.Value).toBe('old');
    expect(h.live('A')!.properties.Value).toBe('old');
  });

  test('--no-rollback keeps what was made and reports the failure', async () => {
    h = harness();
    const r = await h.deploy({ Resources: { A: fake(), B: fake({ Fail: 'create' }, { DependsOn: 'A' }) } }, { rollback: false });
    expect(r.finalStatus).toBe('CREATE_FAILED');
    expect(h.provider.all().map((o) => o.logicalId)).toEqual(['A']);
    expect(h.live('A')).toBeDefined();
  });
});

describe('policies', () => {
  test('DeletionPolicy Retain keeps the object on destroy (DELETE_SKIPPED)', async () => {
    h = harness();
    await h.deploy({ Resources: { Data: fake({}, { DeletionPolicy: 'Retain' }), Web: fake() } });
    const data = h.live('Data')!.physicalId;
    const r = await h.destroy();
    expect(r.status).toBe('DELETE_COMPLETE');
    expect(h.statuses((e) => e.logicalId === 'Data')).toContain('Data DELETE_SKIPPED');
    expect(h.provider.all().map((o) => o.physicalId)).toEqual([data]);
    expect(h.store.resources('demo').map((x) => x.status)).toEqual(['retained']);
  });

  test('DeletionPolicy Snapshot keeps the object when the provider cannot snapshot its type, saying why', async () => {
    h = harness();
    await h.deploy({
      Resources: { Cache: { Type: 'AWS::ElastiCache::CacheCluster', Properties: { CacheNodeType: 'cache.t3.micro', Engine: 'redis', NumCacheNodes: 1 }, DeletionPolicy: 'Snapshot' } },
    });
    await h.destroy();
    const ev = h.store.events('demo').find((e) => e.logicalId === 'Cache' && e.status === 'DELETE_SKIPPED')!;
    expect(ev.reason).toMatch(/^Snapshot: the local target cannot snapshot AWS::ElastiCache::CacheCluster, so the resource is kept/);
    expect(h.provider.all()).toHaveLength(1);
  });

  test('UpdateReplacePolicy Retain keeps the old copy of a replaced resource', async () => {
    h = harness();
    await h.deploy({ Resources: { A: fake({ Name: 'x' }, { UpdateReplacePolicy: 'Retain' }) } });
    const old = h.live('A')!.physicalId;
    await h.deploy({ Resources: { A: fake({ Name: 'y' }, { UpdateReplacePolicy: 'Retain' }) } });
    expect(h.provider.get(old)).toBeDefined();
    expect(h.statuses((e) => e.logicalId === 'A')).toContain('A DELETE_SKIPPED');
  });
});

describe('exports', () => {
  test('Fn::ImportValue reads what another stack exports', async () => {
    h = harness();
    await deployStack({
      stack: 'net',
      store: h.store,
      provider: h.provider,
      file: 'net.json',
      text: JSON.stringify({ Resources: { Vpc: fake({ Value: 'v' }) }, Outputs: { VpcId: { Value: { Ref: 'Vpc' }, Export: { Name: 'net-VpcId' } } } }),
    });
    const vpc = h.store.liveResources('net').get('Vpc')!.physicalId;
    const r = await h.deploy({ Resources: { App: fake({ Value: { 'Fn::ImportValue': 'net-VpcId' } }) } });
    expect(r.finalStatus, r.reason).toBe('CREATE_COMPLETE');
    expect(h.live('App')!.properties.Value).toBe(vpc);
  });

  // `net` exports its Vpc (or a constant), `demo` imports it.
  const net = (outputs: Record<string, unknown>, value = 'v') => JSON.stringify({ Resources: { Vpc: fake({ Value: value }) }, Outputs: outputs });
  const vpcExport = { VpcId: { Value: { Ref: 'Vpc' }, Export: { Name: 'net-VpcId' } } };
  const deployNet = (text: string) => deployStack({ stack: 'net', store: h.store, provider: h.provider, file: 'net.json', text });
  const importer = { Resources: { App: fake({ Value: { 'Fn::ImportValue': 'net-VpcId' } }) } };

  test('a stack whose export is imported cannot be deleted, and nothing is touched', async () => {
    h = harness();
    await deployNet(net(vpcExport));
    await h.deploy(importer);
    const objects = h.provider.all().length;
    await expect(destroyStack({ stack: 'net', store: h.store, provider: h.provider })).rejects.toThrow('Stack net cannot be deleted: Export net-VpcId cannot be deleted as it is in use by demo');
    expect(h.provider.all()).toHaveLength(objects);
    expect(h.store.stack('net')!.status).toBe('CREATE_COMPLETE');
    // once the importer is gone, it can
    await h.destroy();
    expect((await destroyStack({ stack: 'net', store: h.store, provider: h.provider })).outcome).toBe('complete');
  });

  test('an imported export cannot be removed; an export name belongs to one stack; an import needs an export', async () => {
    h = harness();
    await deployNet(net(vpcExport));
    await h.deploy(importer);
    // plan says so too, without failing
    const planned = await planStack({ stack: 'net', store: h.store, provider: h.provider, file: 'net.json', text: net({}) });
    expect(planned.refusals).toEqual(['Export net-VpcId cannot be deleted as it is in use by demo']);
    await expect(deployNet(net({}))).rejects.toThrow('Export net-VpcId cannot be deleted as it is in use by demo');
    await expect(h.deploy({ Resources: { App: fake() }, Outputs: { Mine: { Value: 'x', Export: { Name: 'net-VpcId' } } } })).rejects.toThrow(
      'Export with name net-VpcId is already exported by stack net',
    );
    const before = h.provider.all().length;
    await expect(
      deployStack({ stack: 'other', store: h.store, provider: h.provider, file: 'o.json', text: JSON.stringify({ Resources: { A: fake({ Value: { 'Fn::ImportValue': 'nope' } }) } }) }),
    ).rejects.toThrow('No export named nope found');
    expect(h.provider.all()).toHaveLength(before);
  });

  test('an update that would change an imported export fails and is rolled back', async () => {
    h = harness();
    await deployNet(net({ Name: { Value: { 'Fn::GetAtt': ['Vpc', 'Value'] }, Export: { Name: 'net-Name' } } }, 'one'));
    await deployStack({ stack: 'user', store: h.store, provider: h.provider, file: 'u.json', text: JSON.stringify({ Resources: { A: fake({ Value: { 'Fn::ImportValue': 'net-Name' } }) } }) });
    const r = await deployNet(net({ Name: { Value: { 'Fn::GetAtt': ['Vpc', 'Value'] }, Export: { Name: 'net-Name' } } }, 'two'));
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toBe('Cannot update export net-Name as it is in use by user');
    expect(h.store.liveResources('net').get('Vpc')!.properties.Value).toBe('one');
    expect(h.store.exportedValue('net-Name')!.value).toBe('one');
  });
});

describe('destroy', () => {
  test('destroy deletes in reverse dependency order and leaves nothing', async () => {
    h = harness();
    await h.deploy({ Resources: { Vpc: fake(), Subnet: fake({ Value: { Ref: 'Vpc' } }), Web: fake({ Value: { Ref: 'Subnet' } }) } });
    h.provider.calls.length = 0;
    const r = await h.destroy();
    expect(r.outcome).toBe('complete');
    expect(h.provider.calls.filter((c) => c.phase === 'end').map((c) => c.logicalId)).toEqual(['Web', 'Subnet', 'Vpc']);
    expect(h.provider.all()).toEqual([]);
    expect(h.store.stack('demo')!.status).toBe('DELETE_COMPLETE');
  });
});

describe('head starts (a handler that can prepare before its turn)', () => {
  const lbStack = (extra: { web2?: Record<string, unknown>; elb?: Record<string, unknown> } = {}) => ({
    Resources: {
      Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'lb' } },
      // the instances: slow fake resources (AWS types take no Delay)
      Web1: fake({ Delay: 60 }),
      Web2: fake({ Delay: 60, ...extra.web2 }),
      Elb: {
        Type: 'AWS::ElasticLoadBalancing::LoadBalancer',
        Properties: { SecurityGroups: [{ Ref: 'Sg' }], Instances: [{ Ref: 'Web1' }, { Ref: 'Web2' }], Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }] },
        ...extra.elb,
      },
    },
  });
  const seq = (op: string, id: string, phase: string) => h.provider.calls.find((c) => c.op === op && c.logicalId === id && c.phase === phase)?.seq;

  test('a load balancer prepares while its instances are created, and its create adopts what it prepared', async () => {
    h = harness();
    const r = await h.deploy(lbStack());
    expect(r.finalStatus).toBe('CREATE_COMPLETE');
    // the head start waited for the group it uses, not for the instances it leaves out
    expect(seq('prepare', 'Elb', 'start')).toBeGreaterThan(seq('create', 'Sg', 'end')!);
    expect(seq('prepare', 'Elb', 'end')).toBeLessThan(seq('create', 'Web1', 'end')!);
    // the resource itself still comes after its instances, and its events are CloudFormation's
    expect(seq('create', 'Elb', 'start')).toBeGreaterThan(Math.max(seq('create', 'Web1', 'end')!, seq('create', 'Web2', 'end')!));
    expect(h.statuses((e) => e.logicalId === 'Elb')).toEqual(['Elb CREATE_IN_PROGRESS', 'Elb CREATE_IN_PROGRESS', 'Elb CREATE_COMPLETE']);
    const warm = h.provider.calls.find((c) => c.op === 'prepare' && c.phase === 'end')!.physicalId;
    expect(h.live('Elb')!.physicalId).toBe(warm);
    expect(h.provider.calls.some((c) => c.op === 'discard')).toBe(false);
    expect(h.provider.all()).toHaveLength(4);
  });

  test('a deploy that fails before the resource’s turn discards the head start, and the rollback leaves nothing', async () => {
    h = harness();
    const r = await h.deploy(lbStack({ web2: { Fail: 'create' } }));
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    expect(seq('prepare', 'Elb', 'end')).toBeDefined();
    expect(seq('discard', 'Elb', 'end')).toBeDefined();
    expect(h.statuses((e) => e.logicalId === 'Elb')).toEqual([]);
    expect(h.provider.all()).toEqual([]);
  });

  test('a failing head start costs only the head start', async () => {
    h = harness();
    h.provider.failNext('Elb', 'prepare');
    const r = await h.deploy(lbStack());
    expect(r.finalStatus).toBe('CREATE_COMPLETE');
    expect(seq('prepare', 'Elb', 'fail')).toBeDefined();
    expect(h.live('Elb')!.physicalId).not.toMatch(/^warm-/);
    expect(h.provider.all()).toHaveLength(4);
  });

  test('none is taken when it would wait for the same resources (DependsOn), nor for updates', async () => {
    h = harness();
    await h.deploy(lbStack({ elb: { DependsOn: ['Web1', 'Web2'] } }));
    expect(h.provider.calls.some((c) => c.op === 'prepare')).toBe(false);
    h.cleanup();
    h = harness();
    await h.deploy(lbStack());
    const before = h.provider.calls.filter((c) => c.op === 'prepare').length;
    const changed = lbStack();
    (changed.Resources.Elb.Properties as Record<string, unknown>).CrossZone = true;
    const r = await h.deploy(changed);
    expect(r.finalStatus).toBe('UPDATE_COMPLETE');
    expect(h.provider.calls.filter((c) => c.op === 'prepare').length).toBe(before);
  });
});
