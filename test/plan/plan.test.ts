// The planner: desired stack × prior state → steps. Pure; every test builds both by hand.
import { describe, expect, test } from 'vitest';
import { plan, AFTER_APPLY, type DesiredResource, type DesiredStack, type PlanOptions, type PriorResource } from '../../src/stack/plan.js';
import { resolveRuntime } from '../../src/stack/runtime.js';
import { replacementProperties } from '../../src/stack/spec.js';
import { FakeProvider } from '../../src/providers/fake/index.js';
import type { JsonObject } from '../../src/stack/model.js';

const provider = new FakeProvider();
const opts: PlanOptions = {
  handler: (t) => provider.handler(t),
  replacement: (t) => replacementProperties(t),
  resolve: (v, l) =>
    resolveRuntime(v, {
      ref: (id) => l.ref(id) ?? '',
      getAtt: (id, a) => l.getAtt(id, a) ?? '',
    }),
};

function want(id: string, type: string, properties: JsonObject, extra: Partial<DesiredResource> = {}): DesiredResource {
  return { logicalId: id, type, properties, dependsOn: [], deletionPolicy: 'Delete', updateReplacePolicy: 'Delete', ...extra };
}
function have(id: string, type: string, properties: JsonObject, extra: Partial<PriorResource> = {}): PriorResource {
  const physicalId = extra.physicalId ?? `${id.toLowerCase()}-0000`;
  return { logicalId: id, type, physicalId, properties, state: { physicalId, attributes: { VpcId: 'vpc-1' } }, dependsOn: [], deletionPolicy: 'Delete', updateReplacePolicy: 'Delete', ...extra };
}
function stack(...rs: DesiredResource[]): DesiredStack {
  return { resources: Object.fromEntries(rs.map((r) => [r.logicalId, r])), outputs: {} };
}
const kinds = (p: ReturnType<typeof plan>) => Object.fromEntries(p.steps.map((s) => [s.id, s.kind]));

describe('plan', () => {
  test('with nothing deployed, every resource is created, dependencies first', () => {
    const p = plan(stack(want('Web', 'AWS::EC2::Instance', { SubnetId: { Ref: 'Subnet' } }, { dependsOn: ['Subnet'] }), want('Subnet', 'AWS::EC2::Subnet', {})), [], opts);
    expect(p.steps.map((s) => `${s.kind} ${s.id}`)).toEqual(['create Subnet', 'create Web']);
    expect(p.changes).toBe(true);
  });

  test('the same properties as deployed are no change', () => {
    const p = plan(stack(want('Vpc', 'AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' })), [have('Vpc', 'AWS::EC2::VPC', { CidrBlock: '10.0.0.0/16' })], opts);
    expect(kinds(p)).toEqual({ Vpc: 'noop' });
    expect(p.changes).toBe(false);
  });

  test('a changed property that does not force replacement is an update naming it', () => {
    const p = plan(
      stack(want('Sg', 'AWS::EC2::SecurityGroup', { GroupDescription: 'x', Tags: [{ Key: 'a', Value: '2' }] })),
      [have('Sg', 'AWS::EC2::SecurityGroup', { GroupDescription: 'x', Tags: [{ Key: 'a', Value: '1' }] })],
      opts,
    );
    expect(p.steps[0]).toMatchObject({ kind: 'update', changed: ['Tags'] });
  });

  test('a createOnly property (ImageId) forces a create-first replacement, and says so', () => {
    const p = plan(stack(want('Web', 'AWS::EC2::Instance', { ImageId: 'ami-2', InstanceType: 't2.micro' })), [have('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', InstanceType: 't2.micro' })], opts);
    expect(p.steps[0]).toMatchObject({ kind: 'replace', order: 'create-first', because: ['ImageId'] });
  });

  test("InstanceType ('maybe' in the spec) updates an instance in place", () => {
    const p = plan(stack(want('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', InstanceType: 't2.large' })), [have('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', InstanceType: 't2.micro' })], opts);
    expect(p.steps[0]).toMatchObject({ kind: 'update', changed: ['InstanceType'] });
  });

  test("other 'maybe' properties replace unless the type is known to update them in place", () => {
    const p = plan(stack(want('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', Tenancy: 'dedicated' })), [have('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', Tenancy: 'default' })], opts);
    expect(p.steps[0]).toMatchObject({ kind: 'replace', because: ['Tenancy'] });
  });

  test("a classic ELB's HealthCheck and Subnets update in place when changed, and replace only when added or removed", () => {
    const T = 'AWS::ElasticLoadBalancing::LoadBalancer';
    const hc = (target: string) => ({ Target: target, HealthyThreshold: '2', UnhealthyThreshold: '2', Interval: '5', Timeout: '2' });
    const base = { Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }], Subnets: ['subnet-1'] };
    const changed = plan(stack(want('Elb', T, { ...base, HealthCheck: hc('HTTP:80/') })), [have('Elb', T, { ...base, HealthCheck: hc('TCP:80') })], opts);
    expect(changed.steps[0]).toMatchObject({ kind: 'update', changed: ['HealthCheck'] });
    const moved = plan(stack(want('Elb', T, { ...base, Subnets: ['subnet-2'] })), [have('Elb', T, base)], opts);
    expect(moved.steps[0]).toMatchObject({ kind: 'update', changed: ['Subnets'] });
    const added = plan(stack(want('Elb', T, { ...base, HealthCheck: hc('TCP:80') })), [have('Elb', T, base)], opts);
    expect(added.steps[0]).toMatchObject({ kind: 'replace', because: ['HealthCheck'] });
    const removed = plan(stack(want('Elb', T, { Listeners: base.Listeners, AvailabilityZones: ['us-east-1a'] })), [have('Elb', T, base)], opts);
    expect(removed.steps[0]).toMatchObject({ kind: 'replace', because: ['AvailabilityZones', 'Subnets'] });
  });

  test('adding a createOnly property replaces even when the value would be the default', () => {
    const p = plan(stack(want('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', AvailabilityZone: 'us-east-1a' })), [have('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1' })], opts);
    expect(p.steps[0]).toMatchObject({ kind: 'replace', because: ['AvailabilityZone'] });
  });

  test('dependents of a replaced resource change: known after apply, replaced when the reference forces it', () => {
    const desired = stack(
      want('Subnet', 'AWS::EC2::Subnet', { CidrBlock: '10.0.2.0/24', VpcId: 'vpc-1' }),
      want('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', SubnetId: { Ref: 'Subnet' } }, { dependsOn: ['Subnet'] }),
      want('Tag', 'Test::Fake::Resource', { Value: { 'Fn::GetAtt': ['Subnet', 'VpcId'] } }, { dependsOn: ['Subnet'] }),
    );
    const prior = [
      have('Subnet', 'AWS::EC2::Subnet', { CidrBlock: '10.0.1.0/24', VpcId: 'vpc-1' }, { physicalId: 'subnet-1' }),
      have('Web', 'AWS::EC2::Instance', { ImageId: 'ami-1', SubnetId: 'subnet-1' }),
      have('Tag', 'Test::Fake::Resource', { Value: 'vpc-1' }),
    ];
    const p = plan(desired, prior, opts);
    expect(p.steps.find((s) => s.id === 'Subnet')).toMatchObject({ kind: 'replace', because: ['CidrBlock'] });
    expect(p.steps.find((s) => s.id === 'Web')).toMatchObject({ kind: 'replace', because: ['SubnetId'], afterApply: ['SubnetId'] });
    expect(p.steps.find((s) => s.id === 'Tag')).toMatchObject({ kind: 'update', afterApply: ['Value'] });
    expect(JSON.stringify(p)).not.toContain(AFTER_APPLY);
  });

  test('attributes of a resource updated in place are known only after apply: dependents using them are updated, Ref users are not', () => {
    // GIVEN a launch template whose data changes (an in-place update that bumps LatestVersionNumber)
    const desired = stack(
      want('Lt', 'Test::Fake::Resource', { Data: 'v2' }),
      want('Group', 'Test::Fake::Resource', { Version: { 'Fn::GetAtt': ['Lt', 'LatestVersionNumber'] } }, { dependsOn: ['Lt'] }),
      want('ById', 'Test::Fake::Resource', { Id: { Ref: 'Lt' } }, { dependsOn: ['Lt'] }),
    );
    const prior = [
      have('Lt', 'Test::Fake::Resource', { Data: 'v1' }, { physicalId: 'lt-1', state: { physicalId: 'lt-1', attributes: { LatestVersionNumber: '1' } } }),
      have('Group', 'Test::Fake::Resource', { Version: '1' }),
      have('ById', 'Test::Fake::Resource', { Id: 'lt-1' }),
    ];
    // WHEN planned
    const p = plan(desired, prior, opts);
    // THEN the group waits for the new attribute; the Ref user keeps the unchanged physical id
    expect(kinds(p)).toMatchObject({ Lt: 'update', Group: 'update', ById: 'noop' });
    expect(p.steps.find((s) => s.id === 'Group')).toMatchObject({ afterApply: ['Version'] });
  });

  test('removed resources are deleted dependents first, with their DeletionPolicy', () => {
    const prior = [
      have('Vpc', 'AWS::EC2::VPC', {}, { deletionPolicy: 'Retain' }),
      have('Subnet', 'AWS::EC2::Subnet', {}, { dependsOn: ['Vpc'] }),
      have('Web', 'AWS::EC2::Instance', {}, { dependsOn: ['Subnet'] }),
    ];
    const p = plan(stack(), prior, opts);
    expect(p.steps.map((s) => (s.kind === 'delete' ? `${s.id}:${s.policy}` : s.id))).toEqual(['Web:Delete', 'Subnet:Delete', 'Vpc:Retain']);
  });

  test('a type without a local realisation is refused with its path; nothing is planned', () => {
    const p = plan(stack(want('Bucket', 'AWS::S3::Bucket', {}), want('Vpc', 'AWS::EC2::VPC', {})), [], opts);
    expect(p.steps).toEqual([]);
    expect(p.diagnostics).toMatchObject([{ code: 'UNSUPPORTED_RESOURCE_TYPE', path: 'Resources.Bucket.Type' }]);
  });

  test('types with no local effect are marked', () => {
    const p = plan(stack(want('Role', 'AWS::IAM::Role', {})), [], opts);
    expect(p.steps[0]).toMatchObject({ kind: 'create', noLocalEffect: true });
  });

  test('a changed type replaces', () => {
    const p = plan(stack(want('X', 'Test::Fake::Resource', {})), [have('X', 'Test::Fake::Immutable', {})], opts);
    expect(p.steps[0]).toMatchObject({ kind: 'replace', because: ['Type'] });
  });

  test('inputs are never mutated', () => {
    const desired = stack(want('A', 'Test::Fake::Resource', { Value: { Ref: 'B' } }, { dependsOn: ['B'] }), want('B', 'Test::Fake::Resource', { Name: 'n2' }));
    const prior = [have('A', 'Test::Fake::Resource', { Value: 'b-0000' }), have('B', 'Test::Fake::Resource', { Name: 'n1' })];
    const before = JSON.stringify([desired, prior]);
    plan(desired, prior, opts);
    expect(JSON.stringify([desired, prior])).toBe(before);
  });
});
