// An Elastic IP associated with an instance on the real engine: a VPC with an internet gateway, two
// instances running a TCP service that answers with their host name, an EIP and an EIPAssociation
// choosing one by a parameter. A client in kiln's internet reaches the chosen instance at the EIP's
// internet address; updating the stack to the other instance moves the traffic and keeps the address;
// the instance's own traffic out leaves with that address. This file runs on an internet namespace
// of its own (KILN_INTERNET_NETNS).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { connectDocker } from '../../src/docker/client.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { namespaceExists, run } from '../../src/providers/docker/network.js';
import { connectToInternet, internetNs } from '../../src/providers/docker/routing.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';
import { deployStack, destroyStack } from '../../src/deploy/index.js';
import { makeOutside, type Outside } from '../providers/docker/outside.js';

const id = randomBytes(3).toString('hex');
process.env.KILN_INTERNET_NETNS = `kt-inet-${id}`;
const stack = `kt-eip-${id}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-eip-'));
const store = new StackStore(openState(dir));
const client = connectDocker();
const provider = localProvider({ docker: client });
const parameters = new MemoryParameterStore();
const image = `kiln-test/eip:${id}`;
const PORT = 7000;
const clientNs = `kt-eipc-${id}`;
let outside: Outside;

beforeAll(async () => {
  const built = spawnSync('docker', ['build', '-q', '-t', image, '--label', `kiln.test=${stack}`, '-'], {
    input: `FROM busybox:latest\nCMD ["sh", "-c", "printf '#!/bin/sh\\\\necho pong %s\\\\n' $(hostname) > /pong; chmod +x /pong; exec nc -ll -p ${PORT} -e /pong"]\n`,
    encoding: 'utf8',
  });
  if (built.status !== 0) throw new Error(built.stderr);
  // A client host in kiln's internet (TEST-NET-3), and a responder that echoes who connected.
  await run('ip', ['netns', 'add', clientNs]);
  await run('ip', ['-n', clientNs, 'link', 'set', 'lo', 'up']);
  await connectToInternet({ ns: clientNs, ifname: 'eth0', port: `c${id}`, addresses: ['203.0.113.250'], defaultRoute: true });
  outside = await makeOutside(8080);
}, 120_000);

afterAll(async () => {
  await outside?.close();
  await run('ip', ['netns', 'delete', clientNs]).catch(() => undefined);
  await removeOrphans(client, stack, new Set()).catch(() => undefined);
  await run('ip', ['netns', 'delete', internetNs()]).catch(() => undefined);
  spawnSync('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

/** One line from `address:PORT`, asked from the client host in kiln's internet ('' when refused or silent). */
function ask(address: string): string {
  const script = `const s=require('net').connect(${PORT},'${address}');let d='';s.setTimeout(3000,()=>s.destroy());s.on('data',(c)=>d+=c);s.on('close',()=>{process.stdout.write(d.split('\\n')[0])});s.on('error',()=>{});`;
  return spawnSync('ip', ['netns', 'exec', clientNs, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 }).stdout.trim();
}

const template = {
  Parameters: { Image: { Type: 'String' }, Which: { Type: 'String', AllowedValues: ['A', 'B'] } },
  Conditions: { OnA: { 'Fn::Equals': [{ Ref: 'Which' }, 'A'] } },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.211.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.211.1.0/24' } },
    Igw: { Type: 'AWS::EC2::InternetGateway' },
    Attach: { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: { Ref: 'Vpc' }, InternetGatewayId: { Ref: 'Igw' } } },
    Routes: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: { Ref: 'Vpc' } } },
    Out: { Type: 'AWS::EC2::Route', DependsOn: 'Attach', Properties: { RouteTableId: { Ref: 'Routes' }, DestinationCidrBlock: '0.0.0.0/0', GatewayId: { Ref: 'Igw' } } },
    SubnetRoutes: { Type: 'AWS::EC2::SubnetRouteTableAssociation', Properties: { SubnetId: { Ref: 'Subnet' }, RouteTableId: { Ref: 'Routes' } } },
    Service: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'the service from anywhere', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: PORT, ToPort: PORT, CidrIp: '0.0.0.0/0' }] },
    },
    A: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'Image' }, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Service' }] } },
    B: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'Image' }, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Service' }] } },
    Eip: { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc' } },
    EipToServer: {
      Type: 'AWS::EC2::EIPAssociation',
      DependsOn: 'SubnetRoutes',
      Properties: { AllocationId: { 'Fn::GetAtt': ['Eip', 'AllocationId'] }, InstanceId: { 'Fn::If': ['OnA', { Ref: 'A' }, { Ref: 'B' }] } },
    },
  },
};
const input = (which: 'A' | 'B') => ({ stack, store, provider, parameters, file: 'stack.json', text: JSON.stringify(template), params: { Image: image, Which: which } });
const hostOf = (logicalId: string) => `ip-${String(store.liveResources(stack).get(logicalId)?.state.attributes.PrivateIp).replace(/\./g, '-')}`;
const eipAddress = () => String(store.liveResources(stack).get('EipToServer')?.state.data?.address);

describe.sequential('an Elastic IP associated with an instance', () => {
  let address = '';

  test('makes its internet address reach the instance', async () => {
    const r = await deployStack(input('A'));
    expect(r.reason).toBeUndefined();
    address = eipAddress();
    expect(address).toMatch(/^198\.1[89]\.\d+\.\d+$/);
    expect(ask(address)).toBe(`pong ${hostOf('A')}`);
  }, 240_000);

  test("the instance's own traffic to the internet leaves with the Elastic IP's address", () => {
    const container = (store.liveResources(stack).get('A')?.state.data as { containers: Array<{ id: string }> }).containers[0]!.id;
    const seen = spawnSync('docker', ['exec', container, 'sh', '-c', `nc -w 3 ${outside.address} ${outside.port} </dev/null`], { encoding: 'utf8', timeout: 15_000 }).stdout.trim();
    expect(seen).toBe(address);
  }, 30_000);

  test('moving the association to the other instance moves the traffic and keeps the address', async () => {
    const r = await deployStack(input('B'));
    expect(r.reason).toBeUndefined();
    expect(eipAddress()).toBe(address);
    expect(ask(address)).toBe(`pong ${hostOf('B')}`);
    for (let i = 0; i < 3; i++) expect(ask(address)).not.toBe(`pong ${hostOf('A')}`);
  }, 240_000);

  test('destroying the stack takes the address away; the internet namespace stays for the hosts still plugged in', async () => {
    const d = await destroyStack({ stack, store, provider, parameters });
    expect(d).toMatchObject({ status: 'DELETE_COMPLETE' });
    expect(ask(address)).toBe('');
    // The client and the responder are still plugged in: the namespace stays for them.
    expect(await namespaceExists(internetNs())).toBe(true);
  }, 120_000);
});
