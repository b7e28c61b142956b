// Addresses on the local target: Elastic IPs, extra VPC blocks, network interfaces.
//
// * An Elastic IP is a loopback address of its own (`127.a.b.c`, handed out as load balancers' are,
//   network.ts): stable for the allocation's life, reachable from the host and from nowhere else,
//   which is what "public" means locally. A NAT gateway takes one (`AllocationId`); the address its
//   translated packets carry in kiln's internet is another one (routing.ts), since a loopback address
//   cannot be a packet's source outside the host. An association (`EIPAssociation`, routing.ts) gives
//   the allocation such an internet address too, translated to the instance's private one.
// * `AmazonProvidedIpv6CidrBlock` gets the VPC's unique local /56 (`fdXX:XXXX:XXXX::/56`, derived from
//   the VPC id, see `ulaBlockFor`): the VPC's `Ipv6CidrBlocks` attribute shows it from the start, so
//   subnets that carve it with `Fn::Cidr` validate and deploy. Local interfaces carry IPv4 only.
import { KilnError } from '../../core/errors.js';
import type { Json } from '../../stack/model.js';
import type { ResourceState } from '../../model/provider.js';
import type { DockerHandler } from './context.js';
import { newId } from './ids.js';
import { allocateAddress, allocateLoopback, checkBlock, cidrOverlaps, parseCidr, releaseAddress, releaseLoopback, subnetInfo, ulaBlockFor } from './network.js';

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

export const eipHandler: DockerHandler = {
  type: 'AWS::EC2::EIP',
  effect: 'real',
  async create(ctx, props) {
    if (str(props.Domain) && str(props.Domain) !== 'vpc')
      throw new KilnError('UNSUPPORTED_ON_LOCAL', `AWS::EC2::EIP Domain '${str(props.Domain)}': only vpc addresses exist (EC2-Classic is retired)`, 'user');
    for (const k of ['PublicIpv4Pool', 'IpamPoolId', 'TransferAddress']) if (props[k] !== undefined) throw new KilnError('UNSUPPORTED_ON_LOCAL', `AWS::EC2::EIP ${k} has no local meaning`, 'user');
    const allocationId = newId('eipalloc');
    const taken = new Set(ctx.allResources().flatMap((r) => (r.type === 'AWS::EC2::EIP' ? [str(r.state.attributes.PublicIp)] : [])));
    let publicIp = await allocateLoopback(ctx, `${ctx.stack}/${ctx.logicalId}/eip`);
    for (let i = 0; taken.has(publicIp) && i < 16; i++) publicIp = await allocateLoopback(ctx, `${ctx.stack}/${ctx.logicalId}/eip/${i}`);
    const instanceId = str(props.InstanceId);
    if (instanceId && ctx.lookup(instanceId)?.type !== 'AWS::EC2::Instance')
      throw new KilnError('INSTANCE_NOT_FOUND', `The instance ID '${instanceId}' does not exist (InvalidInstanceID.NotFound)`, 'user');
    return { physicalId: publicIp, attributes: { AllocationId: allocationId, PublicIp: publicIp }, data: { allocationId, publicIp, ...(instanceId ? { instanceId } : {}) } };
  },
  async update(_ctx, props, previous) {
    return { ...previous.state, data: { ...(previous.state.data ?? {}), instanceId: str(props.InstanceId) } };
  },
  async delete(ctx, state) {
    const user = ctx.allResources().find((r) => r.type === 'AWS::EC2::NatGateway' && r.state.data?.allocationId === state.attributes.AllocationId);
    if (user)
      throw new KilnError(
        'DEPENDENCY_VIOLATION',
        `The address with allocation id [${str(state.attributes.AllocationId)}] is in use by ${user.state.physicalId} (AuthFailure/InvalidIPAddress.InUse)`,
        'user',
      );
    releaseLoopback(ctx, state.physicalId);
  },
};

export const vpcCidrBlockHandler: DockerHandler = {
  type: 'AWS::EC2::VPCCidrBlock',
  effect: 'real',
  async create(ctx, props): Promise<ResourceState> {
    const vpcId = str(props.VpcId);
    const vpc = ctx.lookup(vpcId);
    if (!vpc || vpc.type !== 'AWS::EC2::VPC' || !vpc.state.data) throw new KilnError('VPC_NOT_FOUND', `The vpc ID '${vpcId}' does not exist (InvalidVpcID.NotFound)`, 'user');
    for (const k of ['Ipv4IpamPoolId', 'Ipv6IpamPoolId', 'Ipv6Pool'])
      if (props[k] !== undefined) throw new KilnError('UNSUPPORTED_ON_LOCAL', `AWS::EC2::VPCCidrBlock ${k} has no local meaning`, 'user');
    const v6 = props.AmazonProvidedIpv6CidrBlock === true || props.AmazonProvidedIpv6CidrBlock === 'true';
    const given = [str(props.CidrBlock), str(props.Ipv6CidrBlock), v6 ? 'amazon' : ''].filter(Boolean);
    if (given.length !== 1) throw new KilnError('INVALID_PARAMETER', 'AWS::EC2::VPCCidrBlock: give exactly one of CidrBlock, Ipv6CidrBlock, AmazonProvidedIpv6CidrBlock', 'user');
    const id = `vpc-cidr-assoc-${newId('vpc').slice(4)}`;
    if (str(props.CidrBlock)) {
      const block = checkBlock(props.CidrBlock, 'VPC');
      const primary = parseCidr(str(vpc.state.data.cidr));
      if (primary && cidrOverlaps(primary, block)) throw new KilnError('INVALID_VPC_RANGE', `The CIDR '${block.text}' conflicts with the VPC's ${primary.text} (InvalidVpc.Range)`, 'user');
      return { physicalId: id, attributes: { Id: id, IpSource: 'none', Ipv6AddressAttribute: '' }, data: { vpcId, cidr: block.text } };
    }
    const ipv6 = v6 ? ulaBlockFor(vpcId) : str(props.Ipv6CidrBlock).toLowerCase();
    return { physicalId: id, attributes: { Id: id, IpSource: v6 ? 'amazon' : 'none', Ipv6AddressAttribute: 'private' }, data: { vpcId, ipv6 } };
  },
  async delete() {},
};

export const networkInterfaceHandler: DockerHandler = {
  type: 'AWS::EC2::NetworkInterface',
  effect: 'real',
  async create(ctx, props) {
    const subnetId = str(props.SubnetId);
    const subnet = subnetInfo(ctx, subnetId);
    const cidr = parseCidr(subnet.cidr);
    if (!cidr) throw new KilnError('SUBNET_STATE', `subnet ${subnetId} has no valid CIDR in state`, 'internal');
    const groups = Array.isArray(props.GroupSet) ? props.GroupSet.map((g) => str(g)) : [];
    for (const g of groups) {
      const sg = ctx.lookup(g);
      if (!sg || sg.type !== 'AWS::EC2::SecurityGroup') throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${g}' does not exist (InvalidGroup.NotFound)`, 'user');
    }
    const ip = await allocateAddress(ctx, subnet.vpcId, cidr, subnetId, str(props.PrivateIpAddress) || undefined);
    const id = newId('eni');
    const state: ResourceState = {
      physicalId: id,
      attributes: { Id: id, PrimaryPrivateIpAddress: ip, SecondaryPrivateIpAddresses: [], PrimaryIpv6Address: '', Ipv6Addresses: [], VpcId: subnet.vpcId },
      data: { vpcId: subnet.vpcId, subnetId, ip, groups },
    };
    return state;
  },
  async update(_ctx, _props, previous) {
    return previous.state;
  },
  async delete(ctx, state) {
    releaseAddress(ctx, str(state.data?.vpcId), str(state.data?.ip));
  },
};

export const addressHandlers: DockerHandler[] = [eipHandler, vpcCidrBlockHandler, networkInterfaceHandler];
