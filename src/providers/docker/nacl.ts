// AWS::EC2::NetworkAcl, NetworkAclEntry and SubnetNetworkAclAssociation on the local target: every
// change recomputes the packet filters of the VPC's members (firewall.ts), which carry the chains of
// their subnet's ACL (nacl-rules.ts).
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { KnownResource, ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { reconcileFirewalls } from './firewall.js';
import { newId } from './ids.js';
import { AclState, aclResources, parseAclEntry } from './nacl-rules.js';

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

function note(ctx: DockerContext, state: ResourceState, props: JsonObject, removed = false): void {
  ctx.local.of(AclState).overlay.set(state.physicalId, removed ? null : { stack: ctx.stack, logicalId: ctx.logicalId, type: ctx.type, properties: props, state });
}

function find(ctx: DockerContext, type: string, id: string): KnownResource | undefined {
  return aclResources(ctx).find((r) => r.type === type && r.state.physicalId === id) ?? (ctx.lookup(id)?.type === type ? ctx.lookup(id) : undefined);
}

function aclOf(ctx: DockerContext, aclId: string): KnownResource {
  const acl = find(ctx, 'AWS::EC2::NetworkAcl', aclId);
  if (!acl) throw new KilnError('NETWORK_ACL_NOT_FOUND', `The networkAcl ID '${aclId}' does not exist (InvalidNetworkAclID.NotFound)`, 'user');
  return acl;
}

export const networkAclHandler: DockerHandler = {
  type: 'AWS::EC2::NetworkAcl',
  effect: 'real',
  async create(ctx, props) {
    const vpcId = str(props.VpcId);
    const vpc = ctx.lookup(vpcId);
    if (!vpc || vpc.type !== 'AWS::EC2::VPC') throw new KilnError('VPC_NOT_FOUND', `The vpc ID '${vpcId}' does not exist (InvalidVpcID.NotFound)`, 'user');
    const id = newId('acl');
    const state: ResourceState = { physicalId: id, attributes: { Id: id }, data: { vpcId } };
    note(ctx, state, props);
    return state;
  },
  async update(_ctx, _props, previous) {
    return previous.state;
  },
  async delete(ctx, state, props) {
    const used = aclResources(ctx).filter((r) => r.type === 'AWS::EC2::SubnetNetworkAclAssociation' && r.state.data?.aclId === state.physicalId);
    if (used.length)
      throw new KilnError(
        'DEPENDENCY_VIOLATION',
        `The networkAcl '${state.physicalId}' has dependencies and cannot be deleted (associated with ${used.map((u) => str(u.state.data?.subnetId)).join(', ')}).`,
        'user',
      );
    note(ctx, state, props, true);
  },
};

function entryState(ctx: DockerContext, props: JsonObject): ResourceState {
  const aclId = str(props.NetworkAclId);
  const acl = aclOf(ctx, aclId);
  const entry = parseAclEntry(props);
  if (typeof entry === 'string') throw new KilnError('INVALID_NETWORK_ACL_ENTRY', `AWS::EC2::NetworkAclEntry: ${entry}`, 'user');
  const id = `${aclId}|${entry.egress ? 'egress' : 'ingress'}|${entry.ruleNumber}`;
  return { physicalId: id, attributes: { Id: id }, data: { aclId, vpcId: str(acl.state.data?.vpcId), entry: entry as unknown as JsonObject } };
}

export const networkAclEntryHandler: DockerHandler = {
  type: 'AWS::EC2::NetworkAclEntry',
  effect: 'real',
  async create(ctx, props) {
    const state = entryState(ctx, props);
    if (aclResources(ctx).some((r) => r.type === 'AWS::EC2::NetworkAclEntry' && r.state.physicalId === state.physicalId))
      throw new KilnError('NETWORK_ACL_ENTRY_EXISTS', `The network acl entry identified by ${state.physicalId.split('|').slice(1).join(' ')} already exists (NetworkAclEntryAlreadyExists)`, 'user');
    note(ctx, state, props);
    await reconcileFirewalls(ctx, { vpcId: str(state.data?.vpcId) });
    return state;
  },
  async update(ctx, props, previous) {
    const state = entryState(ctx, props);
    if (previous.state.physicalId !== state.physicalId) note(ctx, previous.state, previous.props, true);
    note(ctx, state, props);
    await reconcileFirewalls(ctx, { vpcId: str(state.data?.vpcId) });
    return state;
  },
  async delete(ctx, state, props) {
    note(ctx, state, props, true);
    await reconcileFirewalls(ctx, { vpcId: str(state.data?.vpcId) });
  },
};

export const subnetNetworkAclAssociationHandler: DockerHandler = {
  type: 'AWS::EC2::SubnetNetworkAclAssociation',
  effect: 'real',
  async create(ctx, props) {
    const aclId = str(props.NetworkAclId);
    const subnetId = str(props.SubnetId);
    const acl = aclOf(ctx, aclId);
    const subnet = find(ctx, 'AWS::EC2::Subnet', subnetId);
    if (!subnet) throw new KilnError('SUBNET_NOT_FOUND', `The subnet ID '${subnetId}' does not exist (InvalidSubnetID.NotFound)`, 'user');
    const vpcId = str(acl.state.data?.vpcId);
    if (str(subnet.state.data?.vpcId) !== vpcId) throw new KilnError('INVALID_PARAMETER', `Network ACL ${aclId} and subnet ${subnetId} belong to different networks`, 'user');
    const other = aclResources(ctx).find((r) => r.type === 'AWS::EC2::SubnetNetworkAclAssociation' && r.state.data?.subnetId === subnetId);
    if (other) throw new KilnError('RESOURCE_ALREADY_ASSOCIATED', `Subnet ${subnetId} is already associated with network ACL ${str(other.state.data?.aclId)}`, 'user');
    const id = newId('aclassoc');
    const state: ResourceState = { physicalId: id, attributes: { AssociationId: id }, data: { aclId, subnetId, vpcId } };
    note(ctx, state, props);
    await reconcileFirewalls(ctx, { vpcId });
    return state;
  },
  async delete(ctx, state, props) {
    // The subnet goes back to its VPC's default ACL (allow all).
    note(ctx, state, props, true);
    await reconcileFirewalls(ctx, { vpcId: str(state.data?.vpcId) });
  },
};

export const naclHandlers: DockerHandler[] = [networkAclHandler, networkAclEntryHandler, subnetNetworkAclAssociationHandler];
