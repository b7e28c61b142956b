// The computations behind CloudFormation's intrinsic functions, as plain functions on plain values
// (reference §3, §4). The evaluator (evaluate.ts) decides *when* the inputs are known and calls
// these; the deploy-time resolver (runtime.ts) reuses the same evaluator, so there is one
// implementation of each function.
//
// Public API:
//   INTRINSIC_FUNCTIONS, intrinsicKey(value)     recognise `{ "Fn::X": … }` / `{ "Ref": … }`
//   parseSub(text) / formatSub(parts)            `${Var}`, `${Res.Attr}`, `${!Literal}`
//   splitGetAttString("A.B.C") -> ["A", "B.C"]   split at the first dot only
//   cidr(ipBlock, count, hostBits) -> string[]   IPv4 and IPv6 (throws IntrinsicError)
//   base64(text), splitString(delim, text), getAZs(region)
//   pseudoValues(partial) -> PseudoValues         AWS::Region default, Partition/URLSuffix derived
//   partitionOf(region), urlSuffixOf(region)
import { createHash } from 'node:crypto';
import type { Json, PseudoValues } from './model.js';

/** A user-level failure of one function (bad argument, index out of range); carries no path. */
export class IntrinsicError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'IntrinsicError';
  }
}

/** Functions allowed in template bodies (Rules-only functions are in RULE_FUNCTIONS). */
export const INTRINSIC_FUNCTIONS = [
  'Ref',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::Sub',
  'Fn::Select',
  'Fn::Split',
  'Fn::FindInMap',
  'Fn::GetAZs',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::ImportValue',
  'Fn::GetStackOutput',
  'Fn::If',
  'Fn::Equals',
  'Fn::And',
  'Fn::Or',
  'Fn::Not',
  'Fn::Transform',
  'Fn::Length',
  'Fn::ToJsonString',
] as const;

export const RULE_FUNCTIONS = ['Fn::Contains', 'Fn::EachMemberEquals', 'Fn::EachMemberIn', 'Fn::RefAll', 'Fn::ValueOf', 'Fn::ValueOfAll'] as const;

export const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::NotificationARNs', 'AWS::NoValue', 'AWS::Partition', 'AWS::Region', 'AWS::StackId', 'AWS::StackName', 'AWS::URLSuffix'] as const;

/**
 * The function name when `value` is an intrinsic call: an object with exactly one key that is `Ref`
 * or starts with `Fn::` (and `Condition`, when `conditionKey` is set: only inside condition
 * functions is `{"Condition": "Name"}` a function). Otherwise undefined.
 */
export function intrinsicKey(value: unknown, conditionKey = false): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  let only: string | undefined;
  for (const k in value) {
    if (only !== undefined) return undefined;
    only = k;
  }
  if (only === undefined) return undefined;
  if (only === 'Ref' || only.startsWith('Fn::')) return only;
  if (conditionKey && only === 'Condition') return only;
  return undefined;
}

/**
 * Sets an own property, also for the key `__proto__` (which plain assignment would turn into a
 * prototype change; JSON.parse and the loaders keep it as a data key).
 */
export function setKey<T>(o: Record<string, T>, k: string, v: T): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

// ---------------------------------------------------------------------------------------------
// Fn::Sub

/** A piece of a Sub string: literal text, or a variable (`offset`: where its `${` starts in the text parsed). */
export type SubPart = { lit: string } | { name: string; offset?: number };

/**
 * `${Name}` → a variable; `${!Text}` → the literal `${Text}`; a `${` with no closing `}` is
 * literal text. Adjacent literals are merged.
 */
export function parseSub(text: string): SubPart[] {
  const parts: SubPart[] = [];
  let lit = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('${', i);
    if (at < 0) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, at);
    const close = text.indexOf('}', at + 2);
    if (close < 0) {
      lit += text.slice(at);
      break;
    }
    const body = text.slice(at + 2, close);
    if (body.startsWith('!')) lit += '${' + body.slice(1) + '}';
    else {
      if (lit) parts.push({ lit });
      lit = '';
      // CloudFormation ignores spaces around the name: `${ AWS::Region }` is `${AWS::Region}` (as refs.ts reads it).
      parts.push({ name: body.trim(), offset: at });
    }
    i = close + 1;
  }
  if (lit) parts.push({ lit });
  return parts;
}

/** Where the first `${` with no closing `}` starts in a Sub string; undefined when every one is closed. */
export function unclosedSub(text: string): number | undefined {
  const at = text.indexOf('${');
  if (at < 0) return undefined;
  for (let i = at; i >= 0; i = text.indexOf('${', i)) {
    const close = text.indexOf('}', i + 2);
    if (close < 0) return i;
    i = close + 1;
  }
  return undefined;
}

/** The message for an unclosed `${` (validate and render say the same). */
export function unclosedSubMessage(text: string, at: number): string {
  return `Fn::Sub: the \${ at character ${at + 1} of ${JSON.stringify(text.length > 60 ? text.slice(0, 57) + '...' : text)} has no closing }; a literal \${ is written \${!Literal}`;
}

/** The Sub string for parts; literal `${` is written `${!` so it stays literal. */
export function formatSub(parts: readonly SubPart[]): string {
  let s = '';
  for (const p of parts) s += 'lit' in p ? p.lit.split('${').join('${!') : '${' + p.name + '}';
  return s;
}

// ---------------------------------------------------------------------------------------------
// Small functions

/** `Res.Attr.With.Dots` → `["Res", "Attr.With.Dots"]`; no dot → `[text]`. */
export function splitGetAttString(text: string): [string] | [string, string] {
  const dot = text.indexOf('.');
  return dot < 0 ? [text] : [text.slice(0, dot), text.slice(dot + 1)];
}

export function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/** Consecutive or trailing delimiters give empty strings: `a,,c,` → `["a","","c",""]`. */
export function splitString(delim: string, text: string): string[] {
  if (delim === '') return [text];
  return text.split(delim);
}

/** A stable list of AZs for a region: `<region>a`, `b`, `c` (order fixed, as kiln's local target has them). */
/**
 * The availability zones of the public AWS regions as a typical account sees them (us-east-1 has six,
 * us-west-2 four, most have three): templates that select the fourth AZ of us-east-1 work, as on AWS.
 * A region not listed gets three.
 */
const AZ_SUFFIXES: Readonly<Record<string, string>> = {
  'us-east-1': 'abcdef',
  'us-west-1': 'bc',
  'us-west-2': 'abcd',
  'ap-northeast-1': 'acd',
  'ap-northeast-2': 'abcd',
  'ca-central-1': 'abd',
  'sa-east-1': 'abc',
};

export function getAZs(region: string): string[] {
  return [...(AZ_SUFFIXES[region] ?? 'abc')].map((s) => `${region}${s}`);
}

// ---------------------------------------------------------------------------------------------
// Fn::Cidr

function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  const o = m.slice(1).map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function parseIPv6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  let text = s;
  // An embedded IPv4 tail (::ffff:1.2.3.4).
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const n = parseIPv4(v4[1]!);
    if (n === undefined) return undefined;
    text = text.slice(0, -v4[1]!.length) + ((n >>> 16) & 0xffff).toString(16) + ':' + (n & 0xffff).toString(16);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail] : head;
  if (groups.length !== 8 || (halves.length === 2 && head.length + tail.length > 7)) return undefined;
  let n = 0n;
  for (const g of groups) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    n = (n << 16n) + BigInt(parseInt(g, 16));
  }
  return n;
}

/** RFC 5952 text: lower case, leading zeros dropped, the longest run (≥2) of zero groups as `::`. */
function formatIPv6(n: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return hex.slice(0, bestStart).join(':') + '::' + hex.slice(bestStart + bestLen).join(':');
}

function toInteger(v: Json, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr ${what} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

/**
 * `Fn::Cidr [ipBlock, count, cidrBits]`: `count` consecutive blocks from the start of `ipBlock`,
 * each with `cidrBits` host bits (prefix 32 − bits for IPv4, 128 − bits for IPv6).
 */
export function cidr(ipBlock: Json, countArg: Json, bitsArg: Json): string[] {
  // Templates repeat the same Fn::Cidr for every subnet (`!Select [i, !Cidr [...]]`): memoise.
  const key = typeof ipBlock === 'string' ? `${ipBlock}\0${String(countArg)}\0${String(bitsArg)}` : undefined;
  const hit = key === undefined ? undefined : CIDR_CACHE.get(key);
  if (hit) return hit.slice();
  const out = computeCidr(ipBlock, countArg, bitsArg);
  if (key !== undefined) {
    if (CIDR_CACHE.size >= 256) CIDR_CACHE.clear();
    CIDR_CACHE.set(key, out);
  }
  return out.slice();
}

const CIDR_CACHE = new Map<string, string[]>();

function computeCidr(ipBlock: Json, countArg: Json, bitsArg: Json): string[] {
  if (typeof ipBlock !== 'string') throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr ipBlock must be a CIDR string, got ${JSON.stringify(ipBlock)}`);
  const count = toInteger(countArg, 'count');
  const bits = toInteger(bitsArg, 'cidrBits');
  if (count < 1 || count > 256) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr count must be between 1 and 256, got ${count}`);
  const m = /^([^/]+)\/(\d{1,3})$/.exec(ipBlock.trim());
  if (!m) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr ipBlock '${ipBlock}' is not in CIDR notation (address/prefix)`);
  const prefix = Number(m[2]);
  const v4 = parseIPv4(m[1]!);
  if (v4 !== undefined) {
    if (prefix > 32) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr ipBlock '${ipBlock}' has a prefix longer than 32`);
    if (bits < 0 || bits > 32 - prefix) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr cidrBits ${bits} does not fit in '${ipBlock}' (at most ${32 - prefix} host bits)`);
    const capacity = 2 ** (32 - prefix - bits);
    if (count > capacity) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr cannot make ${count} blocks of /${32 - bits} in '${ipBlock}' (room for ${capacity})`);
    const base = prefix === 0 ? 0 : (v4 & (~0 << (32 - prefix))) >>> 0;
    const size = 2 ** bits;
    return Array.from({ length: count }, (_, i) => `${formatIPv4(base + i * size)}/${32 - bits}`);
  }
  const v6 = parseIPv6(m[1]!);
  if (v6 === undefined) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr ipBlock '${ipBlock}' is not an IPv4 or IPv6 CIDR`);
  if (prefix > 128) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr ipBlock '${ipBlock}' has a prefix longer than 128`);
  if (bits < 0 || bits > 128 - prefix) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr cidrBits ${bits} does not fit in '${ipBlock}' (at most ${128 - prefix} host bits)`);
  const roomBits = 128 - prefix - bits;
  if (roomBits < 9 && count > 2 ** roomBits) throw new IntrinsicError('CIDR_ARGUMENT', `Fn::Cidr cannot make ${count} blocks of /${128 - bits} in '${ipBlock}' (room for ${2 ** roomBits})`);
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(128 - prefix);
  const base = v6 & mask;
  const size = 1n << BigInt(bits);
  return Array.from({ length: count }, (_, i) => `${formatIPv6(base + BigInt(i) * size)}/${128 - bits}`);
}

// ---------------------------------------------------------------------------------------------
// Pseudo parameters

function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  if (region.startsWith('us-isob-')) return 'aws-iso-b';
  if (region.startsWith('us-iso-')) return 'aws-iso';
  if (region.startsWith('eu-isoe-')) return 'aws-iso-e';
  return 'aws';
}

function urlSuffixOf(region: string): string {
  switch (partitionOf(region)) {
    case 'aws-cn':
      return 'amazonaws.com.cn';
    case 'aws-iso':
      return 'c2s.ic.gov';
    case 'aws-iso-b':
      return 'sc2s.sgov.gov';
    case 'aws-iso-e':
      return 'cloud.adc-e.uk';
    default:
      return 'amazonaws.com';
  }
}

const DEFAULT_REGION = 'us-east-1';
const DEFAULT_ACCOUNT_ID = '123456789012';
const DEFAULT_STACK_NAME = 'kiln-stack';

/**
 * Every pseudo value, from what the caller knows: region defaults to us-east-1, Partition and
 * URLSuffix follow the region, StackId is a stable ARN derived from name, region and account (no
 * clock, no randomness: the same stack gets the same id).
 */
export function pseudoValues(p: Partial<PseudoValues> = {}): PseudoValues {
  const region = p.region ?? DEFAULT_REGION;
  const accountId = p.accountId ?? DEFAULT_ACCOUNT_ID;
  const stackName = p.stackName ?? DEFAULT_STACK_NAME;
  const partition = p.partition ?? partitionOf(region);
  const h = createHash('sha256').update(`${partition}\0${region}\0${accountId}\0${stackName}`).digest('hex');
  const uuid = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return {
    stackName,
    region,
    accountId,
    partition,
    urlSuffix: p.urlSuffix ?? urlSuffixOf(region),
    stackId: p.stackId ?? `arn:${partition}:cloudformation:${region}:${accountId}:stack/${stackName}/${uuid}`,
    notificationArns: p.notificationArns ?? [],
  };
}

/** The value `Ref` gives for a pseudo parameter (AWS::NoValue excluded: it has no value). */
export function pseudoRef(name: string, p: PseudoValues): Json | undefined {
  switch (name) {
    case 'AWS::AccountId':
      return p.accountId;
    case 'AWS::NotificationARNs':
      return [...p.notificationArns];
    case 'AWS::Partition':
      return p.partition;
    case 'AWS::Region':
      return p.region;
    case 'AWS::StackId':
      return p.stackId;
    case 'AWS::StackName':
      return p.stackName;
    case 'AWS::URLSuffix':
      return p.urlSuffix;
    default:
      return undefined;
  }
}
