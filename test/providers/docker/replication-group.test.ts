// ElastiCache replication groups on the real engine: a Redis primary with real replicas, its
// parameter group applied to the servers, its AuthToken required, its security group enforced for
// clients; with several shards, a real Redis Cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subnetGroupHandler } from '../../../src/providers/docker/elasticache.js';
import { parameterGroupHandler, replicationGroupHandler } from '../../../src/providers/docker/replication-group.js';
import { launchContainer } from '../../../src/providers/docker/launch.js';
import { securityGroupHandler } from '../../../src/providers/docker/securitygroups.js';
import { World, sh } from './ctx.js';
import { network } from './elb.helpers.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': `replication-${stack.name}` };
const TOKEN = 'kiln-replication-token-1';

describe('AWS::ElastiCache::ReplicationGroup', () => {
  let net: Awaited<ReturnType<typeof network>>;
  let clientSg: string;
  let redisSg: string;
  let subnets: string;
  beforeAll(async () => {
    net = await network(stack, 97);
    clientSg = (await stack.create(securityGroupHandler, 'ClientSg', { GroupDescription: 'clients', VpcId: net.vpc })).physicalId;
    redisSg = (
      await stack.create(securityGroupHandler, 'RedisSg', {
        GroupDescription: 'redis from clients',
        VpcId: net.vpc,
        SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 6379, ToPort: 6379, SourceSecurityGroupId: clientSg }],
      })
    ).physicalId;
    subnets = (await stack.create(subnetGroupHandler, 'CacheSubnets', { Description: 'cache', SubnetIds: [net.subnetA, net.subnetB] })).physicalId;
  }, 120_000);
  afterAll(async () => {
    await world.cleanup();
  });

  it('runs a primary and replicas: writes on the primary read back from a replica, with the token, from the client group only', async () => {
    const params = await stack.create(parameterGroupHandler, 'Params', {
      CacheParameterGroupFamily: 'redis7',
      Description: 'lru',
      Properties: { 'maxmemory-policy': 'allkeys-lru', 'reserved-memory-percent': '25' },
    });
    const rg = await stack.create(replicationGroupHandler, 'Redis', {
      ReplicationGroupDescription: 'test',
      Engine: 'redis',
      CacheNodeType: 'cache.t3.micro',
      NumCacheClusters: 3,
      AutomaticFailoverEnabled: true,
      CacheSubnetGroupName: subnets,
      CacheParameterGroupName: params.physicalId,
      SecurityGroupIds: [redisSg],
      AuthToken: TOKEN,
    });
    expect(rg.physicalId).toMatch(new RegExp(`^${stack.name}-redis-[a-z0-9]+$`));
    const primary = String(rg.attributes['PrimaryEndPoint.Address']);
    const replicas = String(rg.attributes['ReadEndPoint.Addresses']).split(',');
    expect(rg.attributes['PrimaryEndPoint.Port']).toBe('6379');
    expect(replicas).toHaveLength(2);
    expect(replicas).not.toContain(primary);
    expect(replicas).toContain(rg.attributes['ReaderEndPoint.Address']);

    const client = (name: string, groups: string[]) =>
      launchContainer(stack.ctx(name, 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: net.subnetA, securityGroupIds: groups, labels: TEST, cmd: ['sleep', '600'] });
    const member = await client('Member', [clientSg]);
    const stranger = await client('Stranger', [net.webSg]);
    const redis = (c: { containerId: string }, addr: string, commands: string[]) => sh(c.containerId, `printf '${commands.map((x) => `${x}\\r\\n`).join('')}QUIT\\r\\n' | nc -w 3 ${addr} 6379`);

    expect((await redis(member, primary, ['PING'])).out).toContain('NOAUTH');
    expect((await redis(member, primary, [`AUTH ${TOKEN}`, 'SET greeting hello'])).out).toMatch(/\+OK\r\n\+OK/);
    // Replication is asynchronous (and a replica's first sync can take a while on a loaded machine): ask until it has it.
    let read = '';
    for (const end = Date.now() + 60_000; Date.now() < end && !read.includes('hello'); await new Promise((r) => setTimeout(r, 250))) {
      read = (await redis(member, replicas[0]!, [`AUTH ${TOKEN}`, 'GET greeting'])).out;
    }
    expect(read).toContain('hello');
    expect((await redis(member, replicas[1]!, [`AUTH ${TOKEN}`, 'SET greeting bye'])).out).toContain('READONLY');
    expect((await redis(stranger, primary, ['PING'])).out).not.toMatch(/PONG|NOAUTH/);

    expect(world.events.events.filter((e) => e.kind === 'warning' && e.logicalId === 'Redis').map((e) => e.message)).toEqual([
      expect.stringMatching(/^parameter reserved-memory-percent=25 has no local effect/),
    ]);
    // The parameter group is applied to every node; what Redis does not know is reported.
    const node = String((rg.data?.containers as Array<{ id: string }>)[2]!.id);
    expect((await sh(node, `redis-cli --no-auth-warning -a ${TOKEN} CONFIG GET maxmemory-policy`)).out).toContain('allkeys-lru');
    const updated = await stack.update(parameterGroupHandler, 'Params', { ...stack.get('Params').properties, Properties: { 'maxmemory-policy': 'volatile-ttl' } });
    expect(updated.physicalId).toBe(params.physicalId);
    expect((await sh(node, `redis-cli --no-auth-warning -a ${TOKEN} CONFIG GET maxmemory-policy`)).out).toContain('volatile-ttl');
    // The token is in no container's configuration.
    const inspect = await sh(node, 'cat /proc/1/cmdline | tr "\\0" " "');
    expect(inspect.out).not.toContain(TOKEN);
  }, 240_000);

  it('forms a Redis Cluster with a configuration endpoint when it has several shards', async () => {
    const rg = await stack.create(replicationGroupHandler, 'Sharded', {
      ReplicationGroupDescription: 'sharded',
      Engine: 'redis',
      CacheNodeType: 'cache.t3.micro',
      NumNodeGroups: 3,
      ReplicasPerNodeGroup: 0,
      CacheSubnetGroupName: subnets,
      SecurityGroupIds: [redisSg],
    });
    expect(rg.attributes['PrimaryEndPoint.Address']).toBeUndefined();
    const config = String(rg.attributes['ConfigurationEndPoint.Address']);
    const node = String((rg.data?.containers as Array<{ id: string }>)[0]!.id);
    const info = await sh(node, 'redis-cli CLUSTER INFO');
    expect(info.out).toContain('cluster_state:ok');
    expect(info.out).toContain('cluster_known_nodes:3');
    expect(config).toMatch(/^10\.97\.[12]\.\d+$/);
  }, 240_000);
});
