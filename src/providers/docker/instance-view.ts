// What an instance launched by kiln sees of AWS (instances of AWS::EC2::Instance and of Auto Scaling
// groups): its metadata at 169.254.169.254 (imds.ts), the cfn tools at /opt/aws/bin and the
// AWS::CloudFormation::Init metadata it may apply (cfn-init.ts). `instanceView` gives launchContainer
// the files to copy in and the hook that registers the instance before it starts.
import type { Json, JsonObject } from '../../stack/model.js';
import type { ResourceContext, ResourceState } from '../../model/provider.js';
import type { DockerContext } from './context.js';
import { InstanceKit, instanceToolFiles } from './cfn-init.js';
import { ensureMetadataService, metadataTree, registerInstance } from './imds.js';
import type { LaunchFile, LaunchSpec } from './launch.js';
import { macFor, subnetInfo } from './network.js';
import { LOCAL_ACCOUNT_ID } from './noop.js';
import { privateDnsName, regionOfAz } from './launch.js';

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function isObj(v: Json | undefined): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface ViewSpec {
  instanceId: string;
  subnetId: string;
  amiId: string;
  instanceType: string;
  groups: string[];
  keyName?: string;
  publicKey?: string;
  userData?: string;
  /** `MetadataOptions` of the instance or its launch template. */
  metadataOptions?: Json;
  tags?: Json;
  /** `IamInstanceProfile`: the instance profile's name (or ARN). */
  instanceProfile?: Json;
  /** Resources whose AWS::CloudFormation::Init metadata cfn-init may apply here. */
  init: Array<{ resource: string; init: Json | undefined }>;
}

/** The role of an instance profile of the local account (its first role), by name or ARN. */
function roleOf(ctx: DockerContext, profile: Json | undefined): { name: string; profileArn: string } | undefined {
  const ref = str(profile);
  if (!ref) return undefined;
  const name = ref.startsWith('arn:') ? ref.replace(/^.*\//, '') : ref;
  const p = ctx.allResources().find((r) => r.type === 'AWS::IAM::InstanceProfile' && r.state.physicalId === name);
  const roles = p && Array.isArray(p.properties.Roles) ? p.properties.Roles : [];
  const role = str(roles[0] as Json);
  if (!role) return undefined;
  return { name: role.replace(/^.*\//, ''), profileArn: String(p?.state.attributes?.Arn ?? `arn:aws:iam::${LOCAL_ACCOUNT_ID}:instance-profile/${name}`) };
}

function tagsOf(v: Json | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) for (const t of v) if (isObj(t) && typeof t.Key === 'string') out[t.Key] = String(t.Value ?? '');
  return out;
}

/** Files and the metadata registration for `launchContainer` (which also unregisters, on failure and destroy). */
export function instanceView(ctx: DockerContext, v: ViewSpec): { files: LaunchFile[]; metadata: NonNullable<LaunchSpec['metadata']> } {
  const subnet = subnetInfo(ctx, v.subnetId);
  const region = regionOfAz(subnet.availabilityZone);
  const opts = isObj(v.metadataOptions) ? v.metadataOptions : {};
  const kit = ctx.local.of(InstanceKit);
  const files = [
    ...instanceToolFiles((name) => kit.tool(ctx.deployment, name), { instanceId: v.instanceId, region, stack: ctx.stack }),
    ...v.init.flatMap((i) => kit.init(ctx.deployment, i.resource, i.init)),
    // KeyName: the key pair's public key where the image's SSH server reads it.
    ...(v.publicKey ? [{ path: '/root/.ssh/authorized_keys', content: `${v.publicKey}\n`, mode: 0o600 }] : []),
  ];
  const register = async (c: { ip: string; publicIp?: string }) => {
    // HttpEndpoint: disabled — no metadata at all for this instance (the service says 403).
    if (opts.HttpEndpoint === 'disabled') return;
    const vpcStack = ctx.lookup(subnet.vpcId)?.stack ?? ctx.stack;
    const imds = await ensureMetadataService(ctx, { vpcId: subnet.vpcId, netns: subnet.netns, stack: vpcStack, vpcCidr: subnet.vpcCidr });
    const role = roleOf(ctx, v.instanceProfile);
    const tree = metadataTree({
      instanceId: v.instanceId,
      amiId: v.amiId,
      instanceType: v.instanceType,
      privateIp: c.ip,
      ...(c.publicIp ? { publicIp: c.publicIp } : {}),
      privateDnsName: privateDnsName(c.ip, region),
      availabilityZone: subnet.availabilityZone,
      region,
      vpcId: subnet.vpcId,
      vpcCidr: subnet.vpcCidr,
      subnetId: v.subnetId,
      subnetCidr: subnet.cidr,
      groups: v.groups,
      mac: macFor(c.ip),
      ...(v.keyName && v.publicKey ? { keyName: v.keyName, publicKey: v.publicKey } : {}),
      ...(v.userData !== undefined ? { userData: v.userData } : {}),
      ...(role ? { role } : {}),
      ...(opts.InstanceMetadataTags === 'enabled' ? { tags: tagsOf(v.tags) } : {}),
      accountId: LOCAL_ACCOUNT_ID,
    });
    await registerInstance(ctx.docker, imds, { instanceId: v.instanceId, privateIp: c.ip, tree, tokensRequired: opts.HttpTokens === 'required' });
  };
  return { files, metadata: { instanceId: v.instanceId, register } };
}

/** A launch template's state with the AWS::CloudFormation::Init metadata it was created with (for its group's instances). */
export function withInit(ctx: ResourceContext, state: ResourceState): ResourceState {
  const init = ctx.policies?.Metadata?.['AWS::CloudFormation::Init'];
  return init === undefined ? state : { ...state, data: { ...(state.data ?? {}), init } };
}

/** What a group's instance takes from its launch template (or launch configuration) beyond LaunchConfig. */
export function launchSourceView(ctx: DockerContext, source: string, version: string): Pick<ViewSpec, 'init' | 'metadataOptions' | 'keyName' | 'instanceProfile'> {
  const res = ctx.lookup(source) ?? ctx.allResources().find((r) => r.state.physicalId === source);
  if (!res) return { init: [] };
  const data = res.state.data ?? {};
  const versions = isObj(data.versions) ? data.versions : {};
  const lt = isObj(versions[version]) ? (versions[version] as JsonObject) : res.properties;
  const profile = isObj(lt.IamInstanceProfile) ? (lt.IamInstanceProfile.Name ?? lt.IamInstanceProfile.Arn) : lt.IamInstanceProfile;
  return {
    init: data.init !== undefined ? [{ resource: res.logicalId, init: data.init }] : [],
    ...(lt.MetadataOptions !== undefined ? { metadataOptions: lt.MetadataOptions } : {}),
    ...(str(lt.KeyName) ? { keyName: str(lt.KeyName) } : {}),
    ...(profile !== undefined ? { instanceProfile: profile } : {}),
  };
}
