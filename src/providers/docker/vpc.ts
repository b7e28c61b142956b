// The AWS::EC2::VPC and AWS::EC2::Subnet handlers on the local target. How a VPC is made (a network
// namespace with a bridge, veth ports, kiln's own address allocation) is in network.ts; a VPC's
// delete also stops its instance metadata service (imds.ts), which is why the handlers live above both.
import { KilnError } from '../../core/errors.js';
import { defaultRegion } from '../../core/region.js';
import type { ResourceState } from '../../model/provider.js';
import type { Json } from '../../stack/model.js';
import type { DockerHandler } from './context.js';
import { newId } from './ids.js';
import { removeMetadataService } from './imds.js';
import {
  availabilityZoneId,
  checkBlock,
  cidrContains,
  cidrOverlaps,
  createVpcNetwork,
  deleteVpcNetwork,
  namespaceExists,
  NetworkState,
  parseCidr,
  removePublicNetwork,
  ulaBlockFor,
  vpcNamespace,
  vpcPorts,
} from './network.js';

function bool(v: Json | undefined): boolean {
  return v === true || v === 'true';
}

export const vpcHandler: DockerHandler = {
  type: 'AWS::EC2::VPC',
  effect: 'real',
  async create(ctx, props) {
    if (props.Ipv4IpamPoolId !== undefined) throw new KilnError('UNSUPPORTED_ON_LOCAL', 'AWS::EC2::VPC Ipv4IpamPoolId: IPAM pools have no local meaning; give CidrBlock', 'user');
    const cidr = checkBlock(props.CidrBlock, 'VPC');
    const vpcId = newId('vpc');
    const ns = vpcNamespace(ctx.stack, vpcId);
    ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `creating network namespace ${ns} (${cidr.text})` });
    await createVpcNetwork(ns);
    const defaultSecurityGroup = newId('sg');
    const defaultNetworkAcl = newId('acl');
    return {
      physicalId: vpcId,
      attributes: {
        VpcId: vpcId,
        CidrBlock: cidr.text,
        CidrBlockAssociations: [`vpc-cidr-assoc-${vpcId.slice(4)}`],
        DefaultNetworkAcl: defaultNetworkAcl,
        DefaultSecurityGroup: defaultSecurityGroup,
        // The block an AmazonProvidedIpv6CidrBlock association (VPCCidrBlock) gets: see addresses.ts.
        Ipv6CidrBlocks: [ulaBlockFor(vpcId)],
      },
      data: { netns: ns, cidr: cidr.text, defaultSecurityGroup, defaultNetworkAcl, enableDnsHostnames: bool(props.EnableDnsHostnames) },
    };
  },
  async update(_ctx, props, previous) {
    // CidrBlock and the IPAM properties replace (the planner knows); the rest (Tags, DNS flags) is recorded.
    return { ...previous.state, data: { ...(previous.state.data ?? {}), enableDnsHostnames: bool(props.EnableDnsHostnames) } };
  },
  async delete(ctx, state) {
    const ns = String(state.data?.netns ?? vpcNamespace(ctx.stack, state.physicalId));
    const subnets = ctx.allResources().filter((r) => r.type === 'AWS::EC2::Subnet' && r.state.data?.vpcId === state.physicalId);
    const ports = await vpcPorts(ns);
    if (subnets.length || ports.length)
      throw new KilnError(
        'DEPENDENCY_VIOLATION',
        `The vpc '${state.physicalId}' has dependencies and cannot be deleted. (${[...subnets.map((s) => `subnet ${s.state.physicalId}`), ...(ports.length ? [`${ports.length} attached container(s)`] : [])].join(', ')})`,
        'user',
      );
    await removePublicNetwork(ctx, state.physicalId);
    await removeMetadataService(ctx, state.physicalId, ns);
    await deleteVpcNetwork(ns);
  },
  async read(ctx, state) {
    const ns = String(state.data?.netns ?? vpcNamespace(ctx.stack, state.physicalId));
    if (!(await namespaceExists(ns))) return { drift: [] };
    return { state, drift: [] };
  },
};

export const subnetHandler: DockerHandler = {
  type: 'AWS::EC2::Subnet',
  effect: 'real',
  async create(ctx, props) {
    for (const k of ['Ipv4IpamPoolId', 'Ipv6IpamPoolId', 'OutpostArn']) if (props[k] !== undefined) throw new KilnError('UNSUPPORTED_ON_LOCAL', `AWS::EC2::Subnet ${k} has no local meaning`, 'user');
    const vpcId = String(props.VpcId ?? '');
    const vpc = ctx.lookup(vpcId);
    if (!vpc || vpc.type !== 'AWS::EC2::VPC' || !vpc.state.data) throw new KilnError('VPC_NOT_FOUND', `The vpc ID '${vpcId}' does not exist (InvalidVpcID.NotFound)`, 'user');
    const vpcCidr = parseCidr(String(vpc.state.data.cidr));
    const cidr = checkBlock(props.CidrBlock, 'subnet');
    if (!vpcCidr || !cidrContains(vpcCidr, cidr))
      throw new KilnError('INVALID_SUBNET_RANGE', `The CIDR '${cidr.text}' is invalid: it is not within the VPC's ${String(vpc.state.data.cidr)} (InvalidSubnet.Range)`, 'user');
    const made = ctx.local.of(NetworkState).subnets;
    const siblings = [...ctx.allResources().filter((r) => r.type === 'AWS::EC2::Subnet'), ...[...made.values()].map((o) => o.res)].filter((r) => r.state.data?.vpcId === vpcId);
    for (const s of siblings) {
      const other = parseCidr(String(s.state.data?.cidr));
      if (other && cidrOverlaps(other, cidr))
        throw new KilnError('SUBNET_CONFLICT', `The CIDR '${cidr.text}' conflicts with another subnet (${s.state.physicalId} ${other.text}) (InvalidSubnet.Conflict)`, 'user');
    }
    const az = typeof props.AvailabilityZone === 'string' && props.AvailabilityZone ? props.AvailabilityZone : `${defaultRegion()}a`;
    const subnetId = newId('subnet');
    const state: ResourceState = {
      physicalId: subnetId,
      attributes: {
        SubnetId: subnetId,
        VpcId: vpcId,
        CidrBlock: cidr.text,
        AvailabilityZone: az,
        AvailabilityZoneId: availabilityZoneId(az),
        Ipv6CidrBlocks: [],
        NetworkAclAssociationId: `aclassoc-${subnetId.slice(7)}`,
        OutpostArn: '',
      },
      data: {
        vpcId,
        vpcLogicalId: vpc.logicalId,
        netns: String(vpc.state.data.netns),
        cidr: cidr.text,
        vpcCidr: vpcCidr.text,
        availabilityZone: az,
        mapPublicIpOnLaunch: bool(props.MapPublicIpOnLaunch),
      },
    };
    made.set(subnetId, { res: { stack: ctx.stack, logicalId: ctx.logicalId, type: 'AWS::EC2::Subnet', properties: props, state } });
    return state;
  },
  async update(ctx, props, previous) {
    // VpcId, CidrBlock and AvailabilityZone replace; MapPublicIpOnLaunch and Tags change in place.
    const state = { ...previous.state, data: { ...(previous.state.data ?? {}), mapPublicIpOnLaunch: bool(props.MapPublicIpOnLaunch) } };
    const o = ctx.local.of(NetworkState).subnets.get(state.physicalId);
    if (o) o.res = { ...o.res, properties: props, state };
    return state;
  },
  async delete(ctx, state) {
    const members = await ctx.docker.listContainers({ all: true, labels: [`kiln.subnet=${state.physicalId}`] });
    if (members.length)
      throw new KilnError(
        'DEPENDENCY_VIOLATION',
        `The subnet '${state.physicalId}' has dependencies and cannot be deleted. (${members.length} container(s): ${members.map((m) => m.Names[0]?.replace(/^\//, '')).join(', ')})`,
        'user',
      );
    ctx.local.of(NetworkState).subnets.delete(state.physicalId);
  },
  async read(ctx, state) {
    const ns = String(state.data?.netns ?? '');
    if (!ns || !(await namespaceExists(ns))) return { drift: [] };
    return { state, drift: [] };
  },
};
