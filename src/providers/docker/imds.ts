// The instance's view of AWS, part 1: the instance metadata service at 169.254.169.254.
//
// Design: one small container per VPC (`kiln-imds-<vpc-id>`, from the busybox base image), running
// busybox `nc -ll -e` with a shell handler (images/instance/imds-serve.sh) that answers by the
// caller's source address: kiln writes, for each instance launched in the VPC, a file tree of its
// metadata under /imds/i/<instance-id>/ and /imds/ip/<address> → instance id, before the instance
// starts. The container is not on the VPC bridge: it is plugged into the VPC's namespace (the VPC's
// router, network.ts) by a point-to-point veth, holds 169.254.169.254/32, and the router sends that
// address to it (a policy rule ahead of the route tables, so no route table can send it elsewhere).
// Instances reach it through their default gateway; their security groups and network ACLs do not
// filter it (firewall.ts lets port 80 of that address through), as on AWS. The host has no route
// into a VPC, so nothing outside the VPC's instances can ask it. The same container collects
// cfn-signal / WaitConditionHandle signals (/kiln/signal/…, /kiln/wait/…), which kiln reads from
// the host (signals.ts). Labelled for the VPC's stack and owned by the VPC (orphan recovery), it is
// removed with the VPC.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { KilnError, errorMessage } from '../../core/errors.js';
import { DockerError, LABELS, type DockerClient } from '../../docker/client.js';
import { packTar, unpackTar, type TarEntry } from '../../image/builders/tar.js';
import type { DockerContext, DockerScope } from './context.js';
import { IMDS_ADDRESS, inNetns, parseCidr, run, vpcRouterAddress } from './network.js';
import { shippedPath } from './shipped.js';

export { IMDS_ADDRESS };
/** The VPC router's end of the veth to the metadata container (link-local, used nowhere else). */
const ROUTER_SIDE = '169.254.171.1';
const IMDS_IMAGE = 'busybox:latest';
const RULE_PREF = '900';

/** A script kiln puts in instances or in the metadata container (images/instance/NAME), read from the installation. */
export function instanceTool(name: string): Buffer {
  return readFileSync(resolve(shippedPath('images/instance', 'INSTANCE_TOOLS_MISSING'), name));
}

export function imdsContainerName(vpcId: string): string {
  return `kiln-imds-${vpcId}`;
}

/** Metadata containers being made by this provider, by VPC. */
class ImdsState {
  readonly pending = new Map<string, Promise<string>>();
}

/** The VPC's metadata container (made and plugged in on first need); its id. */
export function ensureMetadataService(ctx: DockerContext, vpc: { vpcId: string; netns: string; stack: string; vpcCidr: string }): Promise<string> {
  const st = ctx.local.of(ImdsState);
  let p = st.pending.get(vpc.vpcId);
  if (!p) {
    p = makeMetadataService(ctx, vpc);
    st.pending.set(vpc.vpcId, p);
    p.catch(() => st.pending.delete(vpc.vpcId));
  }
  return p;
}

async function makeMetadataService(ctx: DockerContext, vpc: { vpcId: string; netns: string; stack: string; vpcCidr: string }): Promise<string> {
  const { docker } = ctx;
  const name = imdsContainerName(vpc.vpcId);
  const existing = (await docker.listContainers({ all: true, labels: [`kiln.imds-vpc=${vpc.vpcId}`] }))[0];
  if (existing) {
    const info = await docker.inspectContainer(existing.Id);
    if (info.State.Running) return existing.Id;
    await docker.removeContainer(existing.Id, { force: true }).catch(() => undefined);
  }
  if (!(await docker.inspectImage(IMDS_IMAGE)))
    throw new KilnError('IMDS_IMAGE_MISSING', `the instance metadata service runs on ${IMDS_IMAGE}, which is not a local image (scripts/ensure-busybox.sh imports it)`, 'environment');
  let id: string;
  try {
    id = await docker.createContainer({
      name,
      Image: IMDS_IMAGE,
      Entrypoint: ['/bin/sh', '-c', 'exec nc -ll -p 80 -e /bin/sh /imds/serve'],
      Cmd: [],
      Labels: {
        [LABELS.managed]: 'true',
        [LABELS.stack]: vpc.stack,
        [LABELS.resource]: 'InstanceMetadataService',
        [LABELS.deployment]: ctx.deployment,
        [LABELS.kind]: 'imds',
        'kiln.owner': vpc.vpcId,
        'kiln.imds-vpc': vpc.vpcId,
      },
      HostConfig: { NetworkMode: 'none', Init: true, CapDrop: ['NET_ADMIN', 'NET_RAW'] },
    });
  } catch (e) {
    // Another process made it first.
    if (DockerError.status(e) === 409) {
      const info = await docker.inspectContainer(name);
      if (!info.State.Running) await docker.startContainer(info.Id);
      return info.Id;
    }
    throw e;
  }
  try {
    const entries: TarEntry[] = [
      { name: 'imds', type: 'dir', mode: 0o755 },
      { name: 'imds/serve', type: 'file', mode: 0o755, data: instanceTool('imds-serve.sh') },
      { name: 'imds/ip', type: 'dir', mode: 0o755 },
      { name: 'imds/i', type: 'dir', mode: 0o755 },
      { name: 'imds/t', type: 'dir', mode: 0o700 },
      { name: 'imds/s', type: 'dir', mode: 0o755 },
    ];
    await docker.putArchive(id, '/', packTar(entries));
    await docker.startContainer(id);
    const info = await docker.inspectContainer(id);
    if (!info.State.Running) throw new KilnError('IMDS_FAILED', `the metadata service container stopped at once (exit ${info.State.ExitCode})`, 'environment');
    const tmp = `m${id.slice(0, 8)}`;
    const port = `imds${id.slice(0, 6)}`;
    await run('ip', ['-n', vpc.netns, 'link', 'delete', port]).catch(() => undefined);
    // The VPC router's address (routing.ts sets it too, with the route tables): the instances' gateway.
    const cidr = parseCidr(vpc.vpcCidr);
    if (cidr) await run('ip', ['-n', vpc.netns, 'address', 'replace', `${vpcRouterAddress(cidr)}/${cidr.prefix}`, 'dev', 'br0']);
    await run(
      'ip',
      ['-n', vpc.netns, '-batch', '-'],
      [
        `link add name ${port} type veth peer name ${tmp} netns ${info.State.Pid}`,
        `address add ${ROUTER_SIDE}/32 dev ${port}`,
        `link set ${port} up`,
        `route replace ${IMDS_ADDRESS}/32 dev ${port}`,
      ].join('\n') + '\n',
    );
    // Ahead of the route tables (routing.ts, preferences 1000 and up): the metadata address is never routed elsewhere.
    await run('ip', ['-n', vpc.netns, 'rule', 'del', 'pref', RULE_PREF]).catch(() => undefined);
    await run('ip', ['-n', vpc.netns, 'rule', 'add', 'pref', RULE_PREF, 'to', `${IMDS_ADDRESS}/32`, 'lookup', 'main']);
    await run('ip', ['netns', 'exec', vpc.netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    await inNetns(
      info.State.Pid,
      'ip',
      ['-batch', '-'],
      [
        'link set lo up',
        `link set ${tmp} addrgenmode none`,
        `address add ${IMDS_ADDRESS}/32 dev ${tmp}`,
        `link set ${tmp} name eth0`,
        'link set eth0 up',
        `route add ${ROUTER_SIDE}/32 dev eth0`,
        `route add default via ${ROUTER_SIDE} dev eth0`,
      ].join('\n') + '\n',
    );
    return id;
  } catch (e) {
    await docker.removeContainer(id, { force: true }).catch(() => undefined);
    throw new KilnError('IMDS_FAILED', `cannot start the instance metadata service of ${vpc.vpcId}: ${errorMessage(e)}`, 'environment', { cause: e });
  }
}

/** Removes the VPC's metadata container (VPC delete). */
export async function removeMetadataService(scope: DockerScope, vpcId: string, netns: string): Promise<void> {
  scope.local.of(ImdsState).pending.delete(vpcId);
  for (const c of await scope.docker.listContainers({ all: true, labels: [`kiln.imds-vpc=${vpcId}`] })) {
    await scope.docker.removeContainer(c.Id, { force: true }).catch(() => undefined);
    await run('ip', ['-n', netns, 'link', 'delete', `imds${c.Id.slice(0, 6)}`]).catch(() => undefined);
  }
  await run('ip', ['-n', netns, 'rule', 'del', 'pref', RULE_PREF]).catch(() => undefined);
}

/** One instance's metadata: paths under `latest/` → values (a `.list` file overrides a directory's listing). */
export interface InstanceMetadata {
  instanceId: string;
  privateIp: string;
  tree: Record<string, string>;
  /** HttpTokens: required (IMDSv2 only). */
  tokensRequired: boolean;
}

/** Writes an instance's metadata into its VPC's metadata container (before the instance starts). */
export async function registerInstance(docker: DockerClient, imdsId: string, md: InstanceMetadata): Promise<void> {
  const base = `imds/i/${md.instanceId}`;
  const entries: TarEntry[] = [{ name: base, type: 'dir', mode: 0o755 }];
  const dirs = new Set<string>();
  for (const [path, value] of Object.entries(md.tree).sort(([a], [b]) => a.localeCompare(b))) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = `${base}/${parts.slice(0, i).join('/')}`;
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ name: d, type: 'dir', mode: 0o755 });
      }
    }
    entries.push({ name: `${base}/${path}`, type: 'file', mode: 0o644, data: Buffer.from(value) });
  }
  if (md.tokensRequired) entries.push({ name: `${base}/tokens`, type: 'file', mode: 0o644, data: Buffer.from('required\n') });
  entries.push({ name: `imds/ip/${md.privateIp}`, type: 'file', mode: 0o644, data: Buffer.from(`${md.instanceId}\n`) });
  await docker.putArchive(imdsId, '/', packTar(entries));
}

/**
 * Forgets an instance (its address file only when it still names this instance). Called by the launch
 * primitive when a launch fails after registering and when a launched container is destroyed
 * (launch.ts), the one place that pairs with registration. The VPC's metadata container is addressed
 * by its name: none (never made, or gone with its VPC) means nothing to forget.
 */
export async function unregisterInstance(docker: DockerClient, vpcId: string, instanceId: string, privateIp?: string): Promise<void> {
  const ip = privateIp && /^[0-9.]+$/.test(privateIp) ? privateIp : '';
  const script = `rm -rf "/imds/i/$1"; [ -n "$2" ] && [ "$(cat "/imds/ip/$2" 2>/dev/null)" = "$1" ] && rm -f "/imds/ip/$2"; true`;
  await docker.exec(imdsContainerName(vpcId), ['sh', '-c', script, 'kiln-forget', instanceId, ip]).catch(() => undefined);
}

/** A signal as cfn-signal (or a PUT to a WaitConditionHandle URL) sent it. */
export interface Signal {
  status: 'SUCCESS' | 'FAILURE';
  reason: string;
  uniqueId: string;
  data: string;
  /** Order of arrival. */
  at: string;
}

/** Every signal received under `key` by any VPC's metadata service (`r.<stack>.<logicalId>` or `h.<token>`). */
export async function readSignals(docker: DockerClient, key: string): Promise<Signal[]> {
  const out: Signal[] = [];
  for (const c of await docker.listContainers({ labels: [`${LABELS.kind}=imds`] })) {
    let tar: Buffer;
    try {
      tar = await docker.getArchive(c.Id, `/imds/s/${key}`);
    } catch {
      continue; // none there
    }
    for (const e of unpackTar(tar)) {
      if (e.type !== 'file' || !e.name.endsWith('.json') || !e.data) continue;
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(e.data.toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { Status: 'FAILURE', Reason: 'the signal was not valid JSON' };
      }
      const status = String(body.Status ?? '').toUpperCase() === 'SUCCESS' ? 'SUCCESS' : 'FAILURE';
      out.push({
        status,
        reason: String(body.Reason ?? ''),
        uniqueId: String(body.UniqueId ?? e.name),
        data: typeof body.Data === 'string' ? body.Data : JSON.stringify(body.Data ?? ''),
        at: e.name.replace(/^.*\//, ''),
      });
    }
  }
  return out.sort((a, b) => a.at.localeCompare(b.at, undefined, { numeric: true }));
}

/** What an instance's metadata is made of (instance.ts, asg.ts give it at launch). */
export interface InstanceFacts {
  instanceId: string;
  amiId: string;
  instanceType: string;
  privateIp: string;
  publicIp?: string;
  privateDnsName: string;
  availabilityZone: string;
  region: string;
  vpcId: string;
  vpcCidr: string;
  subnetId: string;
  subnetCidr: string;
  groups: string[];
  mac: string;
  keyName?: string;
  publicKey?: string;
  userData?: string;
  /** Role name and instance profile ARN (from IamInstanceProfile), when the instance has one. */
  role?: { name: string; profileArn: string };
  /** Tags, served under tags/instance/ only when InstanceMetadataTags is enabled. */
  tags?: Record<string, string>;
  accountId: string;
}

/** The metadata tree of an instance as IMDS serves it under /latest/. */
export function metadataTree(f: InstanceFacts): Record<string, string> {
  const md = 'latest/meta-data';
  const t: Record<string, string> = {
    [`${md}/ami-id`]: f.amiId,
    [`${md}/ami-launch-index`]: '0',
    [`${md}/instance-id`]: f.instanceId,
    [`${md}/instance-type`]: f.instanceType,
    [`${md}/local-ipv4`]: f.privateIp,
    [`${md}/local-hostname`]: f.privateDnsName,
    [`${md}/hostname`]: f.privateDnsName,
    [`${md}/mac`]: f.mac,
    [`${md}/placement/availability-zone`]: f.availabilityZone,
    [`${md}/placement/region`]: f.region,
    [`${md}/security-groups`]: f.groups.join('\n'),
    [`${md}/services/domain`]: 'amazonaws.com',
    [`${md}/services/partition`]: 'aws',
  };
  const nic = `${md}/network/interfaces/macs/${f.mac}`;
  Object.assign(t, {
    [`${nic}/device-number`]: '0',
    [`${nic}/local-ipv4s`]: f.privateIp,
    [`${nic}/local-hostname`]: f.privateDnsName,
    [`${nic}/mac`]: f.mac,
    [`${nic}/owner-id`]: f.accountId,
    [`${nic}/security-group-ids`]: f.groups.join('\n'),
    [`${nic}/subnet-id`]: f.subnetId,
    [`${nic}/subnet-ipv4-cidr-block`]: f.subnetCidr,
    [`${nic}/vpc-id`]: f.vpcId,
    [`${nic}/vpc-ipv4-cidr-block`]: f.vpcCidr,
    [`${nic}/vpc-ipv4-cidr-blocks`]: f.vpcCidr,
  });
  if (f.publicIp) {
    t[`${md}/public-ipv4`] = f.publicIp;
    t[`${md}/public-hostname`] = f.publicIp;
    t[`${nic}/public-ipv4s`] = f.publicIp;
  }
  if (f.keyName && f.publicKey) {
    t[`${md}/public-keys/.list`] = `0=${f.keyName}`;
    t[`${md}/public-keys/0/openssh-key`] = `${f.publicKey.trim()}\n`;
  }
  if (f.role) {
    const now = new Date();
    const expires = new Date(now.getTime() + 6 * 3600_000);
    const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
    t[`${md}/iam/info`] = JSON.stringify(
      { Code: 'Success', LastUpdated: iso(now), InstanceProfileArn: f.role.profileArn, InstanceProfileId: `AIPA${f.instanceId.slice(2, 19).toUpperCase()}` },
      null,
      2,
    );
    // Placeholders, and plainly so: the local target has no IAM to issue credentials from.
    t[`${md}/iam/security-credentials/${f.role.name}`] = JSON.stringify(
      {
        Code: 'Success',
        LastUpdated: iso(now),
        Type: 'AWS-HMAC',
        AccessKeyId: 'ASIAKILNLOCALFAKEKEY',
        SecretAccessKey: 'kiln-local-placeholder-not-a-real-secret',
        Token: 'kiln-local-placeholder-not-a-real-session-token',
        Expiration: iso(expires),
      },
      null,
      2,
    );
  }
  if (f.tags) for (const [k, v] of Object.entries(f.tags)) if (/^[A-Za-z0-9_.:+=@-]+$/.test(k)) t[`${md}/tags/instance/${k}`] = v;
  if (f.userData !== undefined) t['latest/user-data'] = f.userData;
  t['latest/dynamic/instance-identity/document'] = JSON.stringify(
    {
      accountId: f.accountId,
      architecture: 'x86_64',
      availabilityZone: f.availabilityZone,
      imageId: f.amiId,
      instanceId: f.instanceId,
      instanceType: f.instanceType,
      privateIp: f.privateIp,
      region: f.region,
      version: '2017-09-30',
    },
    null,
    2,
  );
  return t;
}
