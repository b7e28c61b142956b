// Security groups enforced: each member container gets a packet filter in its own network namespace
// (loaded from the host with `nsenter --net=/proc/<pid>/ns/net iptables-restore`; containers never get
// NET_ADMIN, so they cannot change it). Ingress is default-deny: only what some rule of one of the
// container's groups allows gets in (plus replies to its own connections, as AWS groups are
// stateful). Egress is the union of the groups' egress rules; a group declared without
// `SecurityGroupEgress` carries AWS's default allow-all egress rule.
//
// The reconciler is idempotent: it computes every member's ruleset from the groups, the standalone
// SecurityGroupIngress/Egress rules and the current members (for `SourceSecurityGroupId`), and loads
// a ruleset only when it differs from the one the provider loaded last. Handlers call it after any
// change to a group, a rule or a membership.
import { KilnError } from '../../core/errors.js';
import { mapLimit } from '../../core/limiter.js';
import type { DockerClient } from '../../docker/client.js';
import type { Json, JsonObject } from '../../stack/model.js';
import type { KnownResource, ResourceContext } from '../../model/provider.js';
import type { DockerContext } from './context.js';
import { IMDS_ADDRESS, inNetns, parseCidrLoose } from './network.js';
import { renderAcl, subnetAcls, type SubnetAcl } from './nacl-rules.js';

// ---------------------------------------------------------------------------------------------
// Rule model

export type Protocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'all' | number;

export interface SgRule {
  protocol: Protocol;
  /** tcp/udp: port range; icmp: type (from) and code (to); -1 = any. */
  from: number;
  to: number;
  cidr?: string;
  cidr6?: string;
  /** SourceSecurityGroupId (ingress) or DestinationSecurityGroupId (egress). */
  group?: string;
  description?: string;
}

export interface GroupRules {
  groupId: string;
  vpcId?: string;
  ingress: SgRule[];
  egress: SgRule[];
}

/** What a resource records about each container it runs (`state.data.containers`). */
export interface ContainerRecord {
  id: string;
  ip: string;
  vpcId: string;
  subnetId: string;
  groups: string[];
  publicIp?: string;
  /**
   * Addresses let in whatever the groups say: the other nodes of the same managed service (a Redis
   * replication group's primary and replicas), whose traffic among themselves AWS does not put
   * through the customer's groups.
   */
  peers?: string[];
  /**
   * Not filtered by any security group: a network load balancer made without `SecurityGroups`,
   * which on AWS filters nothing (its targets' groups do). Its VPC's default group does not apply.
   */
  unfiltered?: boolean;
}

const PROTO_NAMES: Record<string, Protocol> = { tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', icmp: 'icmp', '1': 'icmp', icmpv6: 'icmpv6', '58': 'icmpv6', '-1': 'all', all: 'all' };

function num(v: Json | undefined): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  return undefined;
}

/**
 * A rule as CloudFormation writes it (`IpProtocol`, `FromPort`, `ToPort`, `CidrIp`, ...) → SgRule.
 * `where` names the property path for error messages.
 */
export function normaliseRule(raw: Json, direction: 'ingress' | 'egress', where: string): SgRule {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new KilnError('INVALID_RULE', `${where}: a rule must be an object`, 'user');
  const r = raw as JsonObject;
  const protoText = String(r.IpProtocol ?? '').toLowerCase();
  if (protoText === '') throw new KilnError('INVALID_RULE', `${where}.IpProtocol is required`, 'user');
  let protocol: Protocol | undefined = PROTO_NAMES[protoText];
  if (protocol === undefined) {
    const n = num(protoText);
    if (n === undefined || n < 0 || n > 255) throw new KilnError('INVALID_RULE', `${where}.IpProtocol: invalid value '${protoText}' (tcp, udp, icmp, icmpv6, -1 or a protocol number)`, 'user');
    protocol = n;
  }
  let from = num(r.FromPort);
  let to = num(r.ToPort);
  if (protocol === 'tcp' || protocol === 'udp') {
    if (from === undefined || to === undefined) throw new KilnError('INVALID_RULE', `${where}: FromPort and ToPort are required for ${protocol}`, 'user');
    if (from === -1 && to === -1) [from, to] = [0, 65535];
    if (from < 0 || to > 65535 || from > to) throw new KilnError('INVALID_RULE', `${where}: invalid port range ${from}-${to} (0-65535, FromPort <= ToPort)`, 'user');
  } else if (protocol === 'icmp' || protocol === 'icmpv6') {
    from = from ?? -1;
    to = to ?? -1;
  } else {
    from = -1;
    to = -1;
  }
  const peerKeys =
    direction === 'ingress'
      ? ['CidrIp', 'CidrIpv6', 'SourceSecurityGroupId', 'SourceSecurityGroupName', 'SourcePrefixListId']
      : ['CidrIp', 'CidrIpv6', 'DestinationSecurityGroupId', 'DestinationPrefixListId'];
  const given = peerKeys.filter((k) => r[k] !== undefined && r[k] !== null && r[k] !== '');
  if (given.length !== 1) throw new KilnError('INVALID_RULE', `${where}: exactly one of ${peerKeys.join(', ')} must be given${given.length ? ` (got ${given.join(', ')})` : ''}`, 'user');
  const rule: SgRule = { protocol, from, to };
  if (typeof r.Description === 'string') rule.description = r.Description;
  const key = given[0];
  const val = String(r[key]);
  if (key === 'CidrIp') {
    const c = parseCidrLoose(val);
    if (!c) throw new KilnError('INVALID_RULE', `${where}.CidrIp: invalid CIDR '${val}'`, 'user');
    rule.cidr = c.text;
  } else if (key === 'CidrIpv6') {
    if (!/^[0-9a-fA-F:]+\/\d{1,3}$/.test(val)) throw new KilnError('INVALID_RULE', `${where}.CidrIpv6: invalid CIDR '${val}'`, 'user');
    rule.cidr6 = val.toLowerCase();
  } else if (key.endsWith('PrefixListId')) {
    throw new KilnError('UNSUPPORTED_ON_LOCAL', `${where}.${key}: prefix lists have no local meaning; use CidrIp`, 'user');
  } else {
    rule.group = val;
  }
  return rule;
}

/** AWS's default egress rule of a VPC group declared without SecurityGroupEgress. */
export const ALLOW_ALL_EGRESS: SgRule = { protocol: 'all', from: -1, to: -1, cidr: '0.0.0.0/0' };

// ---------------------------------------------------------------------------------------------
// Rendering (pure)

function match(rule: SgRule, dir: 'INPUT' | 'OUTPUT', peer: string, v6: boolean): string {
  const side = dir === 'INPUT' ? '-s' : '-d';
  const parts = [`-A ${dir}`];
  if (peer !== '0.0.0.0/0' && peer !== '::/0') parts.push(`${side} ${peer}`);
  const p = rule.protocol;
  if (p === 'tcp' || p === 'udp') {
    parts.push(`-p ${p} -m ${p}`);
    parts.push(rule.from === rule.to ? `--dport ${rule.from}` : `--dport ${rule.from}:${rule.to}`);
  } else if (p === 'icmp' || p === 'icmpv6') {
    if ((p === 'icmpv6') !== v6) return '';
    const proto = v6 ? 'ipv6-icmp' : 'icmp';
    const flag = v6 ? '--icmpv6-type' : '--icmp-type';
    parts.push(`-p ${proto}`);
    if (rule.from >= 0) parts.push(`-m ${proto === 'icmp' ? 'icmp' : 'icmp6'} ${flag} ${rule.from}${rule.to >= 0 ? `/${rule.to}` : ''}`);
  } else if (typeof p === 'number') {
    parts.push(`-p ${p}`);
  }
  if (rule.description) parts.push(`-m comment --comment "${rule.description.replace(/["\\\n]/g, ' ').slice(0, 250)}"`);
  parts.push('-j ACCEPT');
  return parts.join(' ');
}

/** A rule with its peers resolved to addresses (source groups → their members' IPs). */
export interface ResolvedRules {
  ingress: Array<{ rule: SgRule; peers: string[] }>;
  egress: Array<{ rule: SgRule; peers: string[] }>;
  /** The network ACL of the member's subnet (none: the VPC's default ACL, which allows all). */
  acl?: SubnetAcl;
}

/** The iptables-restore (v4) and ip6tables-restore (v6) input for one container. */
export function renderRuleset(r: ResolvedRules): { v4: string; v6: string } {
  const out: { v4: string; v6: string } = { v4: '', v6: '' };
  for (const v6 of [false, true]) {
    // The network ACL (stateless) comes before the groups' stateful "replies are allowed" rules.
    const acl = renderAcl(r.acl, v6);
    const lines = ['*filter', ':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT DROP [0:0]', ...acl.declare];
    // The instance metadata service (imds.ts) is outside groups and network ACLs, as on AWS.
    const imdsIn = v6 ? [] : [`-A INPUT -s ${IMDS_ADDRESS}/32 -p tcp -m tcp --sport 80 -j ACCEPT`];
    const imdsOut = v6 ? [] : [`-A OUTPUT -d ${IMDS_ADDRESS}/32 -p tcp -m tcp --dport 80 -j ACCEPT`];
    lines.push('-A INPUT -i lo -j ACCEPT', ...imdsIn, ...acl.jumpIn, '-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    for (const { rule, peers } of r.ingress) for (const peer of peers) if (peer.includes(':') === v6) lines.push(match(rule, 'INPUT', peer, v6));
    lines.push('-A OUTPUT -o lo -j ACCEPT', ...imdsOut, ...acl.jumpOut, '-A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
    for (const { rule, peers } of r.egress) for (const peer of peers) if (peer.includes(':') === v6) lines.push(match(rule, 'OUTPUT', peer, v6));
    lines.push(...acl.rules, 'COMMIT', '');
    const text = lines.filter((l) => l !== '').join('\n') + '\n';
    if (v6) out.v6 = text;
    else out.v4 = text;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The view of groups, rules and members: state (ctx.resources) overlaid with the provider's changes

/** What a provider remembers about packet filters between calls. */
export class FirewallState {
  /** Changes made by this provider that state may not show yet (null: removed). */
  readonly groups = new Map<string, GroupRules | null>();
  readonly rules = new Map<string, { groupId: string; direction: 'ingress' | 'egress'; rule: SgRule } | null>();
  readonly members = new Map<string, ContainerRecord | null>();
  /** containerId → the ruleset text last loaded into its namespace. */
  readonly lastApplied = new Map<string, string>();
  /** Members whose namespace is being joined to the VPC right now (their first ruleset comes with it). */
  readonly attaching = new Set<string>();
  /** The reconcile runs, one after the other. */
  chain: Promise<unknown> = Promise.resolve();
  /** A run queued behind the current one and not started yet: later callers join it. */
  queued: { opts: { vpcId?: string; force?: boolean }; run: Promise<number> } | undefined;
}

export function noteGroup(ctx: DockerContext, groupId: string, rules: GroupRules | null): void {
  ctx.local.of(FirewallState).groups.set(groupId, rules);
}
export function noteRule(ctx: DockerContext, ruleId: string, r: { groupId: string; direction: 'ingress' | 'egress'; rule: SgRule } | null): void {
  ctx.local.of(FirewallState).rules.set(ruleId, r);
}
export function noteMember(ctx: DockerContext, rec: ContainerRecord | null, id?: string): void {
  const key = rec?.id ?? id;
  if (!key) return;
  const fw = ctx.local.of(FirewallState);
  fw.members.set(key, rec);
  if (!rec) fw.lastApplied.delete(key);
}

function isObj(v: Json | undefined): v is JsonObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** Container records a resource's state carries (`data.containers`). */
export function containersOf(res: KnownResource): ContainerRecord[] {
  const d = res.state.data;
  const list = d && Array.isArray(d.containers) ? d.containers : [];
  return list.filter(isObj).filter((c) => typeof c.id === 'string' && typeof c.ip === 'string') as unknown as ContainerRecord[];
}

/**
 * Groups by id; a group of another stack (an imported `sg-…`) is found through `ctx.lookup`, as the
 * contract lets a handler look up any live resource by physical id.
 */
class GroupMap extends Map<string, GroupRules> {
  constructor(private readonly ctx: ResourceContext) {
    super();
  }
  override get(id: string): GroupRules | undefined {
    const own = super.get(id);
    if (own || !this.ctx) return own;
    const res = this.ctx.lookup(id);
    const rules = res?.type === 'AWS::EC2::SecurityGroup' && res.state.data && isObj(res.state.data.rules) ? (res.state.data.rules as unknown as GroupRules) : undefined;
    if (rules) super.set(id, rules);
    return rules;
  }
  override has(id: string): boolean {
    return this.get(id) !== undefined;
  }
}

export interface FirewallView {
  groups: Map<string, GroupRules>;
  members: ContainerRecord[];
  defaults: Map<string, string>;
  /** Subnet id → its network ACL, for subnets associated with one (see nacl-rules.ts). */
  acls?: Map<string, SubnetAcl>;
}

export function currentView(ctx: DockerContext): FirewallView {
  const fw = ctx.local.of(FirewallState);
  const groups = new Map<string, GroupRules>();
  const rules = new Map<string, { groupId: string; direction: 'ingress' | 'egress'; rule: SgRule }>();
  const members = new Map<string, ContainerRecord>();
  // A VPC's default group is in its state (its row is written before anything inside it is made).
  const defaults = new Map<string, string>();
  for (const res of ctx.allResources()) {
    const d = res.state.data ?? {};
    if (res.type === 'AWS::EC2::SecurityGroup' && isObj(d.rules)) groups.set(res.state.physicalId, d.rules as unknown as GroupRules);
    else if ((res.type === 'AWS::EC2::SecurityGroupIngress' || res.type === 'AWS::EC2::SecurityGroupEgress') && isObj(d.rule))
      rules.set(res.state.physicalId, d.rule as unknown as { groupId: string; direction: 'ingress' | 'egress'; rule: SgRule });
    else if (res.type === 'AWS::EC2::VPC' && typeof d.defaultSecurityGroup === 'string') defaults.set(res.state.physicalId, d.defaultSecurityGroup);
    for (const c of containersOf(res)) members.set(c.id, c);
  }
  for (const [id, g] of fw.groups) {
    if (g) groups.set(id, g);
    else groups.delete(id);
  }
  for (const [id, r] of fw.rules) {
    if (r) rules.set(id, r);
    else rules.delete(id);
  }
  for (const [id, m] of fw.members) {
    if (m) members.set(id, m);
    else members.delete(id);
  }
  // Standalone rules add to their group (a copy: the view must not alter state objects).
  const merged = new GroupMap(ctx);
  for (const [id, g] of groups) merged.set(id, { ...g, ingress: [...g.ingress], egress: [...g.egress] });
  for (const r of rules.values()) {
    const g = merged.get(r.groupId);
    if (g) g[r.direction].push(r.rule);
  }
  // The VPC default group: members of itself may talk to each other; egress to anywhere.
  for (const [vpcId, sg] of defaults) if (!merged.has(sg)) merged.set(sg, { groupId: sg, vpcId, ingress: [{ protocol: 'all', from: -1, to: -1, group: sg }], egress: [ALLOW_ALL_EGRESS] });
  return { groups: merged, members: [...members.values()], defaults, acls: subnetAcls(ctx) };
}

/**
 * The id of a group named by its id, or by its name in `vpcId` (what `Ref` of a group made without
 * `VpcId` returns, as on AWS; `default` is the VPC's default group). Undefined when neither.
 */
export function groupIdOf(ctx: ResourceContext, view: FirewallView, ref: string, vpcId: string | undefined): string | undefined {
  if (view.groups.has(ref)) return ref;
  if (!vpcId) return undefined;
  if (ref === 'default') return view.defaults.get(vpcId);
  return ctx.allResources().find((r) => r.type === 'AWS::EC2::SecurityGroup' && r.state.data?.groupName === ref && r.state.attributes.VpcId === vpcId)?.state.physicalId;
}

/** The groups a member is governed by (its own, or its VPC's default group when it has none). */
export function effectiveGroups(view: FirewallView, m: ContainerRecord): string[] {
  if (m.groups.length || m.unfiltered) return m.groups;
  const d = view.defaults.get(m.vpcId);
  return d ? [d] : [];
}

/** The resolved rules of one member: the union of its groups, source groups turned into addresses. */
export function resolveFor(view: FirewallView, m: ContainerRecord): ResolvedRules {
  const out: ResolvedRules = { ingress: [], egress: [] };
  const acl = view.acls?.get(m.subnetId);
  if (acl) out.acl = acl;
  const membersOf = (groupId: string) =>
    view.members
      .filter((x) => x.vpcId === m.vpcId && effectiveGroups(view, x).includes(groupId))
      .map((x) => x.ip)
      .sort();
  if (m.unfiltered)
    for (const dir of ['ingress', 'egress'] as const) out[dir].push({ rule: { protocol: 'all', from: -1, to: -1, description: 'no security group: not filtered' }, peers: ['0.0.0.0/0', '::/0'] });
  if (m.peers?.length) out.ingress.push({ rule: { protocol: 'all', from: -1, to: -1, description: 'nodes of the same service' }, peers: [...m.peers].sort() });
  for (const gid of effectiveGroups(view, m)) {
    const g = view.groups.get(gid);
    if (!g) continue;
    for (const dir of ['ingress', 'egress'] as const)
      for (const rule of g[dir]) {
        const peers = rule.group ? membersOf(rule.group) : [rule.cidr ?? rule.cidr6 ?? ''].filter(Boolean);
        if (peers.length) out[dir].push({ rule, peers });
      }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Applying

async function pidOf(docker: DockerClient, id: string): Promise<number | undefined> {
  try {
    const info = await docker.inspectContainer(id);
    return info.State.Running && info.State.Pid > 0 ? info.State.Pid : undefined;
  } catch {
    return undefined;
  }
}

/** Loads a ruleset into the namespace of `pid` (both address families, one process). */
export async function loadRuleset(pid: number, set: { v4: string; v6: string }): Promise<void> {
  const script = 'printf "%s" "$KILN_V4" | iptables-restore -w && { printf "%s" "$KILN_V6" | ip6tables-restore -w 2>/dev/null || true; }';
  await inNetns(pid, 'env', [`KILN_V4=${set.v4}`, `KILN_V6=${set.v6}`, 'sh', '-c', script]);
}

/** The v4+v6 ruleset text for a member, as loadRuleset expects. */
export function rulesetFor(view: FirewallView, m: ContainerRecord): { v4: string; v6: string } {
  return renderRuleset(resolveFor(view, m));
}

/**
 * Re-applies the rules of every member (optionally of one VPC) whose ruleset changed since the
 * provider last loaded it. Serialised; callers that arrive while a run is waiting to start join that
 * run (it reads the view when it starts, so it covers their changes too): a burst of launches costs
 * a few runs, not one per launch.
 */
export function reconcileFirewalls(ctx: DockerContext, opts: { vpcId?: string; force?: boolean } = {}): Promise<number> {
  const fw = ctx.local.of(FirewallState);
  const queued = fw.queued;
  if (queued && !opts.force && !queued.opts.force && (queued.opts.vpcId === undefined || queued.opts.vpcId === opts.vpcId)) return queued.run;
  const mine: { opts: { vpcId?: string; force?: boolean }; run: Promise<number> } = { opts, run: Promise.resolve(0) };
  mine.run = fw.chain.then(async () => {
    if (fw.queued === mine) fw.queued = undefined;
    const view = currentView(ctx);
    const todo: Array<{ m: ContainerRecord; set: { v4: string; v6: string }; text: string }> = [];
    for (const m of view.members) {
      if ((opts.vpcId && m.vpcId !== opts.vpcId) || fw.attaching.has(m.id)) continue;
      const set = rulesetFor(view, m);
      const text = set.v4 + set.v6;
      if (opts.force || fw.lastApplied.get(m.id) !== text) todo.push({ m, set, text });
    }
    // A new member of a group that is a source elsewhere changes many rulesets: load them a few at a time.
    const done = await mapLimit(todo, 4, async ({ m, set, text }) => {
      const pid = await pidOf(ctx.docker, m.id);
      if (pid === undefined) return 0;
      try {
        await loadRuleset(pid, set);
      } catch (e) {
        // A member being deleted meanwhile (a rollback deletes a load balancer and its group's rules
        // at once): its namespace went away under nsenter, and it needs no rules any more.
        if ((await pidOf(ctx.docker, m.id)) !== pid) return 0;
        throw e;
      }
      fw.lastApplied.set(m.id, text);
      return 1;
    });
    return done.reduce<number>((a, b) => a + b, 0);
  });
  fw.queued = mine;
  fw.chain = mine.run.catch(() => undefined);
  return mine.run;
}

/**
 * Runs `attach`, which loads `set` into a member's namespace itself (launch, restart), and records
 * that. Meanwhile reconciles leave the member alone: they would load the same rules a second time
 * in a race with `attach`. A change that lands meanwhile is picked up by the next reconcile, since
 * the member then holds `set` and not the new ruleset.
 */
export async function attachingMember<T>(ctx: DockerContext, containerId: string, set: { v4: string; v6: string }, attach: () => Promise<T>): Promise<T> {
  const fw = ctx.local.of(FirewallState);
  fw.attaching.add(containerId);
  try {
    const r = await attach();
    fw.lastApplied.set(containerId, set.v4 + set.v6);
    return r;
  } finally {
    fw.attaching.delete(containerId);
  }
}

/** The rules currently loaded in a container's namespace (`iptables -S`), for tests and drift. */
export async function loadedRules(docker: DockerClient, containerId: string): Promise<string | undefined> {
  const pid = await pidOf(docker, containerId);
  if (pid === undefined) return undefined;
  return (await inNetns(pid, 'iptables', ['-w', '-S'])).stdout;
}

/** A ruleset in the form `iptables -S` prints it (policies, `/32` on single addresses, no comments). */
export function listingOf(restoreInput: string): string[] {
  const out: string[] = [];
  for (const line of restoreInput.split('\n')) {
    const pol = /^:(\S+) (\S+) /.exec(line);
    if (pol) out.push(`-P ${pol[1]} ${pol[2]}`);
    else if (line.startsWith('-A ')) out.push(normaliseListed(line));
  }
  return out;
}

function normaliseListed(line: string): string {
  return line
    .replace(/ -m comment --comment ("[^"]*"|\S+)/, '')
    .replace(/ (-[sd]) (\d+\.\d+\.\d+\.\d+)(?=\s)/g, ' $1 $2/32')
    .trim();
}

/**
 * Differences between the packet filter loaded in a member's namespace and the one its groups
 * call for (someone flushed or edited the rules by hand): rules missing and rules extra.
 */
export async function filterDrift(docker: DockerClient, view: FirewallView, m: ContainerRecord): Promise<{ missing: string[]; extra: string[] } | undefined> {
  const loaded = await loadedRules(docker, m.id);
  if (loaded === undefined) return undefined;
  const want = new Set(listingOf(rulesetFor(view, m).v4).filter((l) => /^-[PA] (INPUT|OUTPUT|FORWARD)\b/.test(l) && !l.startsWith('-P FORWARD')));
  const have = new Set(
    loaded
      .split('\n')
      .filter((l) => /^-[PA] (INPUT|OUTPUT|FORWARD)\b/.test(l))
      .filter((l) => !l.startsWith('-P FORWARD'))
      .map(normaliseListed),
  );
  const missing = [...want].filter((l) => !have.has(l));
  const extra = [...have].filter((l) => !want.has(l));
  return missing.length || extra.length ? { missing, extra } : { missing: [], extra: [] };
}
