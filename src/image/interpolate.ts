// The `{{ }}` template engine of Packer JSON templates: the subset of Go's text/template that real
// templates use, with Packer's function set (reference §3). Pure: time, randomness and the
// environment come in through the context.
//
// Supported: text and `{{ }}` actions, trim markers `{{- -}}`, comments `{{/* */}}`, pipelines
// (`{{ "x" | upper }}`), parenthesised sub-pipelines, string ("…" and `…`), number and bool
// literals, `.Field` / `.` context references. Not supported (a clear error): if/range/with/define/
// template/block and variables (`$x`).
import { PACKER_COMPAT_VERSION } from './types.js';

type TemplateErrorKind = 'parse' | 'exec';

/** A template error with Go's text (`template: root:1:2: executing "root" at <…>: …`). */
export class TemplateError extends Error {
  constructor(
    readonly kind: TemplateErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'TemplateError';
  }
}

/** Where `build` data comes from while rendering. */
type BuildDataMode =
  /** Outside builds (e.g. variables): `build` is an error. */
  | { mode: 'none' }
  /** During prepare: known keys render their `{{.Key}}` placeholder, unknown keys are an error. */
  | { mode: 'placeholder'; keys: readonly string[] }
  /** At run time: the real values. */
  | { mode: 'values'; values: Record<string, string | undefined> };

export interface InterpContext {
  /** User variables for `user`. */
  user: Record<string, string>;
  /**
   * Rendering a variable default: `env` (and the external lookups) are allowed, `user` of an unset
   * variable is an error, and context fields (`{{ .X }}`) are left as written for later.
   */
  variablesSection?: boolean;
  env?: Record<string, string | undefined>;
  buildName?: string;
  buildType?: string;
  templateDir?: string;
  pwd?: string;
  /** ms since epoch: the run's InitTime. */
  initTime: number;
  random?: () => number;
  /** `{{.Field}}` data; a missing key renders `<no value>`. */
  data?: Record<string, unknown>;
  build?: BuildDataMode;
  /** Builder-specific functions (`clean_resource_name` for amazon). */
  extraFuncs?: Record<string, (...args: unknown[]) => string>;
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

export type Arg =
  | { k: 'str'; v: string; src: string }
  | { k: 'num'; v: number; src: string }
  | { k: 'bool'; v: boolean; src: string }
  | { k: 'field'; names: string[]; src: string }
  | { k: 'ident'; name: string; src: string }
  | { k: 'pipe'; pipe: Cmd[]; src: string };

export interface Cmd {
  args: Arg[];
  line: number;
  col: number;
}

export type Node = { k: 'text'; v: string } | { k: 'action'; pipe: Cmd[]; src: string; fieldOnly: boolean };

const cache = new Map<string, Node[]>();

function lineCol(text: string, at: number): { line: number; col: number } {
  let line = 1;
  let ls = 0;
  for (let i = 0; i < at; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      ls = i + 1;
    }
  return { line, col: at - ls };
}

export function parseTemplate(text: string): Node[] {
  const hit = cache.get(text);
  if (hit) return hit;
  const nodes: Node[] = [];
  let i = 0;
  const perr = (at: number, msg: string): never => {
    throw new TemplateError('parse', `template: root:${lineCol(text, at).line}: ${msg}`);
  };
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      nodes.push({ k: 'text', v: text.slice(i) });
      break;
    }
    let before = text.slice(i, open);
    let p = open + 2;
    if (text[p] === '-' && /\s/.test(text[p + 1] ?? '')) {
      before = before.replace(/\s+$/, '');
      p += 1;
    }
    if (before) nodes.push({ k: 'text', v: before });
    // comment
    const afterWs = p + (text.slice(p).match(/^\s*/)?.[0].length ?? 0);
    if (text.startsWith('/*', afterWs)) {
      const endC = text.indexOf('*/', afterWs + 2);
      if (endC < 0) perr(open, 'unclosed comment');
      const m = /^\s*(-?)\}\}/.exec(text.slice(endC + 2));
      if (!m) perr(open, 'comment ends before closing delimiter');
      i = endC + 2 + m![0].length;
      if (m![1]) i += text.slice(i).match(/^\s*/)![0].length;
      continue;
    }
    const { pipe, end, trimAfter } = parseAction(text, p, perr);
    const src = text.slice(open, end);
    const fieldOnly = pipe.length === 1 && pipe[0]!.args.length === 1 && pipe[0]!.args[0]!.k === 'field';
    nodes.push({ k: 'action', pipe, src, fieldOnly });
    i = end;
    if (trimAfter) i += text.slice(i).match(/^\s*/)![0].length;
  }
  if (cache.size > 5000) cache.clear();
  cache.set(text, nodes);
  return nodes;
}

function parseAction(text: string, start: number, perr: (at: number, msg: string) => never): { pipe: Cmd[]; end: number; trimAfter: boolean } {
  let i = start;
  const ws = () => {
    while (i < text.length && /[ \t\r\n]/.test(text[i]!)) i++;
  };
  const closeAhead = (): 0 | 1 | 2 => {
    if (text.startsWith('}}', i)) return 1;
    if (text[i] === '-' && text.startsWith('}}', i + 1) && /\s/.test(text[i - 1] ?? '')) return 2;
    return 0;
  };
  const parsePipe = (inParen: boolean): Cmd[] => {
    const cmds: Cmd[] = [];
    let cur: Cmd | undefined;
    for (;;) {
      ws();
      if (i >= text.length) perr(start, inParen ? 'unclosed left paren' : 'unclosed action');
      if (!inParen && closeAhead()) break;
      if (inParen && text[i] === ')') {
        i++;
        break;
      }
      if (text[i] === '|') {
        if (!cur || cur.args.length === 0) perr(i, 'missing command');
        cmds.push(cur!);
        cur = undefined;
        i++;
        continue;
      }
      if (!cur) cur = { args: [], ...lineCol(text, i) };
      cur.args.push(parseArg());
    }
    if (cur && cur.args.length) cmds.push(cur);
    else if (cmds.length) perr(i, 'missing command');
    if (cmds.length === 0) perr(start, 'missing value for command');
    return cmds;
  };
  const parseArg = (): Arg => {
    const s = i;
    const c = text[i]!;
    if (c === '`') {
      const e = text.indexOf('`', i + 1);
      if (e < 0) perr(s, 'unterminated raw quoted string');
      i = e + 1;
      return { k: 'str', v: text.slice(s + 1, e), src: text.slice(s, i) };
    }
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\') i++;
        if (text[i] === '\n') perr(s, 'unterminated quoted string');
        i++;
      }
      if (i >= text.length) perr(s, 'unterminated quoted string');
      i++;
      const src = text.slice(s, i);
      let v: string;
      try {
        v = JSON.parse(src.replace(/\\'/g, "'").replace(/\\([abfv])/g, (_m, x: string) => ({ a: '\\u0007', b: '\\b', f: '\\f', v: '\\u000b' })[x]!)) as string;
      } catch {
        return perr(s, `invalid syntax in quoted string ${src}`);
      }
      return { k: 'str', v, src };
    }
    if (c === '(') {
      i++;
      const pipe = parsePipe(true);
      return { k: 'pipe', pipe, src: text.slice(s, i) };
    }
    if (c === '.') {
      i++;
      const names: string[] = [];
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      if (m) {
        names.push(m[0]);
        i += m[0].length;
        while (text[i] === '.') {
          const m2 = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
          if (!m2) break;
          names.push(m2[0]);
          i += 1 + m2[0].length;
        }
      }
      return { k: 'field', names, src: text.slice(s, i) };
    }
    if (c === '$') perr(s, 'variables ($x) are not supported in Packer templates by kiln');
    const num = /^[+-]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)/.exec(text.slice(i));
    if (num) {
      i += num[0].length;
      return { k: 'num', v: Number(num[0]), src: num[0] };
    }
    const id = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (id) {
      i += id[0].length;
      const name = id[0];
      if (name === 'true' || name === 'false') return { k: 'bool', v: name === 'true', src: name };
      if (['if', 'else', 'end', 'range', 'with', 'define', 'template', 'block', 'break', 'continue'].includes(name))
        perr(s, `unsupported action "${name}" (kiln supports expressions and pipelines, not control structures)`);
      if (name === 'nil') perr(s, 'nil is not a command');
      return { k: 'ident', name, src: name };
    }
    return perr(s, `unexpected "${c}" in command`);
  };
  const pipe = parsePipe(false);
  const kind = closeAhead();
  const trimAfter = kind === 2;
  i += kind === 2 ? 3 : 2;
  // Function names are checked at parse time, as Go does.
  return { pipe, end: i, trimAfter };
}

// ---------------------------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------------------------

type Fn = (ctx: InterpContext, args: unknown[]) => string;

const FUNCS: Record<string, { arity?: number; fn: Fn }> = {
  timestamp: { arity: 0, fn: (c) => String(Math.floor(c.initTime / 1000)) },
  isotime: {
    fn: (c, a) => {
      if (a.length > 1) throw new Error(`too many values, 1 needed: [${a.map(String).join(' ')}]`);
      const d = new Date(c.initTime);
      return a.length === 0 ? formatGoTime(d, '2006-01-02T15:04:05Z07:00') : formatGoTime(d, str(a[0]));
    },
  },
  strftime: { arity: 1, fn: (c, a) => strftime(new Date(c.initTime), str(a[0])) },
  uuid: { arity: 0, fn: (c) => timeOrderedUUID(c.initTime, c.random ?? Math.random) },
  user: {
    arity: 1,
    fn: (c, a) => {
      const k = str(a[0]);
      const v = c.user[k];
      if (v === undefined && c.variablesSection)
        throw new Error(
          `Error: variable not set: ${k}: Please make sure that the variable you're referencing has been defined; Packer treats all variables used to interpolate other user variables as required.`,
        );
      return v ?? '';
    },
  },
  env: {
    arity: 1,
    fn: (c, a) => {
      if (!c.variablesSection) throw new Error('env vars are not allowed here');
      return c.env?.[str(a[0])] ?? '';
    },
  },
  build_name: {
    arity: 0,
    fn: (c) => {
      if (c.buildName === undefined) throw new Error('build_name not available');
      return c.buildName;
    },
  },
  build_type: {
    arity: 0,
    fn: (c) => {
      if (c.buildType === undefined) throw new Error('build_type not available');
      return c.buildType;
    },
  },
  template_dir: {
    arity: 0,
    fn: (c) => {
      if (c.templateDir === undefined) throw new Error('template path not available');
      return c.templateDir;
    },
  },
  pwd: { arity: 0, fn: (c) => c.pwd ?? '' },
  packer_version: { arity: 0, fn: () => PACKER_COMPAT_VERSION },
  split: {
    arity: 3,
    fn: (_c, a) => {
      const s = str(a[0]);
      const sep = str(a[1]);
      const idx = int(a[2]);
      const parts = goSplit(s, sep);
      if (idx < 0 || idx >= parts.length) throw new Error(`the substring ${idx} was unavailable using the separator value, ${sep}, only ${parts.length} values were found`);
      return parts[idx]!;
    },
  },
  replace: { arity: 4, fn: (_c, a) => goReplace(str(a[3]), str(a[0]), str(a[1]), int(a[2])) },
  replace_all: { arity: 3, fn: (_c, a) => goReplace(str(a[2]), str(a[0]), str(a[1]), -1) },
  lower: { arity: 1, fn: (_c, a) => str(a[0]).toLowerCase() },
  upper: { arity: 1, fn: (_c, a) => str(a[0]).toUpperCase() },
  build: {
    arity: 1,
    fn: (c, a) => {
      const key = str(a[0]);
      const b = c.build ?? { mode: 'none' };
      if (b.mode === 'none') throw new Error('build data is only available inside builds (provisioners, post-processors and builder fields rendered at run time)');
      if (b.mode === 'placeholder') {
        if (!b.keys.includes(key)) throw new Error(`loaded data, but couldnt find ${key} in it.`);
        return `{{.${key}}}`;
      }
      const v = b.values[key];
      return v === undefined ? '<no value>' : v;
    },
  },
  sed: {
    arity: 2,
    fn: () => {
      throw new Error('template function `sed` is deprecated use `replace` or `replace_all` instead.Documentation: https://www.packer.io/docs/templates/engine');
    },
  },
  // Go text/template built-ins that templates use now and then.
  printf: { fn: (_c, a) => goSprintf(str(a[0]), a.slice(1)) },
  print: { fn: (_c, a) => a.map((x, i) => (i > 0 && typeof x !== 'string' && typeof a[i - 1] !== 'string' ? ' ' : '') + goFmt(x)).join('') },
  println: { fn: (_c, a) => a.map(goFmt).join(' ') + '\n' },
  len: { arity: 1, fn: (_c, a) => String(typeof a[0] === 'string' ? Buffer.byteLength(a[0]) : Array.isArray(a[0]) ? a[0].length : 0) },
  eq: { arity: 2, fn: (_c, a) => String(a[0] === a[1]) },
  ne: { arity: 2, fn: (_c, a) => String(a[0] !== a[1]) },
  not: { arity: 1, fn: (_c, a) => String(!truthy(a[0])) },
  and: { fn: (_c, a) => goFmt(a.find((x) => !truthy(x)) ?? a[a.length - 1]) },
  or: { fn: (_c, a) => goFmt(a.find((x) => truthy(x)) ?? a[a.length - 1]) },
  consul_key: { arity: 1, fn: (c) => external(c, 'consul_key', 'Consul') },
  vault: { arity: 2, fn: (c) => external(c, 'vault', 'Vault') },
  aws_secretsmanager: {
    fn: (c, a) => {
      if (a.length < 1 || a.length > 2) throw new Error(`wrong number of args for aws_secretsmanager: want 1 or 2 got ${a.length}`);
      return external(c, 'aws_secretsmanager', 'AWS Secrets Manager');
    },
  },
};

function external(c: InterpContext, name: string, what: string): never {
  if (!c.variablesSection) throw new Error(`${name === 'vault' ? 'Vault vars' : name === 'consul_key' ? 'Consul vars' : 'AWS Secrets Manager vars'} are only allowed in the variables section`);
  throw new Error(`${name}: ${what} is not reachable from kiln (no network access to external secret stores); pass the value with -var or -var-file instead`);
}

/** Amazon's `clean_resource_name`: characters outside `[A-Za-z0-9()[] ./-'@_]` become `-`. */
export function cleanResourceName(s: string): string {
  return s.replace(/[^A-Za-z0-9()[\] ./\-'@_]/g, '-');
}

function truthy(v: unknown): boolean {
  return !(v === undefined || v === null || v === '' || v === 0 || v === false || v === 'false');
}

function goFmt(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  return String(v);
}

/** A small Go fmt.Sprintf: %s %v %d %q %x %%. */
function goSprintf(f: string, args: unknown[]): string {
  let i = 0;
  return f.replace(/%([-+ 0#]*\d*)([svdqxX%])/g, (m, _flags: string, verb: string) => {
    if (verb === '%') return '%';
    if (i >= args.length) return `%!${verb}(MISSING)`;
    const a = args[i++];
    switch (verb) {
      case 'q':
        return JSON.stringify(goFmt(a));
      case 'x':
      case 'X': {
        const h = typeof a === 'number' ? a.toString(16) : Buffer.from(goFmt(a)).toString('hex');
        return verb === 'X' ? h.toUpperCase() : h;
      }
      case 'd':
        return typeof a === 'number' ? String(Math.trunc(a)) : `%!d(string=${goFmt(a)})`;
      default:
        return goFmt(a);
    }
  });
}

function str(v: unknown): string {
  if (typeof v === 'string') return v;
  throw new Error(`wrong type for value; expected string; got ${goType(v)}`);
}
function int(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  throw new Error(`wrong type for value; expected int; got ${goType(v)}`);
}
function goType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  return 'interface {}';
}

function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

function goReplace(s: string, old: string, neu: string, n: number): string {
  if (n === 0 || old === neu) return s;
  if (old === '') {
    // Go inserts `new` before every rune and at the end, up to n times.
    const runes = [...s];
    let out = '';
    let count = 0;
    for (let i = 0; i <= runes.length; i++) {
      if (n < 0 || count < n) {
        out += neu;
        count++;
      }
      if (i < runes.length) out += runes[i];
    }
    return out;
  }
  let out = '';
  let from = 0;
  let count = 0;
  for (;;) {
    if (n >= 0 && count >= n) break;
    const at = s.indexOf(old, from);
    if (at < 0) break;
    out += s.slice(from, at) + neu;
    from = at + old.length;
    count++;
  }
  return out + s.slice(from);
}

/** Packer's `uuid`: 8 hex digits of Unix seconds + 96 random bits, formatted as a UUID. */
export function timeOrderedUUID(initTimeMs: number, random: () => number): string {
  const t = (Math.floor(initTimeMs / 1000) >>> 0).toString(16).padStart(8, '0');
  let r = '';
  for (let i = 0; i < 24; i++) r += Math.floor(random() * 16).toString(16);
  return `${t}-${r.slice(0, 4)}-${r.slice(4, 8)}-${r.slice(8, 12)}-${r.slice(12, 24)}`;
}

// ---------------------------------------------------------------------------------------------
// Time formatting
// ---------------------------------------------------------------------------------------------

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const p2 = (n: number) => String(n).padStart(2, '0');

// Longest tokens first, as Go's nextStdChunk matches them.
const GO_TOKENS: Array<[string, (d: Date) => string]> = [
  ['January', (d) => MONTHS[d.getUTCMonth()]!],
  ['Monday', (d) => DAYS[d.getUTCDay()]!],
  ['Z07:00:00', () => 'Z'],
  ['-07:00:00', () => '+00:00:00'],
  ['Z07:00', () => 'Z'],
  ['-07:00', () => '+00:00'],
  ['Z0700', () => 'Z'],
  ['-0700', () => '+0000'],
  ['Z07', () => 'Z'],
  ['-07', () => '+00'],
  ['2006', (d) => String(d.getUTCFullYear()).padStart(4, '0')],
  ['Jan', (d) => MONTHS[d.getUTCMonth()]!.slice(0, 3)],
  ['Mon', (d) => DAYS[d.getUTCDay()]!.slice(0, 3)],
  ['MST', () => 'UTC'],
  ['002', (d) => String(dayOfYear(d)).padStart(3, '0')],
  ['__2', (d) => String(dayOfYear(d)).padStart(3, ' ')],
  ['_2', (d) => String(d.getUTCDate()).padStart(2, ' ')],
  ['01', (d) => p2(d.getUTCMonth() + 1)],
  ['02', (d) => p2(d.getUTCDate())],
  ['03', (d) => p2(h12(d))],
  ['04', (d) => p2(d.getUTCMinutes())],
  ['05', (d) => p2(d.getUTCSeconds())],
  ['06', (d) => p2(d.getUTCFullYear() % 100)],
  ['15', (d) => p2(d.getUTCHours())],
  ['PM', (d) => (d.getUTCHours() >= 12 ? 'PM' : 'AM')],
  ['pm', (d) => (d.getUTCHours() >= 12 ? 'pm' : 'am')],
  ['1', (d) => String(d.getUTCMonth() + 1)],
  ['2', (d) => String(d.getUTCDate())],
  ['3', (d) => String(h12(d))],
  ['4', (d) => String(d.getUTCMinutes())],
  ['5', (d) => String(d.getUTCSeconds())],
];

function h12(d: Date): number {
  const h = d.getUTCHours() % 12;
  return h === 0 ? 12 : h;
}
function dayOfYear(d: Date): number {
  return Math.floor((Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()) - Date.UTC(d.getUTCFullYear(), 0, 1)) / 86400000) + 1;
}

/** Formats a UTC time with a Go reference-time layout (`2006-01-02T15:04:05Z07:00`). */
export function formatGoTime(d: Date, layout: string): string {
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    // fractional seconds: .000 / ,000 / .999
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i));
    if (frac && (i === 0 || true)) {
      const digits = frac[1]!.length;
      const ms = String(d.getUTCMilliseconds()).padStart(3, '0') + '000000';
      let f = ms.slice(0, digits);
      if (frac[1]![0] === '9') {
        f = f.replace(/0+$/, '');
        out += f ? layout[i] + f : '';
      } else out += layout[i] + f;
      i += frac[0].length;
      continue;
    }
    for (const [tok, fn] of GO_TOKENS) {
      if (layout.startsWith(tok, i)) {
        // Go: "Jan"/"Mon" etc. need no boundary, but "2006" etc. are plain matches too.
        out += fn(d);
        i += tok.length;
        continue outer;
      }
    }
    out += layout[i];
    i++;
  }
  return out;
}

/** C-style strftime as jehiah/go-strftime implements it (UTC); unsupported verbs stay as written. */
export function strftime(d: Date, fmt: string): string {
  const map: Record<string, () => string> = {
    a: () => DAYS[d.getUTCDay()]!.slice(0, 3),
    A: () => DAYS[d.getUTCDay()]!,
    b: () => MONTHS[d.getUTCMonth()]!.slice(0, 3),
    B: () => MONTHS[d.getUTCMonth()]!,
    d: () => p2(d.getUTCDate()),
    H: () => p2(d.getUTCHours()),
    I: () => p2(h12(d)),
    L: () => '.' + String(d.getUTCMilliseconds()).padStart(3, '0'),
    m: () => p2(d.getUTCMonth() + 1),
    M: () => p2(d.getUTCMinutes()),
    p: () => (d.getUTCHours() >= 12 ? 'PM' : 'AM'),
    S: () => p2(d.getUTCSeconds()),
    y: () => p2(d.getUTCFullYear() % 100),
    Y: () => String(d.getUTCFullYear()),
    z: () => '+0000',
    Z: () => 'UTC',
    '%': () => '%',
  };
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!;
    if (c === '%' && i + 1 < fmt.length) {
      const f = map[fmt[i + 1]!];
      if (f) {
        out += f();
        i++;
        continue;
      }
    }
    out += c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Execution
// ---------------------------------------------------------------------------------------------

function cmdText(c: Cmd): string {
  return c.args.map((a) => a.src).join(' ');
}

function checkFuncs(nodes: Node[], ctx: InterpContext): void {
  const visit = (pipe: Cmd[]) => {
    for (const c of pipe)
      for (const a of c.args) {
        if (a.k === 'ident' && !FUNCS[a.name] && !ctx.extraFuncs?.[a.name]) throw new TemplateError('parse', `template: root:${c.line}: function "${a.name}" not defined`);
        if (a.k === 'pipe') visit(a.pipe);
      }
  };
  for (const n of nodes) if (n.k === 'action') visit(n.pipe);
}

/**
 * Renders `text` with the context. Throws `TemplateError` (kind `parse` for a malformed template or
 * an unknown function, `exec` when a function fails) with Go's wording.
 */
export function render(text: string, ctx: InterpContext): string {
  if (!text.includes('{{')) return text;
  const nodes = parseTemplate(text);
  checkFuncs(nodes, ctx);
  let out = '';
  for (const n of nodes) {
    if (n.k === 'text') out += n.v;
    else if (n.fieldOnly && ctx.variablesSection) out += n.src;
    else out += toText(runPipe(n.pipe, ctx));
  }
  return out;
}

function toText(v: unknown): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(toText).join(' ')}]`;
  if (typeof v === 'object')
    return `map[${Object.entries(v as Record<string, unknown>)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, x]) => `${k}:${toText(x)}`)
      .join(' ')}]`;
  return String(v);
}

function runPipe(pipe: Cmd[], ctx: InterpContext): unknown {
  let prev: unknown;
  let hasPrev = false;
  for (const cmd of pipe) {
    prev = runCmd(cmd, ctx, hasPrev ? [prev] : []);
    hasPrev = true;
  }
  return prev;
}

function evalArg(a: Arg, ctx: InterpContext): unknown {
  switch (a.k) {
    case 'str':
    case 'num':
    case 'bool':
      return a.v;
    case 'field': {
      let v: unknown = ctx.data ?? {};
      for (const n of a.names) {
        if (v && typeof v === 'object' && n in (v as Record<string, unknown>)) v = (v as Record<string, unknown>)[n];
        else return undefined;
      }
      return v;
    }
    case 'pipe':
      return runPipe(a.pipe, ctx);
    case 'ident':
      return callFn(a.name, [], ctx, { args: [a], line: 1, col: 0 });
  }
}

function runCmd(cmd: Cmd, ctx: InterpContext, piped: unknown[]): unknown {
  const [head, ...rest] = cmd.args;
  if (head!.k === 'ident') {
    const args = [...rest.map((a) => evalArg(a, ctx)), ...piped];
    return callFn(head!.name, args, ctx, cmd);
  }
  if (rest.length || piped.length) {
    const what = head!.k === 'field' ? `can't give argument to non-function ${head!.src}` : `can't give argument to non-function ${head!.src}`;
    throw new TemplateError('exec', `template: root:${cmd.line}:${cmd.col}: executing "root" at <${head!.src}>: ${what}`);
  }
  return evalArg(head!, ctx);
}

function callFn(name: string, args: unknown[], ctx: InterpContext, cmd: Cmd): string {
  const at = `template: root:${cmd.line}:${cmd.col}: executing "root" at <${name === (cmd.args[0] as { name?: string }).name ? cmdText(cmd) : name}>`;
  const extra = ctx.extraFuncs?.[name];
  if (extra) {
    try {
      return extra(...args);
    } catch (e) {
      throw new TemplateError('exec', `${at}: error calling ${name}: ${(e as Error).message}`);
    }
  }
  const f = FUNCS[name];
  if (!f) throw new TemplateError('parse', `template: root:${cmd.line}: function "${name}" not defined`);
  if (f.arity !== undefined && args.length !== f.arity)
    throw new TemplateError('exec', `template: root:${cmd.line}:${cmd.col}: executing "root" at <${name}>: wrong number of args for ${name}: want ${f.arity} got ${args.length}`);
  try {
    return f.fn(ctx, args);
  } catch (e) {
    const msg = (e as Error).message;
    if (msg.startsWith('wrong type for value')) throw new TemplateError('exec', `${at}: ${msg}`);
    throw new TemplateError('exec', `${at}: error calling ${name}: ${msg}`);
  }
}
