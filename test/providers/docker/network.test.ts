// VPCs and subnets: CIDR rules as AWS applies them, and two VPCs with the same CIDR (the same
// template deployed under two stack names) coexisting, each keeping its addresses, isolated.
import { afterAll, describe, expect, it } from 'vitest';
import { launchContainer } from '../../../src/providers/docker/launch.js';
import { availabilityZoneId, cidrContains, listVpcNamespaces, parseCidr, usableRange, intToIp } from '../../../src/providers/docker/network.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { World, httpGet, sh } from './ctx.js';

const world = new World();

afterAll(async () => {
  await world.cleanup();
});

describe('CIDR rules', () => {
  it('parses network blocks and refuses host bits or malformed text', () => {
    expect(parseCidr('10.0.0.0/16')).toMatchObject({ prefix: 16, size: 65536 });
    expect(parseCidr('10.0.0.1/16')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.300.0/24')).toBeUndefined();
    expect(cidrContains(parseCidr('10.0.0.0/16')!, parseCidr('10.0.255.0/24')!)).toBe(true);
    expect(cidrContains(parseCidr('10.0.0.0/16')!, parseCidr('10.1.0.0/24')!)).toBe(false);
  });

  it('keeps the first four and the last address of a subnet, as AWS reserves them', () => {
    const r = usableRange(parseCidr('10.0.1.0/24')!);
    expect([intToIp(r.first), intToIp(r.last)]).toEqual(['10.0.1.4', '10.0.1.254']);
  });

  it('names zone ids as AWS does', () => {
    expect(availabilityZoneId('eu-west-1a')).toBe('euw1-az1');
    expect(availabilityZoneId('us-east-1c')).toBe('use1-az3');
  });
});

describe('AWS::EC2::VPC and AWS::EC2::Subnet', () => {
  const stack = world.stack();

  it('refuses invalid blocks and subnets outside or overlapping, creating nothing', async () => {
    await expect(stack.create(vpcHandler, 'Bad', { CidrBlock: '10.0.0.1/16' })).rejects.toThrow(/not a valid CIDR block/);
    await expect(stack.create(vpcHandler, 'Bad', { CidrBlock: '10.0.0.0/8' })).rejects.toThrow(/between \/16 and \/28/);
    expect(await listVpcNamespaces(stack.name)).toEqual([]);
    const vpc = await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.9.0.0/16' });
    expect(vpc.physicalId).toMatch(/^vpc-[0-9a-f]{17}$/);
    expect(vpc.attributes).toMatchObject({ VpcId: vpc.physicalId, CidrBlock: '10.9.0.0/16' });
    expect(vpc.attributes.DefaultSecurityGroup).toMatch(/^sg-[0-9a-f]{17}$/);
    expect(vpc.attributes.DefaultNetworkAcl).toMatch(/^acl-[0-9a-f]{17}$/);
    await expect(stack.create(subnetHandler, 'Out', { VpcId: vpc.physicalId, CidrBlock: '10.10.1.0/24' })).rejects.toThrow(/not within the VPC/);
    const a = await stack.create(subnetHandler, 'A', { VpcId: vpc.physicalId, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'eu-west-1b' });
    expect(a.physicalId).toMatch(/^subnet-[0-9a-f]{17}$/);
    expect(a.attributes).toMatchObject({ SubnetId: a.physicalId, VpcId: vpc.physicalId, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'eu-west-1b', AvailabilityZoneId: 'euw1-az2' });
    await expect(stack.create(subnetHandler, 'Overlap', { VpcId: vpc.physicalId, CidrBlock: '10.9.1.128/25' })).rejects.toThrow(/conflicts with another subnet/);
    await expect(stack.create(subnetHandler, 'NoVpc', { VpcId: 'vpc-00000000000000000', CidrBlock: '10.9.2.0/24' })).rejects.toThrow(/does not exist/);
    // a VPC with a subnet cannot go, as on AWS
    const v = stack.get('Vpc');
    await expect(vpcHandler.delete(stack.ctx('Vpc', v.type), v.state, v.properties)).rejects.toThrow(/has dependencies/);
    await stack.delete(subnetHandler, 'A');
    await stack.delete(vpcHandler, 'Vpc');
    expect(await listVpcNamespaces(stack.name)).toEqual([]);
  });
});

describe('two VPCs with the same CIDR', () => {
  it('coexist, each with its own addresses, and cannot reach each other', async () => {
    const label = { 'kiln.test': 'network-same-cidr' };
    const made: Record<string, { server: string; client: string; serverIp: string; extraIp?: string }> = {};
    for (const name of ['blue', 'green']) {
      const stack = world.stack();
      const vpc = await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.88.0.0/16' });
      const subnet = await stack.create(subnetHandler, 'Subnet', { VpcId: vpc.physicalId, CidrBlock: '10.88.1.0/24' });
      const run = (logicalId: string, cmd: string[]) => launchContainer(stack.ctx(logicalId, 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: subnet.physicalId, labels: label, cmd });
      // the VPC's default group lets members reach each other
      const server = await run('Server', ['sh', '-c', `echo ${name} > /tmp/index.html; exec httpd -f -p 80 -h /tmp`]);
      const client = await run('Client', ['sleep', '600']);
      stack.live.set('Server', {
        stack: stack.name,
        logicalId: 'Server',
        type: 'AWS::EC2::Instance',
        properties: {},
        state: { physicalId: `i-${name}1`, attributes: {}, data: { containers: [server.data] } },
      });
      stack.live.set('Client', {
        stack: stack.name,
        logicalId: 'Client',
        type: 'AWS::EC2::Instance',
        properties: {},
        state: { physicalId: `i-${name}2`, attributes: {}, data: { containers: [client.data] } },
      });
      made[name] = { server: server.containerId, client: client.containerId, serverIp: server.privateIp };
      if (name === 'blue') {
        const extra = await run('Extra', ['sh', '-c', 'echo extra > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
        stack.live.set('Extra', {
          stack: stack.name,
          logicalId: 'Extra',
          type: 'AWS::EC2::Instance',
          properties: {},
          state: { physicalId: 'i-extra', attributes: {}, data: { containers: [extra.data] } },
        });
        made[name].extraIp = extra.privateIp;
      }
    }
    // same addresses in both VPCs
    expect(made.blue.serverIp).toBe('10.88.1.4');
    expect(made.green.serverIp).toBe('10.88.1.4');
    // each client reaches its own VPC's server at the shared address
    expect((await sh(made.blue.client, httpGet('10.88.1.4', 80))).out).toContain('blue');
    expect((await sh(made.green.client, httpGet('10.88.1.4', 80))).out).toContain('green');
    // blue's extra server (10.88.1.6) is reachable from blue, not from green
    expect(made.blue.extraIp).toBe('10.88.1.6');
    expect((await sh(made.blue.client, httpGet('10.88.1.6', 80))).out).toContain('extra');
    expect((await sh(made.green.client, httpGet('10.88.1.6', 80))).out).not.toContain('extra');
  });
});
