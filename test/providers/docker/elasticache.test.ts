// ElastiCache on the real engine: a real redis-server (and memcached) in the subnet group's subnet,
// answering clients its security group allows and refusing the others.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { docker } from '../../docker.js';
import { cacheClusterHandler, subnetGroupHandler } from '../../../src/providers/docker/elasticache.js';
import { launchContainer } from '../../../src/providers/docker/launch.js';
import { securityGroupHandler } from '../../../src/providers/docker/securitygroups.js';
import { World, sh } from './ctx.js';
import { network } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `cache-${stack.name}` };

describe('AWS::ElastiCache::CacheCluster', () => {
  let net: Awaited<ReturnType<typeof network>>;
  beforeAll(async () => {
    net = await network(stack, 92);
  }, 120_000);
  afterAll(async () => {
    await world.cleanup();
  });

  it('runs redis behind its security group: PING from inside answers PONG, from outside is refused', async () => {
    const sg = (
      await stack.create(securityGroupHandler, 'RedisSg', {
        GroupDescription: 'redis from subnet A',
        VpcId: net.vpc,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 6390, ToPort: 6390, CidrIp: '10.92.1.0/24' }],
      })
    ).physicalId;
    const group = await stack.create(subnetGroupHandler, 'CacheSubnets', { Description: 'cache', CacheSubnetGroupName: 'Kiln-Test-Subnets', SubnetIds: [net.subnetA] });
    expect(group.physicalId).toBe('kiln-test-subnets');
    const redis = await stack.create(cacheClusterHandler, 'Redis', {
      ClusterName: `r-${stack.name}`,
      Engine: 'redis',
      CacheNodeType: 'cache.t2.micro',
      NumCacheNodes: '1',
      Port: 6390,
      CacheSubnetGroupName: group.physicalId,
      PreferredAvailabilityZone: 'eu-west-1a',
      VpcSecurityGroupIds: [sg],
    });
    expect(redis.physicalId).toBe(`r-${stack.name}`);
    const addr = String(redis.attributes['RedisEndpoint.Address']);
    expect(addr).toMatch(/^10\.92\.1\.\d+$/);
    expect(redis.attributes['RedisEndpoint.Port']).toBe('6390');

    const d = await docker();
    const node = String((redis.data?.containers as Array<{ id: string }>)[0].id);
    const labels = (await d.getContainer(node).inspect()).Config.Labels;
    expect(labels).toMatchObject({ 'kiln.stack': stack.name, 'kiln.resource': 'Redis', 'kiln.deployment': stack.deployment, 'kiln.managed': 'true' });

    const client = (subnetId: string, name: string) => launchContainer(stack.ctx(name, 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId, labels: TEST, cmd: ['sleep', '600'] });
    const inside = await client(net.subnetA, 'Inside');
    const outside = await client(net.subnetB, 'Outside');
    const ping = `printf 'PING\\r\\n' | nc -w 2 ${addr} 6390`;
    const ok = await sh(inside.containerId, ping);
    expect(ok.out).toContain('+PONG');
    const refused = await sh(outside.containerId, ping);
    expect(refused.out).not.toContain('PONG');
    // A real Redis: a value written from inside reads back.
    const set = await sh(inside.containerId, `printf 'SET k v1\\r\\nGET k\\r\\nQUIT\\r\\n' | nc -w 2 ${addr} 6390`);
    expect(set.out).toContain('v1');

    // Security groups change in place: the outside client is let in, nothing is replaced.
    const wide = (
      await stack.create(securityGroupHandler, 'RedisWide', {
        GroupDescription: 'redis from the VPC',
        VpcId: net.vpc,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 6390, ToPort: 6390, CidrIp: '10.92.0.0/16' }],
      })
    ).physicalId;
    const props = stack.get('Redis').properties;
    expect(cacheClusterHandler.diff!(props, { ...props, VpcSecurityGroupIds: [wide] }).requiresReplacement).toEqual([]);
    expect(cacheClusterHandler.diff!(props, { ...props, Port: 6391 }).requiresReplacement).toEqual(['Port']);
    const updated = await stack.update(cacheClusterHandler, 'Redis', { ...props, VpcSecurityGroupIds: [wide] });
    expect(updated.physicalId).toBe(redis.physicalId);
    expect((await sh(outside.containerId, ping)).out).toContain('+PONG');

    await stack.delete(cacheClusterHandler, 'Redis');
    await expect(d.getContainer(node).inspect()).rejects.toThrow();
    await expect(stack.delete(subnetGroupHandler, 'CacheSubnets')).resolves.toBeUndefined();
  }, 180_000);

  it('runs memcached with a ConfigurationEndpoint, and refuses an unknown subnet group', async () => {
    const group = await stack.create(subnetGroupHandler, 'McSubnets', { Description: 'mc', SubnetIds: [net.subnetA, net.subnetB] });
    const mc = await stack.create(cacheClusterHandler, 'Memcached', { Engine: 'memcached', CacheNodeType: 'cache.t2.micro', NumCacheNodes: 1, CacheSubnetGroupName: group.physicalId });
    const addr = String(mc.attributes['ConfigurationEndpoint.Address']);
    expect(mc.attributes['ConfigurationEndpoint.Port']).toBe('11211');
    const inside = await launchContainer(stack.ctx('McClient', 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: net.subnetA, labels: TEST, cmd: ['sleep', '600'] });
    // Default VPC group: members reach each other, as on AWS.
    const r = await sh(inside.containerId, `printf 'version\\r\\nquit\\r\\n' | nc -w 2 ${addr} 11211`);
    expect(r.out).toMatch(/VERSION 1\./);
    await expect(stack.create(cacheClusterHandler, 'Bad', { Engine: 'redis', NumCacheNodes: 1, CacheSubnetGroupName: 'nope' })).rejects.toThrow(/CacheSubnetGroupNotFoundFault/);
  }, 120_000);
});
