// Service rules: checks on literal property values that the resource spec cannot express and that
// real templates trip over. Each one mirrors a cfn-lint rule (same code) and AWS's published facts.
// Pure: the date is an input (`now`); without it the date-dependent rules are skipped.
//
//   checkServiceRules(template, { now }) -> Diagnostic[]   (segments only; the caller locates them)
//
// Rules
//   W2531 / E2531 / E2533  a Lambda runtime past its deprecation / create-block / update-block date
//                          (AWS::Lambda::Function, AWS::Serverless::Function, SAM Globals)
//   E3710 / W3696 / W3697  a resource type of a service that was shut down / is sunsetting (by its
//                          date: once the date has passed it is shut down) / is in maintenance mode
//   E3031 (ipv4/ipv6 network)  a CIDR block that is not one: bad address, prefix out of range, host
//                          bits set, no prefix; E3059 a subnet outside its (literal) VPC block;
//                          CIDR_SIZE (warning; cfn-lint has no such rule) a VPC or subnet prefix
//                          outside /16–/28, which EC2 refuses
//   E1157 / E1162          a KMS key reference that is no key ARN, key id, multi-Region key id or alias
import type { Diagnostic } from '../core/diagnostics.js';
import type { PathSegment } from '../core/source.js';
import { resourceType, type PropertySpec, type Shape } from './spec.js';

interface ServiceRuleOptions {
  /** Today; date-dependent rules (runtimes, service lifecycles) are skipped without it. */
  now?: Date;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---------------------------------------------------------------------------------------------
// Lambda runtimes: [deprecated, creation blocked, update blocked, successor], from AWS's runtime
// deprecation calendar (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).

const RUNTIMES: Readonly<Record<string, readonly [string, string, string, string | null]>> = {
  dotnet6: ['2024-12-20', '2026-06-01', '2026-07-01', 'dotnet9'],
  dotnet8: ['2026-11-10', '2026-12-10', '2027-01-11', 'dotnet9'],
  'dotnetcore1.0': ['2019-06-27', '2019-06-30', '2019-07-30', 'dotnet9'],
  'dotnetcore2.0': ['2019-05-30', '2019-04-30', '2019-05-30', 'dotnet9'],
  'dotnetcore2.1': ['2022-01-05', '2022-01-05', '2022-04-13', 'dotnet9'],
  'dotnetcore3.1': ['2023-04-03', '2023-04-03', '2023-05-03', 'dotnet9'],
  'go1.x': ['2024-01-08', '2024-02-08', '2026-07-01', 'provided.al2023'],
  java11: ['2026-06-30', '2026-07-31', '2026-08-31', 'java25'],
  java17: ['2026-06-30', '2026-07-31', '2026-08-31', 'java25'],
  java21: ['2029-06-30', '2029-07-31', '2029-08-31', 'java25'],
  java25: ['2029-06-30', '2029-07-31', '2029-08-31', null],
  java8: ['2024-01-08', '2024-02-08', '2026-07-01', 'java25'],
  'java8.al2': ['2026-06-30', '2026-07-31', '2026-08-31', 'java25'],
  nodejs: ['2016-08-30', '2016-09-30', '2016-10-31', 'nodejs24.x'],
  'nodejs10.x': ['2021-07-30', '2021-07-30', '2022-02-14', 'nodejs24.x'],
  'nodejs12.x': ['2023-03-31', '2023-03-31', '2023-04-30', 'nodejs24.x'],
  'nodejs14.x': ['2023-12-04', '2024-01-09', '2026-07-01', 'nodejs24.x'],
  'nodejs16.x': ['2024-06-12', '2026-06-01', '2026-07-01', 'nodejs24.x'],
  'nodejs18.x': ['2025-09-01', '2026-06-01', '2026-07-01', 'nodejs24.x'],
  'nodejs20.x': ['2026-04-30', '2026-06-01', '2026-07-01', 'nodejs24.x'],
  'nodejs22.x': ['2027-04-30', '2027-06-01', '2027-07-01', 'nodejs24.x'],
  'nodejs24.x': ['2028-04-30', '2028-06-01', '2028-07-01', null],
  'nodejs4.3': ['2020-03-05', '2020-02-03', '2020-03-05', 'nodejs24.x'],
  'nodejs4.3-edge': ['2020-03-05', '2019-03-31', '2019-04-30', 'nodejs24.x'],
  'nodejs6.10': ['2019-08-12', '2019-07-12', '2019-08-12', 'nodejs24.x'],
  'nodejs8.10': ['2020-03-06', '2020-02-04', '2020-03-06', 'nodejs24.x'],
  provided: ['2024-01-08', '2024-02-08', '2026-07-01', 'provided.al2023'],
  'provided.al2': ['2026-06-30', '2026-07-31', '2026-08-31', 'provided.al2023'],
  'provided.al2023': ['2029-06-30', '2029-07-31', '2029-08-31', null],
  'python2.7': ['2021-07-15', '2021-07-15', '2022-05-30', 'python3.14'],
  'python3.10': ['2026-06-30', '2026-07-31', '2026-08-31', 'python3.14'],
  'python3.11': ['2026-06-30', '2026-07-31', '2026-08-31', 'python3.14'],
  'python3.12': ['2028-10-31', '2028-11-30', '2029-01-10', 'python3.14'],
  'python3.13': ['2029-06-30', '2029-07-31', '2029-08-31', 'python3.14'],
  'python3.14': ['2029-06-30', '2029-07-31', '2029-08-31', null],
  'python3.6': ['2022-07-18', '2022-07-18', '2022-08-29', 'python3.14'],
  'python3.7': ['2023-12-04', '2024-01-09', '2026-03-09', 'python3.14'],
  'python3.8': ['2024-10-14', '2026-06-01', '2026-07-01', 'python3.14'],
  'python3.9': ['2025-12-15', '2026-06-01', '2026-07-01', 'python3.14'],
  'ruby2.5': ['2021-07-30', '2021-07-30', '2022-03-31', 'ruby3.4'],
  'ruby2.7': ['2023-12-07', '2024-01-09', '2026-07-01', 'ruby3.4'],
  'ruby3.2': ['2026-03-31', '2026-06-01', '2026-07-01', 'ruby3.4'],
  'ruby3.3': ['2027-03-31', '2027-04-30', '2027-05-31', 'ruby3.4'],
  'ruby3.4': ['2028-03-31', '2028-04-30', '2028-05-31', null],
};

/** What a runtime's dates mean today: nothing, a warning or an error, with the message. */
export function runtimeVerdict(runtime: string, now: Date): { code: string; severity: 'error' | 'warning'; message: string } | undefined {
  const r = RUNTIMES[runtime];
  if (!r) return undefined;
  const [deprecated, createBlock, updateBlock, successor] = r;
  const day = now.toISOString().slice(0, 10);
  const next = successor ? `; use ${successor}` : '';
  if (day >= updateBlock)
    return {
      code: 'E2533',
      severity: 'error',
      message: `Lambda runtime '${runtime}' was deprecated on ${deprecated}; functions using it can no longer be created (since ${createBlock}) nor updated (since ${updateBlock})${next}`,
    };
  if (day >= createBlock)
    return {
      code: 'E2531',
      severity: 'error',
      message: `Lambda runtime '${runtime}' was deprecated on ${deprecated}; functions using it can no longer be created (since ${createBlock}), and updates stop on ${updateBlock}${next}`,
    };
  if (day >= deprecated)
    return { code: 'W2531', severity: 'warning', message: `Lambda runtime '${runtime}' was deprecated on ${deprecated}; creating functions with it stops on ${createBlock}${next}` };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Service lifecycles (https://docs.aws.amazon.com/general/latest/gr/full_shutdown_services.html and
// sunset_services.html). `prefix` covers every type of a service; otherwise the listed types.

interface Lifecycle {
  status: 'shutdown' | 'sunset' | 'maintenance';
  date?: string;
  prefix?: string;
  types?: readonly string[];
}

const t = (service: string, ...names: string[]) => names.map((n) => `AWS::${service}::${n}`);

const LIFECYCLES: readonly Lifecycle[] = [
  { status: 'shutdown', date: '2022-11-09', prefix: 'AWS::IoTThingsGraph::' },
  { status: 'shutdown', date: '2024-05-01', prefix: 'AWS::OpsWorks::' },
  { status: 'shutdown', date: '2024-06-30', prefix: 'AWS::NimbleStudio::' },
  { status: 'shutdown', date: '2024-07-25', prefix: 'AWS::CodeStar::' },
  { status: 'shutdown', date: '2025-07-31', prefix: 'AWS::QLDB::' },
  { status: 'shutdown', date: '2025-10-17', prefix: 'AWS::Evidently::' },
  { status: 'shutdown', date: '2025-12-15', prefix: 'AWS::IoTAnalytics::' },
  { status: 'shutdown', date: '2026-05-20', prefix: 'AWS::IoTEvents::' },
  { status: 'sunset', date: '2025-11-07', prefix: 'AWS::FraudDetector::' },
  { status: 'sunset', date: '2025-11-13', prefix: 'AWS::MediaStore::' },
  { status: 'sunset', date: '2026-05-20', prefix: 'AWS::Inspector::' },
  { status: 'sunset', date: '2026-05-20', prefix: 'AWS::SimSpaceWeaver::' },
  { status: 'sunset', date: '2026-09-30', prefix: 'AWS::AppMesh::' },
  { status: 'sunset', date: '2026-10-01', prefix: 'AWS::Greengrass::' },
  { status: 'sunset', date: '2026-10-07', types: [...t('FinSpace', 'Environment'), ...t('Proton', 'EnvironmentAccountConnection', 'EnvironmentTemplate', 'ServiceTemplate')] },
  { status: 'sunset', date: '2026-10-30', prefix: 'AWS::Pinpoint::' },
  { status: 'sunset', prefix: 'AWS::WAF::' },
  { status: 'sunset', prefix: 'AWS::WAFRegional::' },
  { status: 'maintenance', date: '2024-07-25', types: t('Cloud9', 'EnvironmentEC2') },
  { status: 'maintenance', date: '2024-07-29', types: t('Forecast', 'Dataset', 'DatasetGroup') },
  { status: 'maintenance', date: '2024-10-01', types: t('AutoScaling', 'LaunchConfiguration') },
  { status: 'maintenance', date: '2025-06-20', types: t('Timestream', 'Database', 'ScheduledQuery', 'Table') },
  { status: 'maintenance', date: '2025-10-07', types: t('CodeGuruReviewer', 'RepositoryAssociation') },
];

function lifecycleOf(type: string): Lifecycle | undefined {
  return LIFECYCLES.find((l) => (l.prefix ? type.startsWith(l.prefix) : l.types?.includes(type)));
}

function lifecycleVerdict(type: string, now: Date): { code: string; severity: 'error' | 'warning'; message: string } | undefined {
  const l = lifecycleOf(type);
  if (!l) return undefined;
  const day = now.toISOString().slice(0, 10);
  if (l.status === 'shutdown' || (l.status === 'sunset' && l.date !== undefined && day >= l.date))
    return { code: 'E3710', severity: 'error', message: `${type} belongs to a service AWS shut down${l.date ? ` on ${l.date}` : ''}: CloudFormation can no longer create it` };
  if (l.status === 'sunset') return { code: 'W3696', severity: 'warning', message: `${type} belongs to a service AWS is retiring${l.date ? `: it shuts down on ${l.date}` : ''}; plan a replacement` };
  return { code: 'W3697', severity: 'warning', message: `${type} belongs to a feature AWS put in maintenance mode${l.date ? ` on ${l.date}` : ''} (no new features); consider its successor` };
}

// ---------------------------------------------------------------------------------------------
// CIDR blocks

type Family = 'v4' | 'v6' | 'any';

/** Property paths (`*` = every member of a list) holding a CIDR block, per type. */
const CIDR_PROPERTIES: Readonly<Record<string, ReadonlyArray<readonly [string, Family]>>> = {
  'AWS::EC2::VPC': [['CidrBlock', 'v4']],
  'AWS::EC2::VPCCidrBlock': [
    ['CidrBlock', 'v4'],
    ['Ipv6CidrBlock', 'v6'],
  ],
  'AWS::EC2::Subnet': [
    ['CidrBlock', 'v4'],
    ['Ipv6CidrBlock', 'v6'],
  ],
  'AWS::EC2::SubnetCidrBlock': [['Ipv6CidrBlock', 'v6']],
  'AWS::EC2::SecurityGroup': [
    ['SecurityGroupIngress.*.CidrIp', 'v4'],
    ['SecurityGroupIngress.*.CidrIpv6', 'v6'],
    ['SecurityGroupEgress.*.CidrIp', 'v4'],
    ['SecurityGroupEgress.*.CidrIpv6', 'v6'],
  ],
  'AWS::EC2::SecurityGroupIngress': [
    ['CidrIp', 'v4'],
    ['CidrIpv6', 'v6'],
  ],
  'AWS::EC2::SecurityGroupEgress': [
    ['CidrIp', 'v4'],
    ['CidrIpv6', 'v6'],
  ],
  'AWS::EC2::NetworkAclEntry': [
    ['CidrBlock', 'v4'],
    ['Ipv6CidrBlock', 'v6'],
  ],
  'AWS::EC2::Route': [
    ['DestinationCidrBlock', 'v4'],
    ['DestinationIpv6CidrBlock', 'v6'],
  ],
  'AWS::EC2::LocalGatewayRoute': [['DestinationCidrBlock', 'v4']],
  'AWS::EC2::TransitGatewayRoute': [['DestinationCidrBlock', 'any']],
  'AWS::EC2::VPNConnectionRoute': [['DestinationCidrBlock', 'v4']],
  'AWS::EC2::ClientVpnRoute': [['DestinationCidrBlock', 'v4']],
  'AWS::EC2::PrefixList': [['Entries.*.Cidr', 'any']],
  'AWS::RDS::DBSecurityGroup': [['DBSecurityGroupIngress.*.CIDRIP', 'v4']],
  'AWS::RDS::DBSecurityGroupIngress': [['CIDRIP', 'v4']],
  'AWS::Redshift::ClusterSecurityGroupIngress': [['CIDRIP', 'v4']],
};

/** EC2 accepts VPC and subnet IPv4 blocks from /16 to /28. */
const BLOCK_SIZE: Readonly<Record<string, string>> = { 'AWS::EC2::VPC': 'CidrBlock', 'AWS::EC2::VPCCidrBlock': 'CidrBlock', 'AWS::EC2::Subnet': 'CidrBlock' };

interface ParsedCidr {
  family: 'v4' | 'v6';
  /** The address as a big integer (128 bits for v6). */
  base: bigint;
  prefix: number;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0n;
  for (const p of parts) {
    if (!/^(?:0|[1-9]\d{0,2})$/.test(p) || Number(p) > 255) return undefined;
    n = (n << 8n) | BigInt(p);
  }
  return n;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9A-Fa-f:.]+$/.test(s)) return undefined;
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === '') return [];
    const out: number[] = [];
    const parts = h.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9A-Fa-f]{1,4}$/.test(p)) out.push(parseInt(p, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  let n = 0n;
  for (const g of [...head, ...Array<number>(missing).fill(0), ...tail]) n = (n << 16n) | BigInt(g);
  return n;
}

/** A CIDR block, or why it is not one. */
export function parseCidrBlock(text: string, family: Family = 'any'): ParsedCidr | { problem: string } {
  const slash = text.indexOf('/');
  if (slash < 0) return { problem: 'it has no /prefix length' };
  const addr = text.slice(0, slash);
  const bits = text.slice(slash + 1);
  const v6 = addr.includes(':');
  if (family === 'v4' && v6) return { problem: 'it is an IPv6 block where an IPv4 one is expected' };
  if (family === 'v6' && !v6) return { problem: 'it is an IPv4 block where an IPv6 one is expected' };
  const width = v6 ? 128 : 32;
  if (!/^(?:0|[1-9]\d{0,2})$/.test(bits) || Number(bits) > width) return { problem: `the prefix length must be 0 to ${width}` };
  const base = v6 ? parseV6(addr) : parseV4(addr);
  if (base === undefined) return { problem: `'${addr}' is not an ${v6 ? 'IPv6' : 'IPv4'} address` };
  const prefix = Number(bits);
  const hostMask = (1n << BigInt(width - prefix)) - 1n;
  if ((base & hostMask) !== 0n) return { problem: `it has host bits set (the block starting there is ${formatBlock(base & ~hostMask, v6, prefix)})` };
  return { family: v6 ? 'v6' : 'v4', base, prefix };
}

function formatBlock(base: bigint, v6: boolean, prefix: number): string {
  if (!v6) return `${[24n, 16n, 8n, 0n].map((s) => String((base >> s) & 255n)).join('.')}/${prefix}`;
  const groups = Array.from({ length: 8 }, (_, i) => (base >> BigInt((7 - i) * 16)) & 0xffffn);
  // The longest run of two or more zero groups becomes `::` (RFC 5952).
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === 0n) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  const text = best.at < 0 ? hex.join(':') : `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
  return `${text}/${prefix}`;
}

function inside(inner: ParsedCidr, outer: ParsedCidr): boolean {
  if (inner.family !== outer.family || inner.prefix < outer.prefix) return false;
  const width = inner.family === 'v6' ? 128 : 32;
  const shift = BigInt(width - outer.prefix);
  return inner.base >> shift === outer.base >> shift;
}

// ---------------------------------------------------------------------------------------------
// KMS key references

const KMS_ARN = /^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)\/.+$/;
const KMS_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias\/[a-zA-Z0-9/_-]+)$/;
/** Properties that take a key id, key ARN or alias (name or ARN). */
const KMS_ANY = /^(?:Kms|KMS)(?:Master)?Key(?:Id|ID)$/;
/** Properties that take an ARN only. */
const KMS_ARN_ONLY = /^(?:Kms|KMS)(?:Key)?Arn$/;

// ---------------------------------------------------------------------------------------------

interface Ctx {
  diags: Diagnostic[];
  now?: Date;
}

function push(ctx: Ctx, code: string, severity: 'error' | 'warning', message: string, segments: PathSegment[]) {
  ctx.diags.push({ severity, code, message, segments });
}

/**
 * The literal strings a value may take: the value itself, or each branch of an `Fn::If` (nested
 * ones too). Any other function gives nothing (its result is not known here).
 */
function* literals(v: unknown, path: PathSegment[]): Generator<[string, PathSegment[]]> {
  if (typeof v === 'string') {
    yield [v, path];
    return;
  }
  if (!isObj(v) || Object.keys(v).length !== 1 || !Array.isArray(v['Fn::If']) || v['Fn::If'].length !== 3) return;
  const args = v['Fn::If'] as unknown[];
  for (const i of [1, 2]) yield* literals(args[i], [...path, 'Fn::If', i]);
}

/** Values at a dotted path with `*` for list members. */
function* at(v: unknown, parts: readonly string[], path: PathSegment[]): Generator<[unknown, PathSegment[]]> {
  if (parts.length === 0) {
    yield [v, path];
    return;
  }
  const [head, ...rest] = parts;
  if (head === '*') {
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* at(v[i], rest, [...path, i]);
    return;
  }
  if (isObj(v) && Object.prototype.hasOwnProperty.call(v, head!)) yield* at(v[head!], rest, [...path, head!]);
}

function checkCidrs(ctx: Ctx, id: string, type: string, props: Obj): void {
  const base: PathSegment[] = ['Resources', id, 'Properties'];
  for (const [prop, family] of CIDR_PROPERTIES[type] ?? []) {
    for (const [node, nodePath] of at(props, prop.split('.'), base)) {
      for (const [value, path] of literals(node, nodePath)) {
        const parsed = parseCidrBlock(value, family);
        if ('problem' in parsed) {
          push(ctx, 'E3031', 'error', `'${value}' is not a valid ${family === 'v6' ? 'IPv6 ' : family === 'v4' ? 'IPv4 ' : ''}CIDR block: ${parsed.problem}`, path);
          continue;
        }
        if (BLOCK_SIZE[type] === prop && parsed.family === 'v4' && (parsed.prefix < 16 || parsed.prefix > 28))
          push(ctx, 'CIDR_SIZE', 'warning', `${type} ${prop} '${value}': EC2 accepts blocks from /16 to /28 only, so creating it fails`, path);
      }
    }
  }
}

/** A subnet whose VpcId is a Ref to a VPC of the template must lie inside the VPC's block. */
function checkSubnetInVpc(ctx: Ctx, resources: Obj): void {
  for (const [id, r] of Object.entries(resources)) {
    if (!isObj(r) || r.Type !== 'AWS::EC2::Subnet' || !isObj(r.Properties)) continue;
    const p = r.Properties;
    const vpcRef = isObj(p.VpcId) && typeof p.VpcId.Ref === 'string' ? p.VpcId.Ref : undefined;
    const vpc = vpcRef ? resources[vpcRef] : undefined;
    if (!isObj(vpc) || vpc.Type !== 'AWS::EC2::VPC' || !isObj(vpc.Properties)) continue;
    if (typeof p.CidrBlock !== 'string' || typeof vpc.Properties.CidrBlock !== 'string') continue;
    const sub = parseCidrBlock(p.CidrBlock, 'v4');
    const net = parseCidrBlock(vpc.Properties.CidrBlock, 'v4');
    if ('problem' in sub || 'problem' in net) continue;
    // A VPC may have more blocks (AWS::EC2::VPCCidrBlock): only a plain VPC can be judged here.
    const extra = Object.values(resources).some((x) => isObj(x) && x.Type === 'AWS::EC2::VPCCidrBlock' && isObj(x.Properties) && isObj(x.Properties.VpcId) && x.Properties.VpcId.Ref === vpcRef);
    if (!extra && !inside(sub, net))
      push(ctx, 'E3059', 'error', `subnet block '${p.CidrBlock}' is not inside the block '${vpc.Properties.CidrBlock}' of its VPC ${vpcRef}`, ['Resources', id, 'Properties', 'CidrBlock']);
  }
}

/**
 * Walks properties along their spec shapes (maps, JSON and untyped values are not descended: their
 * keys are the user's, not property names) and checks the KMS key references it finds.
 */
function checkKms(ctx: Ctx, v: unknown, props: Readonly<Record<string, PropertySpec>>, path: PathSegment[]): void {
  if (!isObj(v)) return;
  for (const [k, x] of Object.entries(v)) {
    const spec = props[k];
    if (!spec) continue;
    if (spec.shape.kind === 'string') {
      for (const [value, at] of literals(x, [...path, k])) {
        if (value === '') continue;
        if (KMS_ARN_ONLY.test(k) && !KMS_ARN.test(value)) push(ctx, 'E1157', 'error', `'${value}' is not a KMS key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID or …:alias/NAME)`, at);
        else if (KMS_ANY.test(k) && !KMS_ARN.test(value) && !KMS_ID.test(value))
          push(ctx, 'E1162', 'error', `'${value}' is not a KMS key reference: a key id (UUID), a multi-Region key id (mrk-…), an alias (alias/NAME) or their ARNs`, at);
      }
    } else descend(ctx, x, spec.shape, [...path, k]);
  }
}

function descend(ctx: Ctx, v: unknown, shape: Shape, path: PathSegment[]): void {
  if (shape.kind === 'object') checkKms(ctx, v, shape.properties, path);
  else if (shape.kind === 'array' && Array.isArray(v)) v.forEach((x, i) => descend(ctx, x, shape.element, [...path, i]));
}

function checkRuntime(ctx: Ctx, runtime: unknown, path: PathSegment[]): void {
  if (typeof runtime !== 'string' || !ctx.now) return;
  const v = runtimeVerdict(runtime, ctx.now);
  if (v) push(ctx, v.code, v.severity, v.message, path);
}

export function checkServiceRules(template: unknown, opts: ServiceRuleOptions = {}): Diagnostic[] {
  const ctx: Ctx = { diags: [], ...(opts.now ? { now: opts.now } : {}) };
  if (!isObj(template) || !isObj(template.Resources)) return ctx.diags;
  const resources = template.Resources;
  for (const [id, r] of Object.entries(resources)) {
    if (!isObj(r) || typeof r.Type !== 'string') continue;
    const type = r.Type;
    if (ctx.now) {
      const l = lifecycleVerdict(type, ctx.now);
      if (l) push(ctx, l.code, l.severity, l.message, ['Resources', id, 'Type']);
    }
    if (!isObj(r.Properties)) continue;
    const props = r.Properties;
    if (type === 'AWS::Lambda::Function' || type === 'AWS::Serverless::Function') checkRuntime(ctx, props.Runtime, ['Resources', id, 'Properties', 'Runtime']);
    checkCidrs(ctx, id, type, props);
    const spec = resourceType(type);
    if (spec) checkKms(ctx, props, spec.properties, ['Resources', id, 'Properties']);
  }
  const globals = template.Globals;
  if (isObj(globals) && isObj(globals.Function)) checkRuntime(ctx, globals.Function.Runtime, ['Globals', 'Function', 'Runtime']);
  checkSubnetInVpc(ctx, resources);
  return ctx.diags;
}
