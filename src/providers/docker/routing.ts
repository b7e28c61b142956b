// Ways out of a VPC on the local target: internet gateways, NAT gateways and route tables.
//
// Design (see network.ts for the VPC itself: a network namespace holding the bridge `br0`):
//
// * "The internet" is one network namespace of the host, `kiln-internet`, shared by every stack. It
//   is a router and nothing else: everything plugged into it gets a point-to-point veth whose far end
//   holds the link-local gateway 169.254.1.1 (the same address on every port, as a hosting provider's
//   edge router does) and a /32 route to each address behind that port. It has no link to the host's
//   own network, so nothing in a VPC ever reaches a real address: what lives "out there" is what a
//   test plugs in (`connectToInternet`: a namespace holding an address outside the VPC ranges).
// * An internet gateway attached to a VPC (`VPCGatewayAttachment`) is the VPC namespace's port
//   `igw0` on that router, with the VPC's uplink address (from 198.18.0.0/15, the range set aside for
//   network tests, so it is no one's real address) and one more address per NAT gateway of the VPC.
// * The VPC namespace is the VPC's router (AWS's implicit router at the base of the VPC + 1): it
//   holds that address on `br0` and every instance without a public endpoint has it as its default
//   gateway. Which way a packet leaves is decided there, per subnet, by policy routing: each subnet's
//   source range looks up the kernel table of the route table it is associated with (none: the main
//   route table, which has only the local route). A route to an attached internet gateway goes out
//   through `igw0`, masqueraded to the uplink address; a route to a NAT gateway goes the way the NAT
//   gateway's own subnet would (so a NAT gateway in a subnet without a route to the internet gateway
//   gets nowhere, as on AWS), its packets source-translated to the NAT gateway's address. Anything
//   else is unreachable: a subnet without a route to a gateway has no way out of its VPC.
// * IPv6 routes (`DestinationIpv6CidrBlock`, egress-only internet gateways) are validated and
//   recorded: local VPC interfaces carry IPv4 only (network.ts), so they have nothing to route.
// * Route tables, routes, associations and attachments change the VPC's routing by recomputing all
//   of it from state (plus what this provider made and state may not show yet) and loading it:
//   serialised per provider, idempotent.
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { KnownResource, ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { newId } from './ids.js';
import { cidrContains, intToIp, ipToInt, namespaceExists, NetworkState, parseCidr, run, requireRoot, type Cidr } from './network.js';

/**
 * The internet router's namespace: `kiln-internet` (KILN_INTERNET_NETNS names another, so that a test
 * can watch its own one come and go while other stacks use the shared one).
 */
export function internetNs(): string {
  return process.env.KILN_INTERNET_NETNS || 'kiln-internet';
}
/** The gateway address every port of the internet router holds. */
export const EDGE_GATEWAY = '169.254.1.1';
/** Where uplink and NAT addresses come from: 198.18.0.0/15 (RFC 2544, network testing). */
const UPLINK_SPACE = { base: ipToInt('198.18.0.0') as number, size: 2 ** 17 };

// ---------------------------------------------------------------------------------------------
// The internet namespace

function nsRun(ns: string, args: string[], input?: string) {
  return run('ip', ['-n', ns, ...args], input);
}

/** Writes a sysctl of a namespace (`net/ipv4/ip_forward`) without a shell. */
async function nsSysctl(ns: string, key: string, value: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${value}`]);
}

/** Creates the internet router namespace if it does not exist (idempotent, safe across processes). */
export async function ensureInternet(): Promise<void> {
  requireRoot();
  const ns = internetNs();
  if (!(await namespaceExists(ns))) await run('ip', ['netns', 'add', ns]).catch(async (e) => ((await namespaceExists(ns)) ? undefined : Promise.reject(e)));
  await nsRun(ns, ['link', 'set', 'lo', 'up']);
  await nsSysctl(ns, 'net.ipv4.ip_forward', '1');
}

/**
 * Removes the internet router namespace once nothing is plugged into it (no port but `lo`): the last
 * VPC gateway attachment or test host gone. Returns whether it was removed (would be, with `dryRun`).
 */
export async function releaseInternet(opts: { dryRun?: boolean } = {}): Promise<boolean> {
  const ns = internetNs();
  if (!(await namespaceExists(ns))) return false;
  const links = await nsRun(ns, ['-o', 'link', 'show']).catch(() => undefined);
  if (!links) return false;
  const names = links.stdout
    .split('\n')
    .map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1])
    .filter((n): n is string => !!n);
  if (names.some((n) => n !== 'lo')) return false;
  if (opts.dryRun) return true;
  await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  return !(await namespaceExists(ns));
}

/**
 * Plugs namespace `ns` into the internet: a veth pair, `ifname` in `ns` holding `addresses` (/32
 * each, default route via the edge gateway when `defaultRoute`), `port` in the internet namespace
 * routing those addresses to it. An earlier port of the same name is replaced.
 */
export async function connectToInternet(o: { ns: string; ifname: string; port: string; addresses: string[]; defaultRoute?: boolean }): Promise<void> {
  await ensureInternet();
  await nsRun(internetNs(), ['link', 'delete', o.port]).catch(() => undefined);
  const tmp = `t${o.port.slice(1)}`;
  const plug = () => nsRun(internetNs(), ['link', 'add', 'name', o.port, 'type', 'veth', 'peer', 'name', tmp, 'netns', o.ns]);
  // Another process may have released the (then empty) namespace in between: make it again once.
  await plug().catch(async (e) => {
    if (await namespaceExists(internetNs())) throw e;
    await ensureInternet();
    await plug();
  });
  await nsRun(
    internetNs(),
    ['-batch', '-'],
    [`address add ${EDGE_GATEWAY}/32 dev ${o.port}`, `link set ${o.port} up`, ...o.addresses.map((a) => `route replace ${a}/32 dev ${o.port}`)].join('\n') + '\n',
  );
  const inside = [
    `link set ${tmp} name ${o.ifname}`,
    `link set ${o.ifname} addrgenmode none`,
    ...o.addresses.map((a) => `address add ${a}/32 dev ${o.ifname}`),
    `link set ${o.ifname} up`,
    `route replace ${EDGE_GATEWAY}/32 dev ${o.ifname} scope link`,
    ...(o.defaultRoute ? [`route replace default via ${EDGE_GATEWAY} dev ${o.ifname} onlink`] : []),
  ];
  await nsRun(o.ns, ['-batch', '-'], inside.join('\n') + '\n');
}

/** Addresses the internet router routes somewhere (taken). */
async function internetAddresses(): Promise<Set<string>> {
  if (!(await namespaceExists(internetNs()))) return new Set();
  const out = await nsRun(internetNs(), ['-o', '-4', 'route', 'show']);
  return new Set(out.stdout.split('\n').map((l) => /^(\d+\.\d+\.\d+\.\d+)(?:\/32)?\s/.exec(l)?.[1] ?? ''));
}

function hash32(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}

/** A free address of 198.18.0.0/15 for an uplink or a NAT gateway, derived from `seed` when free. */
export async function allocateUplinkAddress(ctx: DockerContext, seed: string): Promise<string> {
  const st = ctx.local.of(RoutingState);
  const taken = await internetAddresses();
  for (const r of ctx.allResources()) for (const k of ['uplink', 'address']) if (typeof r.state.data?.[k] === 'string') taken.add(String(r.state.data[k]));
  const start = hash32(seed);
  for (let i = 0; i < UPLINK_SPACE.size; i++) {
    const n = ((start + i) % (UPLINK_SPACE.size - 2)) + 1;
    const ip = intToIp(UPLINK_SPACE.base + n);
    if (!taken.has(ip) && !st.handedOut.has(ip) && (n & 255) !== 0 && (n & 255) !== 255) {
      st.handedOut.add(ip);
      return ip;
    }
  }
  throw new KilnError('NO_UPLINK_ADDRESS', 'no free address in 198.18.0.0/15 for a gateway', 'environment');
}

// ---------------------------------------------------------------------------------------------
// What the provider remembers between calls

export class RoutingState {
  /** Routing resources this provider made or removed that state may not show yet (null: removed). */
  readonly overlay = new Map<string, KnownResource | null>();
  readonly handedOut = new Set<string>();
  chain: Promise<unknown> = Promise.resolve();
}

const ROUTING_TYPES = new Set([
  'AWS::EC2::RouteTable',
  'AWS::EC2::Route',
  'AWS::EC2::SubnetRouteTableAssociation',
  'AWS::EC2::VPCGatewayAttachment',
  'AWS::EC2::NatGateway',
  'AWS::EC2::EIPAssociation',
]);

function note(ctx: DockerContext, state: ResourceState, props: JsonObject, removed = false): void {
  ctx.local.of(RoutingState).overlay.set(state.physicalId, removed ? null : { stack: ctx.stack, logicalId: ctx.logicalId, type: ctx.type, properties: props, state });
}

/** Live routing resources and subnets: state overlaid with this provider's changes. */
function liveView(ctx: DockerContext): KnownResource[] {
  const byId = new Map<string, KnownResource>();
  for (const r of ctx.allResources()) if (ROUTING_TYPES.has(r.type) || r.type === 'AWS::EC2::Subnet' || r.type === 'AWS::EC2::VPC') byId.set(`${r.type} ${r.state.physicalId}`, r);
  for (const { res } of ctx.local.of(NetworkState).subnets.values()) byId.set(`${res.type} ${res.state.physicalId}`, res);
  for (const [id, r] of ctx.local.of(RoutingState).overlay) {
    for (const k of [...byId.keys()]) if (k.endsWith(` ${id}`) && ROUTING_TYPES.has(k.split(' ')[0])) byId.delete(k);
    if (r) byId.set(`${r.type} ${id}`, r);
  }
  return [...byId.values()];
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

// ---------------------------------------------------------------------------------------------
// The routing of one VPC (pure)

export interface RoutingPlan {
  /** Per subnet, the source range and the kernel routes of its table. */
  tables: Array<{ subnetId: string; cidr: string; routes: string[] }>;
  /** Addresses `igw0` holds: the uplink first, then the NAT gateways'. */
  uplinks: string[];
  /** POSTROUTING rules of the VPC router's nat table. */
  nat: string[];
}

/** Computes a VPC's routing from the live resources (see the file comment). */
export function planRouting(vpcId: string, live: KnownResource[]): RoutingPlan {
  const vpc = live.find((r) => r.type === 'AWS::EC2::VPC' && r.state.physicalId === vpcId);
  const vpcCidr = str(vpc?.state.data?.cidr);
  const of = (type: string) => live.filter((r) => r.type === type && r.state.data?.vpcId === vpcId);
  const attachment = of('AWS::EC2::VPCGatewayAttachment')[0];
  const igw = attachment ? str(attachment.state.data?.igwId) : '';
  const uplink = attachment ? str(attachment.state.data?.uplink) : '';
  const subnets = of('AWS::EC2::Subnet').sort((a, b) => a.state.physicalId.localeCompare(b.state.physicalId));
  const tableOf = new Map(of('AWS::EC2::SubnetRouteTableAssociation').map((a) => [str(a.state.data?.subnetId), str(a.state.data?.routeTableId)]));
  const routes = of('AWS::EC2::Route').filter((r) => r.state.data?.family === 'v4');
  const nats = new Map(of('AWS::EC2::NatGateway').map((n) => [n.state.physicalId, n]));
  const routesOf = (rtb: string | undefined) => (rtb ? routes.filter((r) => r.state.data?.routeTableId === rtb) : []);
  // Does a packet to `dest` from a subnet with table `rtb` reach the internet gateway?
  const toIgw = (rtb: string | undefined, dest: Cidr): boolean =>
    !!uplink && routesOf(rtb).some((r) => r.state.data?.targetKind === 'igw' && r.state.data?.target === igw && cidrContains(parseCidr(str(r.state.data?.dest)) as Cidr, dest));
  const plan: RoutingPlan = { tables: [], uplinks: uplink ? [uplink] : [], nat: [] };
  for (const n of nats.values()) if (uplink && typeof n.state.data?.address === 'string') plan.uplinks.push(n.state.data.address);
  // Elastic IPs associated with an instance or interface: 1:1 translation at the gateway, as AWS's
  // internet gateway does. One address per allocation: a newer association (a move) wins.
  const eips = new Map<string, KnownResource>();
  for (const a of of('AWS::EC2::EIPAssociation')) {
    const key = str(a.state.data?.address);
    const held = eips.get(key);
    if (!held || Number(a.state.data?.since ?? 0) > Number(held.state.data?.since ?? 0)) eips.set(key, a);
  }
  const eipNat: string[] = [];
  for (const [address, a] of eips) {
    const ip = str(a.state.data?.ip);
    if (!uplink || !address || !ip) continue;
    plan.uplinks.push(address);
    eipNat.push(`-A PREROUTING -i igw0 -d ${address}/32 -j DNAT --to-destination ${ip}`, `-A POSTROUTING -s ${ip}/32 -o igw0 -j SNAT --to-source ${address}`);
  }
  plan.nat.push(...eipNat);
  for (const s of subnets) {
    const cidr = str(s.state.data?.cidr);
    const rtb = tableOf.get(s.state.physicalId);
    const lines = [`${vpcCidr} dev br0`];
    let hasDefault = false;
    for (const r of routesOf(rtb)) {
      const dest = parseCidr(str(r.state.data?.dest));
      if (!dest) continue;
      if (dest.prefix === 0) hasDefault = true;
      const kind = r.state.data?.targetKind;
      let out = false;
      if (kind === 'igw') out = toIgw(rtb, dest);
      else if (kind === 'nat') {
        const n = nats.get(str(r.state.data?.target));
        const natSubnet = n ? str(n.state.data?.subnetId) : '';
        out = !!n && n.state.data?.connectivity !== 'private' && toIgw(tableOf.get(natSubnet), dest);
        if (out && n && typeof n.state.data?.address === 'string') plan.nat.push(`-A POSTROUTING -s ${cidr} -d ${dest.text} -o igw0 -j SNAT --to-source ${n.state.data.address}`);
      }
      lines.push(out ? `${dest.text} via ${EDGE_GATEWAY} dev igw0 onlink` : `blackhole ${dest.text}`);
    }
    if (!hasDefault) lines.push('unreachable default');
    plan.tables.push({ subnetId: s.state.physicalId, cidr, routes: lines });
  }
  if (uplink) plan.nat.push(`-A POSTROUTING -o igw0 -j SNAT --to-source ${uplink}`);
  return plan;
}

const TABLE_BASE = 1000;

/** Loads a routing plan into the VPC's namespace (rules, tables, uplink addresses, nat). */
async function applyRouting(ns: string, vpcCidr: string, port: string | undefined, plan: RoutingPlan): Promise<void> {
  const cidr = parseCidr(vpcCidr);
  if (!cidr || !(await namespaceExists(ns))) return;
  await nsSysctl(ns, 'net.ipv4.ip_forward', '1');
  const batch: string[] = [`address replace ${intToIp(cidr.base + 1)}/${cidr.prefix} dev br0`];
  // Old rules and tables out: rules of ours sit at preferences TABLE_BASE and up.
  const rules = await nsRun(ns, ['-4', 'rule', 'show']);
  for (const l of rules.stdout.split('\n')) {
    const pref = Number(/^(\d+):/.exec(l)?.[1] ?? NaN);
    if (pref >= TABLE_BASE && pref < TABLE_BASE + 4096) batch.push(`rule del pref ${pref}`);
  }
  for (let i = 0; i < plan.tables.length + 64; i++) batch.push(`route flush table ${TABLE_BASE + i}`);
  plan.tables.forEach((t, i) => {
    batch.push(`rule add pref ${TABLE_BASE + i} from ${t.cidr} iif br0 lookup ${TABLE_BASE + i}`);
    for (const r of t.routes) if (port || !r.includes('igw0')) batch.push(`route add ${r} table ${TABLE_BASE + i}`);
  });
  await nsRun(ns, ['-force', '-batch', '-'], batch.join('\n') + '\n').catch((e: unknown) => {
    // `-force` runs every line; a flush of a table that does not exist is not an error worth stopping for.
    if (!/Command failed/.test(String((e as Error).message))) throw e;
  });
  if (port) {
    const have = await nsRun(ns, ['-o', '-4', 'address', 'show', 'dev', 'igw0']);
    const current = [...have.stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/32/g)].map((m) => m[1]);
    const fix = [
      ...plan.uplinks.filter((a) => !current.includes(a)).map((a) => `address add ${a}/32 dev igw0`),
      ...current.filter((a) => !plan.uplinks.includes(a)).map((a) => `address del ${a}/32 dev igw0`),
    ];
    if (fix.length) await nsRun(ns, ['-batch', '-'], fix.join('\n') + '\n');
    const edge = await nsRun(internetNs(), ['-o', '-4', 'route', 'show', 'dev', port]);
    const routed = [...edge.stdout.matchAll(/^(\d+\.\d+\.\d+\.\d+)\s/gm)].map((m) => m[1]);
    const edgeFix = [
      ...plan.uplinks.filter((a) => !routed.includes(a)).map((a) => `route replace ${a}/32 dev ${port}`),
      ...routed.filter((a) => !plan.uplinks.includes(a)).map((a) => `route del ${a}/32 dev ${port}`),
    ];
    if (edgeFix.length) await nsRun(internetNs(), ['-batch', '-'], edgeFix.join('\n') + '\n');
  }
  const natTable = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]', ...(port ? plan.nat : []), 'COMMIT', ''].join('\n');
  await run('ip', ['netns', 'exec', ns, 'iptables-restore', '-w'], natTable);
  // Connections tracked under the old routing would keep their old translation: forget them.
  await run('ip', ['netns', 'exec', ns, 'conntrack', '-F']).catch(() => undefined);
}

/** Runs `fn` after every routing change under way, before any later one (per provider). */
function serialised<T>(ctx: DockerContext, fn: () => Promise<T>): Promise<T> {
  const st = ctx.local.of(RoutingState);
  const next = st.chain.then(fn);
  st.chain = next.catch(() => undefined);
  return next;
}

/** Recomputes and loads the routing of `vpcId` (serialised per provider). */
export function reconcileRouting(ctx: DockerContext, vpcId: string): Promise<void> {
  const st = ctx.local.of(RoutingState);
  const next = st.chain.then(async () => {
    const live = liveView(ctx);
    const vpc = live.find((r) => r.type === 'AWS::EC2::VPC' && r.state.physicalId === vpcId) ?? ctx.lookup(vpcId);
    if (!vpc?.state.data) return;
    const all = vpc === undefined || live.includes(vpc) ? live : [...live, vpc];
    const attachment = all.find((r) => r.type === 'AWS::EC2::VPCGatewayAttachment' && r.state.data?.vpcId === vpcId);
    await applyRouting(str(vpc.state.data.netns), str(vpc.state.data.cidr), attachment ? str(attachment.state.data?.port) : undefined, planRouting(vpcId, all));
  });
  st.chain = next.catch(() => undefined);
  return next;
}

// ---------------------------------------------------------------------------------------------
// Handlers

function vpcOf(ctx: DockerContext, vpcId: string): KnownResource {
  const vpc = ctx.lookup(vpcId);
  if (!vpc || vpc.type !== 'AWS::EC2::VPC' || !vpc.state.data) throw new KilnError('VPC_NOT_FOUND', `The vpc ID '${vpcId}' does not exist (InvalidVpcID.NotFound)`, 'user');
  return vpc;
}

function findLive(ctx: DockerContext, type: string, id: string): KnownResource | undefined {
  return liveView(ctx).find((r) => r.type === type && r.state.physicalId === id) ?? (ctx.lookup(id)?.type === type ? ctx.lookup(id) : undefined);
}

export const internetGatewayHandler: DockerHandler = {
  type: 'AWS::EC2::InternetGateway',
  effect: 'real',
  async create() {
    const id = newId('igw');
    return { physicalId: id, attributes: { InternetGatewayId: id }, data: {} };
  },
  async update(_ctx, _props, previous) {
    return previous.state;
  },
  async delete(ctx, state) {
    const att = liveView(ctx).find((r) => r.type === 'AWS::EC2::VPCGatewayAttachment' && r.state.data?.igwId === state.physicalId);
    if (att) throw new KilnError('DEPENDENCY_VIOLATION', `The internetGateway '${state.physicalId}' has dependencies and cannot be deleted (attached to ${str(att.state.data?.vpcId)}).`, 'user');
  },
};

export const egressOnlyInternetGatewayHandler: DockerHandler = {
  type: 'AWS::EC2::EgressOnlyInternetGateway',
  effect: 'real',
  async create(ctx, props) {
    vpcOf(ctx, str(props.VpcId));
    const id = newId('eigw');
    return { physicalId: id, attributes: { Id: id }, data: { vpcId: str(props.VpcId), ipv6Only: true } };
  },
  async delete() {},
};

export const gatewayAttachmentHandler: DockerHandler = {
  type: 'AWS::EC2::VPCGatewayAttachment',
  effect: 'real',
  async create(ctx, props) {
    const vpcId = str(props.VpcId);
    const vpc = vpcOf(ctx, vpcId);
    if (props.VpnGatewayId !== undefined)
      throw new KilnError('UNSUPPORTED_ON_LOCAL', 'AWS::EC2::VPCGatewayAttachment VpnGatewayId: VPN gateways have no local meaning; attach an InternetGatewayId', 'user');
    const igwId = str(props.InternetGatewayId);
    const igw = findLive(ctx, 'AWS::EC2::InternetGateway', igwId);
    if (!igw) throw new KilnError('IGW_NOT_FOUND', `The internetGateway ID '${igwId}' does not exist (InvalidInternetGatewayID.NotFound)`, 'user');
    const live = liveView(ctx);
    const other = live.find((r) => r.type === 'AWS::EC2::VPCGatewayAttachment' && (r.state.data?.igwId === igwId || r.state.data?.vpcId === vpcId));
    if (other)
      throw new KilnError(
        'RESOURCE_ALREADY_ASSOCIATED',
        other.state.data?.igwId === igwId ? `Resource ${igwId} is already attached to network ${str(other.state.data?.vpcId)}` : `Network ${vpcId} already has an internet gateway attached`,
        'user',
      );
    const uplink = await allocateUplinkAddress(ctx, vpcId);
    const port = `u${vpcId.slice(4, 16)}`;
    const ns = str(vpc.state.data?.netns);
    ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `attaching ${igwId} to ${vpcId}: uplink ${uplink}` });
    await nsRun(ns, ['link', 'delete', 'igw0']).catch(() => undefined);
    await connectToInternet({ ns, ifname: 'igw0', port, addresses: [uplink] });
    const state: ResourceState = { physicalId: `IGW|${vpcId}`, attributes: { Id: `IGW|${vpcId}` }, data: { vpcId, igwId, uplink, port, netns: ns } };
    note(ctx, state, props);
    await reconcileRouting(ctx, vpcId);
    return state;
  },
  async delete(ctx, state, props) {
    const ns = str(state.data?.netns);
    // Routing without the gateway first, then the port goes: a reconcile of another resource of
    // the VPC (running meanwhile, serialised with this one) never looks for an igw0 that is gone.
    note(ctx, state, props, true);
    ctx.local.of(RoutingState).handedOut.delete(str(state.data?.uplink));
    await reconcileRouting(ctx, str(state.data?.vpcId));
    if (ns) await serialised(ctx, () => nsRun(ns, ['link', 'delete', 'igw0']).catch(() => undefined));
    // The last VPC plugged into the internet is gone: the internet router goes too.
    await releaseInternet();
  },
};

export const routeTableHandler: DockerHandler = {
  type: 'AWS::EC2::RouteTable',
  effect: 'real',
  async create(ctx, props) {
    const vpcId = str(props.VpcId);
    vpcOf(ctx, vpcId);
    const id = newId('rtb');
    const state: ResourceState = { physicalId: id, attributes: { RouteTableId: id }, data: { vpcId } };
    note(ctx, state, props);
    return state;
  },
  async update(_ctx, _props, previous) {
    return previous.state;
  },
  async delete(ctx, state, props) {
    const assoc = liveView(ctx).filter((r) => r.type === 'AWS::EC2::SubnetRouteTableAssociation' && r.state.data?.routeTableId === state.physicalId);
    if (assoc.length)
      throw new KilnError(
        'DEPENDENCY_VIOLATION',
        `The routeTable '${state.physicalId}' has dependencies and cannot be deleted (associated with ${assoc.map((a) => str(a.state.data?.subnetId)).join(', ')}).`,
        'user',
      );
    note(ctx, state, props, true);
  },
};

const ROUTE_TARGETS: Array<[string, string]> = [
  ['GatewayId', 'igw'],
  ['NatGatewayId', 'nat'],
  ['EgressOnlyInternetGatewayId', 'eigw'],
  ['InstanceId', 'instance'],
  ['NetworkInterfaceId', 'eni'],
  ['VpcPeeringConnectionId', 'pcx'],
  ['TransitGatewayId', 'tgw'],
  ['VpcEndpointId', 'vpce'],
  ['CarrierGatewayId', 'cagw'],
  ['LocalGatewayId', 'lgw'],
  ['CoreNetworkArn', 'core'],
];

function routeState(ctx: DockerContext, props: JsonObject): ResourceState {
  const rtbId = str(props.RouteTableId);
  const rtb = findLive(ctx, 'AWS::EC2::RouteTable', rtbId);
  if (!rtb) throw new KilnError('ROUTE_TABLE_NOT_FOUND', `The routeTable ID '${rtbId}' does not exist (InvalidRouteTableID.NotFound)`, 'user');
  const vpcId = str(rtb.state.data?.vpcId);
  const v4 = str(props.DestinationCidrBlock);
  const v6 = str(props.DestinationIpv6CidrBlock);
  if ([v4, v6, str(props.DestinationPrefixListId)].filter(Boolean).length !== 1)
    throw new KilnError('INVALID_ROUTE', 'AWS::EC2::Route: exactly one of DestinationCidrBlock, DestinationIpv6CidrBlock, DestinationPrefixListId must be given', 'user');
  if (props.DestinationPrefixListId !== undefined)
    throw new KilnError('UNSUPPORTED_ON_LOCAL', 'AWS::EC2::Route DestinationPrefixListId: prefix lists have no local meaning; use DestinationCidrBlock', 'user');
  const targets = ROUTE_TARGETS.filter(([k]) => str(props[k]) !== '');
  if (targets.length !== 1) throw new KilnError('INVALID_ROUTE', `AWS::EC2::Route: exactly one target must be given (${ROUTE_TARGETS.map(([k]) => k).join(', ')})`, 'user');
  const [key, kindOf] = targets[0];
  const target = str(props[key]);
  const kind = key === 'GatewayId' && target.startsWith('vgw-') ? 'vgw' : kindOf;
  if (v4) {
    const dest = parseCidr(v4);
    if (!dest) throw new KilnError('INVALID_ROUTE', `Value (${v4}) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.`, 'user');
    if (kind === 'igw') {
      if (!findLive(ctx, 'AWS::EC2::InternetGateway', target)) throw new KilnError('IGW_NOT_FOUND', `The gateway ID '${target}' does not exist (InvalidGatewayID.NotFound)`, 'user');
      const att = liveView(ctx).find((r) => r.type === 'AWS::EC2::VPCGatewayAttachment' && r.state.data?.igwId === target);
      if (str(att?.state.data?.vpcId) !== vpcId)
        throw new KilnError('INVALID_ROUTE', `route table ${rtbId} and network gateway ${target} belong to different networks (the gateway is not attached to ${vpcId})`, 'user');
    } else if (kind === 'nat') {
      const nat = findLive(ctx, 'AWS::EC2::NatGateway', target);
      if (!nat) throw new KilnError('NAT_GATEWAY_NOT_FOUND', `The natGateway ID '${target}' does not exist (InvalidNatGatewayID.NotFound)`, 'user');
      if (str(nat.state.data?.vpcId) !== vpcId) throw new KilnError('INVALID_ROUTE', `route table ${rtbId} and NAT gateway ${target} belong to different networks`, 'user');
    } else throw new KilnError('UNSUPPORTED_ON_LOCAL', `AWS::EC2::Route ${key}: only internet and NAT gateways route IPv4 on the local target`, 'user');
    return { physicalId: `${rtbId}|${dest.text}`, attributes: { CidrBlock: dest.text }, data: { vpcId, routeTableId: rtbId, dest: dest.text, family: 'v4', targetKind: kind, target } };
  }
  if (v6 && !/^[0-9a-fA-F:]+\/\d{1,3}$/.test(v6)) throw new KilnError('INVALID_ROUTE', `Value (${v6}) for parameter destinationIpv6CidrBlock is invalid.`, 'user');
  if (kind === 'eigw' && !findLive(ctx, 'AWS::EC2::EgressOnlyInternetGateway', target) && ctx.lookup(target)?.type !== 'AWS::EC2::EgressOnlyInternetGateway')
    throw new KilnError('EIGW_NOT_FOUND', `The egress-only internet gateway ID '${target}' does not exist`, 'user');
  return { physicalId: `${rtbId}|${v6.toLowerCase()}`, attributes: { CidrBlock: '' }, data: { vpcId, routeTableId: rtbId, dest: v6.toLowerCase(), family: 'v6', targetKind: kind, target } };
}

export const routeHandler: DockerHandler = {
  type: 'AWS::EC2::Route',
  effect: 'real',
  async create(ctx, props) {
    const state = routeState(ctx, props);
    const clash = liveView(ctx).find((r) => r.type === 'AWS::EC2::Route' && r.state.physicalId === state.physicalId);
    if (clash) throw new KilnError('ROUTE_ALREADY_EXISTS', `The route identified by ${str(state.data?.dest)} already exists (RouteAlreadyExists)`, 'user');
    note(ctx, state, props);
    await reconcileRouting(ctx, str(state.data?.vpcId));
    return state;
  },
  async update(ctx, props, previous) {
    // A new target replaces the route in place (ReplaceRoute); a new destination replaces the resource (the planner knows).
    const state = routeState(ctx, props);
    note(ctx, state, props);
    if (previous.state.physicalId !== state.physicalId) note(ctx, previous.state, previous.props, true);
    await reconcileRouting(ctx, str(state.data?.vpcId));
    return state;
  },
  async delete(ctx, state, props) {
    note(ctx, state, props, true);
    await reconcileRouting(ctx, str(state.data?.vpcId));
  },
};

export const subnetRouteTableAssociationHandler: DockerHandler = {
  type: 'AWS::EC2::SubnetRouteTableAssociation',
  effect: 'real',
  async create(ctx, props) {
    const subnetId = str(props.SubnetId);
    const rtbId = str(props.RouteTableId);
    const subnet = findLive(ctx, 'AWS::EC2::Subnet', subnetId);
    if (!subnet) throw new KilnError('SUBNET_NOT_FOUND', `The subnet ID '${subnetId}' does not exist (InvalidSubnetID.NotFound)`, 'user');
    const rtb = findLive(ctx, 'AWS::EC2::RouteTable', rtbId);
    if (!rtb) throw new KilnError('ROUTE_TABLE_NOT_FOUND', `The routeTable ID '${rtbId}' does not exist (InvalidRouteTableID.NotFound)`, 'user');
    const vpcId = str(rtb.state.data?.vpcId);
    if (str(subnet.state.data?.vpcId) !== vpcId) throw new KilnError('INVALID_PARAMETER', `Route table ${rtbId} and subnet ${subnetId} belong to different networks`, 'user');
    const other = liveView(ctx).find((r) => r.type === 'AWS::EC2::SubnetRouteTableAssociation' && r.state.data?.subnetId === subnetId);
    if (other)
      throw new KilnError(
        'RESOURCE_ALREADY_ASSOCIATED',
        `the specified association for route table ${str(other.state.data?.routeTableId)} conflicts with an existing association (Resource.AlreadyAssociated: ${subnetId})`,
        'user',
      );
    const id = newId('rtbassoc');
    const state: ResourceState = { physicalId: id, attributes: { Id: id }, data: { vpcId, subnetId, routeTableId: rtbId } };
    note(ctx, state, props);
    await reconcileRouting(ctx, vpcId);
    return state;
  },
  async delete(ctx, state, props) {
    note(ctx, state, props, true);
    await reconcileRouting(ctx, str(state.data?.vpcId));
  },
};

export const natGatewayHandler: DockerHandler = {
  type: 'AWS::EC2::NatGateway',
  effect: 'real',
  async create(ctx, props) {
    const subnetId = str(props.SubnetId);
    const subnet = findLive(ctx, 'AWS::EC2::Subnet', subnetId);
    if (!subnet) throw new KilnError('SUBNET_NOT_FOUND', `The subnet ID '${subnetId}' does not exist (InvalidSubnetID.NotFound)`, 'user');
    const vpcId = str(subnet.state.data?.vpcId);
    const connectivity = str(props.ConnectivityType) || 'public';
    if (connectivity !== 'public' && connectivity !== 'private') throw new KilnError('INVALID_PARAMETER', `ConnectivityType must be public or private, not '${connectivity}'`, 'user');
    const allocationId = str(props.AllocationId);
    let publicIp = '';
    if (connectivity === 'public') {
      const eip = ctx.allResources().find((r) => r.type === 'AWS::EC2::EIP' && r.state.attributes.AllocationId === allocationId);
      if (!allocationId || eip?.type !== 'AWS::EC2::EIP')
        throw new KilnError('EIP_NOT_FOUND', `The allocation ID '${allocationId}' does not exist (InvalidAllocationID.NotFound): a public NAT gateway needs an Elastic IP`, 'user');
      const user = liveView(ctx).find((r) => r.type === 'AWS::EC2::NatGateway' && r.state.data?.allocationId === allocationId);
      if (user) throw new KilnError('RESOURCE_ALREADY_ASSOCIATED', `Elastic IP address [${allocationId}] is already associated (with ${user.state.physicalId})`, 'user');
      publicIp = str(eip.state.attributes.PublicIp);
    }
    const id = newId('nat');
    const address = connectivity === 'public' ? await allocateUplinkAddress(ctx, id) : '';
    const state: ResourceState = { physicalId: id, attributes: { NatGatewayId: id }, data: { vpcId, subnetId, connectivity, allocationId, publicIp, ...(address ? { address } : {}) } };
    note(ctx, state, props);
    await reconcileRouting(ctx, vpcId);
    return state;
  },
  async update(_ctx, _props, previous) {
    return previous.state;
  },
  async delete(ctx, state, props) {
    note(ctx, state, props, true);
    ctx.local.of(RoutingState).handedOut.delete(str(state.data?.address));
    await reconcileRouting(ctx, str(state.data?.vpcId));
  },
};

let associations = 0;

/**
 * AWS::EC2::EIPAssociation: the Elastic IP's address in kiln's internet (from 198.18.0.0/15; the
 * EIP's `PublicIp` is its loopback address on the host) is routed to the VPC's internet gateway and
 * translated there to the instance's (or interface's) private address, both ways: connections from
 * the internet to it reach the instance, and the instance's own traffic out leaves with it. Moving
 * the association (a new one for the same allocation, the old one deleted) keeps the address and
 * moves the traffic. As on AWS the VPC needs an internet gateway attached.
 */
export const eipAssociationHandler: DockerHandler = {
  type: 'AWS::EC2::EIPAssociation',
  effect: 'real',
  async create(ctx, props) {
    const allocationId = str(props.AllocationId);
    const eip = ctx
      .allResources()
      .find((r) => r.type === 'AWS::EC2::EIP' && ((allocationId !== '' && r.state.attributes.AllocationId === allocationId) || (str(props.EIP) !== '' && r.state.physicalId === str(props.EIP))));
    if (!eip) throw new KilnError('EIP_NOT_FOUND', `The allocation ID '${allocationId || str(props.EIP)}' does not exist (InvalidAllocationID.NotFound)`, 'user');
    const instanceId = str(props.InstanceId);
    const eniId = str(props.NetworkInterfaceId);
    if (!instanceId === !eniId) throw new KilnError('INVALID_PARAMETER', 'AWS::EC2::EIPAssociation: give exactly one of InstanceId and NetworkInterfaceId', 'user');
    const target = instanceId || eniId;
    const found = ctx.lookup(target);
    if (!found || found.type !== (instanceId ? 'AWS::EC2::Instance' : 'AWS::EC2::NetworkInterface'))
      throw new KilnError(instanceId ? 'INSTANCE_NOT_FOUND' : 'ENI_NOT_FOUND', `The ${instanceId ? 'instance' : 'network interface'} ID '${target}' does not exist`, 'user');
    const rec = instanceId ? (Array.isArray(found.state.data?.containers) ? found.state.data.containers[0] : undefined) : found.state.data;
    const ip = rec && typeof rec === 'object' && !Array.isArray(rec) ? str(rec.ip) : '';
    const vpcId = rec && typeof rec === 'object' && !Array.isArray(rec) ? str(rec.vpcId) : '';
    if (!ip || !vpcId) throw new KilnError('INSTANCE_NOT_RUNNING', `${target} has no private address to associate the Elastic IP with`, 'user');
    if (str(props.PrivateIpAddress) && str(props.PrivateIpAddress) !== ip)
      throw new KilnError('UNSUPPORTED_ON_LOCAL', `PrivateIpAddress ${str(props.PrivateIpAddress)}: local interfaces have one address (${ip})`, 'user');
    const live = liveView(ctx);
    if (!live.some((r) => r.type === 'AWS::EC2::VPCGatewayAttachment' && r.state.data?.vpcId === vpcId))
      throw new KilnError('GATEWAY_NOT_ATTACHED', `Network ${vpcId} is not attached to any internet gateway (Gateway.NotAttached)`, 'user');
    const realAllocation = str(eip.state.attributes.AllocationId);
    // The allocation keeps its internet address while any association of it lives (a move).
    const held = live.find((r) => r.type === 'AWS::EC2::EIPAssociation' && r.state.data?.allocationId === realAllocation && str(r.state.data?.address));
    const address = held ? str(held.state.data?.address) : await allocateUplinkAddress(ctx, realAllocation);
    const id = newId('eipassoc');
    const since = Date.now() * 1000 + (associations++ % 1000);
    const state: ResourceState = { physicalId: id, attributes: { Id: id }, data: { allocationId: realAllocation, publicIp: eip.state.physicalId, target, vpcId, ip, address, since } };
    ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `${eip.state.physicalId} (${address} in kiln's internet) -> ${target} (${ip})` });
    note(ctx, state, props);
    await reconcileRouting(ctx, vpcId);
    const from = held ? str(held.state.data?.vpcId) : '';
    if (from && from !== vpcId) await reconcileRouting(ctx, from);
    return state;
  },
  async delete(ctx, state, props) {
    note(ctx, state, props, true);
    const address = str(state.data?.address);
    if (!liveView(ctx).some((r) => r.type === 'AWS::EC2::EIPAssociation' && r.state.data?.address === address)) ctx.local.of(RoutingState).handedOut.delete(address);
    await reconcileRouting(ctx, str(state.data?.vpcId));
  },
};

export const routingHandlers: DockerHandler[] = [
  eipAssociationHandler,
  internetGatewayHandler,
  egressOnlyInternetGatewayHandler,
  gatewayAttachmentHandler,
  routeTableHandler,
  routeHandler,
  subnetRouteTableAssociationHandler,
  natGatewayHandler,
];
