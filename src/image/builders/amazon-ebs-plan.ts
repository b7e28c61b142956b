// The cheap half of the amazon-ebs builder: AWS settings, the source AMI, the build key and the
// cache decision. An unchanged build ends here after one DescribeImages call (two with a
// `source_ami_filter`): no SDK load, no instance, no state database.
//
// The build key covers what shapes the AMI's disks and boot: the source AMI's resolved id (so a new
// upstream image is a real change), the region, instance type, user data (bytes), launch and AMI
// block device mappings, ENA/SR-IOV, every provisioner (resolved fields and the bytes of uploaded
// files, as for docker builds), and the regions the AMI is copied to. Left out on purpose, as
// metadata that does not change what an instance boots: `ami_name` (often holds `{{timestamp}}`),
// `ami_description`, `tags`, `snapshot_tags`, `run_tags`, launch permissions (`ami_users`,
// `ami_groups`, `snapshot_*`), the network and SSH settings used to reach the builder instance.
// `-force` bakes again when only those changed.
import { KilnError } from '../../core/errors.js';
import type { Clock } from '../../core/clock.js';
import type { Image, Instance } from '@aws-sdk/client-ec2';
import type { AmazonEbsBuilderConfig, LateContext, PreparedBuild } from '../types.js';
import type { Artifact } from '../events.js';
import { KEY_FORMAT, keyHash, memoDigest, redactorFor, stepKey, type DigestFn, type Redact } from '../key.js';
import type { BuilderEnv, BuilderOutcome } from './docker-plan.js';
import { awsSettings, maskSecrets, type AwsSettings } from '../../aws/settings.js';
import { describeAwsError, openEc2, withRetry, type Ec2Api } from '../../aws/ec2.js';
import { TAGS, decodeCopies, tagMap } from '../../aws/tags.js';

const AMAZON_EBS_BUILDER_ID = 'mitchellh.amazonebs';

/** What the AWS side of a build may be given instead of the defaults (tests, benchmarks). */
export interface AwsRuntime {
  /** The EC2 client for these settings (default: `openEc2`, kiln's own). */
  ec2?: (settings: AwsSettings) => Ec2Api;
  clock?: Clock;
  /** Environment for region, endpoint and credentials (default: process.env). */
  env?: Record<string, string | undefined>;
  /**
   * Where to reach an instance over SSH when the template sets no `ssh_host` (default: by
   * `ssh_interface`, from the instance's addresses). Tests point it at a stand-in machine.
   */
  sshAddress?: (instance: Instance) => { host: string; port: number } | undefined;
}

export interface EbsBuilderEnv extends BuilderEnv {
  aws?: AwsRuntime;
  /** The build's scratch directory (inline shell-local scripts). */
  tmpDir?: string;
}

export interface EbsPlan {
  settings: AwsSettings;
  ec2: Ec2Api;
  key: string;
  /** The source AMI: the full description when a filter resolved it, else just the id. */
  source: Image & { ImageId: string };
  generated: LateContext;
  hit?: BuilderOutcome;
}

/** Options kiln's builder does not run: refused before any AWS call rather than ignored. */
const UNSUPPORTED: Array<[key: string, why: string]> = [
  ['spot_price', 'spot instances'],
  ['spot_instance_types', 'spot instances'],
  ['spot_price_auto_product', 'spot instances'],
  ['temporary_iam_instance_profile_policy_document', 'temporary IAM instance profiles (name an existing one in iam_instance_profile)'],
  ['ssh_bastion_host', 'SSH bastion hosts'],
  ['ssh_proxy_host', 'SSH proxies'],
  ['ssh_agent_auth', 'SSH agent authentication'],
  ['security_group_filter', 'security group filters (list security_group_ids)'],
  ['subnet_filter', 'subnet filters (set subnet_id)'],
  ['vpc_filter', 'VPC filters (set vpc_id)'],
  ['encrypt_boot', 'encrypted AMIs'],
  ['kms_key_id', 'encrypted AMIs'],
  ['region_kms_key_ids', 'encrypted AMI copies'],
  ['vault_aws_engine', 'credentials from Vault'],
  ['skip_create_ami', 'skip_create_ami'],
  ['launch_template', 'launch templates'],
];

export function checkSupported(build: PreparedBuild, cfg: AmazonEbsBuilderConfig): void {
  const problems: string[] = [];
  for (const [key, why] of UNSUPPORTED) {
    const v = cfg.raw[key];
    if (v === undefined || v === null || v === '' || v === false || v === 'false' || (Array.isArray(v) && v.length === 0)) continue;
    problems.push(`${key} (${why})`);
  }
  if (cfg.communicator !== 'ssh' && cfg.communicator !== 'none') problems.push(`communicator "${cfg.communicator}" (kiln's amazon-ebs builder speaks ssh)`);
  if (cfg.sshInterface === 'session_manager') problems.push('ssh_interface "session_manager"');
  if (problems.length) throw new KilnError('UNSUPPORTED', `build '${build.name}': kiln's amazon-ebs builder does not support ${problems.join(', ')} yet; nothing was created in AWS`, 'user');
}

function settingsFor(cfg: AmazonEbsBuilderConfig, env: Record<string, string | undefined>): AwsSettings {
  return awsSettings('ec2', {
    region: cfg.region,
    ...(cfg.accessKey ? { accessKey: cfg.accessKey } : {}),
    ...(cfg.secretKey ? { secretKey: cfg.secretKey } : {}),
    ...(cfg.token ? { token: cfg.token } : {}),
    ...(cfg.profile ? { profile: cfg.profile } : {}),
    ...(cfg.customEndpointEc2 ? { endpoint: cfg.customEndpointEc2 } : {}),
    env,
  });
}

/** The regions an AMI ends up in besides the build region, sorted and unique. */
export function copyRegions(cfg: AmazonEbsBuilderConfig, region: string): string[] {
  return [...new Set(cfg.amiRegions.filter((r) => r && r !== region))].sort();
}

/** The content key of an amazon-ebs build (see the header for what is in and out). */
export function amazonEbsKey(build: PreparedBuild, cfg: AmazonEbsBuilderConfig, region: string, sourceAmiId: string, digest: DigestFn = memoDigest(), redact?: Redact): string {
  let prev = keyHash(
    {
      format: KEY_FORMAT,
      part: 'amazon-ebs-base',
      // The source's name: `aws` in JSON and `source.amazon-ebs.aws` in HCL2 are the same build.
      build: build.packerBuildName ?? build.name,
      builderType: build.type,
      region,
      sourceAmiId,
      instanceType: cfg.instanceType,
      userData: cfg.userData || undefined,
      userDataFile: cfg.userDataFile ? digest(cfg.userDataFile) : undefined,
      launchBlockDeviceMappings: cfg.launchBlockDeviceMappings,
      enaSupport: cfg.enaSupport,
      sriovSupport: cfg.sriovSupport || undefined,
    },
    redact,
  );
  for (const p of build.provisioners) prev = stepKey(prev, p, digest, redact);
  return keyHash({ format: KEY_FORMAT, part: 'amazon-ebs-final', prev, amiBlockDeviceMappings: cfg.amiBlockDeviceMappings, copies: copyRegions(cfg, region) }, redact);
}

/** The amazon-ebs artifact: `region:ami-…` ids sorted, Packer's `AMIs were created:` text. */
export function amiArtifact(amis: Record<string, string>): Artifact {
  const regions = Object.keys(amis).sort();
  return {
    builderId: AMAZON_EBS_BUILDER_ID,
    id: regions.map((r) => `${r}:${amis[r]}`).join(','),
    files: [],
    string: `AMIs were created:\n${regions.map((r) => `${r}: ${amis[r]}`).join('\n')}`,
    state: { amis: { ...amis } },
  };
}

/** `source_ami_filter` (filters, owners, most_recent) as Packer resolves it. */
export async function resolveSourceFilter(ec2: Ec2Api, filter: Record<string, unknown>): Promise<Image & { ImageId: string }> {
  const filters = filter['filters'] && typeof filter['filters'] === 'object' ? (filter['filters'] as Record<string, unknown>) : {};
  const owners = Array.isArray(filter['owners']) ? filter['owners'].map(String) : [];
  const mostRecent = filter['most_recent'] === true || filter['most_recent'] === 'true';
  const Filters = Object.keys(filters)
    .sort()
    .map((Name) => ({ Name, Values: [String(filters[Name])] }));
  const r = await ec2.call('DescribeImages', { Owners: owners, Filters });
  const images = (r.Images ?? []).filter((i): i is Image & { ImageId: string } => !!i.ImageId);
  const shown = `filters ${Filters.map((f) => `${f.Name}=${f.Values[0]}`).join(', ') || '(none)'}, owners ${owners.join(', ')}`;
  if (!images.length) throw new KilnError('SOURCE_AMI', `No AMI was found matching filters: ${shown}`, 'user');
  if (images.length > 1 && !mostRecent)
    throw new KilnError('SOURCE_AMI', `Your query returned more than one result (${images.length}, ${shown}). Please try a more specific search, or set most_recent to true.`, 'user');
  // Newest first; equal dates fall back to the id so the choice is stable.
  images.sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? '') || a.ImageId.localeCompare(b.ImageId));
  return images[0]!;
}

/** The newest finished AMI of this account that carries the build key, if any. */
async function findByKey(ec2: Ec2Api, key: string): Promise<Image | undefined> {
  const r = await ec2.call('DescribeImages', { Owners: ['self'], Filters: [{ Name: `tag:${TAGS.buildKey}`, Values: [key] }] });
  const ok = (r.Images ?? []).filter((i) => i.ImageId && i.State === 'available');
  ok.sort((a, b) => (b.CreationDate ?? '').localeCompare(a.CreationDate ?? ''));
  return ok[0];
}

function sourceData(src: Image & { ImageId: string }, region: string): LateContext {
  return {
    SourceAMI: src.ImageId,
    SourceAMIName: src.Name ?? '',
    SourceAMIOwner: src.OwnerId ?? '',
    SourceAMIOwnerName: src.ImageOwnerAlias ?? '',
    SourceAMICreationDate: src.CreationDate ?? '',
    BuildRegion: region,
  };
}

/** The EC2 client for these settings (injected or kiln's own), retrying throttling with backoff. */
export function ec2Client(settings: AwsSettings, env: EbsBuilderEnv): Ec2Api {
  return withRetry(env.aws?.ec2?.(settings) ?? openEc2(settings), {
    ...(env.aws?.clock ? { clock: env.aws.clock } : {}),
    onRetry: (op, attempt, ms, e) => env.ui.message(maskSecrets(`${describeAwsError(op, e)}: retrying in ${(ms / 1000).toFixed(1)}s (attempt ${attempt + 1})`, settings.secrets())),
  });
}

export async function planAmazonEbsBuild(build: PreparedBuild, cfg: AmazonEbsBuilderConfig, env: EbsBuilderEnv): Promise<EbsPlan> {
  const { ui } = env;
  checkSupported(build, cfg);
  const settings = settingsFor(cfg, env.aws?.env ?? process.env);
  const ec2 = ec2Client(settings, env);
  const generated: LateContext = {
    ID: '',
    ConnType: cfg.communicator === 'none' ? 'none' : 'ssh',
    Host: '',
    Port: '',
    User: cfg.sshUsername ?? '',
    Password: '',
    PackerRunUUID: env.runUuid,
    PackerHTTPIP: '',
    PackerHTTPPort: '',
    PackerHTTPAddr: '',
    SSHPublicKey: '',
    SSHPrivateKey: '',
    WinRMPassword: '',
  };
  let source: Image & { ImageId: string };
  try {
    source = cfg.sourceAmi ? { ImageId: cfg.sourceAmi } : await resolveSourceFilter(ec2, cfg.sourceAmiFilter ?? {});
  } catch (e) {
    throw KilnError.is(e) ? e : new KilnError('AWS_API', describeAwsError('DescribeImages', e), 'environment', { cause: e });
  }
  Object.assign(generated, sourceData(source, settings.region));
  const key = amazonEbsKey(build, cfg, settings.region, source.ImageId, undefined, await redactorFor(build, env.stateDir));
  if (!env.force) {
    let found: Image | undefined;
    try {
      found = await findByKey(ec2, key);
    } catch (e) {
      throw new KilnError('AWS_API', describeAwsError('DescribeImages', e), 'environment', { cause: e });
    }
    if (found?.ImageId) {
      const amis = decodeCopies(tagMap(found.Tags)[TAGS.copies]);
      amis[settings.region] = found.ImageId;
      ui.say(`reused ${found.ImageId} (inputs unchanged): build key ${key.slice(0, 12)}, source ${source.ImageId}; nothing launched (-force bakes again)`);
      return { settings, ec2, key, source, generated, hit: { artifact: amiArtifact(amis), cached: true, key, generated } };
    }
  }
  return { settings, ec2, key, source, generated };
}
