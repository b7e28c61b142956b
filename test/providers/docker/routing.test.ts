// Ways out of a VPC, on the real Docker engine: an internet gateway, route tables, a NAT gateway and
// network ACLs. "The internet" is a namespace this test plugs a responder into (outside.ts), at an
// address no VPC holds; the responder answers with the address it saw, so the test sees which way
// each packet left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchContainer, type Launched } from '../../../src/providers/docker/launch.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import {
  gatewayAttachmentHandler,
  internetGatewayHandler,
  natGatewayHandler,
  planRouting,
  routeHandler,
  routeTableHandler,
  subnetRouteTableAssociationHandler,
} from '../../../src/providers/docker/routing.js';
import { networkAclEntryHandler, networkAclHandler, subnetNetworkAclAssociationHandler } from '../../../src/providers/docker/nacl.js';
import { eipHandler, vpcCidrBlockHandler } from '../../../src/providers/docker/addresses.js';
import { World, httpGet, sh } from './ctx.js';
import { makeOutside, reachOut, type Outside } from './outside.js';

const world = new World();
const stack = world.stack();
const TEST = { 'kiln.test': 'routing' };
let outside: Outside;
const ids: Record<string, string> = {};
const vms: Record<string, Launched> = {};

beforeAll(async () => {
  outside = await makeOutside();
  const vpc = await stack.create(vpcHandler, 'Vpc', { CidrBlock: '10.77.0.0/16' });
  ids.vpc = vpc.physicalId;
  for (const [name, cidr] of [
    ['Public', '10.77.1.0/24'],
    ['Private', '10.77.2.0/24'],
    ['Isolated', '10.77.3.0/24'],
  ])
    ids[name] = (await stack.create(subnetHandler, name, { VpcId: ids.vpc, CidrBlock: cidr })).physicalId;
  const web = ['sh', '-c', 'echo hello > /tmp/index.html; exec httpd -f -p 80 -h /tmp'];
  for (const name of ['Public', 'Private', 'Isolated'])
    vms[name] = await launchContainer(stack.ctx(`${name}Vm`, 'AWS::EC2::Instance'), { image: 'busybox:latest', subnetId: ids[name], labels: TEST, name: name.toLowerCase(), cmd: web });
}, 120_000);

afterAll(async () => {
  await outside?.close();
  await world.cleanup();
});

const from = (name: string) => sh(vms[name].containerId, reachOut(outside));

describe('routes to an internet gateway and a NAT gateway', () => {
  it('gives a VPC without a gateway no way out', async () => {
    const seen = await Promise.all(['Public', 'Private', 'Isolated'].map(from));
    for (const s of seen) expect(s.out).not.toMatch(/^\d/);
  });

  it('lets a subnet whose route table leads to the attached internet gateway reach the outside, from the VPC uplink address', async () => {
    ids.igw = (await stack.create(internetGatewayHandler, 'Igw', {})).physicalId;
    expect(ids.igw).toMatch(/^igw-[0-9a-f]{17}$/);
    const rtb = await stack.create(routeTableHandler, 'PublicRt', { VpcId: ids.vpc });
    expect(rtb.physicalId).toMatch(/^rtb-[0-9a-f]{17}$/);
    // A route to a gateway not attached to the VPC is refused, as AWS refuses it.
    await expect(stack.create(routeHandler, 'Early', { RouteTableId: rtb.physicalId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: ids.igw })).rejects.toThrow(/belong to different networks/);
    const att = await stack.create(gatewayAttachmentHandler, 'Attach', { VpcId: ids.vpc, InternetGatewayId: ids.igw });
    await stack.create(routeHandler, 'PublicDefault', { RouteTableId: rtb.physicalId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: ids.igw });
    const assoc = await stack.create(subnetRouteTableAssociationHandler, 'PublicAssoc', { SubnetId: ids.Public, RouteTableId: rtb.physicalId });
    expect(assoc.physicalId).toMatch(/^rtbassoc-[0-9a-f]{17}$/);
    const seen = await from('Public');
    expect(seen.out.trim()).toBe(att.data?.uplink);
    // The others still have only their VPC.
    expect((await from('Private')).out).not.toMatch(/^\d/);
    expect((await from('Isolated')).out).not.toMatch(/^\d/);
  });

  it('lets a private subnet reach out only through its NAT gateway, from the NAT gateway address', async () => {
    const eip = await stack.create(eipHandler, 'NatEip', { Domain: 'vpc' });
    expect(eip.attributes.AllocationId).toMatch(/^eipalloc-[0-9a-f]{17}$/);
    expect(eip.attributes.PublicIp).toMatch(/^127\.\d+\.\d+\.\d+$/);
    const nat = await stack.create(natGatewayHandler, 'Nat', { SubnetId: ids.Public, AllocationId: String(eip.attributes.AllocationId) });
    expect(nat.physicalId).toMatch(/^nat-[0-9a-f]{17}$/);
    const rtb = await stack.create(routeTableHandler, 'PrivateRt', { VpcId: ids.vpc });
    await stack.create(subnetRouteTableAssociationHandler, 'PrivateAssoc', { SubnetId: ids.Private, RouteTableId: rtb.physicalId });
    expect((await from('Private')).out).not.toMatch(/^\d/);
    await stack.create(routeHandler, 'PrivateDefault', { RouteTableId: rtb.physicalId, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: nat.physicalId });
    expect((await from('Private')).out.trim()).toBe(nat.data?.address);
    expect(nat.data?.address).not.toBe(stack.get('Attach').state.data?.uplink);
    // Without the NAT gateway the private subnet has no way out again; the public one keeps its own.
    await stack.delete(natGatewayHandler, 'Nat');
    expect((await from('Private')).out).not.toMatch(/^\d/);
    expect((await from('Public')).out.trim()).toBe(stack.get('Attach').state.data?.uplink);
    expect((await from('Isolated')).out).not.toMatch(/^\d/);
  });

  it('computes a subnet without an association as having only the local route', () => {
    const plan = planRouting(ids.vpc, [...stack.live.values()]);
    expect(plan.tables.find((t) => t.subnetId === ids.Isolated)?.routes).toEqual(['10.77.0.0/16 dev br0', 'unreachable default']);
  });
});

describe('network ACLs', () => {
  it('are stateless rules in rule-number order: egress allowed, then refused by a deny rule with a lower number', async () => {
    const acl = await stack.create(networkAclHandler, 'PublicAcl', { VpcId: ids.vpc });
    expect(acl.physicalId).toMatch(/^acl-[0-9a-f]{17}$/);
    const entry = (n: string, p: Record<string, unknown>) => stack.create(networkAclEntryHandler, n, { NetworkAclId: acl.physicalId, ...p } as never);
    await entry('OutAll', { RuleNumber: 100, Protocol: -1, RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' });
    // Replies come back to an ephemeral port: a stateless ACL must allow them explicitly.
    await entry('InEphemeral', { RuleNumber: 100, Protocol: 6, RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0', PortRange: { From: 1024, To: 65535 } });
    await stack.create(subnetNetworkAclAssociationHandler, 'PublicAclAssoc', { SubnetId: ids.Public, NetworkAclId: acl.physicalId });
    expect((await from('Public')).out).toMatch(/^198\.1[89]\./);
    await entry('OutDenyOutside', { RuleNumber: 50, Protocol: 6, RuleAction: 'deny', Egress: true, CidrBlock: `${outside.address}/32`, PortRange: { From: outside.port, To: outside.port } });
    expect((await from('Public')).out).not.toMatch(/^\d/);
    await stack.delete(networkAclEntryHandler, 'OutDenyOutside');
    expect((await from('Public')).out).toMatch(/^198\.1[89]\./);
    // Without the ephemeral-port rule the replies are dropped: the ACL does not track connections.
    await stack.delete(networkAclEntryHandler, 'InEphemeral');
    expect((await from('Public')).out).not.toMatch(/^\d/);
    await stack.delete(subnetNetworkAclAssociationHandler, 'PublicAclAssoc');
    expect((await from('Public')).out).toMatch(/^198\.1[89]\./);
  });

  it('filter ingress at the subnet boundary: allowed from one subnet, refused from another, open within the subnet', async () => {
    const acl = await stack.create(networkAclHandler, 'PrivateAcl', { VpcId: ids.vpc });
    const entry = (n: string, p: Record<string, unknown>) => stack.create(networkAclEntryHandler, n, { NetworkAclId: acl.physicalId, ...p } as never);
    await entry('PrivOut', { RuleNumber: 100, Protocol: -1, RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' });
    await entry('PrivInWeb', { RuleNumber: 100, Protocol: 6, RuleAction: 'allow', Egress: false, CidrBlock: '10.77.1.0/24', PortRange: { From: 80, To: 80 } });
    await entry('PrivInDenyIsolated', { RuleNumber: 90, Protocol: -1, RuleAction: 'deny', Egress: false, CidrBlock: '10.77.3.0/24' });
    await stack.create(subnetNetworkAclAssociationHandler, 'PrivateAclAssoc', { SubnetId: ids.Private, NetworkAclId: acl.physicalId });
    const target = vms.Private.privateIp;
    expect((await sh(vms.Public.containerId, httpGet(target, 80))).out).toMatch(/hello/);
    expect((await sh(vms.Isolated.containerId, httpGet(target, 80))).out).not.toMatch(/hello/);
    await expect(
      stack.create(networkAclEntryHandler, 'Dup', { NetworkAclId: acl.physicalId, RuleNumber: 90, Protocol: -1, RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' }),
    ).rejects.toThrow(/already exists/);
    await expect(
      stack.create(networkAclEntryHandler, 'Bad', { NetworkAclId: acl.physicalId, RuleNumber: 40000, Protocol: -1, RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' }),
    ).rejects.toThrow(/RuleNumber/);
  });
});

describe('an Amazon-provided IPv6 block', () => {
  it('is a unique local /56 that the VPC shows and an association returns', async () => {
    const vpc = stack.get('Vpc').state;
    const block = (vpc.attributes.Ipv6CidrBlocks as string[])[0];
    expect(block).toMatch(/^fd[0-9a-f]{2}:[0-9a-f]{4}:[0-9a-f]{4}::\/56$/);
    const assoc = await stack.create(vpcCidrBlockHandler, 'V6', { VpcId: ids.vpc, AmazonProvidedIpv6CidrBlock: true });
    expect(assoc.data?.ipv6).toBe(block);
    expect(assoc.physicalId).toMatch(/^vpc-cidr-assoc-[0-9a-f]{17}$/);
  });
});
