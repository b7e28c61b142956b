// The launch primitive: one container in a subnet, behind security groups, optionally with a public
// endpoint. `AWS::EC2::Instance` is built on it, and so are the load balancer, cache and Auto
// Scaling handlers: whatever runs in a VPC goes through `launchContainer` / `destroyContainer`.
//
// How a container boots (see network.ts for the network design):
//   1. created with no Docker network (or only the VPC's public network when it has a public
//      endpoint, ports published on its own loopback address); its entrypoint is kiln's init
//      wrapper, inline (`sh -c <wrapper> kiln-init <image entrypoint + command>`), with tini as PID 1;
//      the user data is copied in as `/.kiln/user-data` (mode 0700, never in the environment, which
//      `docker inspect` shows), with `files` (and cloud-config write_files);
//   2. started; kiln joins its namespace to the VPC (veth, address, MAC derived from the address)
//      and loads its security group rules, then brings `vpc0` up;
//   3. the wrapper, which has been waiting for `vpc0` to be up, runs the user data once, as root
//      (with /bin/sh, or its own `#!` interpreter), writes `/.kiln/user-data.done`, and `exec`s the
//      image's command, as the image's USER again when that is not root.
// The wrapper uses the image's /bin/sh; an image without one gets the host's static busybox.
//
// Callers store `Launched.data` in their state as `data.containers: [...]`: the firewall
// reconciler (firewall.ts) finds group members there, and orphan recovery finds containers by their
// `kiln.owner` label (set `owner` to the physical id of the resource the container belongs to).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { KilnError, errorMessage } from '../../core/errors.js';
import { systemClock, retryUntil } from '../../core/clock.js';
import { DockerError, LABELS, type ContainerSpec } from '../../docker/client.js';
import type { JsonObject } from '../../stack/model.js';
import { ResourceMissing } from '../../model/provider.js';
import { packTar, type TarEntry } from '../../image/builders/tar.js';
import type { DockerContext } from './context.js';
import { attachingMember, currentView, groupIdOf, noteMember, reconcileFirewalls, rulesetFor, type ContainerRecord } from './firewall.js';
import { unregisterInstance } from './imds.js';
import { ResolvedImages, resolveImage } from './images.js';
import { instanceLimits } from './instance-types.js';
import {
  allocateAddress,
  allocateLoopback,
  attachToVpc,
  detachPort,
  hostVethName,
  listVpcNamespaces,
  ensurePublicNetwork,
  parseCidr,
  releaseAddress,
  releaseLoopback,
  requireRoot,
  subnetInfo,
  vpcRouterAddress,
} from './network.js';

export interface LaunchFile {
  /** Absolute path inside the container; parent directories are created. */
  path: string;
  content: string | Buffer;
  /** Default 0644. */
  mode?: number;
}

export interface LaunchSpec {
  /** Local image reference, `sha256:…` id, or `ami-…` id (see images.ts). */
  image: string;
  /** Physical id of an `AWS::EC2::Subnet` the context can look up. */
  subnetId: string;
  /** Physical ids of `AWS::EC2::SecurityGroup`s of the subnet's VPC; none = the VPC's default group. */
  securityGroupIds?: string[];
  /** With no `securityGroupIds`: no group filters the container (a network load balancer without groups). */
  unfiltered?: boolean;
  /** Extra labels (kiln's own labels are always set). */
  labels?: Record<string, string>;
  /** `kiln.kind` label: `instance` (default), `load-balancer`, `cache`… */
  kind?: string;
  /** Physical id of the resource that owns the container (`kiln.owner`; orphan detection). */
  owner?: string;
  /** Name hint; the container is named `kiln-<stack>-<logicalId>-<hint or random>`. */
  name?: string;
  env?: string[] | Record<string, string>;
  /** Replaces the image's command (and, with `entrypoint`, its entrypoint), as `docker run` does. */
  cmd?: string[];
  entrypoint?: string[];
  /**
   * User data, decoded (not base64); run once at first boot before the command. As cloud-init
   * reads it: a `#!` script, `#cloud-config` (write_files, bootcmd, packages, runcmd), or a MIME
   * multi-part mix of those (see prepareUserData); other text is run with /bin/sh, with a warning.
   */
  userData?: string;
  /**
   * Gives the container a public endpoint: its own loopback address with these TCP ports published.
   * `address`: keep this one when free. `key`: the address is derived from stack, logical id and
   * this key (default: the name hint), so a resource made again gets the same one when it is free.
   */
  publish?: { ports: number[]; address?: string; key?: string };
  /** A fixed private address in the subnet (otherwise the first free one). */
  privateIp?: string;
  /** Sets CPU and memory limits (see instance-types.ts); unknown types fail. */
  instanceType?: string;
  files?: LaunchFile[];
  /** Named Docker volumes to mount (`name:/path`, volumes.ts): an instance's attached EBS volumes. */
  volumes?: string[];
  /** Hostname; default `ip-a-b-c-d` as on EC2. */
  hostname?: string;
  /** Wait for the user data to finish (default true when there is user data). */
  waitForUserData?: boolean;
  /** How long to wait for user data; default 10 minutes. */
  userDataTimeoutMs?: number;
  /**
   * The instance's entry in its VPC's metadata service (instance-view.ts): `register` runs once the
   * addresses are known, before the container starts. Its undoing is the launch primitive's: a
   * launch that fails after registering forgets the entry, and so does `destroyContainer` of the
   * record (`Launched.data.instanceId`).
   */
  metadata?: { instanceId: string; register: (c: { ip: string; publicIp?: string; containerId: string }) => Promise<void> };
}

export interface Launched {
  containerId: string;
  containerName: string;
  privateIp: string;
  publicIp?: string;
  vpcId: string;
  subnetId: string;
  availabilityZone: string;
  privateDnsName: string;
  publicDnsName?: string;
  imageId: string;
  /** The record the firewall reconciler reads: store it in `state.data.containers`. */
  record: ContainerRecord;
  /** JSON form of everything above, for `state.data` (put it in `data.containers: [...]`). */
  data: JsonObject;
}

const INIT_DIR = '.kiln';

/**
 * The init wrapper (it execs the image's command at the end). `bb` prefixes applets when the image
 * has no shell. `user`: the image's USER, when the container runs as root only so that the user data
 * runs as root (as on EC2); the command is then run as that user again.
 */
export function initScript(bb: string, user = ''): string {
  return `# kiln init: waits for the VPC link, runs the user data once, then the image's command.
n=0
while :; do
  s=""
  [ -r /sys/class/net/vpc0/operstate ] && read -r s < /sys/class/net/vpc0/operstate
  [ "$s" = up ] && break
  n=$((n+1))
  if [ "$n" -gt 2400 ]; then echo "kiln-init: the VPC network never came up" >&2; exit 70; fi
  ${bb}sleep 0.05
done
if [ -f /${INIT_DIR}/user-data ] && [ ! -e /${INIT_DIR}/user-data.done ]; then
  first=""
  read -r first < /${INIT_DIR}/user-data || true
  case "$first" in
    '#!'*) /${INIT_DIR}/user-data > /${INIT_DIR}/user-data.log 2>&1 ;;
    *) ${bb}sh /${INIT_DIR}/user-data > /${INIT_DIR}/user-data.log 2>&1 ;;
  esac
  echo "$?" > /${INIT_DIR}/user-data.done
fi
if [ "$#" -eq 0 ]; then echo "kiln-init: the image has no command" >&2; exit 64; fi
${user ? dropTo(user, bb) : ''}exec "$@"
`;
}

/**
 * Shell lines that exec the command as `user` (`name`, `uid`, `name:group`, `uid:gid`): util-linux
 * setpriv, else coreutils `chroot --userspec`, else `su` (busybox's setpriv cannot change ids).
 */
function dropTo(user: string, bb: string): string {
  const q = `'${user.replace(/'/g, '')}'`;
  return `u=${q}; g=""
case "$u" in *:*) g="\${u#*:}"; u="\${u%%:*}";; esac
[ -n "$g" ] || g="$(${bb}id -g "$u" 2>/dev/null || echo "$u")"
if setpriv --reuid="$u" --regid="$g" --init-groups true 2>/dev/null; then exec setpriv --reuid="$u" --regid="$g" --init-groups -- "$@"; fi
if setpriv --reuid="$u" --regid="$g" --clear-groups true 2>/dev/null; then exec setpriv --reuid="$u" --regid="$g" --clear-groups -- "$@"; fi
if ${bb}chroot --userspec="$u:$g" --skip-chdir / true 2>/dev/null; then exec ${bb}chroot --userspec="$u:$g" --skip-chdir / "$@"; fi
if ${bb}su -p -s /bin/sh "$u" -c true 2>/dev/null; then exec ${bb}su -p -s /bin/sh "$u" -c 'exec "$0" "$@"' "$@"; fi
echo "kiln-init: cannot run the command as user $u (no setpriv, chroot --userspec or su in the image)" >&2
exit 71
`;
}

function envList(env: LaunchSpec['env']): string[] {
  if (!env) return [];
  if (Array.isArray(env)) return env;
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

function hostCpus(): number {
  return Math.max(1, availableParallelism());
}

/** `ip-10-0-1-5` + region suffix as EC2 names private hosts. */
export function privateDnsName(ip: string, region: string): string {
  const host = `ip-${ip.replace(/\./g, '-')}`;
  return region === 'us-east-1' ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}

/** The loopback address as a public DNS name would look (kept an address: it resolves nowhere else). */
export function regionOfAz(az: string): string {
  return /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/.test(az) ? az.slice(0, -1) : 'us-east-1';
}

function tarEntries(files: LaunchFile[]): TarEntry[] {
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    if (!f.path.startsWith('/')) throw new KilnError('INVALID_LAUNCH', `file path must be absolute: ${f.path}`, 'internal');
    const rel = f.path.replace(/^\/+/, '');
    const parts = rel.split('/');
    // Only kiln's own directory gets a directory entry: others (/etc, /tmp) keep their modes.
    if (parts[0] === INIT_DIR && !dirs.has(INIT_DIR)) {
      dirs.add(INIT_DIR);
      entries.push({ name: INIT_DIR, type: 'dir', mode: 0o755 });
    }
    entries.push({ name: rel, type: 'file', mode: f.mode ?? 0o644, data: Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content) });
  }
  return entries;
}

/** Whether an image (by id) has /bin/sh: asked once per image by each provider. */
export class ImageShells extends Map<string, boolean> {}

/**
 * Starts a container in a subnet behind security groups (see the file comment). On any failure
 * everything it made is removed before the error is thrown.
 */
export async function launchContainer(ctx: DockerContext, spec: LaunchSpec): Promise<Launched> {
  requireRoot();
  const { docker } = ctx;
  const subnet = subnetInfo(ctx, spec.subnetId);
  const view = currentView(ctx);
  // A group may be named by its name in the VPC (Ref of a default-VPC group): kiln keys groups by id.
  const groups = [...new Set((spec.securityGroupIds ?? []).map((g) => groupIdOf(ctx, view, g, subnet.vpcId) ?? g))];
  for (const g of groups) {
    const rules = view.groups.get(g);
    if (!rules) throw new KilnError('SECURITY_GROUP_NOT_FOUND', `The security group '${g}' does not exist (InvalidGroup.NotFound)`, 'user');
    if (rules.vpcId !== subnet.vpcId) throw new KilnError('SECURITY_GROUP_WRONG_VPC', `Security group ${g} and subnet ${spec.subnetId} belong to different networks.`, 'user');
  }
  const limits = spec.instanceType ? instanceLimits(spec.instanceType, hostCpus()) : undefined;
  if (limits?.cpuCapped) ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `${limits.type} has ${limits.vcpu} vCPUs; capped to the host's ${hostCpus()}` });
  const image = await resolveImage(docker, spec.image, ctx.local.of(ResolvedImages));
  const entrypoint = spec.entrypoint ?? image.entrypoint;
  const cmd = spec.cmd ?? (spec.entrypoint ? [] : image.cmd);
  const command = [...entrypoint, ...cmd];
  if (command.length === 0) throw new KilnError('IMAGE_HAS_NO_COMMAND', `image ${spec.image} has no ENTRYPOINT or CMD, so an instance of it would not run anything`, 'user');

  const vpcCidr = parseCidr(subnet.vpcCidr);
  const subnetCidr = parseCidr(subnet.cidr);
  if (!vpcCidr || !subnetCidr) throw new KilnError('SUBNET_STATE', `subnet ${spec.subnetId} has no valid CIDR in state`, 'internal');
  const ip = await allocateAddress(ctx, subnet.vpcId, subnetCidr, spec.subnetId, spec.privateIp);
  let publicIp: string | undefined;
  let container: string | undefined;
  /** The instance id registered with the metadata service, once it is. */
  let registered: string | undefined;
  const rand = randomBytes(3).toString('hex');
  const containerName = `kiln-${ctx.stack}-${ctx.logicalId}-${(spec.name ?? rand).replace(/[^a-zA-Z0-9_.-]/g, '-')}`;
  const unfiltered = !!spec.unfiltered && !groups.length;
  const record: ContainerRecord = { id: '', ip, vpcId: subnet.vpcId, subnetId: spec.subnetId, groups, ...(unfiltered ? { unfiltered } : {}) };
  try {
    let networkMode = 'none';
    const portBindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    const exposed: Record<string, object> = {};
    if (spec.publish) {
      publicIp = await allocateLoopback(ctx, `${ctx.stack}/${ctx.logicalId}/${spec.publish.key ?? spec.name ?? rand}`, spec.publish.address);
      // The VPC's public network belongs to the VPC's stack (which may not be this one: an imported subnet).
      const vpcStack = ctx.lookup(subnet.vpcId)?.stack ?? ctx.stack;
      networkMode = await ensurePublicNetwork(ctx, vpcStack, subnet.vpcLogicalId, subnet.vpcId, ctx.deployment, subnet.vpcCidr);
      for (const p of [...new Set(spec.publish.ports)]) {
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw new KilnError('INVALID_LAUNCH', `cannot publish port ${p}`, 'user');
        portBindings[`${p}/tcp`] = [{ HostIp: publicIp, HostPort: String(p) }];
        exposed[`${p}/tcp`] = {};
      }
    }
    // EC2 runs user data as root: a container whose image names another USER starts as root and
    // the wrapper returns to that user for the command.
    const asRoot = spec.userData !== undefined && image.user !== '' && !/^(root|0)(:.*)?$/.test(image.user);
    const labels: Record<string, string> = {
      ...(spec.labels ?? {}),
      [LABELS.managed]: 'true',
      [LABELS.stack]: ctx.stack,
      [LABELS.resource]: ctx.logicalId,
      [LABELS.deployment]: ctx.deployment,
      [LABELS.kind]: spec.kind ?? 'instance',
      'kiln.vpc': subnet.vpcId,
      'kiln.subnet': spec.subnetId,
      'kiln.ip': ip,
      'kiln.image': image.id,
    };
    if (spec.owner) labels['kiln.owner'] = spec.owner;
    // The instance id its metadata and signals know it by (cfn-signal's default UniqueId).
    if (spec.metadata) labels['kiln.instance-id'] = spec.metadata.instanceId;
    if (publicIp) labels['kiln.public-ip'] = publicIp;
    const ud = spec.userData !== undefined ? await prepareUserData(spec.userData) : undefined;
    for (const w of ud?.warnings ?? []) ctx.events.emit({ kind: 'warning', logicalId: ctx.logicalId, message: `UserData: ${w}` });
    // The wrapper travels inline (`sh -c`); the user data is copied in with the files.
    const createOpts = (shellCmd: string[], bb: string): ContainerSpec => ({
      name: containerName,
      Image: image.id,
      Hostname: spec.hostname ?? `ip-${ip.replace(/\./g, '-')}`,
      ...(asRoot ? { User: '0:0' } : {}),
      Entrypoint: [...shellCmd, '-c', initScript(bb, asRoot ? image.user : ''), 'kiln-init'],
      Cmd: command,
      Env: envList(spec.env),
      Labels: labels,
      ExposedPorts: exposed,
      HostConfig: {
        NetworkMode: networkMode,
        PortBindings: portBindings,
        // No NET_ADMIN (the packet filter is not theirs to change), no NET_RAW (no forged ARP or
        // source addresses on the VPC segment, as AWS's source/destination check prevents).
        CapDrop: ['NET_ADMIN', 'NET_RAW'],
        // tini as PID 1: signals reach the command (a clean stop), zombies are reaped.
        Init: true,
        ...(limits ? { NanoCpus: limits.nanoCpus, Memory: limits.memoryBytes } : {}),
        ...(spec.volumes?.length ? { Binds: spec.volumes } : {}),
      },
    });
    container = await docker.createContainer(createOpts(['/bin/sh'], ''));
    record.id = container;
    // The user data is copied in as a file readable by root only, never put in the environment:
    // `docker inspect` shows a container's environment, and user data may hold secrets (NoEcho values).
    const files: LaunchFile[] = [...(spec.files ?? []), ...(ud?.files ?? []), ...(ud ? [{ path: `/${INIT_DIR}/user-data`, content: ud.script, mode: 0o700 }] : [])];
    const shells = ctx.local.of(ImageShells);
    let shell = shells.get(image.id);
    if (shell === undefined) shells.set(image.id, (shell = await docker.pathExists(container, '/bin/sh')));
    if (!shell) {
      // No shell in the image: bring the host's static busybox for the wrapper (and the user data).
      const host = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));
      if (!host) throw new KilnError('IMAGE_HAS_NO_SHELL', `image ${spec.image} has no /bin/sh and the host has no static busybox to lend it`, 'user');
      files.push({ path: `/${INIT_DIR}/busybox`, content: readFileSync(host), mode: 0o755 });
      await docker.removeContainer(container, { force: true });
      container = await docker.createContainer(createOpts([`/${INIT_DIR}/busybox`, 'sh'], `/${INIT_DIR}/busybox `));
      record.id = container;
    }
    if (files.length) await docker.putArchive(container, '/', packTar(tarEntries(files)));
    if (spec.metadata) {
      registered = spec.metadata.instanceId;
      await spec.metadata.register({ ip, containerId: container, ...(publicIp ? { publicIp } : {}) });
    }
    await docker.startContainer(container);
    const info = await docker.inspectContainer(container);
    if (!info.State.Running) throw new KilnError('CONTAINER_EXITED', `container ${containerName} stopped at once (exit ${info.State.ExitCode})`, 'user');
    noteMember(ctx, record);
    const set = rulesetFor(currentView(ctx), record);
    const id = container;
    // Every container leaves its VPC through the VPC router (routing.ts), which follows the subnet's
    // route table. One with a public endpoint keeps its Docker network's on-link route for the
    // replies to the host's connections to its published ports, but not that network's way out.
    const gateway = vpcRouterAddress(vpcCidr);
    await attachingMember(ctx, id, set, () => attachToVpc({ ns: subnet.netns, pid: info.State.Pid, containerId: id, ip, prefix: vpcCidr.prefix, firewall: set, gateway }));
    // Members of groups this container belongs to may be sources in other containers' rules.
    await reconcileFirewalls(ctx, { vpcId: subnet.vpcId });
    const waitUd = spec.waitForUserData ?? spec.userData !== undefined;
    if (waitUd) await waitForUserData(ctx, container, spec.userDataTimeoutMs ?? 600_000);
  } catch (e) {
    if (container) await docker.removeContainer(container, { force: true }).catch(() => undefined);
    if (registered) await unregisterInstance(docker, subnet.vpcId, registered, ip);
    if (record.id) noteMember(ctx, null, record.id);
    releaseAddress(ctx, subnet.vpcId, ip);
    if (publicIp) releaseLoopback(ctx, publicIp);
    throw e;
  }
  const region = regionOfAz(subnet.availabilityZone);
  const launched: Launched = {
    containerId: container,
    containerName,
    privateIp: ip,
    vpcId: subnet.vpcId,
    subnetId: spec.subnetId,
    availabilityZone: subnet.availabilityZone,
    privateDnsName: privateDnsName(ip, region),
    imageId: image.id,
    record,
    data: {},
  };
  if (publicIp) {
    launched.publicIp = publicIp;
    launched.publicDnsName = publicIp;
  }
  launched.data = {
    id: container,
    name: containerName,
    ip,
    vpcId: subnet.vpcId,
    subnetId: spec.subnetId,
    groups,
    ...(unfiltered ? { unfiltered } : {}),
    netns: subnet.netns,
    imageId: image.id,
    ...(publicIp ? { publicIp } : {}),
    ...(spec.metadata ? { instanceId: spec.metadata.instanceId } : {}),
  };
  return launched;
}

/** Waits until the wrapper has run the user data; fails with the log's tail if the container stops. */
async function waitForUserData(ctx: DockerContext, containerId: string, timeoutMs: number): Promise<void> {
  const { docker } = ctx;
  await retryUntil(
    async () => {
      if (await docker.pathExists(containerId, `/${INIT_DIR}/user-data.done`)) return true;
      const info = await docker.inspectContainer(containerId);
      if (!info.State.Running) {
        const logs = await docker.containerLogs(containerId, 20).catch(() => '');
        throw new KilnError('INSTANCE_STOPPED', `the instance stopped during boot (exit ${info.State.ExitCode})${logs ? `: ${logs.replace(/[\x00-\x08]/g, '').trim()}` : ''}`, 'user');
      }
      return undefined;
    },
    {
      timeoutMs,
      intervalMs: 50,
      clock: systemClock,
      signal: ctx.signal,
      onTimeout: () => new KilnError('USER_DATA_TIMEOUT', `the user data did not finish within ${Math.round(timeoutMs / 1000)} s`, 'user'),
    },
  );
}

/**
 * Throws ResourceMissing when a container `physicalId` was made of is gone (removed outside kiln):
 * an update cannot change what no longer exists, and the executor stops rather than create it unplanned.
 */
export async function requireContainers(ctx: DockerContext, ids: readonly string[], physicalId: string): Promise<void> {
  for (const id of ids)
    await ctx.docker.inspectContainer(id).catch((e: unknown) => {
      if (DockerError.status(e) === 404) throw new ResourceMissing(`the container of ${physicalId} no longer exists`);
      throw e;
    });
}

/**
 * Removes a launched container and its VPC port, and forgets its metadata entry (`instanceId`, as
 * `Launched.data` records it); reconciles the rules of the others.
 */
export async function destroyContainer(ctx: DockerContext, data: { id: string; vpcId?: string; ip?: string; publicIp?: string; netns?: string; instanceId?: string } | string): Promise<void> {
  const rec = typeof data === 'string' ? { id: data } : data;
  try {
    await ctx.docker.removeContainer(rec.id, { force: true, volumes: true });
  } catch (e) {
    if (DockerError.status(e) !== 404) throw new KilnError('CONTAINER_REMOVE_FAILED', `cannot remove container ${rec.id}: ${errorMessage(e)}`, 'environment', { cause: e });
  }
  // The veth pair would die with the container's namespace, but the kernel tears namespaces down
  // lazily: remove the VPC end now, so the bridge has no port left (a VPC delete checks that).
  const ns = (rec as { netns?: string }).netns ?? (rec.vpcId ? (await listVpcNamespaces()).find((n) => n.vpcId === rec.vpcId)?.name : undefined);
  if (ns) await detachPort(ns, hostVethName(rec.id));
  if (typeof data !== 'string' && data.instanceId && data.vpcId) await unregisterInstance(ctx.docker, data.vpcId, data.instanceId, data.ip);
  noteMember(ctx, null, rec.id);
  if (rec.vpcId && rec.ip) releaseAddress(ctx, rec.vpcId, rec.ip);
  if (rec.publicIp) releaseLoopback(ctx, rec.publicIp);
  await reconcileFirewalls(ctx, rec.vpcId ? { vpcId: rec.vpcId } : {});
}

// ---------------------------------------------------------------------------------------------
// User data formats, as cloud-init reads them

export interface PreparedUserData {
  /** What `/.kiln/user-data` holds: the script the init wrapper runs. */
  script: string;
  /** Files to copy in before start (cloud-config write_files, the parts of a multi-part mix). */
  files: LaunchFile[];
  warnings: string[];
}

function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

interface Part {
  type: string;
  body: string;
}

/** Splits a MIME multi-part message into its parts (bodies decoded from base64 when so marked). */
export function splitMultipart(text: string): Part[] | undefined {
  const headerEnd = text.search(/\r?\n\r?\n/);
  if (headerEnd < 0) return undefined;
  const head = text.slice(0, headerEnd);
  const ct = /^content-type:\s*multipart\/[a-z]+;([^\n]*(?:\n[ \t][^\n]*)*)/im.exec(head);
  if (!ct) return undefined;
  const b = /boundary="?([^";\r\n]+)"?/i.exec(ct[1]);
  if (!b) return undefined;
  const boundary = `--${b[1]}`;
  const parts: Part[] = [];
  for (const chunk of text.slice(headerEnd).split(boundary).slice(1)) {
    if (chunk.startsWith('--')) break;
    const m = /\r?\n\r?\n/.exec(chunk);
    if (!m) continue;
    const headers = chunk.slice(0, m.index);
    let body = chunk.slice(m.index + m[0].length).replace(/\r?\n$/, '');
    const type = (/^content-type:\s*([^;\s]+)/im.exec(headers)?.[1] ?? 'text/plain').toLowerCase();
    if (/^content-transfer-encoding:\s*base64/im.test(headers)) body = Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    parts.push({ type, body });
  }
  return parts;
}

function typeOfText(body: string): string {
  if (body.startsWith('#!')) return 'text/x-shellscript';
  if (body.startsWith('#cloud-config')) return 'text/cloud-config';
  if (body.startsWith('#cloud-boothook')) return 'text/cloud-boothook';
  if (body.startsWith('#include')) return 'text/x-include-url';
  return 'text/plain';
}

const CLOUD_CONFIG_KEYS = new Set(['write_files', 'bootcmd', 'runcmd', 'packages', 'package_update', 'package_upgrade']);

/** Turns user data into the one script the wrapper runs plus files to copy in (see LaunchSpec.userData). */
export async function prepareUserData(text: string): Promise<PreparedUserData> {
  const warnings: string[] = [];
  const parts = splitMultipart(text) ?? [{ type: typeOfText(text), body: text }];
  if (parts.length === 1 && parts[0].type === 'text/x-shellscript' && parts[0].body === text) return { script: text, files: [], warnings };
  const files: LaunchFile[] = [];
  const boot: string[] = [];
  const config: string[] = [];
  const scripts: string[] = [];
  const runcmd: string[] = [];
  let n = 0;
  for (const part of parts) {
    n++;
    const type = part.type === 'text/plain' ? typeOfText(part.body) : part.type;
    if (type === 'text/x-shellscript' || type === 'text/cloud-boothook' || (type === 'text/plain' && parts.length === 1)) {
      if (type === 'text/plain') warnings.push('neither a #! script nor #cloud-config (cloud-init would ignore it); running it with /bin/sh');
      const body = type === 'text/cloud-boothook' ? part.body.replace(/^#cloud-boothook[^\n]*\n/, '') : part.body;
      const path = `/${INIT_DIR}/ud/part-${String(n).padStart(3, '0')}`;
      files.push({ path, content: body, mode: 0o755 });
      (type === 'text/cloud-boothook' ? boot : scripts).push(body.startsWith('#!') ? path : `sh ${path}`);
    } else if (type === 'text/cloud-config') {
      const { parse } = await import('yaml');
      let cfg: Record<string, unknown>;
      try {
        cfg = (parse(part.body) ?? {}) as Record<string, unknown>;
      } catch (e) {
        throw new KilnError('INVALID_USER_DATA', `UserData: #cloud-config is not valid YAML: ${errorMessage(e)}`, 'user');
      }
      for (const k of Object.keys(cfg)) if (!CLOUD_CONFIG_KEYS.has(k)) warnings.push(`cloud-config key '${k}' has no local effect`);
      const cmd = (c: unknown) => (Array.isArray(c) ? c.map((x) => shq(String(x))).join(' ') : `sh -c ${shq(String(c))}`);
      for (const c of (cfg.bootcmd as unknown[]) ?? []) boot.push(cmd(c));
      let w = 0;
      for (const f of (cfg.write_files as Array<Record<string, unknown>>) ?? []) {
        w++;
        if (typeof f.path !== 'string' || !f.path.startsWith('/')) throw new KilnError('INVALID_USER_DATA', 'UserData: cloud-config write_files entries need an absolute path', 'user');
        const enc = String(f.encoding ?? 'text').toLowerCase();
        let content: Buffer = Buffer.from(String(f.content ?? ''));
        if (enc === 'b64' || enc === 'base64') content = Buffer.from(String(f.content ?? ''), 'base64');
        else if (enc === 'gzip' || enc === 'gz' || enc === 'gz+base64' || enc === 'gzip+base64' || enc === 'gz+b64' || enc === 'gzip+b64') {
          const { gunzipSync } = await import('node:zlib');
          content = gunzipSync(enc.includes('b') ? Buffer.from(String(f.content ?? ''), 'base64') : content);
        }
        const mode = f.permissions !== undefined ? Number.parseInt(String(f.permissions), 8) : 0o644;
        if (f.append === true || f.append === 'true') {
          const staged = `/${INIT_DIR}/ud/write-${w}`;
          files.push({ path: staged, content, mode: 0o600 });
          config.push(`mkdir -p ${shq(f.path.replace(/\/[^/]*$/, '') || '/')} && cat ${staged} >> ${shq(f.path)}`);
        } else files.push({ path: f.path, content, mode: Number.isNaN(mode) ? 0o644 : mode });
      }
      const pkgs = ((cfg.packages as unknown[]) ?? []).map((p) => (Array.isArray(p) ? `${p[0]}=${p[1]}` : String(p)));
      if (cfg.package_update === true || cfg.package_upgrade === true || pkgs.length) config.push('apt-get update -qq');
      if (cfg.package_upgrade === true) config.push('DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -qq');
      if (pkgs.length) config.push(`DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs.map(shq).join(' ')}`);
      for (const c of (cfg.runcmd as unknown[]) ?? []) runcmd.push(cmd(c));
    } else {
      warnings.push(`part of type ${type} is not supported on the local target and was skipped`);
    }
  }
  // cloud-init's order: boot commands, then files and packages, then user scripts, then runcmd.
  const script = ['#!/bin/sh', '# assembled by kiln from the user data parts, in cloud-init order', ...boot, ...config, ...scripts, ...runcmd, ''].join('\n');
  return { script, files, warnings };
}
