// `AWS::EC2::LaunchTemplate` on the local target: a record of `LaunchTemplateData` per version. As in
// CloudFormation, a change of `LaunchTemplateData` writes a new version and makes it the default;
// `LatestVersionNumber` / `DefaultVersionNumber` are strings, as AWS returns them. Auto Scaling
// groups resolve `{ LaunchTemplateId | LaunchTemplateName, Version }` through `resolveLaunchTemplate`.
import { withInit } from './instance-view.js';
import { KilnError } from '../../core/errors.js';
import { canonicalJson } from '../../core/hash.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { ResourceContext, ResourceHandler, ResourceState } from '../../model/provider.js';
import { generatedName, isObj, str, strList } from './elb.js';
import { newId } from './ids.js';

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
    };
  }
  const lcName = str(props.LaunchConfigurationName);
  if (lcName) {
    const lc = ctx.lookup(lcName) ?? ctx.resources().find((r) => r.type === 'AWS::AutoScaling::LaunchConfiguration' && r.state.physicalId === lcName);
    if (!lc) throw new KilnError('INVALID_PROPERTY', `LaunchConfigurationName: '${lcName}' does not exist`, 'user');
    const p = lc.properties;
    const imageId = str(p.ImageId);
    if (!imageId) throw new KilnError('INVALID_PROPERTY', `launch configuration ${lcName} has no ImageId`, 'user');
    return {
      source: lcName,
      version: '1',
      imageId,
      ...(str(p.InstanceType) ? { instanceType: str(p.InstanceType) } : {}),
      ...(p.UserData !== undefined ? { userData: p.UserData } : {}),
      securityGroupIds: strList(p.SecurityGroups),
    };
  }
  throw new KilnError('INVALID_PROPERTY', 'an Auto Scaling group needs LaunchTemplate (or LaunchConfigurationName)', 'user');
}
