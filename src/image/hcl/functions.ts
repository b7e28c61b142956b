// The functions Packer documents for HCL2 templates that make sense offline, in kiln's own code.
// Left out, each with its reason (docs/packer-hcl2.md lists them too):
//   aws_secretsmanager, vault, consul_key: they read a network service (pass values with -var).
//   rsadecrypt: needs RSA PKCS#1 v1.5 decryption, which Node refuses since CVE-2023-46809.
// Filesystem functions resolve relative paths against the working directory, as Packer does
// (`path.root` gives the template's directory).
import type * as CryptoModule from 'node:crypto';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type * as BcryptModule from 'bcryptjs';
import type * as YamlModule from 'yaml';
import type * as ZlibModule from 'node:zlib';
import { formatGoTime, strftime } from '../interpolate.js';
import { parseGoDuration } from '../template.js';
import { ArgError, type CallContext, type HclFunction } from './eval.js';
import { convert, ConvertError, equal, fromPlain, isObj, isUnknown, kindOf, numberToString, toPlain, type Ty, type Value } from './values.js';

export interface FunctionEnv {
  cwd: string;
  /** ms since epoch: `timestamp()`. */
  initTime: number;
  random: () => number;
  readFile(path: string): Buffer;
  fileExists(path: string): 'file' | 'dir' | undefined;
  /** Files (relative, `/`-separated) under `dir`, recursively. */
  listFiles(dir: string): string[];
  homeDir?: string;
  /** Environment variables, for `env()` (variable defaults only). */
  env?: Record<string, string | undefined>;
  /** Renders a template file's text with `vars` (templatefile); provided by the loader. */
  renderTemplate?: (text: string, file: string, vars: Record<string, Value>) => Value;
}

// yaml and bcryptjs take ~150 ms to load: only the templates that call them pay for it.
const requireLazy = createRequire(import.meta.url);
const yaml = (): typeof YamlModule => requireLazy('yaml') as typeof YamlModule;
const bcrypt = (): typeof BcryptModule => requireLazy('bcryptjs') as typeof BcryptModule;
// Loaded when a hashing or gzip function is called: most templates call none, and the modules cost
// a few milliseconds of every `kiln validate`.
const createHash = (alg: string): CryptoModule.Hash => (requireLazy('node:crypto') as typeof CryptoModule).createHash(alg);
const randomUUID = (): string => (requireLazy('node:crypto') as typeof CryptoModule).randomUUID();
const gzipSync = (b: Buffer): Buffer => (requireLazy('node:zlib') as typeof ZlibModule).gzipSync(b);

const S: Ty = { k: 'string' };
const N: Ty = { k: 'number' };
const B: Ty = { k: 'bool' };

function arg<T extends Value>(args: Value[], i: number, t: Ty, param: string): T {
  const v = args[i]!;
  if (v === null) throw new ArgError(i, param, 'argument must not be null');
  try {
    return convert(v, t) as T;
  } catch (e) {
    throw new ArgError(i, param, e instanceof ConvertError ? e.message : String(e));
  }
}
const str = (a: Value[], i: number, p = 'str') => arg<string>(a, i, S, p);
const num = (a: Value[], i: number, p = 'num') => arg<number>(a, i, N, p);
function list(a: Value[], i: number, p = 'list'): Value[] {
  const v = a[i]!;
  if (!Array.isArray(v)) throw new ArgError(i, p, `list of any single type required`);
  return v;
}
function map(a: Value[], i: number, p = 'map'): Record<string, Value> {
  const v = a[i]!;
  if (!isObj(v)) throw new ArgError(i, p, 'map of any single type required');
  return v;
}
function int(a: Value[], i: number, p: string): number {
  const n = num(a, i, p);
  if (!Number.isInteger(n)) throw new ArgError(i, p, 'a whole number is required');
  return n;
}

const f = (params: string[], fn: HclFunction['fn'], extra: Partial<HclFunction> = {}): HclFunction => ({ params, fn, ...extra });

/** Go RE2 syntax → JS: named groups `(?P<n>…)` become `(?<n>…)`; flags `(?i)` at the start are lifted. */
function goRegex(pattern: string, global = false): RegExp {
  let p = pattern.replace(/\(\?P</g, '(?<');
  let flags = global ? 'gu' : 'u';
  const lead = /^\(\?([imsU]+)\)/.exec(p);
  if (lead) {
    for (const c of lead[1]!) if ('ims'.includes(c) && !flags.includes(c)) flags += c;
    p = p.slice(lead[0].length);
  }
  try {
    return new RegExp(p, flags);
  } catch (e) {
    throw new Error(`invalid regular expression: ${(e as Error).message}`);
  }
}

/** Go's fmt verbs as Packer's `format` uses them: %s %d %f %g %e %t %v %#v %q %x %X %o %b %%. */
function goFormat(fmt: string, args: Value[]): string {
  let i = 0;
  return fmt.replace(/%([-+ 0#]*)(\*|\d+)?(?:\.(\d+))?([a-zA-Z%])/g, (m, flags: string, width: string | undefined, prec: string | undefined, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) throw new Error(`not enough arguments for "${m}" at ${i}: need index ${i + 1} but have ${args.length} total`);
    const a = args[i++]!;
    let out: string;
    switch (verb) {
      case 's':
        out = convert(a, S) as string;
        break;
      case 'q':
        out = JSON.stringify(convert(a, S) as string);
        break;
      case 'd': {
        const n = convert(a, N) as number;
        if (!Number.isInteger(n)) throw new Error(`unsupported value for "${m}" at ${i}: an integer is required`);
        out = String(n);
        break;
      }
      case 'f':
      case 'F':
        out = goFixed(convert(a, N) as number, prec !== undefined ? Number(prec) : 6);
        break;
      case 'e':
        out = (convert(a, N) as number).toExponential(prec !== undefined ? Number(prec) : 6).replace(/e([+-])(\d)$/, 'e$10$2');
        break;
      case 'g':
        out = numberToString(convert(a, N) as number);
        break;
      case 't':
        out = String(convert(a, B));
        break;
      case 'x':
      case 'X':
      case 'o':
      case 'b': {
        const base = verb === 'o' ? 8 : verb === 'b' ? 2 : 16;
        out = typeof a === 'string' && base === 16 ? Buffer.from(a).toString('hex') : Math.trunc(convert(a, N) as number).toString(base);
        if (verb === 'X') out = out.toUpperCase();
        break;
      }
      case 'v':
        out = flags.includes('#') ? JSON.stringify(toPlain(a)) : typeof a === 'string' ? a : a === null ? 'null' : typeof a === 'object' ? JSON.stringify(toPlain(a)) : String(a);
        break;
      default:
        throw new Error(`unsupported format verb %${verb}`);
    }
    if (flags.includes('+') && 'dfeg'.includes(verb) && !out.startsWith('-')) out = '+' + out;
    const w = width && width !== '*' ? Number(width) : 0;
    if (out.length < w) out = flags.includes('-') ? out.padEnd(w) : flags.includes('0') && 'dfeg'.includes(verb) ? out.padStart(w, '0') : out.padStart(w);
    return out;
  });
}

/** Go's %.Nf: the exact binary value rounded, ties to even (1.25 → "1.2"; JS toFixed gives "1.3"). */
function goFixed(x: number, prec: number): string {
  const exact = x.toFixed(Math.min(100, prec + 30));
  const [int, frac = ''] = exact.split('.');
  const rest = frac.slice(prec);
  if (/^50*$/.test(rest)) {
    const kept = prec ? `${int}.${frac.slice(0, prec)}` : int!;
    const last = Number(kept.replace('.', '').slice(-1));
    if (last % 2 === 0) return kept;
  }
  return x.toFixed(prec);
}

/** Terraform/Packer `formatdate` spec (YYYY, MM, DD, hh, mm, ss, EEEE, ZZZ, 'quoted' …), UTC. */
function formatDate(spec: string, ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(ts)) throw new Error(`not a valid RFC3339 timestamp: ${JSON.stringify(ts)}`);
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
  const days = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const h12 = d.getUTCHours() % 12 || 12;
  const tokens: Array<[string, () => string]> = [
    ['YYYY', () => p(d.getUTCFullYear(), 4)],
    ['YY', () => p(d.getUTCFullYear() % 100)],
    ['MMMM', () => months[d.getUTCMonth()]!],
    ['MMM', () => months[d.getUTCMonth()]!.slice(0, 3)],
    ['MM', () => p(d.getUTCMonth() + 1)],
    ['M', () => String(d.getUTCMonth() + 1)],
    ['DD', () => p(d.getUTCDate())],
    ['D', () => String(d.getUTCDate())],
    ['EEEE', () => days[d.getUTCDay()]!],
    ['EEE', () => days[d.getUTCDay()]!.slice(0, 3)],
    ['hh', () => p(d.getUTCHours())],
    ['h', () => String(d.getUTCHours())],
    ['HH', () => p(h12)],
    ['H', () => String(h12)],
    ['AA', () => (d.getUTCHours() < 12 ? 'AM' : 'PM')],
    ['aa', () => (d.getUTCHours() < 12 ? 'am' : 'pm')],
    ['mm', () => p(d.getUTCMinutes())],
    ['m', () => String(d.getUTCMinutes())],
    ['ss', () => p(d.getUTCSeconds())],
    ['s', () => String(d.getUTCSeconds())],
    ['ZZZZZ', () => '+00:00'],
    ['ZZZZ', () => '+0000'],
    ['ZZZ', () => 'UTC'],
    ['Z', () => 'Z'],
  ];
  let out = '';
  for (let i = 0; i < spec.length;) {
    if (spec[i] === "'") {
      const end = spec.indexOf("'", i + 1);
      if (end < 0) throw new Error("unterminated literal '");
      out += end === i + 1 ? "'" : spec.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    const tok = tokens.find(([t]) => spec.startsWith(t, i));
    if (tok) {
      out += tok[1]();
      i += tok[0].length;
      continue;
    }
    if (/[A-Za-z]/.test(spec[i]!)) throw new Error(`invalid date format verb ${JSON.stringify(/^[A-Za-z]+/.exec(spec.slice(i))![0])}`);
    out += spec[i];
    i++;
  }
  return out;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// --- CIDR helpers (IPv4 and IPv6, as BigInt) ---
interface Net {
  v6: boolean;
  addr: bigint;
  bits: number;
}
function parseIp(s: string): { v6: boolean; addr: bigint } | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(s)) {
    const parts = s.split('.').map(Number);
    if (parts.some((x) => x > 255)) return undefined;
    return { v6: false, addr: parts.reduce((a, x) => (a << 8n) | BigInt(x), 0n) };
  }
  if (s.includes(':')) {
    const [head, tail] = s.split('::');
    const hp = head ? head.split(':') : [];
    const tp = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const fill = s.includes('::') ? 8 - hp.length - tp.length : 0;
    const groups = [...hp, ...Array(fill).fill('0'), ...tp];
    if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
    return { v6: true, addr: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return undefined;
}
function parseCidr(s: string): Net {
  const [ip, bitsS] = s.split('/');
  const p = ip ? parseIp(ip) : undefined;
  const bits = Number(bitsS);
  const max = p?.v6 ? 128 : 32;
  if (!p || bitsS === undefined || !/^\d+$/.test(bitsS) || bits > max) throw new Error(`invalid CIDR address: ${s}`);
  const size = BigInt(max);
  const mask = ((1n << size) - 1n) ^ ((1n << (size - BigInt(bits))) - 1n);
  return { v6: p.v6, addr: p.addr & mask, bits };
}
function ipString(v6: boolean, a: bigint): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((s) => String((a >> s) & 255n)).join('.');
  const groups = [];
  for (let i = 7; i >= 0; i--) groups.push(((a >> BigInt(i * 16)) & 0xffffn).toString(16));
  // compress the longest run of zero groups
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
function subnet(net: Net, newbits: number, num: number): Net {
  const max = net.v6 ? 128 : 32;
  const bits = net.bits + newbits;
  if (bits > max) throw new Error(`insufficient address space to extend prefix of ${net.bits} by ${newbits}`);
  if (BigInt(num) >= 1n << BigInt(newbits) || num < 0) throw new Error(`prefix extension of ${newbits} does not accommodate a subnet numbered ${num}`);
  return { v6: net.v6, addr: net.addr | (BigInt(num) << BigInt(max - bits)), bits };
}

function flatten(v: Value[]): Value[] {
  return v.flatMap((x) => (Array.isArray(x) ? flatten(x) : [x]));
}

function sortedKeys(m: Record<string, Value>): string[] {
  return Object.keys(m).sort();
}

function jsonEncode(v: Value): string {
  return JSON.stringify(sortDeep(toPlain(v)));
}
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    );
  return v;
}

function uuidV5(ns: string, name: string): string {
  const named: Record<string, string> = {
    dns: '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
    url: '6ba7b811-9dad-11d1-80b4-00c04fd430c8',
    oid: '6ba7b812-9dad-11d1-80b4-00c04fd430c8',
    x500: '6ba7b814-9dad-11d1-80b4-00c04fd430c8',
  };
  const nsId = named[ns] ?? ns;
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(nsId)) throw new Error(`uuidv5() doesn't support namespace ${JSON.stringify(ns)}`);
  const h = createHash('sha1')
    .update(Buffer.concat([Buffer.from(nsId.replace(/-/g, ''), 'hex'), Buffer.from(name)]))
    .digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** Glob (`*`, `**`, `?`, `[...]`, `{a,b}`) → RegExp over `/`-separated relative paths. */
function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
        i += pattern[i + 2] === '/' ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      re += end > 0 ? pattern.slice(i, end + 1).replace('[!', '[^') : '\\[';
      if (end > 0) i = end;
    } else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end > 0) {
        re += `(?:${pattern
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.+^$()|\\]/g, '\\$&'))
          .join('|')})`;
        i = end;
      } else re += '\\{';
    } else re += c.replace(/[.+^$()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function makeFunctions(env: FunctionEnv, opts: { allowEnv: boolean }): Record<string, HclFunction> {
  const path = (p: string) => (isAbsolute(p) ? p : resolve(env.cwd, p));
  const expandHome = (p: string) => (p === '~' || p.startsWith('~/') ? (env.homeDir ?? '') + p.slice(1) : p);
  const readText = (p: string, i: number) => {
    const abs = path(expandHome(p));
    const kind = env.fileExists(abs);
    if (kind !== 'file')
      throw new ArgError(
        i,
        'path',
        `no file exists at ${p}; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource`,
      );
    return env.readFile(abs);
  };
  const fns: Record<string, HclFunction> = {
    // numeric
    abs: f(['num'], (a) => Math.abs(num(a, 0))),
    ceil: f(['num'], (a) => Math.ceil(num(a, 0))),
    floor: f(['num'], (a) => Math.floor(num(a, 0))),
    log: f(['num', 'base'], (a) => Math.log(num(a, 0)) / Math.log(num(a, 1, 'base'))),
    max: f(
      [],
      (a) => {
        if (!a.length) throw new Error('must pass at least one number');
        return Math.max(...a.map((_, i) => num(a, i, 'numbers')));
      },
      { variadic: 'numbers' },
    ),
    min: f(
      [],
      (a) => {
        if (!a.length) throw new Error('must pass at least one number');
        return Math.min(...a.map((_, i) => num(a, i, 'numbers')));
      },
      { variadic: 'numbers' },
    ),
    parseint: f(['number', 'base'], (a) => {
      const s = str(a, 0, 'number');
      const base = int(a, 1, 'base');
      if (base < 2 || base > 62) throw new ArgError(1, 'base', 'base must be a whole number between 2 and 62 inclusive');
      const digits = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(0, base);
      const neg = s.startsWith('-');
      const body = s.replace(/^[+-]/, '');
      const lc = base <= 36 ? body.toLowerCase() : body;
      if (!body || [...lc].some((c) => !digits.includes(c))) throw new ArgError(0, 'number', `cannot parse ${JSON.stringify(s)} as a base ${base} integer`);
      let n = 0;
      for (const c of lc) n = n * base + digits.indexOf(c);
      return neg ? -n : n;
    }),
    pow: f(['num', 'power'], (a) => Math.pow(num(a, 0), num(a, 1, 'power'))),
    signum: f(['num'], (a) => Math.sign(num(a, 0))),
    sum: f(['list'], (a) => {
      const l = list(a, 0);
      if (!l.length) throw new Error('cannot sum an empty list');
      return l.reduce<number>((s, x, i) => s + (convert(x, N) as number) + 0 * i, 0);
    }),
    // string
    chomp: f(['str'], (a) => str(a, 0).replace(/(\r\n|\n|\r)+$/, '')),
    format: f(['format'], (a) => goFormat(str(a, 0, 'format'), a.slice(1)), { variadic: 'args' }),
    formatlist: f(
      ['format'],
      (a) => {
        const fmt = str(a, 0, 'format');
        const rest = a.slice(1);
        const lens = rest.filter(Array.isArray).map((l) => (l as Value[]).length);
        if (new Set(lens).size > 1) throw new Error('all arguments must have the same length');
        const n = lens[0] ?? 1;
        return Array.from({ length: n }, (_, i) =>
          goFormat(
            fmt,
            rest.map((x) => (Array.isArray(x) ? x[i]! : x)),
          ),
        );
      },
      { variadic: 'args' },
    ),
    indent: f(['spaces', 'str'], (a) => str(a, 1).replace(/\n/g, '\n' + ' '.repeat(int(a, 0, 'spaces')))),
    join: f(
      ['separator'],
      (a) => {
        const sep = str(a, 0, 'separator');
        return a
          .slice(1)
          .flatMap((l, i) => {
            if (!Array.isArray(l)) throw new ArgError(i + 1, 'lists', 'list of string required');
            return l.map((x) => {
              if (x === null) throw new ArgError(i + 1, 'lists', 'element must not be null');
              return convert(x, S) as string;
            });
          })
          .join(sep);
      },
      { variadic: 'lists' },
    ),
    lower: f(['str'], (a) => str(a, 0).toLowerCase()),
    upper: f(['str'], (a) => str(a, 0).toUpperCase()),
    title: f(['str'], (a) => str(a, 0).replace(/(^|[^\p{L}\p{N}'])(\p{L})/gu, (_m, p: string, c: string) => p + c.toUpperCase())),
    replace: f(['str', 'substr', 'replace'], (a) => {
      const s = str(a, 0);
      const sub = str(a, 1, 'substr');
      const rep = str(a, 2, 'replace');
      if (sub.length > 2 && sub.startsWith('/') && sub.endsWith('/')) {
        const re = goRegex(sub.slice(1, -1), true);
        return s.replace(re, rep.replace(/\$\{(\w+)\}/g, '$<$1>'));
      }
      return s.split(sub).join(rep);
    }),
    regex_replace: f(['str', 'substr', 'replace'], (a) => str(a, 0).replace(goRegex(str(a, 1, 'substr'), true), str(a, 2, 'replace').replace(/\$\{(\w+)\}/g, '$<$1>'))),
    regex: f(['pattern', 'string'], (a) => {
      const re = goRegex(str(a, 0, 'pattern'));
      const m = re.exec(str(a, 1, 'string'));
      if (!m) throw new Error('pattern did not match any part of the given string');
      return regexResult(m);
    }),
    regexall: f(['pattern', 'string'], (a) => [...str(a, 1, 'string').matchAll(goRegex(str(a, 0, 'pattern'), true))].map(regexResult)),
    split: f(['separator', 'str'], (a) => {
      const s = str(a, 1);
      const sep = str(a, 0, 'separator');
      return sep === '' ? [...s] : s.split(sep);
    }),
    strrev: f(['str'], (a) => [...str(a, 0)].reverse().join('')),
    substr: f(['str', 'offset', 'length'], (a) => {
      const chars = [...str(a, 0)];
      let off = int(a, 1, 'offset');
      let len = int(a, 2, 'length');
      if (off < 0) off = chars.length + off;
      if (off < 0 || off > chars.length) throw new ArgError(1, 'offset', 'offset out of range');
      if (len < 0 || off + len > chars.length) len = chars.length - off;
      return chars.slice(off, off + len).join('');
    }),
    trim: f(['str', 'cutset'], (a) => {
      const cut = [...str(a, 1, 'cutset')];
      const chars = [...str(a, 0)];
      let s = 0;
      let e = chars.length;
      while (s < e && cut.includes(chars[s]!)) s++;
      while (e > s && cut.includes(chars[e - 1]!)) e--;
      return chars.slice(s, e).join('');
    }),
    trimprefix: f(['str', 'prefix'], (a) => {
      const s = str(a, 0);
      const p = str(a, 1, 'prefix');
      return s.startsWith(p) ? s.slice(p.length) : s;
    }),
    trimsuffix: f(['str', 'suffix'], (a) => {
      const s = str(a, 0);
      const p = str(a, 1, 'suffix');
      return p && s.endsWith(p) ? s.slice(0, -p.length) : s;
    }),
    trimspace: f(['str'], (a) => str(a, 0).trim()),
    startswith: f(['str', 'prefix'], (a) => str(a, 0).startsWith(str(a, 1, 'prefix'))),
    endswith: f(['str', 'suffix'], (a) => str(a, 0).endsWith(str(a, 1, 'suffix'))),
    strcontains: f(['str', 'substr'], (a) => str(a, 0).includes(str(a, 1, 'substr'))),
    // collections
    alltrue: f(['list'], (a) => list(a, 0).every((x) => convert(x, B) === true)),
    anytrue: f(['list'], (a) => list(a, 0).some((x) => convert(x, B) === true)),
    chunklist: f(['list', 'size'], (a) => {
      const l = list(a, 0);
      const n = int(a, 1, 'size');
      if (n < 0) throw new ArgError(1, 'size', 'the size argument must be positive');
      if (n === 0) return [l];
      const out: Value[] = [];
      for (let i = 0; i < l.length; i += n) out.push(l.slice(i, i + n));
      return out;
    }),
    coalesce: f(
      [],
      (a) => {
        for (const x of a) if (x !== null && x !== '') return x;
        throw new Error('no non-null, non-empty-string arguments');
      },
      { variadic: 'vals' },
    ),
    coalescelist: f(
      [],
      (a) => {
        for (const [i, x] of a.entries()) {
          if (!Array.isArray(x)) throw new ArgError(i, 'vals', 'a list or tuple is required');
          if (x.length) return x;
        }
        throw new Error('no non-null arguments');
      },
      { variadic: 'vals' },
    ),
    compact: f(['list'], (a) => list(a, 0).filter((x) => x !== null && x !== '')),
    concat: f(
      [],
      (a) =>
        a.flatMap((x, i) => {
          if (!Array.isArray(x)) throw new ArgError(i, 'seqs', 'all arguments must be lists or tuples');
          return x;
        }),
      { variadic: 'seqs' },
    ),
    contains: f(['list', 'value'], (a) => list(a, 0).some((x) => equal(x, a[1]!))),
    distinct: f(['list'], (a) => list(a, 0).filter((x, i, l) => l.findIndex((y) => equal(x, y)) === i)),
    element: f(['list', 'index'], (a) => {
      const l = list(a, 0);
      const i = int(a, 1, 'index');
      if (!l.length) throw new Error('cannot use element function with an empty list');
      if (i < 0) throw new Error('cannot use element function with a negative index');
      return l[i % l.length]!;
    }),
    flatten: f(['list'], (a) => flatten(list(a, 0))),
    index: f(['list', 'value'], (a) => {
      const i = list(a, 0).findIndex((x) => equal(x, a[1]!));
      if (i < 0) throw new Error('item not found');
      return i;
    }),
    keys: f(['inputMap'], (a) => sortedKeys(map(a, 0, 'inputMap'))),
    values: f(['mapping'], (a) => {
      const m = map(a, 0, 'mapping');
      return sortedKeys(m).map((k) => m[k]!);
    }),
    length: f(['value'], (a) => {
      const v = a[0]!;
      if (typeof v === 'string') return [...v].length;
      if (Array.isArray(v)) return v.length;
      if (isObj(v)) return Object.keys(v).length;
      throw new ArgError(0, 'value', `argument must be a string, a collection type, or a structural type`);
    }),
    lookup: f(
      ['inputMap', 'key'],
      (a) => {
        const m = map(a, 0, 'inputMap');
        const k = str(a, 1, 'key');
        if (Object.prototype.hasOwnProperty.call(m, k)) return m[k]!;
        if (a.length > 2) return a[2]!;
        throw new Error(`the given key ${JSON.stringify(k)} was not found in the map and no default value was given`);
      },
      { variadic: 'default' },
    ),
    merge: f(
      [],
      (a) => {
        const out: Record<string, Value> = {};
        a.forEach((x, i) => {
          if (x === null) return;
          if (!isObj(x)) throw new ArgError(i, 'maps', 'arguments must be maps or objects, got ' + JSON.stringify(kindOf(x)));
          Object.assign(out, x);
        });
        return out;
      },
      { variadic: 'maps' },
    ),
    one: f(['list'], (a) => {
      const l = list(a, 0);
      if (l.length > 1) throw new Error('must be a list, set, or tuple value with either zero or one elements');
      return l.length ? l[0]! : null;
    }),
    range: f(
      [],
      (a) => {
        const n = a.map((_, i) => num(a, i, 'params'));
        if (n.length < 1 || n.length > 3) throw new Error('must have one, two, or three arguments');
        const [start, end, step] = n.length === 1 ? [0, n[0]!, 1] : [n[0]!, n[1]!, n[2] ?? (n[0]! <= n[1]! ? 1 : -1)];
        if (step === 0) throw new Error('step must not be zero');
        const out: Value[] = [];
        for (let x = start; step > 0 ? x < end : x > end; x += step) {
          out.push(x);
          if (out.length > 1024) throw new Error('more than 1024 values were generated; either decrease the difference between start and end or use a smaller step');
        }
        return out;
      },
      { variadic: 'params' },
    ),
    reverse: f(['list'], (a) => [...list(a, 0)].reverse()),
    setintersection: f(
      ['first_set'],
      (a) => {
        const sets = a.map((_, i) => list(a, i, 'sets'));
        return dedupe(sets[0]!.filter((x) => sets.every((s) => s.some((y) => equal(x, y)))));
      },
      { variadic: 'other_sets' },
    ),
    setproduct: f(
      [],
      (a) => {
        const sets = a.map((_, i) => list(a, i, 'sets'));
        if (sets.length < 2) throw new Error('at least two arguments are required');
        return sets.reduce<Value[][]>((acc, s) => acc.flatMap((p) => s.map((x) => [...p, x])), [[]]);
      },
      { variadic: 'sets' },
    ),
    setsubtract: f(['a', 'b'], (a) => dedupe(list(a, 0, 'a').filter((x) => !list(a, 1, 'b').some((y) => equal(x, y))))),
    setunion: f(['first_set'], (a) => dedupe(a.flatMap((_, i) => list(a, i, 'sets'))), { variadic: 'other_sets' }),
    slice: f(['list', 'start_index', 'end_index'], (a) => {
      const l = list(a, 0);
      const s = int(a, 1, 'start_index');
      const e = int(a, 2, 'end_index');
      if (s < 0 || e > l.length || s > e) throw new Error(`invalid start/end index: ${s}, ${e}`);
      return l.slice(s, e);
    }),
    sort: f(['list'], (a) =>
      list(a, 0)
        .map((x) => convert(x, S) as string)
        .sort(),
    ),
    transpose: f(['values'], (a) => {
      const m = map(a, 0, 'values');
      const out: Record<string, string[]> = {};
      for (const k of sortedKeys(m)) for (const v of convert(m[k]!, { k: 'list', el: S }) as string[]) (out[v] ??= []).push(k);
      return out;
    }),
    zipmap: f(['keys', 'values'], (a) => {
      const k = list(a, 0, 'keys');
      const v = list(a, 1, 'values');
      if (k.length !== v.length) throw new Error(`number of keys (${k.length}) does not match number of values (${v.length})`);
      return Object.fromEntries(k.map((x, i) => [convert(x, S) as string, v[i]!]));
    }),
    // encoding
    base64decode: f(['str'], (a) => {
      const s = str(a, 0);
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4) throw new Error('failed to decode base64 data ' + JSON.stringify(s.slice(0, 20)));
      return Buffer.from(s, 'base64').toString('utf8');
    }),
    base64encode: f(['str'], (a) => Buffer.from(str(a, 0)).toString('base64')),
    base64gzip: f(['str'], (a) => gzipSync(Buffer.from(str(a, 0))).toString('base64')),
    csvdecode: f(['str'], (a) => csvDecode(str(a, 0))),
    jsondecode: f(['str'], (a) => {
      try {
        return fromPlain(JSON.parse(str(a, 0)));
      } catch (e) {
        throw new Error((e as Error).message);
      }
    }),
    jsonencode: f(['val'], (a) => jsonEncode(a[0]!)),
    urlencode: f(['str'], (a) =>
      encodeURIComponent(str(a, 0))
        .replace(/%20/g, '+')
        .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()),
    ),
    yamldecode: f(['src'], (a) => fromPlain(yaml().parse(str(a, 0, 'src')))),
    yamlencode: f(['value'], (a) => yaml().stringify(toPlain(a[0]!))),
    textencodebase64: f(['string', 'encoding'], (a) => Buffer.from(str(a, 0, 'string'), encodingOf(str(a, 1, 'encoding'))).toString('base64')),
    textdecodebase64: f(['source', 'encoding'], (a) => Buffer.from(str(a, 0, 'source'), 'base64').toString(encodingOf(str(a, 1, 'encoding')))),
    // filesystem
    abspath: f(['path'], (a) => path(str(a, 0, 'path'))),
    basename: f(['path'], (a) => basename(str(a, 0, 'path'))),
    dirname: f(['path'], (a) => dirname(str(a, 0, 'path'))),
    pathexpand: f(['path'], (a) => expandHome(str(a, 0, 'path'))),
    file: f(['path'], (a) => {
      const buf = readText(str(a, 0, 'path'), 0);
      const s = buf.toString('utf8');
      if (Buffer.from(s, 'utf8').compare(buf) !== 0)
        throw new Error(
          `contents of ${str(a, 0, 'path')} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead`,
        );
      return s;
    }),
    filebase64: f(['path'], (a) => readText(str(a, 0, 'path'), 0).toString('base64')),
    fileexists: f(['path'], (a) => {
      const p = path(expandHome(str(a, 0, 'path')));
      const k = env.fileExists(p);
      if (k === 'dir') throw new Error(`${p} is not a regular file, but "dir"`);
      return k === 'file';
    }),
    fileset: f(['path', 'pattern'], (a) => {
      const base = path(str(a, 0, 'path'));
      const re = globRegex(str(a, 1, 'pattern'));
      if (env.fileExists(base) !== 'dir') return [];
      return env
        .listFiles(base)
        .filter((p) => re.test(p))
        .sort();
    }),
    templatefile: f(['path', 'vars'], (a) => {
      const p = str(a, 0, 'path');
      const vars = a[1] === null ? {} : map(a, 1, 'vars');
      const text = readText(p, 0).toString('utf8');
      if (!env.renderTemplate) throw new Error('templatefile is not available here');
      return env.renderTemplate(text, path(p), vars);
    }),
    // hashing and crypto
    md5: f(['str'], (a) => createHash('md5').update(str(a, 0)).digest('hex')),
    sha1: f(['str'], (a) => createHash('sha1').update(str(a, 0)).digest('hex')),
    sha256: f(['str'], (a) => createHash('sha256').update(str(a, 0)).digest('hex')),
    sha512: f(['str'], (a) => createHash('sha512').update(str(a, 0)).digest('hex')),
    filemd5: f(['path'], (a) =>
      createHash('md5')
        .update(readText(str(a, 0, 'path'), 0))
        .digest('hex'),
    ),
    filesha1: f(['path'], (a) =>
      createHash('sha1')
        .update(readText(str(a, 0, 'path'), 0))
        .digest('hex'),
    ),
    filesha256: f(['path'], (a) =>
      createHash('sha256')
        .update(readText(str(a, 0, 'path'), 0))
        .digest('hex'),
    ),
    filesha512: f(['path'], (a) =>
      createHash('sha512')
        .update(readText(str(a, 0, 'path'), 0))
        .digest('hex'),
    ),
    base64sha256: f(['str'], (a) => createHash('sha256').update(str(a, 0)).digest('base64')),
    base64sha512: f(['str'], (a) => createHash('sha512').update(str(a, 0)).digest('base64')),
    bcrypt: f(
      ['str'],
      (a) => {
        const cost = a.length > 1 ? int(a, 1, 'cost') : 10;
        if (cost < 4 || cost > 31) throw new ArgError(1, 'cost', `crypto/bcrypt: cost ${cost} is outside allowed range (4,31)`);
        return bcrypt()
          .hashSync(str(a, 0), bcrypt().genSaltSync(cost))
          .replace(/^\$2b\$/, '$2a$');
      },
      { variadic: 'cost' },
    ),
    uuidv4: f([], () => randomUUID()),
    uuidv5: f(['namespace', 'name'], (a) => uuidV5(str(a, 0, 'namespace'), str(a, 1, 'name'))),
    // date and time
    timestamp: f([], () => rfc3339(env.initTime)),
    formatdate: f(['format', 'time'], (a) => formatDate(str(a, 0, 'format'), str(a, 1, 'time'))),
    timeadd: f(['timestamp', 'duration'], (a) => {
      const ts = str(a, 0, 'timestamp');
      const t = Date.parse(ts);
      if (Number.isNaN(t)) throw new ArgError(0, 'timestamp', `not a valid RFC3339 timestamp: ${JSON.stringify(ts)}`);
      const d = parseGoDuration(str(a, 1, 'duration'));
      if (typeof d === 'string') throw new ArgError(1, 'duration', d);
      return rfc3339(t + d);
    }),
    // IP networks
    cidrhost: f(['prefix', 'hostnum'], (a) => {
      const net = parseCidr(str(a, 0, 'prefix'));
      const max = net.v6 ? 128 : 32;
      let n = BigInt(int(a, 1, 'hostnum'));
      const size = 1n << BigInt(max - net.bits);
      if (n < 0n) n += size;
      if (n < 0n || n >= size) throw new Error(`prefix of ${net.bits} does not accommodate a host numbered ${a[1]}`);
      return ipString(net.v6, net.addr | n);
    }),
    cidrnetmask: f(['prefix'], (a) => {
      const net = parseCidr(str(a, 0, 'prefix'));
      if (net.v6) throw new Error('only IPv4 networks are supported');
      return ipString(false, (0xffffffffn << BigInt(32 - net.bits)) & 0xffffffffn);
    }),
    cidrsubnet: f(['prefix', 'newbits', 'netnum'], (a) => {
      const s = subnet(parseCidr(str(a, 0, 'prefix')), int(a, 1, 'newbits'), int(a, 2, 'netnum'));
      return `${ipString(s.v6, s.addr)}/${s.bits}`;
    }),
    cidrsubnets: f(
      ['prefix'],
      (a) => {
        const base = parseCidr(str(a, 0, 'prefix'));
        const max = base.v6 ? 128 : 32;
        let next = base.addr;
        const out: Value[] = [];
        a.slice(1).forEach((_, i) => {
          const nb = int(a, i + 1, 'newbits');
          const bits = base.bits + nb;
          if (bits > max) throw new Error(`would extend prefix to ${bits} bits, which is too long for an IPv${base.v6 ? 6 : 4} address`);
          const size = 1n << BigInt(max - bits);
          const start = ((next + size - 1n) / size) * size;
          if (start + size > base.addr + (1n << BigInt(max - base.bits)))
            throw new Error(`not enough remaining address space for a subnet with a prefix of ${bits} bits after ${ipString(base.v6, next)}`);
          out.push(`${ipString(base.v6, start)}/${bits}`);
          next = start + size;
        });
        return out;
      },
      { variadic: 'newbits' },
    ),
    // type conversion
    tobool: f(['v'], (a) => (a[0] === null ? null : arg<boolean>(a, 0, B, 'v'))),
    tonumber: f(['v'], (a) => (a[0] === null ? null : arg<number>(a, 0, N, 'v'))),
    tostring: f(['v'], (a) => (a[0] === null ? null : arg<string>(a, 0, S, 'v'))),
    tolist: f(['v'], (a) => {
      if (!Array.isArray(a[0])) throw new ArgError(0, 'v', 'list of any single type required');
      return a[0];
    }),
    toset: f(['v'], (a) => {
      if (!Array.isArray(a[0])) throw new ArgError(0, 'v', 'set of any single type required');
      return dedupe(a[0]).sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
    }),
    tomap: f(['v'], (a) => map(a, 0, 'v')),
    try: f(
      [],
      (_a, ctx) => {
        for (let i = 0; ; i++) {
          try {
            return ctx.evalArg!(i);
          } catch (e) {
            if (e instanceof TypeError) throw new Error('no expression succeeded');
            if (!(e instanceof Error)) throw e;
          }
        }
      },
      { lazy: true, variadic: 'expressions' },
    ),
    can: f(
      ['expression'],
      (_a, ctx) => {
        try {
          const v = ctx.evalArg!(0);
          return !isUnknown(v);
        } catch {
          return false;
        }
      },
      { lazy: true },
    ),
    // time formatting from the legacy JSON templates (Packer 1.8+)
    legacy_isotime: f(['format'], (a) => legacyIsotime(env.initTime, str(a, 0, 'format'))),
    legacy_strftime: f(['format'], (a) => legacyStrftime(env.initTime, str(a, 0, 'format'))),
  };
  if (opts.allowEnv) fns['env'] = f(['key'], (a) => env.env?.[str(a, 0, 'key')] ?? '');
  return fns;
}

function encodingOf(name: string): BufferEncoding {
  const n = name.toLowerCase().replace(/[-_]/g, '');
  if (n === 'utf8') return 'utf8';
  if (n === 'utf16le') return 'utf16le';
  if (n === 'latin1' || n === 'iso88591') return 'latin1';
  throw new Error(`"${name}" is not a supported IANA encoding name or alias in this Packer version`);
}

function dedupe(l: Value[]): Value[] {
  return l.filter((x, i) => l.findIndex((y) => equal(x, y)) === i);
}

function regexResult(m: RegExpMatchArray | RegExpExecArray): Value {
  if (m.groups && Object.keys(m.groups).length) return Object.fromEntries(Object.entries(m.groups).map(([k, v]) => [k, v ?? '']));
  if (m.length > 1) return m.slice(1).map((x) => x ?? '');
  return m[0];
}

function csvDecode(s: string): Value {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let q = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '"' && s[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') q = false;
      else field += c;
    } else if (c === '"') q = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  if (!rows.length) throw new Error('missing header line');
  const [head, ...body] = rows;
  return body.map((r, i) => {
    if (r.length !== head!.length) throw new Error(`record on line ${i + 2}: wrong number of fields`);
    return Object.fromEntries(head!.map((h, j) => [h, r[j]!]));
  });
}

function legacyIsotime(initTime: number, layout: string): string {
  return formatGoTime(new Date(initTime), layout);
}
function legacyStrftime(initTime: number, layout: string): string {
  return strftime(new Date(initTime), layout);
}

export type { CallContext };
