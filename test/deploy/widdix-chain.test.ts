// issue 11's proof, on the real Docker engine: widdix's production templates, unchanged, deployed in
// the order their Parent*Stack parameters chain them (vpc-2azs → vpc-nat-gateway → client-sg →
// elasticache-redis), each checked for what it promises, then destroyed in reverse until nothing
// labelled remains. "The internet" is a namespace this test makes (outside.ts); instances of a small
// stack of the test's own, in the widdix subnets, show which way their packets leave and who may
// talk to Redis: a member of the client group, and a stranger in the same subnet.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, docker } from '../docker.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { listVpcNamespaces } from '../../src/providers/docker/network.js';
import { deleteSnapshot, listSnapshots } from '../../src/providers/docker/snapshots.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack } from '../../src/deploy/index.js';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { buildTestImage, cleanupDeployed, sh } from '../providers/docker/ctx.js';
import { makeOutside, reachOut, type Outside } from '../providers/docker/outside.js';
import { labelled, widdix } from './widdix.js';

const id = randomBytes(3).toString('hex');
const [vpc, nat, clients, redis, probe] = ['vpc', 'nat', 'cli', 'red', 'probe'].map((s) => `kw${id}${s}`) as [string, string, string, string, string];
const dir = mkdtempSync(join(tmpdir(), 'kiln-widdix-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
const image = `kiln-test/widdix-probe:${id}`;
let outside: Outside;

beforeAll(async () => {
  outside = await makeOutside();
  await buildTestImage(image, 'FROM busybox:latest\nCMD ["sleep", "3600"]\n', { 'kiln.test': `widdix-${id}` });
}, 60_000);
afterAll(async () => {
  await outside?.close();
  for (const s of await listSnapshots(client)) if (s.stack === redis) await deleteSnapshot(client, s.name).catch(() => undefined);
  await cleanupDeployed([redis, probe, clients, nat, vpc], `widdix-${id}`, dir);
}, 180_000);

const { deploy, destroy } = widdix(store, provider);

// The test's own instances in widdix's subnets (busybox, no ports): one public; in a private subnet,
// a member of the client group and a stranger (the VPC's default group).
const probeStack = () => ({
  Resources: {
    Public: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { 'Fn::ImportValue': `${vpc}-SubnetAPublic` } } },
    Member: {
      Type: 'AWS::EC2::Instance',
      Properties: { ImageId: image, SubnetId: { 'Fn::ImportValue': `${vpc}-SubnetAPrivate` }, SecurityGroupIds: [{ 'Fn::ImportValue': `${clients}-ClientSecurityGroup` }] },
    },
    Stranger: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { 'Fn::ImportValue': `${vpc}-SubnetAPrivate` } } },
  },
});
const containerOf = (logicalId: string) => String((store.liveResources(probe).get(logicalId)!.state.data!.containers as Array<{ id: string }>)[0]!.id);
const seenFrom = async (logicalId: string) => (await sh(containerOf(logicalId), reachOut(outside))).out.trim();
const redisFrom = async (logicalId: string, address: string, command: string) =>
  (await sh(containerOf(logicalId), `printf '${command}\\r\\nQUIT\\r\\n' | nc -w 3 ${address} 6379`)).out.trim().split(/\r?\n/)[0] ?? '';

describe('the widdix chain on the local target: vpc-2azs → vpc-nat-gateway → client-sg → elasticache-redis, then destroyed in reverse', () => {
  test('each stack keeps its promise; the Redis stack leaves a final snapshot and nothing else', async () => {
    const v = await deploy(vpc, 'vpc/vpc-2azs.yaml');
    expect(v.get('InternetGateway')!.physicalId).toMatch(/^igw-[0-9a-f]{17}$/);
    expect(v.get('NetworkAclPublic')!.physicalId).toMatch(/^acl-[0-9a-f]{17}$/);
    expect(String(v.get('SubnetAPublic')!.properties.Ipv6CidrBlock)).toMatch(/^fd[0-9a-f:]+::\/64$/);
    const group = (await deploy(clients, 'state/client-sg.yaml', { ParentVPCStack: vpc })).get('ClientSecurityGroup')!;
    expect(group.physicalId).toMatch(/^sg-[0-9a-f]{17}$/);
    const p = await deployStack({ stack: probe, store, provider, file: 'probe.json', text: JSON.stringify(probeStack()) });
    expect(p.finalStatus, p.reason).toBe('CREATE_COMPLETE');

    // Public subnets leave through the internet gateway; before the NAT stack, private ones cannot leave.
    const uplink = String(v.get('VPCGatewayAttachment')!.state.data!.uplink);
    expect(await seenFrom('Public')).toBe(uplink);
    expect(await seenFrom('Member')).not.toMatch(/^\d/);

    const n = await deploy(nat, 'vpc/vpc-nat-gateway.yaml', { ParentVPCStack: vpc });
    expect(n.get('NatGateway')!.physicalId).toMatch(/^nat-[0-9a-f]{17}$/);
    expect(n.get('EIP')!.state.attributes.AllocationId).toMatch(/^eipalloc-[0-9a-f]{17}$/);
    // Private subnets now leave through the NAT gateway's address only; public ones still directly.
    expect(await seenFrom('Member')).toBe(String(n.get('NatGateway')!.state.data!.address));
    expect(await seenFrom('Stranger')).toBe(String(n.get('NatGateway')!.state.data!.address));
    expect(await seenFrom('Public')).toBe(uplink);

    // Redis: a primary and its replica, answering the client group's members only.
    const r = await deploy(redis, 'state/elasticache-redis.yaml', { ParentVPCStack: vpc, ParentClientStack: clients, EngineVersion: '7.0' });
    const rg = r.get('ReplicationGroup')!;
    const primary = String(rg.state.attributes['PrimaryEndPoint.Address']);
    expect((rg.state.data!.containers as unknown[]).length).toBe(2);
    expect(await redisFrom('Member', primary, 'SET chain widdix-chain-value')).toBe('+OK');
    expect(await redisFrom('Member', String(rg.state.attributes['ReaderEndPoint.Address']), 'PING')).toBe('+PONG');
    // The stranger's packets are dropped by the Redis group (no rule admits its group).
    expect(await redisFrom('Stranger', primary, 'PING')).toBe('nc: timed out');

    // Destroyed in reverse. DeletionPolicy Snapshot: the data is saved, then the nodes are deleted, as on AWS.
    await destroy(redis);
    expect(await labelled(redis)).toBe(0);
    const snaps = (await listSnapshots(client)).filter((s) => s.stack === redis);
    expect(snaps.map((s) => [s.source, s.type, s.resource])).toEqual([[rg.physicalId, 'AWS::ElastiCache::ReplicationGroup', 'ReplicationGroup']]);
    expect(store.events(redis).some((e) => e.logicalId === 'ReplicationGroup' && e.reason?.includes(`final snapshot ${snaps[0]!.name} saved`))).toBe(true);
    // The snapshot holds the primary's data (an RDB file with the value written above).
    const d = await docker();
    const reader = await d.createContainer({
      Image: image,
      Cmd: ['sh', '-c', 'cat /snapshot/*.rdb'],
      Labels: { 'kiln.test': `widdix-${id}` },
      HostConfig: { Binds: [`${snaps[0]!.volume}:/snapshot:ro`], NetworkMode: 'none' },
    });
    await reader.start();
    await reader.wait();
    const rdb = String(await reader.logs({ stdout: true, stderr: true }));
    await reader.remove({ force: true });
    expect(rdb).toContain('REDIS');
    expect(rdb).toContain('widdix-chain-value');

    for (const s of [probe, clients, nat, vpc]) {
      await destroy(s);
      expect(await labelled(s)).toBe(0);
    }
    expect(await listVpcNamespaces(vpc)).toEqual([]);
    expect(store.stack(vpc)?.status).toBe('DELETE_COMPLETE');

    // The snapshot outlives the stacks until deleted (kiln snapshots --delete).
    const io = memoryIO({ cwd: dir, env: { ...process.env } });
    expect(await main(['snapshots'], io)).toBe(0);
    expect(io.stdout).toContain(snaps[0]!.name);
    // A stray word is a usage error, not a listing that looks like success.
    expect(await main(['snapshots', 'delete', snaps[0]!.name], io)).toBe(2);
    expect(io.stderr).toContain('unexpected argument delete');
    expect((await listSnapshots(client)).some((s) => s.stack === redis)).toBe(true);
    expect(await main(['snapshots', '--delete', snaps[0]!.name], io)).toBe(0);
    expect((await listSnapshots(client)).some((s) => s.stack === redis)).toBe(false);
  }, 600_000);
});
