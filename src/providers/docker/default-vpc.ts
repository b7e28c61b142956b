// The default VPC every AWS account has in every region: 172.31.0.0/16, one default subnet (a /20,
// public addresses on launch) per availability zone, and the VPC's default security group. A group
// without `VpcId`, an instance without `SubnetId`, an Auto Scaling group given only
// `AvailabilityZones`, a classic load balancer given only `AvailabilityZones`: on AWS they all land
// there, and so they do here.
//
// Locally the default VPC of a region is an ordinary stack, `kiln-default-vpc-<region>`, made from the
// template below on first need (src/deploy/index.ts deploys it before the stack that needs it, and
// the plan says so). Being a stack it is in state like any other: `kiln status` and `kiln network`
// list it (IsDefault: true), handlers find its subnets with `ctx.resources(stack)`, and `kiln destroy
// kiln-default-vpc-<region>` removes it (refused while something still runs in it).
//
// One deviation: on AWS `Ref` of a group made without `VpcId` returns its name; here it returns the
// group id (sg-…), which every property that takes a group accepts (names are looked up too).
import { KilnError } from '../../core/errors.js';
import type { JsonObject } from '../../stack/model.js';
import { getAZs } from '../../stack/intrinsics.js';
import type { KnownResource, ResourceContext } from '../../model/provider.js';
import { defaultRegion } from './network.js';

export const DEFAULT_VPC_CIDR = '172.31.0.0/16';

/** The stack holding a region's default VPC. */
export function defaultVpcStack(region: string = defaultRegion()): string {
  return `kiln-default-vpc-${region}`;
}

export function isDefaultVpcStack(stack: string): boolean {
  return /^kiln-default-vpc-[a-z0-9-]+$/.test(stack);
}

/** The subnets AWS gives a default VPC: 172.31.0.0/20, 172.31.16.0/20, … one per zone, in zone order. */
export function defaultSubnets(region: string): Array<{ az: string; cidr: string; logicalId: string }> {
  return getAZs(region).map((az, i) => ({ az, cidr: `172.31.${i * 16}.0/20`, logicalId: `DefaultSubnet${az.replace(/[^a-z0-9]/g, '').replace(/^./, (c) => c.toUpperCase())}` }));
}

/** The template of a region's default VPC (JSON text). */
export function defaultVpcTemplate(region: string): string {
  const resources: Record<string, JsonObject> = {
    DefaultVpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: DEFAULT_VPC_CIDR, EnableDnsSupport: true, EnableDnsHostnames: true } },
  };
  for (const s of defaultSubnets(region))
    resources[s.logicalId] = { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'DefaultVpc' }, CidrBlock: s.cidr, AvailabilityZone: s.az, MapPublicIpOnLaunch: true } };
  const outputs = { VpcId: { Value: { Ref: 'DefaultVpc' } }, DefaultSecurityGroup: { Value: { 'Fn::GetAtt': ['DefaultVpc', 'DefaultSecurityGroup'] } } };
  return JSON.stringify({ AWSTemplateFormatVersion: '2010-09-09', Description: `The default VPC of ${region} (made by kiln on first need)`, Resources: resources, Outputs: outputs }, null, 2);
}

const blank = (v: unknown): boolean => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * Why a resource of a template lands in the default VPC, or undefined when it does not. Pure: it
 * reads properties as written (a reference counts as given).
 */
export function defaultVpcReason(type: string, props: JsonObject): string | undefined {
  switch (type) {
    case 'AWS::EC2::SecurityGroup':
      return blank(props.VpcId) ? 'a security group without VpcId' : undefined;
    case 'AWS::EC2::Instance': {
      const nis = Array.isArray(props.NetworkInterfaces) ? props.NetworkInterfaces : [];
      const niSubnet = nis.some((n) => n && typeof n === 'object' && !Array.isArray(n) && !blank(n.SubnetId));
      return blank(props.SubnetId) && !niSubnet ? 'an instance without SubnetId' : undefined;
    }
    case 'AWS::AutoScaling::AutoScalingGroup':
      return blank(props.VPCZoneIdentifier) ? 'an Auto Scaling group with AvailabilityZones only' : undefined;
    case 'AWS::ElasticLoadBalancing::LoadBalancer':
      return blank(props.Subnets) ? 'a load balancer with AvailabilityZones' : undefined;
    case 'AWS::EC2::SecurityGroupIngress':
    case 'AWS::EC2::SecurityGroupEgress':
      return blank(props.GroupId) && !blank(props.GroupName) ? 'a rule naming its group by GroupName' : undefined;
    default:
      return undefined;
  }
}

/** The resources of `resources` that land in the default VPC, with why (empty: it is not needed). */
export function defaultVpcUsers(resources: Readonly<Record<string, { type: string; properties: JsonObject }>>): Array<{ logicalId: string; reason: string }> {
  const out: Array<{ logicalId: string; reason: string }> = [];
  for (const [logicalId, r] of Object.entries(resources)) {
    const reason = defaultVpcReason(r.type, r.properties);
    if (reason) out.push({ logicalId, reason });
  }
  return out;
}

export interface DefaultVpc {
  vpcId: string;
  defaultSecurityGroup: string;
  /** Default subnets by availability zone, in zone order. */
  subnets: Array<{ subnetId: string; az: string }>;
}

/** The region's default VPC as state has it; a KilnError when it was not made (deploy makes it first). */
export function defaultVpc(ctx: ResourceContext, region: string = defaultRegion()): DefaultVpc {
  const stack = defaultVpcStack(region);
  const rows: KnownResource[] = ctx.resources(stack);
  const vpc = rows.find((r) => r.type === 'AWS::EC2::VPC');
  if (!vpc)
    throw new KilnError(
      'DEFAULT_VPC_MISSING',
      `the default VPC of ${region} (stack ${stack}) does not exist: deploy the stack with kiln deploy, which makes it first (No default VPC for this user)`,
      'user',
    );
  const subnets = rows
    .filter((r) => r.type === 'AWS::EC2::Subnet' && r.state.data?.vpcId === vpc.state.physicalId)
    .map((r) => ({ subnetId: r.state.physicalId, az: String(r.state.attributes.AvailabilityZone ?? '') }))
    .sort((a, b) => a.az.localeCompare(b.az));
  return { vpcId: vpc.state.physicalId, defaultSecurityGroup: String(vpc.state.attributes.DefaultSecurityGroup ?? ''), subnets };
}

/** The default subnet of zone `az` (or of the first zone when none is asked for). */
export function defaultSubnetFor(ctx: ResourceContext, az?: string): string {
  const d = defaultVpc(ctx, az ? az.replace(/[a-z]$/, '') : undefined);
  const hit = az ? d.subnets.find((s) => s.az === az) : d.subnets[0];
  if (!hit) throw new KilnError('INVALID_AZ', `Value (${az ?? ''}) for parameter availabilityZone is invalid: the default VPC has subnets in ${d.subnets.map((s) => s.az).join(', ')}`, 'user');
  return hit.subnetId;
}

/** The default subnets of the given zones (all when `zones` is empty). */
export function defaultSubnetsOf(ctx: ResourceContext, zones: string[]): string[] {
  if (!zones.length) return defaultVpc(ctx).subnets.map((s) => s.subnetId);
  return zones.map((az) => defaultSubnetFor(ctx, az));
}
