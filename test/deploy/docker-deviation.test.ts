// Reality differs from the plan, on the real engine: the container behind an instance or a load
// balancer is removed behind kiln's back, then a change the plan shows as an update in place is
// deployed. The update stops with an event naming the planned and the needed step, the deploy fails
// and rolls back, state forgets what no longer exists, and the next plan says what is true: create.
// And the provider finding at update time that an update in place is impossible (a parameter group
// switching the cluster mode of Redis servers already running with it): the update stops as
// "needed: replace", and the stack rolls back with the servers untouched.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { client, removeByLabels } from '../docker.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack, planStack, type EngineEvent } from '../../src/deploy/index.js';

const stack = `kt-deviate-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-docker-deviation-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
const image = `kiln-test/deviation:${stack}`;

beforeAll(() => {
  const b = spawnSync('docker', ['build', '-q', '-t', image, '--label', `kiln.test=${stack}`, '-'], { input: 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', encoding: 'utf8' });
  if (b.status !== 0) throw new Error(b.stderr);
}, 60_000);
const listenerStack = `${stack}-l`;
const cacheStack = `${stack}-c`;

afterAll(async () => {
  for (const s of [stack, listenerStack, cacheStack]) {
    await destroyStack({ stack: s, store, provider }).catch(() => undefined);
    await removeOrphans(client, s, new Set()).catch(() => undefined);
    await removeByLabels({ 'kiln.stack': s }).catch(() => undefined);
  }
  spawnSync('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

const template = (o: { instanceType: string; interval: string }) => ({
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.87.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.87.1.0/24' } },
    Sg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'http', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '10.87.0.0/16' }] },
    },
    Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, InstanceType: o.instanceType, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }] } },
    Elb: {
      Type: 'AWS::ElasticLoadBalancing::LoadBalancer',
      Properties: {
        Scheme: 'internal',
        Subnets: [{ Ref: 'Subnet' }],
        SecurityGroups: [{ Ref: 'Sg' }],
        Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }],
        HealthCheck: { Target: 'HTTP:80/', HealthyThreshold: '2', UnhealthyThreshold: '2', Interval: o.interval, Timeout: '2' },
      },
    },
  },
});

async function deploy(t: object, name = stack) {
  const events: EngineEvent[] = [];
  const r = await deployStack({ stack: name, store, provider, file: 'stack.json', text: JSON.stringify(t), events: { emit: (e) => events.push(e) } });
  return { ...r, events };
}

async function plan(t: object, name = stack) {
  return (await planStack({ stack: name, store, provider, file: 'stack.json', text: JSON.stringify(t) })).plan.steps.map((s) => `${s.kind} ${s.id}`).sort();
}

/** Removes, behind kiln's back, every container of this stack with the given kind label. */
async function removeBehindKilnsBack(kind: string, name = stack): Promise<number> {
  const list = await client.listContainers({ all: true, labels: [`kiln.stack=${name}`, `kiln.kind=${kind}`] });
  for (const c of list) spawnSync('docker', ['rm', '-f', c.Id]);
  return list.length;
}

describe('a resource whose container vanished', () => {
  const v1 = template({ instanceType: 't2.micro', interval: '5' });

  test('an instance: the planned update stops as "needed: create", the stack rolls back, and the next plan creates it', async () => {
    const first = await deploy(v1);
    expect(first.finalStatus, first.reason).toBe('CREATE_COMPLETE');
    const before = store.liveResources(stack).get('Web')!.physicalId;
    expect(await removeBehindKilnsBack('instance')).toBe(1);

    const v2 = template({ instanceType: 't2.small', interval: '5' });
    const r = await deploy(v2);
    expect(r.plan.steps.find((s) => s.id === 'Web')).toMatchObject({ kind: 'update' });
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(new RegExp(`^Web: planned update, but ${before} no longer exists .*which needs a new resource \\(create\\)`));
    expect(r.events.filter((e) => e.kind === 'deviation')).toEqual([{ kind: 'deviation', logicalId: 'Web', planned: 'update', needed: 'create', reason: expect.stringContaining(before) }]);
    // no instance was made behind the plan's back
    expect(await client.listContainers({ all: true, labels: [`kiln.stack=${stack}`, 'kiln.kind=instance'] })).toEqual([]);
    // state says what exists: no Web; the rest is as it was
    const live = store.liveResources(stack);
    expect(live.has('Web')).toBe(false);
    expect([...live.keys()].sort()).toEqual(['Elb', 'Sg', 'Subnet', 'Vpc']);
    expect(store.resources(stack, ['pendingDelete'])).toEqual([]);
    // the next plan is truthful
    expect(await plan(v2)).toEqual(['create Web', 'noop Elb', 'noop Sg', 'noop Subnet', 'noop Vpc']);
    const again = await deploy(v2);
    expect(again.finalStatus, again.reason).toBe('UPDATE_COMPLETE');
    expect(await client.listContainers({ labels: [`kiln.stack=${stack}`, 'kiln.kind=instance'] })).toHaveLength(1);
  }, 600_000);

  test('a load balancer: the same, for its HAProxy container', async () => {
    expect(await removeBehindKilnsBack('load-balancer')).toBe(1);
    const elb = store.liveResources(stack).get('Elb')!.physicalId;

    const v3 = template({ instanceType: 't2.small', interval: '7' });
    const r = await deploy(v3);
    expect(r.plan.steps.find((s) => s.id === 'Elb')).toMatchObject({ kind: 'update' });
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.events.filter((e) => e.kind === 'deviation')).toEqual([{ kind: 'deviation', logicalId: 'Elb', planned: 'update', needed: 'create', reason: expect.stringContaining(elb) }]);
    expect(await client.listContainers({ all: true, labels: [`kiln.stack=${stack}`, 'kiln.kind=load-balancer'] })).toEqual([]);
    expect(store.liveResources(stack).has('Elb')).toBe(false);
    expect(await plan(v3)).toEqual(['create Elb', 'noop Sg', 'noop Subnet', 'noop Vpc', 'noop Web']);
  }, 600_000);
});

describe('a listener whose load balancer vanished', () => {
  const template = (port: number) => ({
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.88.0.0/16' } },
      Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.88.1.0/24' } },
      Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'http', VpcId: { Ref: 'Vpc' } } },
      Alb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Scheme: 'internal', Subnets: [{ Ref: 'Subnet' }], SecurityGroups: [{ Ref: 'Sg' }] } },
      Tg: { Type: 'AWS::ElasticLoadBalancingV2::TargetGroup', Properties: { VpcId: { Ref: 'Vpc' }, Port: 80, Protocol: 'HTTP' } },
      Listener: {
        Type: 'AWS::ElasticLoadBalancingV2::Listener',
        Properties: { LoadBalancerArn: { Ref: 'Alb' }, Port: port, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Tg' } }] },
      },
    },
  });

  test('the planned listener update stops as "needed: create" (not a plain failure), the stack rolls back, and state forgets the listener', async () => {
    const first = await deploy(template(80), listenerStack);
    expect(first.finalStatus, first.reason).toBe('CREATE_COMPLETE');
    const listener = store.liveResources(listenerStack).get('Listener')!.physicalId;
    expect(await removeBehindKilnsBack('load-balancer', listenerStack)).toBe(1);

    const r = await deploy(template(8080), listenerStack);
    expect(r.plan.steps.find((s) => s.id === 'Listener')).toMatchObject({ kind: 'update' });
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(
      new RegExp(`^Listener: planned update, but ${listener} no longer exists \\(the HAProxy container of its load balancer .* no longer exists\\), which needs a new resource \\(create\\)`),
    );
    expect(r.events.filter((e) => e.kind === 'deviation')).toEqual([{ kind: 'deviation', logicalId: 'Listener', planned: 'update', needed: 'create', reason: expect.stringContaining(listener) }]);
    expect(store.liveResources(listenerStack).has('Listener')).toBe(false);
    expect(store.resources(listenerStack, ['pendingDelete'])).toEqual([]);
  }, 600_000);
});

describe('a parameter group update that would switch the cluster mode of running Redis servers', () => {
  const template = (clusterEnabled: 'yes' | 'no') => ({
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.89.0.0/16' } },
      Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.89.1.0/24' } },
      Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'redis', VpcId: { Ref: 'Vpc' } } },
      CacheSubnets: { Type: 'AWS::ElastiCache::SubnetGroup', Properties: { Description: 'cache', SubnetIds: [{ Ref: 'Subnet' }] } },
      Params: {
        Type: 'AWS::ElastiCache::ParameterGroup',
        Properties: { CacheParameterGroupFamily: 'redis7', Description: 'redis', Properties: { 'cluster-enabled': clusterEnabled, 'maxmemory-policy': 'allkeys-lru' } },
      },
      Redis: {
        Type: 'AWS::ElastiCache::ReplicationGroup',
        Properties: {
          ReplicationGroupDescription: 'one primary',
          Engine: 'redis',
          CacheNodeType: 'cache.t3.micro',
          NumCacheClusters: 1,
          CacheSubnetGroupName: { Ref: 'CacheSubnets' },
          CacheParameterGroupName: { Ref: 'Params' },
          SecurityGroupIds: [{ Ref: 'Sg' }],
        },
      },
    },
  });

  test('the planned update stops as "needed: replace", the stack rolls back, and the servers keep running as they were', async () => {
    const first = await deploy(template('no'), cacheStack);
    expect(first.finalStatus, first.reason).toBe('CREATE_COMPLETE');
    const params = store.liveResources(cacheStack).get('Params')!;
    const node = (store.liveResources(cacheStack).get('Redis')!.state.data!.containers as Array<{ id: string }>)[0]!.id;
    const clusterInfo = () => spawnSync('docker', ['exec', node, 'redis-cli', 'INFO', 'cluster'], { encoding: 'utf8' }).stdout;
    expect(clusterInfo()).toMatch(/cluster_enabled:0/);

    const r = await deploy(template('yes'), cacheStack);
    expect(r.plan.steps.filter((s) => s.kind !== 'noop').map((s) => `${s.kind} ${s.id}`)).toEqual(['update Params']);
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^Params: planned update, but the provider cannot update it in place \(cluster-enabled is read when Redis starts, .*which needs a replacement/);
    expect(r.events.filter((e) => e.kind === 'deviation')).toEqual([
      { kind: 'deviation', logicalId: 'Params', planned: 'update', needed: 'replace', reason: expect.stringContaining('cluster-enabled') },
    ]);
    // nothing changed: the same row, the same parameters, the same server, not in cluster mode
    const after = store.liveResources(cacheStack).get('Params')!;
    expect(after.id).toBe(params.id);
    expect(after.state).toEqual(params.state);
    expect(clusterInfo()).toMatch(/cluster_enabled:0/);
  }, 600_000);
});
