// AWS::EC2::Instance on the local target: one container from `ImageId`, launched by launch.ts in its
// subnet behind its security groups, CPU and memory from `InstanceType`, `UserData` (base64, as in
// AWS) run once at first boot before the image's command.
//
// In place, as AWS does it: Tags (no interruption), InstanceType (some interruption: the container
// is stopped, its limits changed, started again and rejoined to its VPC with the same address),
// SecurityGroupIds (no interruption: the packet filter is reloaded). Everything the spec marks as
// replacing (ImageId, SubnetId, PrivateIpAddress, KeyName…) is left to the planner. UserData, which
// AWS can only change on a stopped instance and then never runs again, replaces here: kiln replaces
// rather than leave an instance whose boot script no longer matches its template (see `diff`).
import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { KilnError, errorMessage } from '../../core/errors.js';
import { DockerError, type ContainerDetails, type DockerClient } from '../../docker/client.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { DiffResult, ReadResult, ResourceState } from '../../model/provider.js';
import { canonicalJson } from '../../core/hash.js';
import type { DockerContext, DockerHandler } from './context.js';
import { attachingMember, currentView, filterDrift, noteMember, reconcileFirewalls, rulesetFor, type ContainerRecord } from './firewall.js';
import { newId } from './ids.js';
import { defaultSubnetFor } from './default-vpc.js';
import { ResolvedImages, resolveImage } from './images.js';
import { instanceLimits } from './instance-types.js';
import { destroyContainer, launchContainer, requireContainers } from './launch.js';
import { mountsFor } from './volumes.js';
import { attachToVpc, cidrContains, containerRoot, parseCidr, parseCidrLoose, subnetInfo } from './network.js';
import { availableParallelism } from 'node:os';
import { instanceView } from './instance-view.js';
import { awaitResourceSignals, clearSignals, resourceSignalPolicy } from './signals.js';

/** The resources whose AWS::CloudFormation::Init metadata `cfn-init --resource` may name in this instance: itself. */
function initSources(ctx: DockerContext): Array<{ resource: string; init: Json | undefined }> {
  const md = ctx.policies?.Metadata;
  return md && md['AWS::CloudFormation::Init'] !== undefined ? [{ resource: ctx.logicalId, init: md['AWS::CloudFormation::Init'] }] : [];
}

/** AWS's default when a template gives no InstanceType. */
export const DEFAULT_INSTANCE_TYPE = 'm1.small';

/** Paths whose changes are the normal life of a running system, not a mutated server. */
// /sbin/docker-init: the mount point of Docker's init (tini), made at start.
const VOLATILE = [
  '/sbin/docker-init',
  '/tmp',
  '/run',
  '/var/run',
  '/var/log',
  '/var/cache',
  '/var/tmp',
  '/var/lib/apt/lists',
  '/proc',
  '/dev',
  '/sys',
  '/.kiln',
  '/root/.ash_history',
  '/root/.bash_history',
];

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function strList(v: Json | undefined, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new KilnError('INVALID_PROPERTY', `${what} must be a list`, 'user');
  return v.map(String);
}

/** Decodes base64 user data as EC2 does (refusing what is not base64). */
export function decodeUserData(v: Json | undefined): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw new KilnError('INVALID_USER_DATA', 'Invalid BASE64 encoding of user data (UserData must be base64: use Fn::Base64)', 'user');
  let buf = Buffer.from(s, 'base64');
  if (buf.length > 16 * 1024) throw new KilnError('INVALID_USER_DATA', `User data is limited to 16384 bytes (got ${buf.length})`, 'user');
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf); // gzip-compressed, as cloud-init accepts
  return buf.toString('utf8');
}

interface NetworkChoice {
  subnetId: string;
  groups: string[];
  privateIp?: string;
  associatePublicIp?: boolean;
}

function networkOf(ctx: DockerContext, props: JsonObject): NetworkChoice {
  const nis = Array.isArray(props.NetworkInterfaces) ? (props.NetworkInterfaces as JsonObject[]) : [];
  const primary = nis.find((n) => String(n.DeviceIndex ?? '0') === '0') ?? nis[0];
  if (nis.length > 1) throw new KilnError('UNSUPPORTED_ON_LOCAL', 'AWS::EC2::Instance: more than one network interface is not supported on the local target', 'user');
  const subnetId = str(props.SubnetId) ?? (primary ? str(primary.SubnetId) : undefined);
  // Without a subnet the instance launches into the default VPC, in the default subnet of its zone.
  if (!subnetId) return networkOf(ctx, { ...props, SubnetId: defaultSubnetFor(ctx, str(props.AvailabilityZone)) });
  let groups = [...strList(props.SecurityGroupIds, 'SecurityGroupIds'), ...(primary ? strList(primary.GroupSet, 'NetworkInterfaces[0].GroupSet') : [])];
  const byName = strList(props.SecurityGroups, 'SecurityGroups');
  if (byName.length) {
    // In a VPC, AWS wants ids; Ref of a VPC group is its id, so ids pass; names are looked up.
    const view = currentView(ctx);
    for (const n of byName) {
      if (view.groups.has(n)) groups.push(n);
      else {
        const match = ctx.allResources().find((r) => r.type === 'AWS::EC2::SecurityGroup' && r.state.data?.groupName === n);
        if (!match) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${n}' does not exist in VPC (InvalidGroup.NotFound)`, 'user');
        groups.push(match.state.physicalId);
      }
    }
  }
  groups = [...new Set(groups)];
  const choice: NetworkChoice = { subnetId, groups };
  const ip = str(props.PrivateIpAddress) ?? (primary ? str(primary.PrivateIpAddress) : undefined);
  if (ip) choice.privateIp = ip;
  if (primary && primary.AssociatePublicIpAddress !== undefined) choice.associatePublicIp = primary.AssociatePublicIpAddress === true || primary.AssociatePublicIpAddress === 'true';
  return choice;
}

/**
 * TCP ports a public instance publishes on its loopback address: what its groups allow from outside
 * the VPC. A rule whose source lies inside the VPC (a group, or a CIDR within the VPC's block) can
 * never admit the host, so its ports are not published (the host then gets a plain refusal).
 */
export function publicPorts(ctx: DockerContext, groups: string[], vpcId: string, exposed: number[], vpcCidr?: string): number[] {
  const view = currentView(ctx);
  const vpc = vpcCidr ? parseCidr(vpcCidr) : undefined;
  const effective = groups.length ? groups : [view.defaults.get(vpcId) ?? ''];
  const ports = new Set<number>();
  for (const g of effective) {
    for (const r of view.groups.get(g)?.ingress ?? []) {
      if (r.group || r.cidr6) continue; // members of a group are inside the VPC, never the host
      const src = r.cidr ? parseCidrLoose(r.cidr) : undefined;
      if (vpc && src && cidrContains(vpc, src)) continue;
      if (r.protocol === 'tcp' && r.to - r.from < 32) for (let p = r.from; p <= r.to; p++) ports.add(p);
      else if (r.protocol === 'tcp' || r.protocol === 'all') for (const p of exposed) if (r.protocol === 'all' || (p >= r.from && p <= r.to)) ports.add(p);
    }
  }
  return [...ports]
    .filter((p) => p > 0)
    .sort((a, b) => a - b)
    .slice(0, 64);
}

function containerOf(state: ResourceState): ContainerRecord & { netns?: string; publicIp?: string } {
  const list = state.data?.containers;
  const c = Array.isArray(list) ? (list[0] as JsonObject | undefined) : undefined;
  if (!c || typeof c.id !== 'string') throw new KilnError('INSTANCE_STATE', `instance ${state.physicalId} has no container in state`, 'internal');
  return c as unknown as ContainerRecord & { netns?: string; publicIp?: string };
}

export function limitsFor(type: string) {
  return instanceLimits(type, Math.max(1, availableParallelism()));
}

/** Runs a command as root in a container and returns its stdout (stderr dropped), or undefined when it cannot run. */
async function execOut(docker: DockerClient, containerId: string, cmd: string[]): Promise<string | undefined> {
  try {
    return (await docker.exec(containerId, cmd, { user: '0' })).stdout;
  } catch {
    return undefined;
  }
}

/** At most this many boot-time files get a content hash (user data that installs packages adds thousands). */
const MAX_HASHED = 64;

/**
 * Content hashes of the regular files the boot left changed (`A`/`C` in the baseline), so a later
 * edit of such a file (say /etc/app.env, written by the user data) still shows as a mutation.
 */
export async function baselineHashes(docker: DockerClient, containerId: string, baseline: readonly string[]): Promise<Record<string, string>> {
  const paths = baseline.filter((b) => b.startsWith('A ') || b.startsWith('C ')).map((b) => b.slice(2));
  if (!paths.length || paths.length > MAX_HASHED) return {};
  const onHost = await hashOnHost(docker, containerId, paths);
  if (onHost) return onHost;
  // Whichever digest tool the image has (busybox and coreutils both have sha256sum or md5sum).
  const script =
    'h=""; for t in sha256sum md5sum cksum; do if command -v $t >/dev/null 2>&1; then h=$t; break; fi; done; [ -n "$h" ] || exit 0; for f in "$@"; do [ -f "$f" ] && [ ! -L "$f" ] && $h "$f"; done; true';
  const out = await execOut(docker, containerId, ['sh', '-c', script, 'kiln-hash', ...paths]);
  const hashes: Record<string, string> = {};
  for (const line of (out ?? '').split('\n')) {
    const m = /^([0-9a-f]{32,64}) [ *](.+)$/.exec(line) ?? /^(\d+ \d+) (.+)$/.exec(line);
    if (m) hashes[m[2]] = m[1];
  }
  return hashes;
}

/** Files larger than this are not hashed (a boot-time file that size is data, not configuration). */
const MAX_HASHED_BYTES = 16 << 20;

/**
 * SHA-256 of the regular files among `paths`, read from the host through `/proc/<pid>/root` (no
 * process in the container, which would cost an exec per instance launch). The paths come from
 * `docker diff`, entries of the container's own file system, and only regular files are read.
 * Undefined when the container's root cannot be reached from here (not running, remote engine).
 */
async function hashOnHost(docker: DockerClient, containerId: string, paths: readonly string[]): Promise<Record<string, string> | undefined> {
  const root = await containerRoot(docker, containerId);
  if (!root) return undefined;
  const hashes: Record<string, string> = {};
  for (const p of paths) {
    try {
      const st = await lstat(`${root}${p}`);
      if (!st.isFile() || st.size > MAX_HASHED_BYTES) continue;
      hashes[p] = createHash('sha256')
        .update(await readFile(`${root}${p}`))
        .digest('hex');
    } catch {
      // gone since the diff
    }
  }
  return hashes;
}

/** Files changed inside a container, minus its boot baseline, volatile paths and implied parents. */
export async function mutations(
  docker: DockerClient,
  containerId: string,
  baseline: readonly string[],
  hashes: Readonly<Record<string, string>> = {},
): Promise<Array<{ path: string; kind: 'A' | 'C' | 'D' }>> {
  const changes = await docker.containerChanges(containerId);
  const base = new Set(baseline);
  if (Object.keys(hashes).length) {
    // A boot-time file whose content changed since is a mutation even though diff still says A/C.
    const now = await baselineHashes(
      docker,
      containerId,
      Object.keys(hashes).map((p) => `C ${p}`),
    );
    for (const [path, h] of Object.entries(hashes)) if (now[path] !== undefined && now[path] !== h) for (const k of ['A', 'C']) base.delete(`${k} ${path}`);
  }
  const list = changes;
  // A changed directory is implied by a change below it, volatile or not (docker's /sbin/docker-init
  // mount point shows as `A /sbin/docker-init` under `C /sbin`).
  const paths = list.map((c) => c.path);
  return list
    .filter((c) => !(c.kind === 'C' && paths.some((p) => p !== c.path && p.startsWith(`${c.path}/`))))
    .filter((c) => !VOLATILE.some((v) => c.path === v || c.path.startsWith(`${v}/`)))
    .filter((c) => !base.has(`${c.kind} ${c.path}`))
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** The public key of the key pair `name` (made or imported by a stack); a KilnError when there is none. */
export function publicKeyOf(ctx: DockerContext, name: string): string {
  const pair = ctx.allResources().find((r) => r.type === 'AWS::EC2::KeyPair' && r.state.physicalId === name);
  const key = pair ? (str(pair.state.data?.publicKey) ?? str(pair.properties.PublicKeyMaterial)) : undefined;
  if (!key) throw new KilnError('KEY_PAIR_NOT_FOUND', `The key pair '${name}' does not exist (InvalidKeyPair.NotFound)`, 'user');
  return key;
}

function hashText(s: string | undefined): string | null {
  return s === undefined ? null : createHash('sha256').update(s).digest('hex').slice(0, 16);
}

export const instanceHandler: DockerHandler = {
  type: 'AWS::EC2::Instance',
  effect: 'real',
  async create(ctx, props) {
    const image = str(props.ImageId);
    if (!image) throw new KilnError('INVALID_PROPERTY', 'AWS::EC2::Instance ImageId is required on the local target (a local image or its ami- id)', 'user');
    const instanceType = str(props.InstanceType) ?? DEFAULT_INSTANCE_TYPE;
    limitsFor(instanceType); // fails early on an unknown type
    const net = networkOf(ctx, props);
    const subnet = subnetInfo(ctx, net.subnetId);
    const az = str(props.AvailabilityZone);
    if (az && az !== subnet.availabilityZone)
      throw new KilnError('AZ_MISMATCH', `The subnet '${net.subnetId}' is in availability zone ${subnet.availabilityZone}, not in the requested ${az} (InvalidParameterValue)`, 'user');
    const userData = decodeUserData(props.UserData);
    const keyName = str(props.KeyName);
    const publicKey = keyName ? publicKeyOf(ctx, keyName) : undefined;
    const isPublic = net.associatePublicIp ?? subnet.mapPublicIpOnLaunch;
    const { docker } = ctx;
    const resolved = await resolveImage(docker, image, ctx.local.of(ResolvedImages));
    const instanceId = newId('i');
    const ports = isPublic ? publicPorts(ctx, net.groups, subnet.vpcId, resolved.exposedPorts, subnet.vpcCidr) : [];
    ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `launching ${instanceId} (${instanceType}) from ${resolved.amiId}` });
    // With a CreationPolicy, the signals (waitReady) say when the instance is ready, not the end of its user data.
    const signals = resourceSignalPolicy(ctx);
    if (signals) await clearSignals(docker, `r.${ctx.stack}.${ctx.logicalId}`);
    const view = instanceView(ctx, {
      instanceId,
      subnetId: net.subnetId,
      amiId: resolved.amiId,
      instanceType,
      groups: net.groups,
      ...(keyName && publicKey ? { keyName, publicKey } : {}),
      ...(userData !== undefined ? { userData } : {}),
      ...(props.MetadataOptions !== undefined ? { metadataOptions: props.MetadataOptions } : {}),
      ...(props.Tags !== undefined ? { tags: props.Tags } : {}),
      ...(props.IamInstanceProfile !== undefined ? { instanceProfile: props.IamInstanceProfile } : {}),
      init: initSources(ctx),
    });
    const launched = await launchContainer(ctx, {
      image: resolved.id,
      subnetId: net.subnetId,
      securityGroupIds: net.groups,
      kind: 'instance',
      owner: instanceId,
      name: instanceId,
      instanceType,
      ...(userData !== undefined ? { userData } : {}),
      // Where the image's SSH server (if any) reads root's keys, as EC2's cloud-init writes them.
      files: view.files,
      volumes: await mountsFor(ctx),
      metadata: view.metadata,
      ...(signals ? { waitForUserData: false } : {}),
      ...(net.privateIp ? { privateIp: net.privateIp } : {}),
      ...(isPublic ? { publish: { ports } } : {}),
    });
    let baseline: string[] = [];
    let hashes: Record<string, string> = {};
    try {
      baseline = (await mutations(docker, launched.containerId, [])).map((m) => `${m.kind} ${m.path}`);
      hashes = await baselineHashes(docker, launched.containerId, baseline);
    } catch (e) {
      ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `could not record the boot file baseline: ${errorMessage(e)}` });
    }
    const attributes: Record<string, Json> = {
      InstanceId: instanceId,
      PrivateIp: launched.privateIp,
      PrivateDnsName: launched.privateDnsName,
      // As on AWS, a public DNS name only in a VPC with EnableDnsHostnames; locally it is the address.
      PublicDnsName: launched.publicDnsName && ctx.lookup(launched.vpcId)?.state.data?.enableDnsHostnames === true ? launched.publicDnsName : '',
      AvailabilityZone: launched.availabilityZone,
      VpcId: launched.vpcId,
      State: 'running',
    };
    if (launched.publicIp) attributes.PublicIp = launched.publicIp;
    return {
      physicalId: instanceId,
      attributes,
      data: {
        containers: [launched.data],
        imageId: launched.imageId,
        amiId: resolved.amiId,
        instanceType,
        userDataHash: hashText(userData),
        publishedPorts: ports,
        baseline,
        baselineHashes: hashes,
        // waitReady waits for the CreationPolicy's signals after this creation only, not after an update.
        createdIn: ctx.deployment,
      },
    };
  },

  diff(oldProps, newProps): DiffResult {
    const requiresReplacement: string[] = [];
    if (canonicalJson(oldProps.UserData ?? null) !== canonicalJson(newProps.UserData ?? null)) requiresReplacement.push('UserData');
    return { requiresReplacement };
  },

  async update(ctx, props, previous) {
    const { docker } = ctx;
    const rec = containerOf(previous.state);
    // An instance removed outside kiln cannot be updated: say so (the executor stops rather than create one unplanned).
    await requireContainers(ctx, [rec.id], previous.state.physicalId);
    const data: JsonObject = { ...(previous.state.data ?? {}) };
    delete data.createdIn;
    const instanceType = str(props.InstanceType) ?? DEFAULT_INSTANCE_TYPE;
    const net = networkOf(ctx, props);
    // Security groups: reload the packet filter (no interruption).
    const groupsChanged = canonicalJson([...rec.groups].sort()) !== canonicalJson([...net.groups].sort());
    const nextRec: ContainerRecord & Record<string, Json | undefined> = { ...rec, groups: net.groups };
    if (groupsChanged) {
      const subnet = subnetInfo(ctx, rec.subnetId);
      const view = currentView(ctx);
      for (const g of net.groups) {
        const rules = view.groups.get(g);
        if (!rules) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${g}' does not exist (InvalidGroup.NotFound)`, 'user');
        if (rules.vpcId !== subnet.vpcId) throw new KilnError('SECURITY_GROUP_WRONG_VPC', `Security group ${g} and subnet ${rec.subnetId} belong to different networks.`, 'user');
      }
      noteMember(ctx, { id: rec.id, ip: rec.ip, vpcId: rec.vpcId, subnetId: rec.subnetId, groups: net.groups, ...(rec.publicIp ? { publicIp: rec.publicIp } : {}) });
      await reconcileFirewalls(ctx, { vpcId: rec.vpcId });
      const published = Array.isArray(data.publishedPorts) ? (data.publishedPorts as number[]) : [];
      if (rec.publicIp) {
        const image = await resolveImage(docker, String(data.imageId), ctx.local.of(ResolvedImages));
        const want = publicPorts(ctx, net.groups, rec.vpcId, image.exposedPorts, subnetInfo(ctx, rec.subnetId).vpcCidr).filter((p) => !published.includes(p));
        if (want.length)
          ctx.events.emit({
            kind: 'warning',
            logicalId: ctx.logicalId,
            message: `ports ${want.join(', ')} are now allowed but were not published at launch; replace the instance to reach them from the host`,
          });
      }
    }
    // Instance type: stop, change limits, start, rejoin the VPC (some interruption, as on AWS).
    if (instanceType !== data.instanceType) {
      const limits = limitsFor(instanceType);
      ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `stopping ${previous.state.physicalId} to change its type to ${instanceType}` });
      await docker.stopContainer(rec.id, { timeoutSeconds: 5 });
      await docker.updateContainer(rec.id, { NanoCpus: limits.nanoCpus, Memory: limits.memoryBytes, MemorySwap: -1 });
      await docker.startContainer(rec.id);
      const info = await docker.inspectContainer(rec.id);
      const subnet = subnetInfo(ctx, rec.subnetId);
      const prefix = parseCidr(subnet.vpcCidr)?.prefix ?? 16;
      const set = rulesetFor(currentView(ctx), { ...rec, groups: net.groups });
      await attachingMember(ctx, rec.id, set, () => attachToVpc({ ns: subnet.netns, pid: info.State.Pid, containerId: rec.id, ip: rec.ip, prefix, firewall: set }));
      await reconcileFirewalls(ctx, { vpcId: rec.vpcId });
      data.instanceType = instanceType;
    }
    data.containers = [nextRec as JsonObject];
    return { ...previous.state, data };
  },

  async delete(ctx, state) {
    const list = Array.isArray(state.data?.containers) ? (state.data.containers as JsonObject[]) : [];
    // The instance id is the physical id (states written before launches recorded it in the container's record).
    for (const c of list) await destroyContainer(ctx, { ...(c as unknown as { id: string; vpcId?: string; ip?: string; publicIp?: string }), instanceId: state.physicalId });
  },

  async waitReady(ctx, state) {
    // A CreationPolicy applies to the creation (a replacement is one); an update in place sends no new signals.
    if (state.data?.createdIn !== ctx.deployment) return;
    const policy = resourceSignalPolicy(ctx);
    if (policy) await awaitResourceSignals(ctx, policy);
  },

  async read(ctx, state, props): Promise<ReadResult> {
    const { docker } = ctx;
    const rec = containerOf(state);
    let info: ContainerDetails;
    try {
      info = await docker.inspectContainer(rec.id);
    } catch (e) {
      if (DockerError.status(e) === 404) return { drift: [] };
      throw e;
    }
    const drift: ReadResult['drift'] = [];
    const data = state.data ?? {};
    if (info.Image !== data.imageId) drift.push({ property: 'ImageId', expected: String(data.amiId ?? data.imageId), actual: info.Image, kind: 'NOT_EQUAL' });
    const type = String(data.instanceType ?? str(props.InstanceType) ?? DEFAULT_INSTANCE_TYPE);
    try {
      const l = limitsFor(type);
      if (info.HostConfig.NanoCpus !== l.nanoCpus || info.HostConfig.Memory !== l.memoryBytes)
        drift.push({
          property: 'InstanceType',
          expected: type,
          actual: `cpus=${(info.HostConfig.NanoCpus ?? 0) / 1e9} memory=${Math.round((info.HostConfig.Memory ?? 0) / 1048576)}MiB`,
          kind: 'NOT_EQUAL',
        });
    } catch {
      // unknown type in state: nothing to compare
    }
    const running = info.State.Running ? 'running' : info.State.Status === 'exited' ? 'stopped' : info.State.Status;
    if (running !== 'running') drift.push({ property: 'State', expected: 'running', actual: running, kind: 'NOT_EQUAL' });
    if (info.State.Running) {
      const filter = await filterDrift(docker, currentView(ctx), rec).catch(() => undefined);
      if (filter && (filter.missing.length || filter.extra.length)) drift.push({ property: 'SecurityGroupIds', expected: filter.missing, actual: filter.extra, kind: 'NOT_EQUAL' });
    }
    const attributes = { ...state.attributes, State: running };
    let muts: ReadResult['mutations'] = [];
    try {
      const hashes = data.baselineHashes && typeof data.baselineHashes === 'object' && !Array.isArray(data.baselineHashes) ? (data.baselineHashes as Record<string, string>) : {};
      muts = await mutations(docker, rec.id, Array.isArray(data.baseline) ? (data.baseline as string[]) : [], hashes);
    } catch (e) {
      ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `docker diff failed: ${errorMessage(e)}` });
    }
    return { state: { ...state, attributes }, drift, mutations: muts };
  },
};
