// Network ACLs as packet filters: the rule model, which ACL governs a subnet, and the iptables chains
// a member of that subnet gets (firewall.ts loads them with its security group rules, into the same
// namespace). A network ACL is stateless: its chains come before the "replies to my own connections"
// rule, so a reply needs a rule of its own (the ephemeral ports), as on AWS. Rules are evaluated in
// rule-number order; the first that matches allows (on to the security groups) or denies; nothing
// matching is denied (AWS's `*` rule). Traffic within the subnet is not filtered (AWS applies ACLs at
// the subnet's boundary). A subnet associated with no ACL of its own has its VPC's default ACL,
// which allows everything: it gets no chains at all.
import type { Json, JsonObject } from '../../stack/model.js';
import type { KnownResource } from '../../model/provider.js';
import type { DockerContext } from './context.js';
import { NetworkState } from './network.js';

export interface AclEntry {
  ruleNumber: number;
  egress: boolean;
  allow: boolean;
  /** -1: all; otherwise an IP protocol number (6 tcp, 17 udp, 1 icmp). */
  protocol: number;
  cidr?: string;
  cidr6?: string;
  from?: number;
  to?: number;
  icmpType?: number;
  icmpCode?: number;
}

/** The ACL that governs one subnet, as a member of that subnet needs it. */
export interface SubnetAcl {
  aclId: string;
  subnetCidr: string;
  ingress: AclEntry[];
  egress: AclEntry[];
}

/** ACL resources this provider made or removed that state may not show yet (null: removed). */
export class AclState {
  readonly overlay = new Map<string, KnownResource | null>();
}

export const ACL_TYPES = new Set(['AWS::EC2::NetworkAcl', 'AWS::EC2::NetworkAclEntry', 'AWS::EC2::SubnetNetworkAclAssociation']);

/** Live ACL resources and subnets: state overlaid with this provider's changes. */
export function aclResources(ctx: DockerContext): KnownResource[] {
  const byId = new Map<string, KnownResource>();
  for (const r of ctx.allResources()) if (ACL_TYPES.has(r.type) || r.type === 'AWS::EC2::Subnet') byId.set(`${r.type} ${r.state.physicalId}`, r);
  for (const { res } of ctx.local.of(NetworkState).subnets.values()) byId.set(`${res.type} ${res.state.physicalId}`, res);
  for (const [id, r] of ctx.local.of(AclState).overlay) {
    for (const k of [...byId.keys()]) if (k.endsWith(` ${id}`) && ACL_TYPES.has(k.split(' ')[0])) byId.delete(k);
    if (r) byId.set(`${r.type} ${id}`, r);
  }
  return [...byId.values()];
}

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

/** Subnet id → the ACL governing it, for every subnet associated with a non-default ACL. */
export function subnetAcls(ctx: DockerContext): Map<string, SubnetAcl> {
  const live = aclResources(ctx);
  const entries = new Map<string, AclEntry[]>();
  for (const e of live.filter((r) => r.type === 'AWS::EC2::NetworkAclEntry')) {
    const d = e.state.data ?? {};
    const list = entries.get(str(d.aclId)) ?? [];
    list.push(d.entry as unknown as AclEntry);
    entries.set(str(d.aclId), list);
  }
  const cidrOf = new Map(live.filter((r) => r.type === 'AWS::EC2::Subnet').map((s) => [s.state.physicalId, str(s.state.data?.cidr)]));
  const out = new Map<string, SubnetAcl>();
  for (const a of live.filter((r) => r.type === 'AWS::EC2::SubnetNetworkAclAssociation')) {
    const subnetId = str(a.state.data?.subnetId);
    const aclId = str(a.state.data?.aclId);
    const all = [...(entries.get(aclId) ?? [])].sort((x, y) => x.ruleNumber - y.ruleNumber);
    out.set(subnetId, { aclId, subnetCidr: cidrOf.get(subnetId) ?? '', ingress: all.filter((e) => !e.egress), egress: all.filter((e) => e.egress) });
  }
  return out;
}

function num(v: Json | undefined): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return Number(v);
  return undefined;
}

function isObj(v: Json | undefined): v is JsonObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/** An `AWS::EC2::NetworkAclEntry`'s properties as an AclEntry; a problem is a message naming the property. */
export function parseAclEntry(p: JsonObject): AclEntry | string {
  const ruleNumber = num(p.RuleNumber);
  if (ruleNumber === undefined || ruleNumber < 1 || ruleNumber > 32766) return `RuleNumber must be an integer from 1 to 32766 (got ${JSON.stringify(p.RuleNumber ?? null)})`;
  const action = str(p.RuleAction).toLowerCase();
  if (action !== 'allow' && action !== 'deny') return `RuleAction must be allow or deny (got ${JSON.stringify(p.RuleAction ?? null)})`;
  const protocol = num(p.Protocol);
  if (protocol === undefined || protocol < -1 || protocol > 255) return `Protocol must be -1 or an IP protocol number (got ${JSON.stringify(p.Protocol ?? null)})`;
  const e: AclEntry = { ruleNumber, egress: p.Egress === true || p.Egress === 'true', allow: action === 'allow', protocol };
  const v4 = str(p.CidrBlock);
  const v6 = str(p.Ipv6CidrBlock);
  if (!!v4 === !!v6) return 'exactly one of CidrBlock and Ipv6CidrBlock must be given';
  if (v4) {
    if (!/^\d+\.\d+\.\d+\.\d+\/\d{1,2}$/.test(v4)) return `CidrBlock '${v4}' is not an IPv4 CIDR block`;
    e.cidr = v4;
  } else e.cidr6 = v6.toLowerCase();
  if (protocol === 6 || protocol === 17) {
    const r = isObj(p.PortRange) ? p.PortRange : undefined;
    const from = num(r?.From);
    const to = num(r?.To);
    if (from === undefined || to === undefined || from < 0 || to > 65535 || from > to) return `PortRange (From, To from 0 to 65535) is required for protocol ${protocol}`;
    e.from = from;
    e.to = to;
  } else if (protocol === 1) {
    const i = isObj(p.Icmp) ? p.Icmp : undefined;
    if (!i) return 'Icmp (Code, Type) is required for protocol 1';
    e.icmpType = num(i.Type) ?? -1;
    e.icmpCode = num(i.Code) ?? -1;
  }
  return e;
}

export const NACL_IN = 'KILN-NACL-IN';
export const NACL_OUT = 'KILN-NACL-OUT';

function entryLine(chain: string, e: AclEntry, v6: boolean): string | undefined {
  const peer = v6 ? e.cidr6 : e.cidr;
  if (!peer) return undefined;
  const parts = [`-A ${chain}`];
  if (peer !== '0.0.0.0/0' && peer !== '::/0') parts.push(`${chain === NACL_IN ? '-s' : '-d'} ${peer}`);
  if (e.protocol === 6 || e.protocol === 17) {
    const p = e.protocol === 6 ? 'tcp' : 'udp';
    parts.push(`-p ${p} -m ${p} --dport ${e.from === e.to ? e.from : `${e.from}:${e.to}`}`);
  } else if (e.protocol === 1) {
    if (v6) return undefined;
    parts.push('-p icmp');
    if ((e.icmpType ?? -1) >= 0) parts.push(`-m icmp --icmp-type ${e.icmpType}${(e.icmpCode ?? -1) >= 0 ? `/${e.icmpCode}` : ''}`);
  } else if (e.protocol !== -1) parts.push(`-p ${e.protocol}`);
  parts.push(e.allow ? '-j RETURN' : '-j DROP');
  return parts.join(' ');
}

/**
 * The chain declarations, the jumps (to put before the stateful rules) and the chains' rules for
 * a member governed by `acl`; empty when it is governed by the default ACL (allow all).
 */
export function renderAcl(acl: SubnetAcl | undefined, v6: boolean): { declare: string[]; jumpIn: string[]; jumpOut: string[]; rules: string[] } {
  if (!acl) return { declare: [], jumpIn: [], jumpOut: [], rules: [] };
  const rules: string[] = [];
  const local = v6 ? '' : acl.subnetCidr;
  for (const [chain, list] of [
    [NACL_IN, acl.ingress],
    [NACL_OUT, acl.egress],
  ] as const) {
    if (local) rules.push(`-A ${chain} ${chain === NACL_IN ? '-s' : '-d'} ${local} -j RETURN`);
    for (const e of list) {
      const line = entryLine(chain, e, v6);
      if (line) rules.push(line);
    }
    rules.push(`-A ${chain} -j DROP`);
  }
  return { declare: [`:${NACL_IN} - [0:0]`, `:${NACL_OUT} - [0:0]`], jumpIn: [`-A INPUT -j ${NACL_IN}`], jumpOut: [`-A OUTPUT -j ${NACL_OUT}`], rules };
}
