// `AWS::EC2::LaunchTemplate` on the local target: a record of `LaunchTemplateData` per version. As in
// CloudFormation, a change of `LaunchTemplateData` writes a new version and makes it the default;
// `LatestVersionNumber` / `DefaultVersionNumber` are strings, as AWS returns them. Auto Scaling
// groups resolve `{ LaunchTemplateId | LaunchTemplateName, Version }` through `resolveLaunchTemplate`.
//
// `AWS::AutoScaling::LaunchConfiguration` is the older, immutable form of the same record: its name is
// its physical id (`Ref`), every property is create-only (a change makes a new configuration with a
// new name, so the group naming it is updated and rolls per its UpdatePolicy, as on AWS), and
// deleting one a group still uses is refused (ResourceInUse). What it realises locally: ImageId,
// InstanceType (limits), SecurityGroups, UserData and KeyName (the public key in root's
// authorized_keys), as a launch template's data does. IamInstanceProfile, BlockDeviceMappings,
// AssociatePublicIpAddress and the monitoring / tenancy / spot options are validated and recorded;
// the plan says which of them have no local effect (`planNote`).
import { withInit } from './instance-view.js';
import { KilnError } from '../../core/errors.js';
import { canonicalJson } from '../../core/hash.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { ResourceContext, ResourceHandler, ResourceState } from '../../model/provider.js';
import type { DockerHandler } from './context.js';
import { generatedName, isObj, num, str, strList } from './elb.js';
import { newId } from './ids.js';
import { decodeUserData, limitsFor, publicKeyOf } from './instance.js';

function ltState(id: string, name: string, versions: Record<string, Json>, latest: number, dflt: number): ResourceState {
  return {
    physicalId: id,
    attributes: { LaunchTemplateId: id, LatestVersionNumber: String(latest), DefaultVersionNumber: String(dflt) },
    data: { name, versions, latest, default: dflt },
  };
}

function dataOf(props: JsonObject): JsonObject {
  const d = props.LaunchTemplateData;
  if (!isObj(d)) throw new KilnError('INVALID_PROPERTY', 'LaunchTemplateData is required', 'user');
  return d;
}

export const launchTemplateHandler: ResourceHandler = {
  type: 'AWS::EC2::LaunchTemplate',
  effect: 'real',
  async create(ctx, props) {
    const data = dataOf(props);
    const name = str(props.LaunchTemplateName) ?? generatedName(ctx, 128);
    if (!/^[A-Za-z0-9().\-/_]{3,128}$/.test(name)) throw new KilnError('INVALID_PROPERTY', `LaunchTemplateName '${name}' must be 3-128 letters, digits or ( ) . - / _`, 'user');
    return withInit(ctx, ltState(newId('lt'), name, { '1': data }, 1, 1));
  },
  async update(ctx, props, previous) {
    const data = dataOf(props);
    const d = previous.state.data ?? {};
    const versions = { ...(isObj(d.versions) ? d.versions : {}) } as Record<string, Json>;
    const latest = Number(d.latest ?? 1);
    if (canonicalJson(versions[String(latest)] ?? null) === canonicalJson(data)) return withInit(ctx, previous.state);
    versions[String(latest + 1)] = data;
    return withInit(ctx, ltState(previous.state.physicalId, String(d.name ?? ''), versions, latest + 1, latest + 1));
  },
  async delete(ctx, state) {
    const users = ctx
      .allResources()
      .filter((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup' && isObj(r.properties.LaunchTemplate) && str(r.properties.LaunchTemplate.LaunchTemplateId) === state.physicalId);
    if (users.length) ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `launch template ${state.physicalId} is still named by ${users[0].logicalId}` });
  },
};

export interface LaunchConfig {
  /** `lt-…` (or the launch configuration's name) and the version used. */
  source: string;
  version: string;
  imageId: string;
  instanceType?: string;
  /** Base64 as in the template (decoded by the launcher). */
  userData?: Json;
  securityGroupIds: string[];
  /** `KeyName`: the key pair whose public key goes to root's authorized_keys. */
  keyName?: string;
}

/** The launch data an Auto Scaling group uses: its `LaunchTemplate` (a version) or launch configuration. */
export function resolveLaunchConfig(ctx: ResourceContext, props: JsonObject): LaunchConfig {
  const spec = isObj(props.LaunchTemplate)
    ? props.LaunchTemplate
    : isObj(props.MixedInstancesPolicy) && isObj(props.MixedInstancesPolicy.LaunchTemplate) && isObj(props.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification)
      ? props.MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification
      : undefined;
  if (spec) {
    const id = str(spec.LaunchTemplateId);
    const name = str(spec.LaunchTemplateName);
    const lt =
      (id ? ctx.lookup(id) : undefined) ?? ctx.allResources().find((r) => r.type === 'AWS::EC2::LaunchTemplate' && (r.state.physicalId === id || (name !== undefined && r.state.data?.name === name)));
    if (!lt || lt.type !== 'AWS::EC2::LaunchTemplate')
      throw new KilnError('INVALID_PROPERTY', `LaunchTemplate: the launch template '${id ?? name ?? ''}' does not exist (InvalidLaunchTemplateId.NotFound)`, 'user');
    const d = lt.state.data ?? {};
    const versions = isObj(d.versions) ? d.versions : {};
    const want = str(spec.Version) ?? '$Default';
    const v = want === '$Latest' ? String(d.latest) : want === '$Default' ? String(d.default) : want;
    const data = versions[v];
    if (!isObj(data)) throw new KilnError('INVALID_PROPERTY', `LaunchTemplate.Version ${want}: launch template ${lt.state.physicalId} has no such version`, 'user');
    const nic = Array.isArray(data.NetworkInterfaces) && isObj(data.NetworkInterfaces[0]) ? data.NetworkInterfaces[0] : undefined;
    const groups = [...strList(data.SecurityGroupIds), ...strList(data.SecurityGroups), ...(nic ? strList(nic.Groups) : [])];
    const imageId = str(data.ImageId);
    if (!imageId) throw new KilnError('INVALID_PROPERTY', `LaunchTemplate ${lt.state.physicalId} version ${v} has no ImageId`, 'user');
    return {
      source: lt.state.physicalId,
      version: v,
      imageId,
      ...(str(data.InstanceType) ? { instanceType: str(data.InstanceType) } : {}),
      ...(data.UserData !== undefined ? { userData: data.UserData } : {}),
      securityGroupIds: groups,
      ...(str(data.KeyName) ? { keyName: str(data.KeyName) } : {}),
    };
  }
  const lcName = str(props.LaunchConfigurationName);
  if (lcName) {
    const lc = ctx.allResources().find((r) => r.type === 'AWS::AutoScaling::LaunchConfiguration' && r.state.physicalId === lcName);
    if (!lc) throw new KilnError('INVALID_PROPERTY', `LaunchConfigurationName: the launch configuration '${lcName}' does not exist (ValidationError)`, 'user');
    const p = lc.properties;
    const imageId = str(p.ImageId);
    if (!imageId) throw new KilnError('INVALID_PROPERTY', `launch configuration ${lcName} has no ImageId`, 'user');
    const d = lc.state.data ?? {};
    return {
      source: lcName,
      version: '1',
      imageId,
      ...(str(p.InstanceType) ? { instanceType: str(p.InstanceType) } : {}),
      ...(p.UserData !== undefined ? { userData: p.UserData } : {}),
      securityGroupIds: Array.isArray(d.securityGroupIds) ? strList(d.securityGroupIds) : strList(p.SecurityGroups),
      ...(str(p.KeyName) ? { keyName: str(p.KeyName) } : {}),
    };
  }
  throw new KilnError('INVALID_PROPERTY', 'an Auto Scaling group needs LaunchTemplate (or LaunchConfigurationName)', 'user');
}

// ---------------------------------------------------------------------------------------------
// Launch configuration

/** Properties of a launch configuration recorded without local effect (validated, shown in plan). */
const LC_RECORDED = ['IamInstanceProfile', 'BlockDeviceMappings', 'AssociatePublicIpAddress', 'InstanceMonitoring', 'EbsOptimized', 'PlacementTenancy', 'SpotPrice', 'MetadataOptions'];
/** Properties of EC2-Classic or of a copied instance: refused (the plan says so). */
const LC_REFUSED = ['ClassicLinkVPCId', 'ClassicLinkVPCSecurityGroups', 'KernelId', 'RamDiskId', 'InstanceId'];

/** Security group ids of `SecurityGroups` (ids, or names of groups looked up as EC2 does). */
function lcGroups(ctx: ResourceContext, props: JsonObject): string[] {
  return strList(props.SecurityGroups).map((g) => {
    const sg = ctx.allResources().find((r) => r.type === 'AWS::EC2::SecurityGroup' && (r.state.physicalId === g || r.state.data?.groupName === g));
    if (!sg) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `SecurityGroups: the security group '${g}' does not exist (InvalidGroup.NotFound)`, 'user');
    return sg.state.physicalId;
  });
}

function checkBlockDevices(v: Json | undefined): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) throw new KilnError('INVALID_PROPERTY', 'BlockDeviceMappings must be a list', 'user');
  for (const [i, m] of v.entries()) {
    if (!isObj(m) || !str(m.DeviceName)) throw new KilnError('INVALID_PROPERTY', `BlockDeviceMappings[${i}].DeviceName is required`, 'user');
    if (!/^\/dev\/(?:sd[a-z][1-9]?|xvd[a-z][1-9]?|nvme\d+n\d+)$|^(?:sd|xvd)[a-z]$/.test(String(m.DeviceName)))
      throw new KilnError('INVALID_PROPERTY', `BlockDeviceMappings[${i}].DeviceName '${String(m.DeviceName)}' is not a device name (/dev/sdf, /dev/xvdb)`, 'user');
    if (isObj(m.Ebs) && m.Ebs.VolumeSize !== undefined) {
      const size = num(m.Ebs.VolumeSize, `BlockDeviceMappings[${i}].Ebs.VolumeSize`);
      if (size < 1 || size > 65536) throw new KilnError('INVALID_PROPERTY', `BlockDeviceMappings[${i}].Ebs.VolumeSize ${size} is outside 1-65536 GiB`, 'user');
    }
  }
}

export const launchConfigurationHandler: DockerHandler = {
  type: 'AWS::AutoScaling::LaunchConfiguration',
  effect: 'real',
  planNote(props) {
    const refused = LC_REFUSED.filter((k) => props[k] !== undefined);
    if (refused.length) return { error: true, message: `${refused.join(', ')}: EC2-Classic and copied-instance settings cannot be realised on the local target` };
    const recorded = LC_RECORDED.filter((k) => props[k] !== undefined);
    if (!recorded.length) return undefined;
    return {
      error: false,
      message: `${recorded.join(', ')} recorded with no local effect (instances of the groups using this launch configuration are containers: no IAM credentials, disks or public address of their own; reach them through a load balancer)`,
    };
  },
  async create(ctx, props) {
    const note = launchConfigurationHandler.planNote?.(props);
    if (note?.error) throw new KilnError('UNSUPPORTED_ON_LOCAL', note.message, 'user');
    if (!str(props.ImageId)) throw new KilnError('INVALID_PROPERTY', 'ImageId is required', 'user');
    const instanceType = str(props.InstanceType);
    if (!instanceType) throw new KilnError('INVALID_PROPERTY', 'InstanceType is required', 'user');
    limitsFor(instanceType);
    decodeUserData(props.UserData);
    const keyName = str(props.KeyName);
    if (keyName) publicKeyOf(ctx, keyName);
    checkBlockDevices(props.BlockDeviceMappings);
    const name = str(props.LaunchConfigurationName) ?? generatedName(ctx, 255);
    if (name.length > 255) throw new KilnError('INVALID_PROPERTY', 'LaunchConfigurationName is longer than 255 characters', 'user');
    if (ctx.allResources().some((r) => r.type === 'AWS::AutoScaling::LaunchConfiguration' && r.state.physicalId === name))
      throw new KilnError('ALREADY_EXISTS', `Launch Configuration by this name already exists - A launch configuration already exists with the name ${name} (AlreadyExists)`, 'user');
    return withInit(ctx, { physicalId: name, attributes: {}, data: { securityGroupIds: lcGroups(ctx, props) } });
  },
  // No update: every property of a launch configuration is create-only (AWS cannot change one).
  async delete(ctx, state) {
    const user = ctx.allResources().find((r) => r.type === 'AWS::AutoScaling::AutoScalingGroup' && str(r.properties.LaunchConfigurationName) === state.physicalId);
    if (user)
      throw new KilnError('RESOURCE_IN_USE', `Cannot delete launch configuration ${state.physicalId} because it is attached to AutoScalingGroup ${user.state.physicalId} (ResourceInUse)`, 'user');
  },
};
