// The local account's EC2 objects, read from state: what `kiln network` lists (in the shape
// `aws ec2 describe-vpcs / describe-subnets / describe-security-groups / describe-key-pairs` give) and
// what AWS-specific parameter values (`AWS::EC2::VPC::Id`, `Subnet::Id`, …) must name. Pure: the rows
// are an input. Objects carry the tags CloudFormation puts on what a stack creates
// (`aws:cloudformation:stack-name`, `aws:cloudformation:logical-id`).
import type { Json, JsonObject } from '../stack/model.js';
import { isDefaultVpcStack } from '../providers/docker/default-vpc.js';

/** A live resource row as state keeps it (properties as deployed, the handler's state). */
export interface InventoryRow {
  stack: string;
  logicalId: string;
  type: string;
  physicalId: string;
  properties: JsonObject;
  state: { physicalId: string; attributes: Record<string, Json>; data?: JsonObject };
}

export interface Tag {
  Key: string;
  Value: string;
}

export interface Vpc {
  VpcId: string;
  CidrBlock: string;
  State: 'available';
  IsDefault: boolean;
  Tags: Tag[];
}
export interface Subnet {
  SubnetId: string;
  VpcId: string;
  AvailabilityZone: string;
  CidrBlock: string;
  MapPublicIpOnLaunch: boolean;
  State: 'available';
  Tags: Tag[];
}
export interface SecurityGroup {
  GroupId: string;
  GroupName: string;
  Description: string;
  VpcId: string;
  Tags: Tag[];
}
export interface KeyPair {
  KeyName: string;
  KeyPairId: string;
  KeyFingerprint: string;
  Tags: Tag[];
}
export interface Instance {
  InstanceId: string;
  ImageId: string;
  InstanceType: string;
  State: { Name: string };
  SubnetId: string;
  VpcId: string;
  PrivateIpAddress: string;
  Tags: Tag[];
}

export interface Inventory {
  Vpcs: Vpc[];
  Subnets: Subnet[];
  SecurityGroups: SecurityGroup[];
  KeyPairs: KeyPair[];
  Instances: Instance[];
}

const text = (...vs: Array<Json | undefined>): string => {
  for (const v of vs) if (typeof v === 'string' && v !== '') return v;
  return '';
};

const tags = (r: InventoryRow): Tag[] => [
  { Key: 'aws:cloudformation:stack-name', Value: r.stack },
  { Key: 'aws:cloudformation:logical-id', Value: r.logicalId },
];

/** The value of a tag (`aws:cloudformation:stack-name`…), '' when absent. */
export function tagValue(o: { Tags: Tag[] }, key: string): string {
  return o.Tags.find((t) => t.Key === key)?.Value ?? '';
}

export function inventoryOf(rows: readonly InventoryRow[]): Inventory {
  const inv: Inventory = { Vpcs: [], Subnets: [], SecurityGroups: [], KeyPairs: [], Instances: [] };
  const byName = (a: { Tags: Tag[] }, b: { Tags: Tag[] }) =>
    tagValue(a, 'aws:cloudformation:stack-name').localeCompare(tagValue(b, 'aws:cloudformation:stack-name')) ||
    tagValue(a, 'aws:cloudformation:logical-id').localeCompare(tagValue(b, 'aws:cloudformation:logical-id'));
  for (const r of rows) {
    const a = r.state.attributes;
    const p = r.properties;
    const d = r.state.data ?? {};
    switch (r.type) {
      case 'AWS::EC2::VPC': {
        inv.Vpcs.push({ VpcId: r.physicalId, CidrBlock: text(a.CidrBlock, p.CidrBlock), State: 'available', IsDefault: isDefaultVpcStack(r.stack), Tags: tags(r) });
        const defaultGroup = text(a.DefaultSecurityGroup);
        if (defaultGroup) inv.SecurityGroups.push({ GroupId: defaultGroup, GroupName: 'default', Description: 'default VPC security group', VpcId: r.physicalId, Tags: tags(r) });
        break;
      }
      case 'AWS::EC2::Subnet':
        inv.Subnets.push({
          SubnetId: r.physicalId,
          VpcId: text(a.VpcId, p.VpcId),
          AvailabilityZone: text(a.AvailabilityZone, p.AvailabilityZone),
          CidrBlock: text(a.CidrBlock, p.CidrBlock),
          MapPublicIpOnLaunch: p.MapPublicIpOnLaunch === true || p.MapPublicIpOnLaunch === 'true',
          State: 'available',
          Tags: tags(r),
        });
        break;
      case 'AWS::EC2::SecurityGroup':
        inv.SecurityGroups.push({
          GroupId: r.physicalId,
          GroupName: text(d.groupName, p.GroupName, `${r.stack}-${r.logicalId}`),
          Description: text(p.GroupDescription),
          VpcId: text(a.VpcId, p.VpcId),
          Tags: tags(r),
        });
        break;
      case 'AWS::EC2::KeyPair':
        inv.KeyPairs.push({ KeyName: r.physicalId, KeyPairId: text(a.KeyPairId), KeyFingerprint: text(a.KeyFingerprint), Tags: tags(r) });
        break;
      case 'AWS::EC2::Instance':
        inv.Instances.push({
          InstanceId: r.physicalId,
          ImageId: text(d.amiId, p.ImageId),
          InstanceType: text(d.instanceType, p.InstanceType),
          State: { Name: text(a.State, 'running') },
          SubnetId: text(p.SubnetId),
          VpcId: text(a.VpcId),
          PrivateIpAddress: text(a.PrivateIp),
          Tags: tags(r),
        });
        break;
    }
  }
  for (const list of Object.values(inv) as Array<Array<{ Tags: Tag[] }>>) list.sort(byName);
  return inv;
}

/** AWS-specific parameter types whose values must name something in the account, and where to look. */
export const ACCOUNT_TYPES: Readonly<Record<string, { what: string; plural: string; ids: (inv: Inventory) => Array<{ id: string; about: string }> }>> = {
  'AWS::EC2::VPC::Id': { what: 'VPC', plural: 'VPCs', ids: (inv) => inv.Vpcs.map((v) => ({ id: v.VpcId, about: `${v.CidrBlock}, stack ${stackOf(v)}` })) },
  'AWS::EC2::Subnet::Id': {
    what: 'subnet',
    plural: 'subnets',
    ids: (inv) => inv.Subnets.map((s) => ({ id: s.SubnetId, about: `${s.AvailabilityZone} ${s.CidrBlock} in ${s.VpcId}, stack ${stackOf(s)}` })),
  },
  'AWS::EC2::SecurityGroup::Id': {
    what: 'security group',
    plural: 'security groups',
    ids: (inv) => inv.SecurityGroups.map((g) => ({ id: g.GroupId, about: `${g.GroupName} in ${g.VpcId}, stack ${stackOf(g)}` })),
  },
  'AWS::EC2::KeyPair::KeyName': { what: 'key pair', plural: 'key pairs', ids: (inv) => inv.KeyPairs.map((k) => ({ id: k.KeyName, about: `stack ${stackOf(k)}` })) },
  'AWS::EC2::Instance::Id': {
    what: 'instance',
    plural: 'instances',
    ids: (inv) => inv.Instances.map((i) => ({ id: i.InstanceId, about: `${i.State.Name}${i.PrivateIpAddress ? ` ${i.PrivateIpAddress}` : ''}, stack ${stackOf(i)}` })),
  },
};

function stackOf(o: { Tags: Tag[] }): string {
  return tagValue(o, 'aws:cloudformation:stack-name');
}
