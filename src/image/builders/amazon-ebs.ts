// Builder `amazon-ebs` (reference §10), on kiln's EC2 interface and the SSH communicator. Packer's
// steps, messages and order; each step that started gets its cleanup, in reverse, on success,
// failure and Ctrl-C (not with -on-error=abort, which keeps everything and prints the ids):
//   prevalidate AMI name → source AMI → network → temporary key pair → temporary security group →
//   launch (+ wait running) → connect over SSH → provision → remove the temporary key from
//   authorized_keys → stop → ENA/SR-IOV → force_deregister → create AMI (+ wait) → region copies →
//   attributes → tags.
// Every object is tagged with the run (`kiln:run`) as it is created, so a killed run's leftovers are
// found by `kiln gc --target aws`; a failed or cancelled run deregisters its half-made AMIs and
// deletes their snapshots (Packer leaks those: #10248). The build key goes on the AMI last.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { BlockDeviceMapping, Image, Instance, Tag } from '@aws-sdk/client-ec2';
import { systemClock, type Clock } from '../../core/clock.js';
import { KilnError, errorMessage } from '../../core/errors.js';
import type { AmazonEbsBuilderConfig, EbsBlockDevice, LateContext, PreparedBuild } from '../types.js';
import type { BuildUI } from '../events.js';
import { runSteps, type Step } from '../runner.js';
import { runProvisioner } from '../provisioners/index.js';
import { awsErrorCode, describeAwsError, type Ec2Api, type Ec2Input, type Ec2Op, type Ec2Output } from '../../aws/ec2.js';
import { maskSecrets } from '../../aws/settings.js';
import { TAGS, encodeCopies, runTags, toTags } from '../../aws/tags.js';
import { pollSettings, waitUntil, type PollSettings } from '../../aws/wait.js';
import { whereKilnRuns } from '../../aws/where.js';
import { registerRun } from '../../aws/runs.js';
import { publicKeyBody, waitForSsh, type SshCommunicator } from '../ssh-communicator.js';
import { amiArtifact, copyRegions, ec2Client, planAmazonEbsBuild, type EbsBuilderEnv, type EbsPlan } from './amazon-ebs-plan.js';
import type { BuilderOutcome } from './docker-plan.js';

interface Ctx {
  source?: Image & { ImageId: string };
  vpcId?: string;
  subnetId?: string;
  keyName?: string;
  keyCreated: boolean;
  privateKey?: string;
  publicKey?: string;
  groupIds: string[];
  groupCreated?: string;
  instanceId?: string;
  instance?: Instance;
  volumeIds: string[];
  comm?: SshCommunicator;
  amiId?: string;
  snapshots: string[];
  /** region → AMI id of the copies. */
  copies: Record<string, string>;
  copySnapshots: Record<string, string[]>;
  generated: LateContext;
}

const WAIT_INSTANCE_MS = 10 * 60_000;
const WAIT_IMAGE_MS = 30 * 60_000;

function toMapping(d: EbsBlockDevice): BlockDeviceMapping {
  if (d.noDevice) return { DeviceName: d.deviceName, NoDevice: '' };
  if (d.virtualName) return { DeviceName: d.deviceName, VirtualName: d.virtualName };
  return {
    DeviceName: d.deviceName,
    Ebs: {
      DeleteOnTermination: d.deleteOnTermination,
      ...(d.volumeSize !== undefined ? { VolumeSize: d.volumeSize } : {}),
      ...(d.volumeType ? { VolumeType: d.volumeType as never } : {}),
      ...(d.iops !== undefined ? { Iops: d.iops } : {}),
      ...(d.throughput !== undefined ? { Throughput: d.throughput } : {}),
      ...(d.encrypted !== undefined ? { Encrypted: d.encrypted } : {}),
      ...(d.kmsKeyId ? { KmsKeyId: d.kmsKeyId } : {}),
      ...(d.snapshotId ? { SnapshotId: d.snapshotId } : {}),
    },
  };
}

/** A UI whose every line is scrubbed of credentials (the sink already masks sensitive variables). */
function scrubbedUI(ui: BuildUI, secrets: () => string[]): BuildUI {
  const m = (s: string): string => maskSecrets(s, secrets());
  return { build: ui.build, say: (t) => ui.say(m(t)), message: (t) => ui.message(m(t)), error: (t) => ui.error(m(t)), output: (t, s) => ui.output(m(t), s) };
}

function snapshotsOf(img: Image | undefined): string[] {
  return (img?.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter((s): s is string => !!s);
}

export async function buildAmazonEbs(build: PreparedBuild, cfg: AmazonEbsBuilderConfig, env: EbsBuilderEnv, plan?: EbsPlan): Promise<BuilderOutcome> {
  const p = plan ?? (await planAmazonEbsBuild(build, cfg, env));
  if (p.hit) return p.hit;
  const { settings, key } = p;
  const ui = scrubbedUI(env.ui, () => settings.secrets());
  const clock: Clock = env.aws?.clock ?? systemClock;
  const osEnv = env.aws?.env ?? process.env;
  const region = settings.region;
  const runId = env.runUuid;
  const temp = (kind: 'temporary' | 'pending' = 'temporary'): Record<string, string> => runTags(runId, kind, env.labels, new Date(clock.now()));
  const clients = new Map<string, Ec2Api>([[region, p.ec2]]);
  const ec2For = (r: string): Ec2Api => {
    let c = clients.get(r);
    if (!c) clients.set(r, (c = ec2Client(settings.forRegion(r), env)));
    return c;
  };
  /** One EC2 call; a failure becomes a readable KilnError (AWS's code kept, credentials masked). */
  const aws = async <K extends Ec2Op>(op: K, input: Ec2Input<K>, r = region): Promise<Ec2Output<K>> => {
    try {
      return await ec2For(r).call(op, input);
    } catch (e) {
      throw Object.assign(new KilnError('AWS_API', maskSecrets(describeAwsError(op, e), settings.secrets()), 'environment', { cause: e }), { awsCode: awsErrorCode(e) });
    }
  };
  const polls = (defaultMs: number): PollSettings => pollSettings(defaultMs, { delayMs: cfg.pollDelayMs, maxAttempts: cfg.pollMaxAttempts, env: osEnv });
  const describeInstance = async (id: string): Promise<Instance | undefined> => (await aws('DescribeInstances', { InstanceIds: [id] })).Reservations?.[0]?.Instances?.[0];
  const waitInstance = (id: string, want: string, what: string, signal?: AbortSignal): Promise<Instance> =>
    waitUntil<Instance>(
      async () => {
        const i = await describeInstance(id);
        const state = i?.State?.Name ?? 'unknown';
        if (state === want) return { done: true, value: i! };
        if (want !== 'terminated' && (state === 'terminated' || state === 'shutting-down'))
          return { failed: `the instance is ${state}${i?.StateReason?.Message ? ` (${i.StateReason.Message})` : ''}` };
        return { done: false, state };
      },
      { ...polls(WAIT_INSTANCE_MS), what, clock, ...(signal ? { signal } : {}) },
    );
  const waitImage = (id: string, r: string, signal?: AbortSignal): Promise<Image> =>
    waitUntil<Image>(
      async () => {
        const img = (await aws('DescribeImages', { ImageIds: [id] }, r)).Images?.[0];
        const state = img?.State ?? 'unknown';
        if (state === 'available') return { done: true, value: img! };
        if (state === 'failed' || state === 'invalid' || state === 'deregistered' || state === 'error')
          return { failed: `the AMI is ${state}${img?.StateReason?.Message ? `: ${img.StateReason.Message}` : ''}` };
        return { done: false, state };
      },
      { ...polls(WAIT_IMAGE_MS), what: `AMI ${id} in ${r} to become available`, clock, ...(signal ? { signal } : {}) },
    );
  const deleteImage = async (id: string, snaps: string[], r: string): Promise<void> => {
    await aws('DeregisterImage', { ImageId: id }, r).catch((e: KilnError & { awsCode?: string }) => {
      if (!/NotFound|Unavailable/.test(e.awsCode ?? '')) throw e;
    });
    for (const s of snaps) {
      await aws('DeleteSnapshot', { SnapshotId: s }, r).catch((e: KilnError & { awsCode?: string }) => {
        if (!/NotFound/.test(e.awsCode ?? '')) throw e;
      });
    }
  };
  const renderTags = (tags: Record<string, string>, data: LateContext): Record<string, string> =>
    Object.fromEntries(Object.entries(tags).map(([k, v]) => [build.renderLate(k, data), build.renderLate(v, data)]));

  // Packer: `-force` sets force_deregister on the amazon builders.
  const forceDeregister = cfg.forceDeregister || env.force;
  const ctx: Ctx = { keyCreated: false, groupIds: [...cfg.securityGroupIds], volumeIds: [], snapshots: [], copies: {}, copySnapshots: {}, generated: p.generated };
  const generated = ctx.generated;
  const n = build.provisioners.length;
  let lastSshError = '';

  const steps: Step<Ctx>[] = [
    {
      name: 'StepPreValidate',
      async run() {
        ui.say('Prevalidating any provided VPC information');
        if (forceDeregister) {
          ui.say('Force Deregister flag found, skipping prevalidating AMI Name');
          return;
        }
        ui.say(`Prevalidating AMI Name: ${cfg.amiName}`);
        // kiln's own check: an emulator (and nothing in EC2 until CreateImage) stops a duplicate name.
        const r = await aws('DescribeImages', { Owners: ['self'], Filters: [{ Name: 'name', Values: [cfg.amiName] }] });
        const dup = (r.Images ?? []).find((i) => i.Name === cfg.amiName && i.State !== 'deregistered');
        if (dup) throw new KilnError('AMI_NAME_EXISTS', `Error: AMI Name: '${cfg.amiName}' is used by an existing AMI: ${dup.ImageId} (set force_deregister to replace it)`, 'user');
      },
    },
    {
      name: 'StepSourceAMIInfo',
      async run(c) {
        let src = p.source;
        if (!src.State) {
          const r = await aws('DescribeImages', { ImageIds: [src.ImageId] }).catch((e: KilnError & { awsCode?: string }) => {
            if (/NotFound|Malformed/.test(e.awsCode ?? '')) throw new KilnError('SOURCE_AMI', `No AMI was found matching filters: image id ${src.ImageId} (in ${region})`, 'user');
            throw e;
          });
          const found = r.Images?.[0];
          if (!found?.ImageId) throw new KilnError('SOURCE_AMI', `No AMI was found matching filters: image id ${src.ImageId} (in ${region})`, 'user');
          src = found as Image & { ImageId: string };
        }
        // amazon-ebs snapshots the instance's EBS root volume: an instance-store source cannot work.
        if (src.RootDeviceType && src.RootDeviceType !== 'ebs')
          throw new KilnError('SOURCE_AMI', `The provided source AMI has an invalid root device type.\nExpected 'ebs', got '${src.RootDeviceType}'.`, 'user');
        c.source = src;
        Object.assign(generated, { SourceAMIName: src.Name ?? '', SourceAMIOwner: src.OwnerId ?? '', SourceAMIOwnerName: src.ImageOwnerAlias ?? '', SourceAMICreationDate: src.CreationDate ?? '' });
        ui.message(`Found Image ID: ${src.ImageId}`);
      },
    },
    {
      name: 'StepNetworkInfo',
      async run(c) {
        if (cfg.subnetId) {
          c.subnetId = cfg.subnetId;
          const s = (await aws('DescribeSubnets', { SubnetIds: [cfg.subnetId] })).Subnets?.[0];
          c.vpcId = cfg.vpcId || s?.VpcId;
        } else if (cfg.vpcId) {
          c.vpcId = cfg.vpcId;
          const subnets = (await aws('DescribeSubnets', { Filters: [{ Name: 'vpc-id', Values: [cfg.vpcId] }] })).Subnets ?? [];
          subnets.sort((a, b) => (b.AvailableIpAddressCount ?? 0) - (a.AvailableIpAddressCount ?? 0));
          if (!subnets[0]?.SubnetId) throw new KilnError('AWS_NETWORK', `No subnets found in VPC ${cfg.vpcId}: set subnet_id`, 'user');
          c.subnetId = subnets[0].SubnetId;
          ui.message(`Found Subnet ID: ${c.subnetId}`);
        }
      },
    },
    {
      name: 'StepKeyPair',
      async run(c) {
        if (cfg.communicator === 'none') return;
        if (cfg.sshPrivateKeyFile) {
          ui.say('Using existing SSH private key');
          c.privateKey = readFileSync(cfg.sshPrivateKeyFile, 'utf8');
          if (cfg.sshKeypairName) c.keyName = cfg.sshKeypairName;
          c.publicKey = await publicKeyBody(c.privateKey);
          return;
        }
        if (cfg.sshPassword) {
          ui.say('Not using a temporary keypair (ssh_password is set)');
          return;
        }
        const name = cfg.temporaryKeyPairName || `packer_${randomUUID()}`;
        ui.say(`Creating temporary keypair: ${name}`);
        const r = await aws('CreateKeyPair', { KeyName: name, TagSpecifications: [{ ResourceType: 'key-pair', Tags: toTags(temp()) }] });
        c.keyName = name;
        c.keyCreated = true;
        if (!r.KeyMaterial) throw new KilnError('AWS_API', `CreateKeyPair ${name}: no private key in the answer`, 'environment');
        c.privateKey = r.KeyMaterial;
        c.publicKey = await publicKeyBody(c.privateKey);
        generated.SSHPublicKey = c.publicKey;
      },
      async cleanup(c) {
        if (!c.keyCreated || !c.keyName) return;
        ui.say('Deleting temporary keypair...');
        await aws('DeleteKeyPair', { KeyName: c.keyName });
      },
    },
    {
      name: 'StepSecurityGroup',
      async run(c, signal) {
        if (c.groupIds.length) {
          const r = await aws('DescribeSecurityGroups', { GroupIds: c.groupIds });
          ui.message(`Using existing security group(s): ${(r.SecurityGroups ?? []).map((g) => g.GroupId).join(', ')}`);
          return;
        }
        const name = `packer_${randomUUID()}`;
        ui.say(`Creating temporary security group for this instance: ${name}`);
        const g = await aws('CreateSecurityGroup', {
          GroupName: name,
          Description: 'Temporary group for kiln (Packer amazon-ebs)',
          ...(c.vpcId ? { VpcId: c.vpcId } : {}),
          TagSpecifications: [{ ResourceType: 'security-group', Tags: toTags(temp()) }],
        });
        if (!g.GroupId) throw new KilnError('AWS_API', `CreateSecurityGroup ${name}: no group id in the answer`, 'environment');
        c.groupCreated = g.GroupId;
        c.groupIds = [g.GroupId];
        if (cfg.communicator === 'none') return;
        const cidrs = cfg.temporarySecurityGroupSourceCidrs.length ? cfg.temporarySecurityGroupSourceCidrs : [await whereKilnRuns(settings, signal)];
        const port = cfg.sshPort;
        ui.say(`Authorizing access to port ${port} from [${cidrs.join(' ')}] in the temporary security groups...`);
        await aws('AuthorizeSecurityGroupIngress', {
          GroupId: g.GroupId,
          IpPermissions: [
            {
              IpProtocol: 'tcp',
              FromPort: port,
              ToPort: port,
              IpRanges: cidrs.filter((x) => !x.includes(':')).map((CidrIp) => ({ CidrIp })),
              Ipv6Ranges: cidrs.filter((x) => x.includes(':')).map((CidrIpv6) => ({ CidrIpv6 })),
            },
          ],
        });
      },
      async cleanup(c) {
        if (!c.groupCreated) return;
        ui.say('Deleting temporary security group...');
        // The group stays in use for a while after its instance is gone: Packer tries 5 times, 5 s apart.
        for (let attempt = 1; ; attempt++) {
          try {
            await aws('DeleteSecurityGroup', { GroupId: c.groupCreated });
            return;
          } catch (e) {
            const code = (e as { awsCode?: string }).awsCode ?? '';
            if (/NotFound/.test(code)) return;
            if (attempt >= 5 || !/DependencyViolation|InUse/.test(code)) throw e;
            await clock.sleep(5000);
          }
        }
      },
    },
    {
      name: 'StepCleanupVolumes',
      async run() {
        /* the volumes are known once the instance runs; this step exists for its cleanup's place */
      },
      async cleanup(c) {
        if (!c.volumeIds.length) return;
        ui.say('Cleaning up any extra volumes...');
        const left =
          (
            await aws('DescribeVolumes', {
              Filters: [
                { Name: 'status', Values: ['available'] },
                { Name: `tag:${TAGS.run}`, Values: [runId] },
              ],
            })
          ).Volumes ?? [];
        const ours = left.filter((v) => v.VolumeId && c.volumeIds.includes(v.VolumeId));
        if (!ours.length) {
          ui.say('No volumes to clean up, skipping');
          return;
        }
        for (const v of ours) {
          ui.message(`Deleting volume: ${v.VolumeId}`);
          await aws('DeleteVolume', { VolumeId: v.VolumeId! });
        }
      },
    },
    {
      name: 'StepRunSourceInstance',
      async run(c, signal) {
        ui.say('Launching a source AWS instance...');
        const runTagsRendered = renderTags(cfg.runTags, generated);
        const instanceTags = { Name: 'Packer Builder', ...runTagsRendered, ...temp() };
        ui.say('Adding tags to source instance');
        for (const [k, v] of Object.entries({ Name: 'Packer Builder', ...runTagsRendered })) ui.message(`Adding tag: "${k}": "${v}"`);
        const userData = cfg.userDataFile ? readFileSync(cfg.userDataFile) : cfg.userData ? Buffer.from(cfg.userData) : undefined;
        const network =
          cfg.associatePublicIpAddress !== undefined
            ? {
                NetworkInterfaces: [
                  { DeviceIndex: 0, AssociatePublicIpAddress: cfg.associatePublicIpAddress, DeleteOnTermination: true, Groups: c.groupIds, ...(c.subnetId ? { SubnetId: c.subnetId } : {}) },
                ],
              }
            : { SecurityGroupIds: c.groupIds, ...(c.subnetId ? { SubnetId: c.subnetId } : {}) };
        const r = await aws('RunInstances', {
          ImageId: c.source!.ImageId,
          InstanceType: cfg.instanceType as never,
          MinCount: 1,
          MaxCount: 1,
          ...(c.keyName ? { KeyName: c.keyName } : {}),
          ...(userData ? { UserData: userData.toString('base64') } : {}),
          ...(cfg.iamInstanceProfile ? { IamInstanceProfile: { Name: cfg.iamInstanceProfile } } : {}),
          ...(cfg.launchBlockDeviceMappings.length ? { BlockDeviceMappings: cfg.launchBlockDeviceMappings.map(toMapping) } : {}),
          InstanceInitiatedShutdownBehavior: cfg.shutdownBehavior as never,
          ...network,
          TagSpecifications: [
            { ResourceType: 'instance', Tags: toTags(instanceTags) },
            { ResourceType: 'volume', Tags: toTags({ ...renderTags(cfg.runVolumeTags, generated), ...temp() }) },
          ],
        });
        const id = r.Instances?.[0]?.InstanceId;
        if (!id) throw new KilnError('AWS_API', 'RunInstances: no instance id in the answer', 'environment');
        c.instanceId = id;
        generated.ID = id;
        ui.message(`Instance ID: ${id}`);
        ui.say(`Waiting for instance (${id}) to become ready...`);
        c.instance = await waitInstance(id, 'running', `instance ${id} to become running`, signal);
        c.volumeIds = (c.instance.BlockDeviceMappings ?? []).map((b) => b.Ebs?.VolumeId).filter((v): v is string => !!v);
      },
      async cleanup(c) {
        if (!c.instanceId) return;
        ui.say('Terminating the source AWS instance...');
        await aws('TerminateInstances', { InstanceIds: [c.instanceId] }).catch((e: KilnError & { awsCode?: string }) => {
          if (!/NotFound/.test(e.awsCode ?? '')) throw e;
        });
        await waitInstance(c.instanceId, 'terminated', `instance ${c.instanceId} to terminate`);
      },
    },
    {
      name: 'StepConnect',
      async run(c, signal) {
        if (cfg.communicator === 'none') return;
        const i = c.instance!;
        const byInterface: Record<string, string | undefined> = {
          public_ip: i.PublicIpAddress,
          private_ip: i.PrivateIpAddress,
          public_dns: i.PublicDnsName,
          private_dns: i.PrivateDnsName,
        };
        const resolved = cfg.sshHost ? undefined : env.aws?.sshAddress?.(i);
        const host = cfg.sshHost || resolved?.host || (cfg.sshInterface ? byInterface[cfg.sshInterface] : i.PublicIpAddress || i.PublicDnsName || i.PrivateIpAddress);
        const port = resolved?.port ?? cfg.sshPort;
        if (!host) throw new KilnError('SSH_HOST', `instance ${c.instanceId} has no ${cfg.sshInterface || 'public or private'} address to connect to (set ssh_interface or ssh_host)`, 'environment');
        Object.assign(generated, { Host: host, Port: String(port), User: cfg.sshUsername ?? '' });
        if (cfg.pauseBeforeConnectingMs > 0) {
          ui.say(`Waiting ${Math.round(cfg.pauseBeforeConnectingMs / 1000)}s before connecting...`);
          await clock.sleep(cfg.pauseBeforeConnectingMs, signal);
        }
        ui.say(`Using ssh communicator to connect: ${host}`);
        ui.say('Waiting for SSH to become available...');
        c.comm = await waitForSsh(
          { host, port, username: cfg.sshUsername ?? '', ...(c.privateKey ? { privateKey: c.privateKey } : {}), ...(cfg.sshPassword ? { password: cfg.sshPassword } : {}) },
          {
            timeoutMs: cfg.sshTimeoutMs,
            signal,
            clock,
            // Each new kind of failure once (refused while booting, then auth until the key is in).
            onAttempt: (err) => {
              if (err !== lastSshError) ui.message(`SSH not ready yet: ${err}`);
              lastSshError = err;
            },
          },
        );
        ui.say('Connected to SSH!');
      },
      async cleanup(c) {
        c.comm?.close();
      },
    },
    {
      name: 'StepProvision',
      async run(c, signal) {
        const tmpDir = env.tmpDir ?? (await import('node:os')).tmpdir();
        const pctx = { build, ui, ...(c.comm ? { comm: c.comm } : {}), generated, signal, tmpDir };
        for (let i = 0; i < n; i++) {
          try {
            await runProvisioner(build.provisioners[i]!, pctx);
          } catch (e) {
            if (!signal.aborted) ui.say('Provisioning step had errors: Running the cleanup provisioner, if present...');
            if (build.errorCleanupProvisioner && !signal.aborted) {
              try {
                await runProvisioner(build.errorCleanupProvisioner, { ...pctx, signal: new AbortController().signal });
              } catch (e2) {
                ui.error(`The error-cleanup-provisioner failed too: ${errorMessage(e2)}`);
              }
            }
            throw e;
          }
        }
      },
    },
    {
      name: 'StepCleanupTempKeys',
      async run(c) {
        if (!c.comm || !c.keyCreated || !c.publicKey) return;
        ui.say('Trying to remove ephemeral keys from authorized_keys files');
        await c.comm.removeAuthorizedKey(c.publicKey);
      },
    },
    {
      name: 'StepStopEBSBackedInstance',
      async run(c, signal) {
        c.comm?.close();
        if (cfg.disableStopInstance) ui.say('Automatic instance stop disabled. Please stop instance manually.');
        else {
          ui.say('Stopping the source instance...');
          ui.message('Stopping instance');
          await aws('StopInstances', { InstanceIds: [c.instanceId!] });
        }
        ui.say('Waiting for the instance to stop...');
        await waitInstance(c.instanceId!, 'stopped', `instance ${c.instanceId} to stop`, signal);
      },
    },
    {
      name: 'StepModifyEBSBackedInstance',
      async run(c) {
        if (cfg.enaSupport) {
          ui.say('Enabling Enhanced Networking (ENA)...');
          await aws('ModifyInstanceAttribute', { InstanceId: c.instanceId!, EnaSupport: { Value: true } });
        }
        if (cfg.sriovSupport) {
          ui.say('Enabling Enhanced Networking (SR-IOV)...');
          await aws('ModifyInstanceAttribute', { InstanceId: c.instanceId!, SriovNetSupport: { Value: 'simple' } });
        }
      },
    },
    {
      name: 'StepDeregisterAMI',
      async run() {
        if (!forceDeregister) return;
        for (const r of [region, ...copyRegions(cfg, region)]) {
          const found = (await aws('DescribeImages', { Owners: ['self'], Filters: [{ Name: 'name', Values: [cfg.amiName] }] }, r)).Images ?? [];
          for (const img of found) {
            if (!img.ImageId) continue;
            await aws('DeregisterImage', { ImageId: img.ImageId }, r);
            ui.say(`Deregistered AMI id: ${img.ImageId}`);
            if (cfg.forceDeleteSnapshot)
              for (const s of snapshotsOf(img)) {
                await aws('DeleteSnapshot', { SnapshotId: s }, r);
                ui.say(`Deleted snapshot: ${s}`);
              }
          }
        }
      },
    },
    {
      name: 'StepCreateAMI',
      async run(c, signal) {
        ui.say(`Creating AMI ${cfg.amiName} from instance ${c.instanceId}`);
        const r = await aws('CreateImage', {
          InstanceId: c.instanceId!,
          Name: cfg.amiName,
          ...(cfg.amiBlockDeviceMappings.length ? { BlockDeviceMappings: cfg.amiBlockDeviceMappings.map(toMapping) } : {}),
          TagSpecifications: [{ ResourceType: 'image', Tags: toTags(temp('pending')) }],
        });
        if (!r.ImageId) throw new KilnError('AWS_API', 'CreateImage: no image id in the answer', 'environment');
        c.amiId = r.ImageId;
        ui.message(`AMI: ${r.ImageId}`);
        // Tag the snapshots with the run at once, so a killed run's snapshots can be found too.
        const snaps = snapshotsOf((await aws('DescribeImages', { ImageIds: [r.ImageId] })).Images?.[0]);
        c.snapshots = snaps;
        if (snaps.length) await aws('CreateTags', { Resources: snaps, Tags: toTags(temp('pending')) });
        ui.say('Waiting for AMI to become ready...');
        const img = await waitImage(r.ImageId, region, signal);
        c.snapshots = snapshotsOf(img);
      },
      async cleanup(c, failed) {
        if (!failed) return;
        const any = c.amiId || Object.keys(c.copies).length;
        if (!any) return;
        ui.say('Deregistering the AMI and deleting associated snapshots because of cancellation, or error...');
        for (const [r, id] of Object.entries(c.copies)) {
          const snaps = c.copySnapshots[r]?.length ? c.copySnapshots[r]! : snapshotsOf((await aws('DescribeImages', { ImageIds: [id] }, r)).Images?.[0]);
          await deleteImage(id, snaps, r);
          ui.message(`Deregistered ${id} in ${r}${snaps.length ? ` and deleted ${snaps.join(', ')}` : ''}`);
        }
        if (c.amiId) {
          const snaps = c.snapshots.length ? c.snapshots : snapshotsOf((await aws('DescribeImages', { ImageIds: [c.amiId] })).Images?.[0]);
          await deleteImage(c.amiId, snaps, region);
          ui.message(`Deregistered ${c.amiId}${snaps.length ? ` and deleted ${snaps.join(', ')}` : ''}`);
        }
      },
    },
    {
      name: 'StepAMIRegionCopy',
      async run(c, signal) {
        const regions = copyRegions(cfg, region);
        if (!regions.length) return;
        ui.say(`Copying/Encrypting AMI (${c.amiId}) to other regions...`);
        for (const r of regions) {
          ui.message(`Copying to: ${r}`);
          const cp = await aws('CopyImage', { SourceRegion: region, SourceImageId: c.amiId!, Name: cfg.amiName }, r);
          if (!cp.ImageId) throw new KilnError('AWS_API', `CopyImage to ${r}: no image id in the answer`, 'environment');
          c.copies[r] = cp.ImageId;
          await aws('CreateTags', { Resources: [cp.ImageId], Tags: toTags(temp('pending')) }, r);
        }
        ui.message('Waiting for all copies to complete...');
        for (const r of regions) {
          const img = await waitImage(c.copies[r]!, r, signal);
          c.copySnapshots[r] = snapshotsOf(img);
          if (c.copySnapshots[r]!.length) await aws('CreateTags', { Resources: c.copySnapshots[r]!, Tags: toTags(temp('pending')) }, r);
        }
      },
    },
    {
      name: 'StepModifyAMIAttributes',
      async run(c) {
        const desc = cfg.amiDescription ? build.renderLate(cfg.amiDescription, generated) : '';
        const perms = [...cfg.amiUsers.map((UserId) => ({ UserId })), ...cfg.amiGroups.map((Group) => ({ Group: Group as never }))];
        const snapPerms = [...cfg.snapshotUsers.map((UserId) => ({ UserId })), ...cfg.snapshotGroups.map((Group) => ({ Group: Group as never }))];
        if (!desc && !perms.length && !snapPerms.length) return;
        const amis: Array<[string, string]> = [[region, c.amiId!], ...Object.entries(c.copies)];
        for (const [r, id] of amis) {
          ui.say(`Modifying attributes on AMI (${id})...`);
          if (desc) {
            ui.message('Modifying: description');
            await aws('ModifyImageAttribute', { ImageId: id, Description: { Value: desc } }, r);
          }
          if (cfg.amiUsers.length) ui.message('Modifying: users');
          if (cfg.amiGroups.length) ui.message('Modifying: groups');
          if (perms.length) await aws('ModifyImageAttribute', { ImageId: id, LaunchPermission: { Add: perms } }, r);
          const snaps = r === region ? c.snapshots : (c.copySnapshots[r] ?? []);
          if (snapPerms.length && snaps.length) {
            ui.say('Modifying attributes on snapshots...');
            for (const s of snaps) await aws('ModifySnapshotAttribute', { SnapshotId: s, Attribute: 'createVolumePermission', CreateVolumePermission: { Add: snapPerms } }, r);
          }
        }
      },
    },
    {
      name: 'StepCreateTags',
      async run(c) {
        const amis: Record<string, string> = { [region]: c.amiId!, ...c.copies };
        const data = { ...generated };
        const userTags = renderTags(cfg.tags, data);
        const snapTags = renderTags(cfg.snapshotTags, data);
        // The build key goes on last: an AMI with it is finished (copies, attributes, tags).
        const final: Record<string, string> = { ...env.labels, [TAGS.run]: runId, [TAGS.kind]: 'artifact', [TAGS.build]: build.name, [TAGS.copies]: encodeCopies(amis), [TAGS.buildKey]: key };
        for (const [r, id] of Object.entries(amis)) {
          const snaps = r === region ? c.snapshots : (c.copySnapshots[r] ?? []);
          // Packer's messages when the template has tags; kiln's own tags go on quietly.
          if (Object.keys(userTags).length || Object.keys(snapTags).length) {
            ui.say(`Adding tags to AMI (${id})...`);
            for (const s of snaps) ui.message(`Tagging snapshot: ${s}`);
            ui.message('Creating AMI tags');
            for (const [k, v] of Object.entries(userTags)) ui.message(`Adding tag: "${k}": "${v}"`);
            if (snaps.length) {
              ui.message('Creating snapshot tags');
              for (const [k, v] of Object.entries(snapTags)) ui.message(`Adding tag: "${k}": "${v}"`);
            }
          }
          if (snaps.length) await aws('CreateTags', { Resources: snaps, Tags: toTags({ ...snapTags, [TAGS.run]: runId, [TAGS.kind]: 'artifact' }) }, r);
          const tags: Tag[] = toTags({ ...userTags, ...final });
          await aws('CreateTags', { Resources: [id], Tags: tags }, r);
        }
      },
    },
  ];

  const stateDir = await (async () => (await import('../../state/db.js')).stateDir(env.stateDir))();
  const unregister = registerRun(stateDir, { run: runId, pid: process.pid, started: new Date(clock.now()).toISOString(), region, build: build.name });
  try {
    await runSteps(steps, ctx, {
      signal: env.signal,
      onError: env.onError,
      hooks: {
        onCleanupError: (s, e) => ui.error(`cleanup of ${s} failed: ${errorMessage(e)} (\`kiln gc --target aws\` removes what is left)`),
        onAbortSkip: (s) => {
          const kept: Record<string, string | undefined> = {
            StepKeyPair: ctx.keyCreated ? `key pair ${ctx.keyName}` : undefined,
            StepSecurityGroup: ctx.groupCreated ? `security group ${ctx.groupCreated}` : undefined,
            StepRunSourceInstance: ctx.instanceId ? `instance ${ctx.instanceId}` : undefined,
            StepCreateAMI: ctx.amiId ? `AMI ${[ctx.amiId, ...Object.values(ctx.copies)].join(', ')}${ctx.snapshots.length ? ` and snapshots ${ctx.snapshots.join(', ')}` : ''}` : undefined,
          };
          if (kept[s]) ui.error(`aborted: skipping cleanup of step "${s}": keeping ${kept[s]} (run ${runId}; \`kiln gc --target aws\` removes it)`);
        },
      },
    });
  } catch (e) {
    if (env.signal.aborted && !KilnError.is(e)) throw new KilnError('BUILD_CANCELLED', `build '${build.name}' was cancelled`, 'user', { cause: e, exitCode: 130 });
    throw e;
  } finally {
    // Kept objects (-on-error=abort) belong to no live run from here on: gc may sweep them.
    unregister();
  }
  const amis: Record<string, string> = { [region]: ctx.amiId!, ...ctx.copies };
  return { artifact: amiArtifact(amis), cached: false, key, generated };
}
