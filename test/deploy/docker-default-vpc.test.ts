// The default VPC on the real Docker engine: a template written for an account's default VPC (a
// group without VpcId, an instance without SubnetId) deploys; the region's default VPC is made first
// as its own stack, the plan says so, `kiln network` marks it default. And user data holding a NoEcho
// value reaches the instance without showing in `docker inspect`.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { connectDocker } from '../../src/docker/client.js';
import { localProvider, removeOrphans, findOrphans } from '../../src/providers/docker/index.js';
import { defaultSubnets, defaultVpcStack } from '../../src/providers/docker/default-vpc.js';
import { defaultRegion, listVpcNamespaces } from '../../src/providers/docker/network.js';
import { inventoryOf, type InventoryRow } from '../../src/deploy/inventory.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';
import { createPublicKey } from 'node:crypto';
import { deployStack, destroyStack, planStack } from '../../src/deploy/index.js';

const stack = `kt-dvpc-${randomBytes(3).toString('hex')}`;
const vpcStack = defaultVpcStack();
const region = defaultRegion();
const dir = mkdtempSync(join(tmpdir(), 'kiln-default-vpc-'));
const store = new StackStore(openState(dir));
const client = connectDocker();
const provider = localProvider({ docker: client });
const image = `kiln-test/default-vpc:${stack}`;
const built = spawnSync('docker', ['build', '-q', '-t', image, '--label', `kiln.test=${stack}`, '-'], { input: 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', encoding: 'utf8' });
if (built.status !== 0) throw new Error(built.stderr);
const secret = `s3cr3t-${randomBytes(6).toString('hex')}`;
const zone = defaultSubnets(region)[1]!;

afterAll(async () => {
  for (const s of [stack, vpcStack]) {
    await removeOrphans(client, s, new Set()).catch(() => undefined);
  }
  spawnSync('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

// As the EC2 samples are written: no VpcId, no SubnetId, a zone chosen by name.
const template = {
  Parameters: { DbPassword: { Type: 'String', NoEcho: true } },
  Resources: {
    WebGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] } },
    Key: { Type: 'AWS::EC2::KeyPair', Properties: { KeyName: `${stack}-key` } },
    Web: {
      Type: 'AWS::EC2::Instance',
      Properties: {
        ImageId: image,
        KeyName: { Ref: 'Key' },
        AvailabilityZone: zone.az,
        SecurityGroups: [{ Ref: 'WebGroup' }],
        UserData: { 'Fn::Base64': { 'Fn::Sub': '#!/bin/sh\necho "${DbPassword}" > /root-password\n' } },
      },
    },
    // Default-VPC style: the group named by its name (what its Ref is), as rule target and as source.
    SshFromPeers: {
      Type: 'AWS::EC2::SecurityGroupIngress',
      Properties: { GroupName: { Ref: 'WebGroup' }, IpProtocol: 'tcp', FromPort: 22, ToPort: 22, SourceSecurityGroupName: { Ref: 'WebGroup' } },
    },
  },
  Outputs: {
    Ip: { Value: { 'Fn::GetAtt': ['Web', 'PrivateIp'] } },
    Vpc: { Value: { 'Fn::GetAtt': ['WebGroup', 'VpcId'] } },
    GroupRef: { Value: { Ref: 'WebGroup' } },
    GroupId: { Value: { 'Fn::GetAtt': ['WebGroup', 'GroupId'] } },
  },
};
const parameters = new MemoryParameterStore();
const input = { stack, store, provider, parameters, file: 'stack.json', text: JSON.stringify(template), params: { DbPassword: secret } };

let outputs: Awaited<ReturnType<typeof deployStack>>['outputs'] = {};
const r0 = () => outputs;

describe.sequential('the default VPC on the real Docker engine', () => {
  test('the plan says that the default VPC will be made first, naming what lands there', async () => {
    const r = await planStack(input);
    const note = r.plan.diagnostics.find((d) => d.code === 'DEFAULT_VPC');
    expect(note?.message).toContain(
      `WebGroup (a security group without VpcId), Web (an instance without SubnetId), SshFromPeers (a rule naming its group by GroupName) land in the default VPC of ${region}`,
    );
    expect(note?.message).toContain('172.31.0.0/16');
    expect(store.stack(vpcStack)).toBeUndefined();
  }, 60_000);

  test('a group without VpcId and an instance without SubnetId deploy into 172.31.0.0/16, in the default subnet of the zone asked for', async () => {
    const r = await deployStack(input);
    outputs = r.outputs;
    expect(r.reason).toBeUndefined();
    expect(r.outcome).toBe('complete');
    const vpc = store.liveResources(vpcStack).get('DefaultVpc');
    expect(vpc?.state.attributes.CidrBlock).toBe('172.31.0.0/16');
    expect(r.outputs.Vpc?.value).toBe(vpc?.physicalId);
    const prefix = zone.cidr.split('.').slice(0, 3).join('.');
    expect(String(r.outputs.Ip?.value)).toMatch(new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.\\d+$`));
    expect(store.liveResources(stack).get('Web')?.state.attributes.AvailabilityZone).toBe(zone.az);
  }, 180_000);

  test('Ref of a group without VpcId is its name, as on AWS; SecurityGroups and rules that name it reach the group by id', () => {
    const live = store.liveResources(stack);
    const group = live.get('WebGroup')!;
    expect(r0().GroupRef?.value).toBe(group.state.data?.groupName);
    expect(String(r0().GroupRef?.value)).toMatch(new RegExp(`^${stack}-WebGroup-[A-Z0-9]+$`));
    expect(r0().GroupId?.value).toBe(group.physicalId);
    expect(group.physicalId).toMatch(/^sg-[0-9a-f]{17}$/);
    // The instance (SecurityGroups: [Ref]) is a member of the group by id, and the rule made by name is the group's.
    expect((live.get('Web')?.state.data as { containers: Array<{ groups: string[] }> }).containers[0]!.groups).toEqual([group.physicalId]);
    expect(live.get('SshFromPeers')?.state.data?.rule).toMatchObject({ groupId: group.physicalId, direction: 'ingress', rule: { protocol: 'tcp', from: 22, to: 22, group: group.physicalId } });
  });

  test('kiln network lists the default VPC as default, with one default subnet per zone', () => {
    const inv = inventoryOf(store.allLiveResources() as unknown as InventoryRow[]);
    const vpc = inv.Vpcs.find((v) => v.IsDefault);
    expect(vpc?.CidrBlock).toBe('172.31.0.0/16');
    const subnets = inv.Subnets.filter((s) => s.VpcId === vpc?.VpcId);
    expect(subnets.map((s) => s.AvailabilityZone)).toEqual(defaultSubnets(region).map((s) => s.az));
    expect(subnets.every((s) => s.MapPublicIpOnLaunch)).toBe(true);
    expect(inv.SecurityGroups.some((g) => g.VpcId === vpc?.VpcId && g.GroupName === 'default')).toBe(true);
  });

  test('user data with a NoEcho value runs in the instance, and docker inspect does not show the value', async () => {
    const data = store.liveResources(stack).get('Web')?.state.data as { containers: Array<{ id: string }> };
    const id = data.containers[0]!.id;
    const inspected = JSON.stringify(await client.inspectContainer(id));
    expect(inspected).not.toContain(secret);
    const cat = spawnSync('docker', ['exec', id, 'cat', '/root-password'], { encoding: 'utf8' });
    expect(cat.stdout.trim()).toBe(secret);
  }, 60_000);

  test('a key pair made by the template keeps its private key in the parameter store; KeyName puts the public key in root authorized_keys', async () => {
    const key = store.liveResources(stack).get('Key')!;
    const stored = parameters.get(`/ec2/keypair/${String(key.state.attributes.KeyPairId)}`);
    expect(stored?.type).toBe('SecureString');
    expect(stored?.value).toContain('BEGIN RSA PRIVATE KEY');
    expect(JSON.stringify(key.state)).not.toContain('PRIVATE KEY');
    // The public key the instance got is the public half of the stored private key.
    const data = store.liveResources(stack).get('Web')?.state.data as { containers: Array<{ id: string }> };
    const authorized = spawnSync('docker', ['exec', data.containers[0]!.id, 'cat', '/root/.ssh/authorized_keys'], { encoding: 'utf8' }).stdout.trim();
    expect(authorized.split(' ').slice(0, 2).join(' ')).toBe(String(key.state.data?.publicKey).split(' ').slice(0, 2).join(' '));
    const n = createPublicKey(stored!.value).export({ format: 'jwk' }).n!;
    const blob = Buffer.from(authorized.split(' ')[1]!, 'base64');
    expect(blob.toString('hex')).toContain(Buffer.from(n, 'base64url').toString('hex'));
  }, 60_000);

  test('a second stack reuses the same default VPC; destroying the stacks leaves nothing', async () => {
    const before = store.liveResources(vpcStack).get('DefaultVpc')?.physicalId;
    expect((await destroyStack({ stack, store, provider, parameters })).status).toBe('DELETE_COMPLETE');
    expect((await deployStack(input)).outcome).toBe('complete');
    expect(store.liveResources(vpcStack).get('DefaultVpc')?.physicalId).toBe(before);
    expect((await destroyStack({ stack, store, provider, parameters })).status).toBe('DELETE_COMPLETE');
    expect(parameters.list('/ec2/keypair')).toEqual([]);
    expect((await destroyStack({ stack: vpcStack, store, provider, parameters })).status).toBe('DELETE_COMPLETE');
    expect(await findOrphans(client, stack, new Set())).toEqual([]);
    expect((await listVpcNamespaces(vpcStack)).filter((n) => n.vpcId === before)).toEqual([]);
  }, 240_000);
});
