// AWS::EC2::SecurityGroup, ::SecurityGroupIngress, ::SecurityGroupEgress on the local target. A group
// is a set of rules recorded in state; enforcement lives in firewall.ts, which every change here
// re-runs for the group's VPC (idempotent: only members whose rules changed are reloaded).
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { ReadResult, ResourceContext, ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { ALLOW_ALL_EGRESS, currentView, effectiveGroups, filterDrift, groupIdOf, noteGroup, noteRule, normaliseRule, reconcileFirewalls, type GroupRules, type SgRule } from './firewall.js';
import { newId } from './ids.js';
import { defaultVpc } from './default-vpc.js';

function rulesOf(props: JsonObject, key: 'SecurityGroupIngress' | 'SecurityGroupEgress'): SgRule[] {
  const v = props[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new KilnError('INVALID_RULE', `${key} must be a list of rules`, 'user');
  return v.map((r, i) => normaliseRule(r, key === 'SecurityGroupIngress' ? 'ingress' : 'egress', `${key}[${i}]`));
}

function checkVpc(ctx: ResourceContext, vpcId: Json | undefined): string {
  // Without VpcId the group belongs to the region's default VPC (default-vpc.ts).
  if (vpcId === undefined || vpcId === null || vpcId === '') return defaultVpc(ctx).vpcId;
  const id = String(vpcId);
  const vpc = ctx.lookup(id);
  if (!vpc || vpc.type !== 'AWS::EC2::VPC') throw new KilnError('VPC_NOT_FOUND', `The vpc ID '${id}' does not exist (InvalidVpcID.NotFound)`, 'user');
  return id;
}

/** Peer groups named by name (SourceSecurityGroupName, or Ref of a default-VPC group) become ids; unknown ones are refused. */
function checkPeerGroups(ctx: DockerContext, rules: SgRule[], vpcId: string | undefined, self?: string): SgRule[] {
  const view = currentView(ctx);
  return rules.map((r) => {
    if (!r.group || r.group === self) return r;
    const id = groupIdOf(ctx, view, r.group, vpcId);
    if (!id) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${r.group}' does not exist (InvalidGroup.NotFound)`, 'user');
    return id === r.group ? r : { ...r, group: id };
  });
}

function groupRules(ctx: DockerContext, groupId: string, vpcId: string, props: JsonObject): GroupRules {
  const ingress = checkPeerGroups(ctx, rulesOf(props, 'SecurityGroupIngress'), vpcId, groupId);
  const egress = checkPeerGroups(ctx, rulesOf(props, 'SecurityGroupEgress'), vpcId, groupId);
  // AWS keeps its default allow-all egress rule unless the template lists egress rules.
  return { groupId, vpcId, ingress, egress: egress.length ? egress : [ALLOW_ALL_EGRESS] };
}

async function reconcile(ctx: DockerContext, vpcId: string | undefined): Promise<void> {
  await reconcileFirewalls(ctx, vpcId ? { vpcId } : {});
}

export const securityGroupHandler: DockerHandler = {
  type: 'AWS::EC2::SecurityGroup',
  effect: 'real',
  async create(ctx, props) {
    if (typeof props.GroupDescription !== 'string' || props.GroupDescription === '') throw new KilnError('INVALID_PROPERTY', 'AWS::EC2::SecurityGroup GroupDescription is required', 'user');
    const vpcId = checkVpc(ctx, props.VpcId);
    const groupId = newId('sg');
    const rules = groupRules(ctx, groupId, vpcId, props);
    const groupName = typeof props.GroupName === 'string' && props.GroupName ? props.GroupName : `${ctx.stack}-${ctx.logicalId}-${groupId.slice(3, 15).toUpperCase()}`;
    if (groupName === 'default' || groupIdOf(ctx, currentView(ctx), groupName, vpcId))
      throw new KilnError('SECURITY_GROUP_DUPLICATE', `The security group '${groupName}' already exists for VPC '${vpcId}' (InvalidGroup.Duplicate)`, 'user');
    noteGroup(ctx, groupId, rules);
    await reconcile(ctx, vpcId);
    // Without VpcId (the default VPC) Ref returns the group's name, as on AWS; GroupId is the id.
    const inDefaultVpc = props.VpcId === undefined || props.VpcId === null || props.VpcId === '';
    return {
      physicalId: groupId,
      attributes: { GroupId: groupId, VpcId: vpcId, Id: inDefaultVpc ? groupName : groupId },
      data: { rules: rules as unknown as JsonObject, groupName },
      ...(inDefaultVpc ? { ref: groupName } : {}),
    };
  },
  async update(ctx, props, previous) {
    // GroupDescription, GroupName and VpcId replace (planner); rules and tags change in place.
    const groupId = previous.state.physicalId;
    const vpcId = String(previous.state.attributes.VpcId);
    const rules = groupRules(ctx, groupId, vpcId, props);
    noteGroup(ctx, groupId, rules);
    await reconcile(ctx, vpcId);
    return { ...previous.state, data: { ...(previous.state.data ?? {}), rules: rules as unknown as JsonObject } };
  },
  async delete(ctx, state) {
    const groupId = state.physicalId;
    const view = currentView(ctx);
    const members = view.members.filter((m) => effectiveGroups(view, m).includes(groupId));
    const referrers = [...view.groups.values()].filter((g) => g.groupId !== groupId && [...g.ingress, ...g.egress].some((r) => r.group === groupId));
    if (members.length || referrers.length)
      throw new KilnError(
        'DEPENDENCY_VIOLATION',
        `resource ${groupId} has a dependent object (${[...members.map((m) => `container ${m.id.slice(0, 12)}`), ...referrers.map((g) => `group ${g.groupId}`)].join(', ')})`,
        'user',
      );
    noteGroup(ctx, groupId, null);
  },
  async read(ctx, state) {
    return readGroupDrift(ctx, state);
  },
};

/** Drift of a group: members whose loaded packet filter differs from what the rules say. */
async function readGroupDrift(ctx: DockerContext, state: ResourceState): Promise<ReadResult> {
  const { docker } = ctx;
  const view = currentView(ctx);
  const drift: ReadResult['drift'] = [];
  for (const m of view.members.filter((x) => effectiveGroups(view, x).includes(state.physicalId))) {
    const d = await filterDrift(docker, view, m);
    if (d && (d.missing.length || d.extra.length)) drift.push({ property: `PacketFilter.${m.id.slice(0, 12)}`, expected: d.missing, actual: d.extra, kind: 'NOT_EQUAL' });
  }
  return { state, drift };
}

function standaloneHandler(type: 'AWS::EC2::SecurityGroupIngress' | 'AWS::EC2::SecurityGroupEgress'): DockerHandler {
  const direction = type === 'AWS::EC2::SecurityGroupIngress' ? 'ingress' : 'egress';
  return {
    type,
    effect: 'real',
    async create(ctx, props) {
      const byName = props.GroupId === undefined || props.GroupId === '';
      if (byName && (props.GroupName === undefined || props.GroupName === '')) throw new KilnError('INVALID_PROPERTY', `${type} GroupId (or, for a default-VPC group, GroupName) is required`, 'user');
      const view = currentView(ctx);
      // GroupName names a group of the default VPC, as on AWS; GroupId may also be a name there (Ref).
      const named = String(byName ? props.GroupName : props.GroupId);
      const groupId = view.groups.has(named) ? named : (groupIdOf(ctx, view, named, defaultVpc(ctx).vpcId) ?? named);
      const group = view.groups.get(groupId);
      if (!group) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${named}' does not exist${byName ? ' in the default VPC' : ''} (InvalidGroup.NotFound)`, 'user');
      const [rule] = checkPeerGroups(ctx, [normaliseRule(props, direction, type)], group.vpcId, groupId);
      const id = newId('sgr');
      const entry = { groupId, direction, rule } as const;
      noteRule(ctx, id, entry);
      await reconcile(ctx, group.vpcId);
      return { physicalId: id, attributes: { Id: id }, data: { rule: entry as unknown as JsonObject, vpcId: group.vpcId ?? null } };
    },
    async update(ctx, props, previous) {
      // Only Description changes in place; every other property replaces the rule.
      const entry = previous.state.data?.rule as unknown as { groupId: string; direction: 'ingress' | 'egress'; rule: SgRule };
      const rule: SgRule = { ...entry.rule };
      if (typeof props.Description === 'string') rule.description = props.Description;
      else delete rule.description;
      const next = { ...entry, rule };
      noteRule(ctx, previous.state.physicalId, next);
      await reconcile(ctx, (previous.state.data?.vpcId as string | null) ?? undefined);
      return { ...previous.state, data: { ...(previous.state.data ?? {}), rule: next as unknown as JsonObject } };
    },
    async delete(ctx, state) {
      noteRule(ctx, state.physicalId, null);
      await reconcile(ctx, (state.data?.vpcId as string | null) ?? undefined);
    },
  };
}

export const securityGroupIngressHandler = standaloneHandler('AWS::EC2::SecurityGroupIngress');
export const securityGroupEgressHandler = standaloneHandler('AWS::EC2::SecurityGroupEgress');
