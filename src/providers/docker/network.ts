// VPCs and subnets on the local target: the network primitives (the handlers are in vpc.ts).
//
// Design (measured on this host: Linux 6.18, Docker 20.10, iptables 1.8.9 nf_tables, kiln as root):
//
// * Docker's IPAM refuses a second bridge network whose subnet overlaps another one ("Pool overlaps
//   with other one on this address space"), but two AWS VPCs may share a CIDR (the seed deployed
//   under two stack names). So a VPC is NOT a Docker network. Each VPC is a network namespace of its
//   own, `/run/netns/kiln.<stack>.<vpc-id>`, holding one Linux bridge `br0`: an isolated layer-2
//   segment. Being in its own namespace it never touches the host's routing table or the host's
//   FORWARD chain (Docker sets that chain's policy to DROP, and br_netfilter would apply it to a
//   bridge in the host namespace), and two VPCs with the same CIDR cannot see each other: there is
//   no route and no link between their namespaces.
// * A container joins a VPC through a veth pair: one end `c<12 hex of the container id>` is a port
//   of the VPC's `br0`, the other end becomes `vpc0` inside the container's network namespace with
//   the address kiln assigned from the subnet's range and the VPC's prefix length (so every subnet of
//   a VPC reaches every other one, as AWS's implicit "local" route does). Addresses are allocated
//   by kiln: the first four and the last address of each subnet are reserved, as in AWS; what is in
//   use is read from the `kiln.ip` / `kiln.vpc` labels of the containers plus the provider's
//   reservations for launches still in flight (`NetworkState`).
// * Containers are created with no Docker network (`none`), unless they have a public endpoint: then
//   they are also on the VPC's "public" Docker network `kiln-pub-<vpc-id>` (inter-container traffic
//   disabled: `enable_icc=false`), which exists only to let Docker publish their ports on the
//   endpoint's own loopback address (`127.a.b.c`, routed to `lo` by Linux). That address is what
//   `PublicIp` / `DNSName` return. The private addresses are not routable from the host. The public
//   network's own subnet is a /24 of 100.64.0.0/10 chosen to overlap no Docker network and not the
//   VPC (Docker's default pools are few and sit in 172.16/12, where VPCs often are). It also gives
//   public containers a NATed default route out, like an internet gateway; private ones have none.
// * The container's command does not start until `vpc0` is up (see launch.ts), and the security
//   group rules (firewall.ts) are loaded into its namespace before the link goes up, so no packet
//   crosses an unfiltered interface.
// * Measured (this host, 2 cores shared with other work, load average ~11): creating a VPC namespace
//   with its bridge 54 ms; joining a running container to a VPC (veth, address, packet filter, link
//   up; one host process) 21 ms; for comparison `docker network create` 142 ms and `docker run -d`
//   of busybox 0.5-0.9 s. Twenty launches (10 in flight, all in the VPC's default group, so every
//   launch also changes the others' rules) took 1.4-1.6x the time of twenty plain `create + start`
//   of the same image with no network (3.4 s vs 2.5 s, 4.9 s vs 3.2 s; load average ~23).
//   Nothing here needs the Docker daemon's iptables.
import { execFile } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { KilnError, errorMessage } from '../../core/errors.js';
import { DockerError, LABELS, type DockerClient } from '../../docker/client.js';
import type { KnownResource } from '../../model/provider.js';
import type { DockerContext, DockerScope } from './context.js';
import { defaultRegion } from '../../core/region.js';

// ---------------------------------------------------------------------------------------------
// Host commands

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs a host command (no shell); rejects with KilnError HOST_COMMAND_FAILED carrying stderr. */
export function run(file: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ENOENT' ? `${file} is not installed` : (stderr || err.message).trim();
        reject(new KilnError('HOST_COMMAND_FAILED', `${file} ${args.join(' ')}: ${why}`, 'environment', { cause: err }));
      } else resolve({ stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * A running container's root file system as the host sees it (`/proc/<pid>/root`): files and unix
 * sockets inside are reached from there with no `docker exec` (a process in the container and
 * 50-100 ms of engine work per call). Undefined when the container is not running or its root is
 * not reachable from here (a remote engine); callers then fall back to `docker exec`.
 */
export async function containerRoot(docker: DockerClient, containerId: string): Promise<string | undefined> {
  const info = await docker.inspectContainer(containerId).catch(() => undefined);
  if (!info?.State.Running || !(info.State.Pid > 0)) return undefined;
  const root = `/proc/${info.State.Pid}/root`;
  return (await canAccess(`${root}/`)) ? root : undefined;
}

async function canAccess(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs a command inside the network namespace of process `pid` (the host's file system). */
export function inNetns(pid: number, file: string, args: string[], input?: string): Promise<RunResult> {
  return run('nsenter', [`--net=/proc/${pid}/ns/net`, '--', file, ...args], input);
}

let rootChecked = false;
/** VPC networking changes namespaces and links: the local target needs root (or CAP_NET_ADMIN+SYS_ADMIN). */
export function requireRoot(): void {
  if (rootChecked) return;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    throw new KilnError('LOCAL_NETWORK_NEEDS_ROOT', 'the local target realises VPCs as network namespaces and security groups as packet filters: run kiln as root', 'environment');
  rootChecked = true;
}

// ---------------------------------------------------------------------------------------------
// CIDR arithmetic (IPv4)

export interface Cidr {
  text: string;
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
  /** Number of addresses. */
  size: number;
}

export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses `a.b.c.d/n`; undefined when malformed or when host bits are set. */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = ipToInt(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  if (ip % size !== 0) return undefined;
  return { text: `${m[1]}/${prefix}`, base: ip, prefix, size };
}

/** Like parseCidr, but also accepts host bits (`10.0.0.5/16`) as security group rules do. */
export function parseCidrLoose(text: string): Cidr | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(String(text).trim());
  if (!m) return undefined;
  const ip = ipToInt(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const base = ip - (ip % size);
  return { text: `${intToIp(base)}/${prefix}`, base, prefix, size };
}

export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  return inner.base >= outer.base && inner.base + inner.size <= outer.base + outer.size;
}

export function cidrContainsIp(outer: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n !== undefined && n >= outer.base && n < outer.base + outer.size;
}

export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + b.size && b.base < a.base + a.size;
}

/** AWS accepts VPC and subnet blocks between /16 and /28. */
export function checkBlock(text: unknown, what: 'VPC' | 'subnet'): Cidr {
  const c = typeof text === 'string' ? parseCidr(text) : undefined;
  if (!c)
    throw new KilnError(
      'INVALID_CIDR',
      `Value (${String(text)}) for parameter cidrBlock is invalid. This is not a valid CIDR block (the ${what} CidrBlock must be a network address such as 10.0.0.0/16)`,
      'user',
    );
  if (c.prefix < 16 || c.prefix > 28) throw new KilnError('INVALID_CIDR', `The CIDR '${c.text}' is invalid: a ${what} block must be between /16 and /28`, 'user');
  return c;
}

/**
 * The IPv6 block kiln hands a VPC where AWS would give an Amazon-provided /56: a unique local
 * address block (RFC 4193, `fd00::/8`) whose 40-bit global id is derived from the VPC id, so it is
 * the same every time it is asked for and routes nowhere outside the host.
 */
export function ulaBlockFor(vpcId: string): string {
  let h = 2166136261;
  for (let i = 0; i < vpcId.length; i++) h = Math.imul(h ^ vpcId.charCodeAt(i), 16777619) >>> 0;
  const g = (h.toString(16).padStart(8, '0') + ((h >>> 8) ^ 0x5a).toString(16).padStart(2, '0')).slice(0, 10);
  return `fd${g.slice(0, 2)}:${g.slice(2, 6)}:${g.slice(6, 10)}::/56`;
}

/** The VPC router's address (the VPC's base + 1, reserved in the subnet holding it): instances' default gateway. */
export function vpcRouterAddress(vpcCidr: Cidr): string {
  return intToIp(vpcCidr.base + 1);
}

/** The first address AWS lets an instance have in a subnet (base + 4) and the last (broadcast - 1). */
export function usableRange(subnet: Cidr): { first: number; last: number } {
  return { first: subnet.base + 4, last: subnet.base + subnet.size - 2 };
}

// ---------------------------------------------------------------------------------------------
// VPC namespaces

const NETNS_DIR = '/run/netns';

/** The instance metadata address (imds.ts): every VPC's router sends it to the VPC's metadata service. */
export const IMDS_ADDRESS = '169.254.169.254';

export function vpcNamespace(stack: string, vpcId: string): string {
  return `kiln.${stack}.${vpcId}`;
}

/** Parses a kiln VPC namespace name: `kiln.<stack>.<vpc-id>` (stack names have no dots). */
export function parseVpcNamespace(name: string): { stack: string; vpcId: string } | undefined {
  const m = /^kiln\.([A-Za-z][-A-Za-z0-9]*)\.(vpc-[0-9a-f]+)$/.exec(name);
  return m ? { stack: m[1], vpcId: m[2] } : undefined;
}

/** Every kiln VPC namespace on this host (optionally of one stack). */
export async function listVpcNamespaces(stack?: string): Promise<Array<{ name: string; stack: string; vpcId: string }>> {
  let names: string[] = [];
  try {
    names = await readdir(NETNS_DIR);
  } catch {
    return [];
  }
  const out: Array<{ name: string; stack: string; vpcId: string }> = [];
  for (const name of names) {
    const p = parseVpcNamespace(name);
    if (p && (stack === undefined || p.stack === stack)) out.push({ name, ...p });
  }
  return out;
}

export async function namespaceExists(ns: string): Promise<boolean> {
  try {
    return (await readdir(NETNS_DIR)).includes(ns);
  } catch {
    return false;
  }
}

/** Creates the VPC's namespace and bridge (idempotent: an existing one is kept). */
export async function createVpcNetwork(ns: string): Promise<void> {
  requireRoot();
  if (!(await namespaceExists(ns))) await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, '-batch', '-'], 'link set lo up\n').catch(() => undefined);
  const links = await run('ip', ['-n', ns, '-o', 'link', 'show']);
  if (!/\bbr0[:@]/.test(links.stdout)) await run('ip', ['-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
  await run('ip', ['-n', ns, 'link', 'set', 'br0', 'up']);
}

/** Veth ports of the VPC bridge (one per attached container). */
export async function vpcPorts(ns: string): Promise<string[]> {
  if (!(await namespaceExists(ns))) return [];
  const out = await run('ip', ['-n', ns, '-o', 'link', 'show', 'master', 'br0']);
  return out.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((x): x is string => !!x);
}

export async function deleteVpcNetwork(ns: string): Promise<void> {
  if (await namespaceExists(ns)) await run('ip', ['netns', 'delete', ns]);
}

/** Removes a container's port from the VPC bridge (the veth dies with the container anyway). */
export async function detachPort(ns: string, port: string): Promise<void> {
  if (!(await namespaceExists(ns))) return;
  await run('ip', ['-n', ns, 'link', 'delete', port]).catch(() => undefined);
}

/**
 * The MAC address of a VPC interface, derived from its IP (as Docker does for its bridges): a
 * container that reuses a released address also has its MAC, so its neighbours' ARP caches stay
 * right. Locally administered prefix 02:6b ("k").
 */
export function macFor(ip: string): string {
  const n = ipToInt(ip) ?? 0;
  return ['02', '6b', ...[n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

export function hostVethName(containerId: string): string {
  return `c${containerId.slice(0, 12)}`;
}

/**
 * Joins the running container (`pid`) to the VPC `ns`: veth pair, address, the firewall ruleset
 * (iptables-restore input, loaded before the link is up), then `vpc0` up. Idempotent for a
 * container that is already attached (the old port is replaced).
 */
export async function attachToVpc(opts: {
  ns: string;
  pid: number;
  containerId: string;
  ip: string;
  prefix: number;
  firewall: { v4: string; v6: string };
  gateway?: string;
}): Promise<{ port: string }> {
  requireRoot();
  const port = hostVethName(opts.containerId);
  const tmp = `k${opts.containerId.slice(0, 8)}`;
  // Three processes, no shell (an instance launch pays for each): in the VPC's namespace the veth
  // pair (VPC end on br0, container end moved into the container under a temporary name); in the
  // container's namespace the packet filter first, then one `ip -batch`: MAC, address, no IPv6
  // address generation (AWS VPCs here have no IPv6 block; a link-local v6 address would bypass the v4
  // filter), the name, and last the link up (the init wrapper waits for that).
  const host = [`link add name ${port} type veth peer name ${tmp} netns ${opts.pid}`, `link set ${port} master br0 up`].join('\n');
  try {
    await run('ip', ['-n', opts.ns, '-batch', '-'], host);
  } catch {
    // A host end left by an earlier attempt for this container: remove it and try once more.
    await run('ip', ['-n', opts.ns, 'link', 'delete', port]).catch(() => undefined);
    await run('ip', ['-n', opts.ns, '-batch', '-'], host);
  }
  await inNetns(opts.pid, 'iptables-restore', ['-w'], opts.firewall.v4);
  const inside = [
    `link set ${tmp} address ${macFor(opts.ip)}`,
    `link set ${tmp} addrgenmode none`,
    `address add ${opts.ip}/${opts.prefix} dev ${tmp}`,
    `link set ${tmp} name vpc0`,
    'link set lo up',
    'link set vpc0 up',
    // The VPC router (routing.ts) decides where a packet for outside the VPC goes, by the subnet's route table.
    ...(opts.gateway ? [`route replace default via ${opts.gateway} dev vpc0`] : []),
  ].join('\n');
  await inNetns(opts.pid, 'ip', ['-batch', '-'], inside);
  return { port };
}

// ---------------------------------------------------------------------------------------------
// What a provider remembers about networks between calls

export class NetworkState {
  /** vpcId → addresses handed out to launches (in flight, or done and labelled). */
  readonly reserved = new Map<string, Set<string>>();
  /** Loopback addresses handed out to public endpoints. */
  readonly loopbackTaken = new Set<string>();
  /** Public networks by name, being made or made. */
  readonly publicNetworks = new Map<string, Promise<string>>();
  /** Subnets created but perhaps not in state yet (parallel creates see each other). */
  readonly subnets = new Map<string, { res: KnownResource }>();
}

// ---------------------------------------------------------------------------------------------
// Address allocation

/** Picks a free private address in `subnet` (or checks `wanted`), and reserves it for this provider. */
export async function allocateAddress(scope: DockerScope, vpcId: string, subnet: Cidr, subnetId: string, wanted?: string): Promise<string> {
  const { reserved } = scope.local.of(NetworkState);
  const containers = await scope.docker.listContainers({ all: true, labels: [`kiln.vpc=${vpcId}`] });
  // Read the reservations after the await: launches in flight choose one at a time.
  const used = new Set<string>(reserved.get(vpcId) ?? []);
  for (const c of containers) {
    const ip = c.Labels?.['kiln.ip'];
    if (ip) used.add(ip);
  }
  const { first, last } = usableRange(subnet);
  let chosen: string | undefined;
  if (wanted !== undefined) {
    const n = ipToInt(wanted);
    if (n === undefined || !cidrContainsIp(subnet, wanted))
      throw new KilnError('INVALID_IP_ADDRESS', `Address ${wanted} does not fall within the subnet's address range (${subnetId} ${subnet.text})`, 'user');
    if (n < first || n > last) throw new KilnError('INVALID_IP_ADDRESS', `Address ${wanted} is reserved in subnet ${subnetId} (AWS reserves the first four and the last address)`, 'user');
    if (used.has(wanted)) throw new KilnError('IP_ADDRESS_IN_USE', `Address ${wanted} is in use (InvalidIPAddress.InUse)`, 'user');
    chosen = wanted;
  } else {
    for (let n = first; n <= last; n++) {
      const ip = intToIp(n);
      if (!used.has(ip)) {
        chosen = ip;
        break;
      }
    }
  }
  if (!chosen) throw new KilnError('SUBNET_FULL', `There are not enough free addresses in subnet '${subnetId}' (${subnet.text}) to satisfy the requested number of instances`, 'user');
  let set = reserved.get(vpcId);
  if (!set) reserved.set(vpcId, (set = new Set()));
  set.add(chosen);
  return chosen;
}

export function releaseAddress(scope: DockerScope, vpcId: string, ip: string): void {
  scope.local.of(NetworkState).reserved.get(vpcId)?.delete(ip);
}

// ---------------------------------------------------------------------------------------------
// Public endpoints: a loopback address each, ports published there by Docker

function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/**
 * A loopback address of its own for a public endpoint: 127.a.b.c with a in 1..254 (127.0.x.x is
 * left to the system: 127.0.0.1, 127.0.1.1, 127.0.0.53), stable for the same seed when free.
 */
export async function allocateLoopback(scope: DockerScope, seed: string, preferred?: string): Promise<string> {
  const { loopbackTaken } = scope.local.of(NetworkState);
  const containers = await scope.docker.listContainers({ all: true, labels: ['kiln.public-ip'] });
  const inUse = new Set(loopbackTaken); // after the await, as in allocateAddress
  for (const c of containers) {
    const ip = c.Labels?.['kiln.public-ip'];
    if (ip) inUse.add(ip);
  }
  // A relaunch keeps its address (a load balancer's DNSName) when nobody took it meanwhile.
  if (preferred && /^127\.\d+\.\d+\.\d+$/.test(preferred) && !inUse.has(preferred)) {
    loopbackTaken.add(preferred);
    return preferred;
  }
  const span = 254 * 256 * 254;
  const start = hash32(seed) % span;
  for (let i = 0; i < span; i++) {
    const k = (start + i) % span;
    const a = 1 + Math.floor(k / (256 * 254));
    const b = Math.floor(k / 254) % 256;
    const c = 1 + (k % 254);
    const ip = `127.${a}.${b}.${c}`;
    if (!inUse.has(ip)) {
      loopbackTaken.add(ip);
      return ip;
    }
  }
  throw new KilnError('NO_LOOPBACK_ADDRESS', 'no free loopback address for a public endpoint', 'environment');
}

export function releaseLoopback(scope: DockerScope, ip: string): void {
  scope.local.of(NetworkState).loopbackTaken.delete(ip);
}

export function publicNetworkName(vpcId: string): string {
  return `kiln-pub-${vpcId}`;
}

/** Where public networks take their subnets: 100.64.0.0/10 (shared address space), as /24 blocks. */
const PUBLIC_SPACE = { base: ipToInt('100.64.0.0') as number, blocks: 16384, prefix: 24 };

/** Subnets of every Docker network on the engine (to pick a public block that overlaps none). */
async function dockerSubnets(docker: DockerClient): Promise<Cidr[]> {
  const out: Cidr[] = [];
  for (const n of await docker.listNetworks())
    for (const c of n.IPAM?.Config ?? []) {
      const p = c.Subnet ? parseCidrLoose(c.Subnet) : undefined;
      if (p) out.push(p);
    }
  return out;
}

/**
 * The VPC's Docker network for publishing ports (created on first use). Its subnet is a /24 of
 * 100.64.0.0/10 that overlaps no other Docker network and not the VPC (so routes inside a
 * container never collide), rather than one of Docker's few default pools. Returns its name.
 */
export function ensurePublicNetwork(scope: DockerScope, stack: string, vpcLogicalId: string, vpcId: string, deployment: string, vpcCidr?: string): Promise<string> {
  const { docker } = scope;
  const pubNetworks = scope.local.of(NetworkState).publicNetworks;
  const name = publicNetworkName(vpcId);
  let p = pubNetworks.get(name);
  if (!p) {
    p = (async () => {
      const existing = await docker.listNetworks({ name });
      if (existing.some((n) => n.Name === name)) return name;
      const vpc = vpcCidr ? parseCidr(vpcCidr) : undefined;
      const start = hash32(vpcId) % PUBLIC_SPACE.blocks;
      for (let attempt = 0; attempt < 8; attempt++) {
        const taken = await dockerSubnets(docker);
        let block: Cidr | undefined;
        for (let i = 0; i < PUBLIC_SPACE.blocks && !block; i++) {
          const base = PUBLIC_SPACE.base + ((start + i) % PUBLIC_SPACE.blocks) * 256;
          const c: Cidr = { text: `${intToIp(base)}/24`, base, prefix: 24, size: 256 };
          if (!taken.some((t) => cidrOverlaps(t, c)) && !(vpc && cidrOverlaps(vpc, c))) block = c;
        }
        if (!block) throw new KilnError('NO_PUBLIC_BLOCK', 'no free /24 in 100.64.0.0/10 for a public network', 'environment');
        try {
          await docker.createNetwork({
            Name: name,
            Driver: 'bridge',
            CheckDuplicate: true,
            IPAM: { Driver: 'default', Config: [{ Subnet: block.text, Gateway: intToIp(block.base + 1) }] },
            Options: { 'com.docker.network.bridge.enable_icc': 'false' },
            Labels: {
              [LABELS.managed]: 'true',
              [LABELS.stack]: stack,
              [LABELS.resource]: vpcLogicalId,
              [LABELS.deployment]: deployment,
              [LABELS.kind]: 'public-network',
              'kiln.vpc': vpcId,
            },
          });
          return name;
        } catch (e) {
          const status = DockerError.status(e);
          if (status === 409) return name; // created meanwhile by someone else
          if (!/overlap/i.test(errorMessage(e))) throw e; // a concurrent network took the block: pick again
        }
      }
      throw new KilnError('NO_PUBLIC_BLOCK', `could not create the public network ${name}`, 'environment');
    })();
    pubNetworks.set(name, p);
    p.catch(() => pubNetworks.delete(name));
  }
  return p;
}

/** Removes the VPC's public network if it exists (VPC delete). */
export async function removePublicNetwork(scope: DockerScope, vpcId: string): Promise<void> {
  const name = publicNetworkName(vpcId);
  scope.local.of(NetworkState).publicNetworks.delete(name);
  const existing = await scope.docker.listNetworks({ name });
  for (const n of existing.filter((x) => x.Name === name)) await scope.docker.removeNetwork(n.Id).catch(() => undefined);
}

// ---------------------------------------------------------------------------------------------
// Handlers: AWS::EC2::VPC and AWS::EC2::Subnet

export interface SubnetInfo {
  subnetId: string;
  vpcId: string;
  vpcLogicalId: string;
  netns: string;
  cidr: string;
  vpcCidr: string;
  availabilityZone: string;
  mapPublicIpOnLaunch: boolean;
}

/** The subnet behind a physical id, as launch needs it; KilnError when it is not a live subnet. */
export function subnetInfo(ctx: DockerContext, subnetId: string): SubnetInfo {
  const res = ctx.lookup(subnetId) ?? ctx.local.of(NetworkState).subnets.get(subnetId)?.res;
  if (!res || res.type !== 'AWS::EC2::Subnet' || !res.state.data) throw new KilnError('SUBNET_NOT_FOUND', `The subnet ID '${subnetId}' does not exist (InvalidSubnetID.NotFound)`, 'user');
  const d = res.state.data;
  return {
    subnetId,
    vpcId: String(d.vpcId),
    vpcLogicalId: String(d.vpcLogicalId ?? ''),
    netns: String(d.netns),
    cidr: String(d.cidr),
    vpcCidr: String(d.vpcCidr),
    availabilityZone: String(d.availabilityZone),
    mapPublicIpOnLaunch: d.mapPublicIpOnLaunch === true,
  };
}

export { defaultRegion };

/** `eu-west-1a` → `euw1-az1`, the shape of AWS zone ids. */
export function availabilityZoneId(az: string): string {
  const m = /^([a-z]{2})-([a-z]+)-(\d)([a-z])$/.exec(az);
  if (!m) return 'local-az1';
  const dir: Record<string, string> = { north: 'n', south: 's', east: 'e', west: 'w', central: 'c', northeast: 'ne', southeast: 'se', northwest: 'nw', southwest: 'sw' };
  return `${m[1]}${dir[m[2]] ?? m[2][0]}${m[3]}-az${m[4].charCodeAt(0) - 96}`;
}
