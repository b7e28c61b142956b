// Parsing a Packer 1.6.6 legacy JSON template (reference §1): syntax (with Go's error text and
// position), duplicate fields, root keys, builders, provisioners, post-processor chains. Pure.
import { error, type Diagnostic } from '../core/diagnostics.js';
import { parseJsonSource } from '../core/json.js';
import { formatPath, type Path, type SourceDoc } from '../core/source.js';
import type { BuilderDef, ParsedTemplate, PostProcessorDef, ProvisionerDef, VariableDef } from './types.js';

export const CODES = {
  syntax: 'PACKER_SYNTAX',
  parse: 'PACKER_PARSE',
  template: 'PACKER_TEMPLATE',
  variables: 'PACKER_VARIABLES',
  version: 'PACKER_VERSION',
  plugin: 'PACKER_PLUGIN',
  config: 'PACKER_CONFIG',
} as const;

interface ParseResult {
  /** Undefined when the template could not be parsed (see diagnostics). */
  template?: ParsedTemplate;
  doc: SourceDoc;
  diagnostics: Diagnostic[];
}

/** A diagnostic located at `path` in `doc` (at the key when `key` is set and the node is a member). */
export function diagAt(doc: SourceDoc, code: string, message: string, path: Path, opts: { key?: boolean; severity?: 'error' | 'warning' } = {}): Diagnostic {
  const range = doc.positions.range(path, { key: opts.key ?? false });
  const d = error(code, message, { path: formatPath(path) || undefined, range });
  if (opts.severity === 'warning') d.severity = 'warning';
  return d;
}

const ROOT_KEYS = new Set(['description', 'min_packer_version', 'variables', 'sensitive-variables', 'builders', 'provisioners', 'post-processors', 'push', 'error-cleanup-provisioner']);
const PROV_META = new Set(['type', 'only', 'except', 'override', 'pause_before', 'max_retries', 'timeout']);
const PP_META = new Set(['type', 'name', 'only', 'except', 'keep_input_artifact']);

/** Go's name for the kind of a JSON value, as mapstructure prints it. */
export function goKind(v: unknown): string {
  if (v === null) return 'nil';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}
function goShortKind(v: unknown): string {
  if (Array.isArray(v)) return 'slice';
  if (v !== null && typeof v === 'object') return 'map';
  return goKind(v);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parsePackerTemplate(text: string, file: string, dir: string): ParseResult {
  const syntax = goJsonSyntaxError(text);
  const doc = parseJsonSource(text, file, { syntaxCode: CODES.syntax, duplicateCode: CODES.parse });
  if (syntax) {
    const bytes = Buffer.from(text, 'utf8');
    const before = bytes.subarray(0, syntax.offset).toString('utf8');
    const nl = before.split('\n').length - 1;
    const lastNl = before.lastIndexOf('\n');
    const line = nl + 1;
    const col = lastNl < 0 ? Buffer.byteLength(before) : Buffer.byteLength(before) - Buffer.byteLength(before.slice(0, lastNl));
    // Our own 1-based position of the offending character.
    const at = Math.max(0, before.length - (syntax.eof ? 0 : 1));
    const pos = doc.positions.pos(Math.min(at, text.length));
    const lines = text.split('\n');
    const excerpt = [line - 1, line]
      .filter((n) => n >= 1 && n <= lines.length)
      .map((n) => `${String(n).padStart(5)}: ${lines[n - 1]}`)
      .join('\n');
    const d = error(CODES.syntax, `Failed to parse template: Error parsing JSON: ${syntax.message} at line ${line}, column ${col} (offset ${syntax.offset})`, {
      range: { file, start: pos },
    });
    d.detail = `At line ${line}, column ${col} (offset ${syntax.offset}):\n${excerpt}\n${' '.repeat(6 + col)}^`;
    return { doc, diagnostics: [d] };
  }
  // Duplicate fields (at any depth) come back from the JSON parser with their position.
  const dups = doc.diagnostics.filter((d) => d.code === CODES.parse);
  if (dups.length) {
    return {
      doc,
      diagnostics: dups.map((d) => ({ ...d, message: `Failed to parse template: template has duplicate field: ${/duplicate key "(.*)"$/.exec(d.message)?.[1] ?? d.message}` })),
    };
  }
  if (doc.diagnostics.length) return { doc, diagnostics: doc.diagnostics };

  const diags: Diagnostic[] = [];
  const fail = (message: string, path: Path, key = false) => diags.push(diagAt(doc, CODES.parse, `Failed to parse template: ${message}`, path, { key }));
  const root = doc.value;
  if (!isObj(root)) {
    fail(`'' expected a map, got '${goShortKind(root)}'`, []);
    return { doc, diagnostics: diags };
  }

  const t: ParsedTemplate = {
    file,
    dir,
    doc,
    variables: {},
    sensitiveVariables: [],
    builders: [],
    provisioners: [],
    postProcessors: [],
    comments: {},
  };

  // Pass 1: root keys and their Go types (mapstructure decode of rawTemplate).
  for (const [k, v] of Object.entries(root)) {
    if (k.startsWith('_')) {
      if (typeof v !== 'string') fail(`Failed to cast root level comment value in comment "${k}" to string.`, [k]);
      else t.comments[k] = v;
      continue;
    }
    if (!ROOT_KEYS.has(k)) fail(`Unknown root level key in template: '${k}'`, [k], true);
  }
  const decodeErr = (field: string, msg: string, key: string) => fail(`'${field}'${msg.startsWith('expected') ? ' ' : ': '}${msg}`, [key]);
  const wantString = (key: string, field: string): string | undefined => {
    const v = root[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      decodeErr(field, `expected type 'string', got unconvertible type '${goKind(v)}'`, key);
      return undefined;
    }
    return v;
  };
  const wantArray = (key: string, field: string): unknown[] | undefined => {
    const v = root[key];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
      decodeErr(field, `source data must be an array or slice, got ${goShortKind(v)}`, key);
      return undefined;
    }
    return v;
  };
  const wantMap = (key: string, field: string): Record<string, unknown> | undefined => {
    const v = root[key];
    if (v === undefined || v === null) return undefined;
    if (!isObj(v)) {
      decodeErr(field, `expected a map, got '${goShortKind(v)}'`, key);
      return undefined;
    }
    return v;
  };
  t.description = wantString('description', 'description');
  t.minPackerVersion = wantString('min_packer_version', 'min_packer_version');
  const vars = wantMap('variables', 'variables');
  const sens = wantArray('sensitive-variables', 'sensitive-variables');
  const builders = wantArray('builders', 'builders');
  const provs = wantArray('provisioners', 'Provisioners');
  const pps = wantArray('post-processors', 'post-processors');
  const push = root['push'];
  if (push !== undefined) t.push = push;
  const cleanup = wantMap('error-cleanup-provisioner', 'error-cleanup-provisioner');
  if (t.description === undefined) delete t.description;
  if (t.minPackerVersion === undefined) delete t.minPackerVersion;
  if (diags.length) return { doc, diagnostics: diags };

  // Variables
  for (const [name, v] of Object.entries(vars ?? {})) {
    const path = ['variables', name];
    if (v === null) t.variables[name] = { default: null, required: true, path } satisfies VariableDef;
    else if (typeof v === 'string') t.variables[name] = { default: v, required: false, path };
    else fail(`variable ${name}: '' expected type 'string', got unconvertible type '${goKind(v)}', value: '${goValue(v)}'`, path);
  }
  (sens ?? []).forEach((s, i) => {
    if (typeof s !== 'string') decodeErr(`sensitive-variables[${i}]`, `expected type 'string', got unconvertible type '${goKind(s)}'`, 'sensitive-variables');
    else t.sensitiveVariables.push(s);
  });

  // Builders
  const names = new Set<string>();
  (builders ?? []).forEach((b, i) => {
    const path = ['builders', i];
    if (!isObj(b)) {
      fail(`'builders[${i}]': expected a map, got '${goShortKind(b)}'`, path);
      return;
    }
    const type0 = b['type'];
    if (type0 === undefined) return void fail(`builder ${i + 1}: missing 'type'`, path);
    // weakly typed, as mapstructure decodes it: a number is its decimal text
    const type = typeof type0 === 'number' ? String(type0) : type0;
    if (typeof type !== 'string') return void fail(`builder ${i + 1}: 'type' expected type 'string', got unconvertible type '${goKind(type)}'`, [...path, 'type']);
    const rawName0 = b['name'] ?? type;
    const rawName = typeof rawName0 === 'number' || typeof rawName0 === 'boolean' ? String(typeof rawName0 === 'boolean' ? Number(rawName0) : rawName0) : rawName0;
    if (typeof rawName !== 'string') return void fail(`builder ${i + 1}: 'name' expected type 'string', got unconvertible type '${goKind(rawName)}'`, [...path, 'name']);
    if (names.has(rawName)) return void fail(`builder ${i + 1}: builder with name '${rawName}' already exists`, path);
    names.add(rawName);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) if (k !== 'type' && k !== 'name') config[k] = v;
    t.builders.push({ name: rawName, type, config, path } satisfies BuilderDef);
  });

  // Provisioners
  (provs ?? []).forEach((p, i) => {
    const pv = parseProvisioner(p, ['provisioners', i], `provisioner ${i + 1}`, fail);
    if (pv) t.provisioners.push(pv);
  });
  if (cleanup) {
    const pv = parseProvisioner(cleanup, ['error-cleanup-provisioner'], 'error-cleanup-provisioner', fail);
    if (pv) t.errorCleanupProvisioner = pv;
  }

  // Post-processors
  (pps ?? []).forEach((chain, i) => {
    const elems: Array<{ v: unknown; path: Path }> = Array.isArray(chain) ? chain.map((v, j) => ({ v, path: ['post-processors', i, j] })) : [{ v: chain, path: ['post-processors', i] }];
    const out: PostProcessorDef[] = [];
    elems.forEach(({ v, path }, j) => {
      const label = `post-processor ${i + 1}.${j + 1}`;
      if (typeof v === 'string') {
        if (v === '') return void fail(`${label}: type is required`, path);
        out.push({ type: v, name: v, config: {}, path });
        return;
      }
      if (Array.isArray(v)) return void fail(`${label}: sequence not allowed to be nested in a sequence`, path);
      if (!isObj(v)) return void fail(`${label}: unknown type ${goKind(v)}`, path);
      const type = v['type'];
      if (type === undefined || type === '') return void fail(`${label}: type is required`, path);
      if (typeof type !== 'string') return void fail(`${label}: 'type' expected type 'string', got unconvertible type '${goKind(type)}'`, [...path, 'type']);
      const name = v['name'] ?? type;
      if (typeof name !== 'string') return void fail(`${label}: 'name' expected type 'string', got unconvertible type '${goKind(name)}'`, [...path, 'name']);
      const config: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) if (!PP_META.has(k)) config[k] = x;
      const def: PostProcessorDef = { type, name, config, path };
      const only = stringList(v['only'], [...path, 'only'], label, 'only', fail);
      const except = stringList(v['except'], [...path, 'except'], label, 'except', fail);
      if (only) def.only = only;
      if (except) def.except = except;
      const keep = v['keep_input_artifact'];
      if (keep !== undefined && keep !== null) {
        // Decoded without WeaklyTypedInput: only a JSON boolean is accepted.
        if (typeof keep !== 'boolean')
          fail(`${label}: 'keep_input_artifact' expected type 'bool', got unconvertible type '${goKind(keep)}', value: '${goValue(keep)}'`, [...path, 'keep_input_artifact']);
        else def.keepInputArtifact = keep;
      }
      out.push(def);
    });
    t.postProcessors.push(out);
  });

  if (diags.length) return { doc, diagnostics: diags };
  return { template: t, doc, diagnostics: [] };
}

function goValue(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (isObj(v))
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue(v[k])}`)
      .join(' ')}]`;
  return String(v);
}

/** mapstructure WeaklyTypedInput for bool: true/false, "true"/"1"/"t"…, numbers (non-zero = true). */
export function weakBool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0;
  if (typeof v === 'string') {
    if (v === '') return false;
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  }
  return undefined;
}

function stringList(v: unknown, path: Path, label: string, key: string, fail: (m: string, p: Path) => void): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return [v];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    fail(`${label}: '${key}' expected an array of build names`, path);
    return undefined;
  }
  return v as string[];
}

function parseProvisioner(p: unknown, path: Path, label: string, fail: (m: string, p: Path) => void): ProvisionerDef | undefined {
  if (!isObj(p)) {
    fail(`'${formatPath(path)}': expected a map, got '${goShortKind(p)}'`, path);
    return undefined;
  }
  const type = p['type'];
  if (type === undefined) return void fail(`${label}: Provisioner missing 'type'`, path);
  if (typeof type !== 'string') return void fail(`${label}: 'type' expected type 'string', got unconvertible type '${goKind(type)}'`, [...path, 'type']);
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) if (!PROV_META.has(k)) config[k] = v;
  const def: ProvisionerDef = { type, config, path };
  const only = stringList(p['only'], [...path, 'only'], label, 'only', fail);
  const except = stringList(p['except'], [...path, 'except'], label, 'except', fail);
  if (only) def.only = only;
  if (except) def.except = except;
  const ov = p['override'];
  if (ov !== undefined && ov !== null) {
    if (!isObj(ov) || Object.values(ov).some((x) => !isObj(x))) {
      const bad = isObj(ov) ? Object.values(ov).find((x) => !isObj(x)) : ov;
      fail(`${label}: Error decoding config: '' expected a map, got '${goShortKind(bad)}'`, [...path, 'override']);
    } else def.override = ov as Record<string, Record<string, unknown>>;
  }
  const errs: string[] = [];
  for (const [key, field] of [
    ['pause_before', 'pauseBefore'],
    ['timeout', 'timeout'],
  ] as const) {
    const v = p[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'number') def[field] = `${v}ns`;
    else if (typeof v !== 'string') errs.push(`error decoding '${key}': expected a duration, got ${goKind(v)}`);
    else {
      const d = parseGoDuration(v);
      if (typeof d === 'string') errs.push(`error decoding '${key}': ${d}`);
      else def[field] = v;
    }
  }
  const mr = p['max_retries'];
  if (mr !== undefined && mr !== null) {
    if (typeof mr === 'string' || typeof mr === 'number') def.maxRetries = mr;
    else errs.push(`'max_retries' expected a string or a number, got ${goKind(mr)}`);
  }
  if (errs.length) {
    fail(`${label}: Error decoding provisioner: ${errs.join('; ')}`, path);
    return undefined;
  }
  return def;
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Go's time.ParseDuration, in milliseconds; a string is Go's error text. */
export function parseGoDuration(s: string): number | string {
  const orig = s;
  const invalid = `time: invalid duration "${orig}"`;
  let neg = false;
  if (s[0] === '-' || s[0] === '+') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') return invalid;
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (num[0] === '' || num[0] === '.') return invalid;
    s = s.slice(num[0].length);
    const u = /^[^\d.]*/.exec(s)![0];
    if (u === '') return `time: missing unit in duration "${orig}"`;
    const mult = UNITS[u];
    if (mult === undefined) return `time: unknown unit "${u}" in duration "${orig}"`;
    s = s.slice(u.length);
    total += Number(num[1] || '0') * mult + (num[2] ? Number(`0.${num[2]}`) * mult : 0);
  }
  return neg ? -total : total;
}

// ---------------------------------------------------------------------------------------------
// Go encoding/json syntax errors (message and offset as Go's decoder reports them)
// ---------------------------------------------------------------------------------------------

interface GoSyntaxError {
  message: string;
  /** Go's SyntaxError.Offset: bytes read when the error was seen (bad byte included). */
  offset: number;
  eof: boolean;
}

function quoteChar(c: string): string {
  if (c === "'") return `'\\''`;
  if (c === '"') return `'"'`;
  const q = JSON.stringify(c);
  return `'${q.slice(1, -1)}'`;
}

/** Checks `text` as Go's encoding/json would; undefined when it is valid JSON. */
export function goJsonSyntaxError(text: string): GoSyntaxError | undefined {
  let i = 0;
  const n = text.length;
  class Fail {
    constructor(readonly e: GoSyntaxError) {}
  }
  const byteOff = (idx: number) => Buffer.byteLength(text.slice(0, idx));
  const eof = (): never => {
    throw new Fail({ message: 'unexpected end of JSON input', offset: byteOff(n), eof: true });
  };
  const bad = (context: string): never => {
    if (i >= n) eof();
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    throw new Fail({ message: `invalid character ${quoteChar(ch)} ${context}`, offset: byteOff(i + ch.length), eof: false });
  };
  const ws = () => {
    while (i < n && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const str = () => {
    i++;
    for (;;) {
      if (i >= n) eof();
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c === 92) {
        i++;
        if (i >= n) eof();
        const e = text[i]!;
        if ('"\\/bfnrt'.includes(e)) i++;
        else if (e === 'u') {
          i++;
          for (let k = 0; k < 4; k++) {
            if (i >= n) eof();
            if (!/[0-9a-fA-F]/.test(text[i]!)) bad('in \\u hexadecimal character escape');
            i++;
          }
        } else bad('in string escape code');
        continue;
      }
      if (c < 0x20) bad('in string literal');
      i++;
    }
  };
  const lit = (word: string) => {
    for (let k = 1; k < word.length; k++) {
      i++;
      if (i >= n) eof();
      if (text[i] !== word[k]) bad(`in literal ${word} (expecting ${quoteChar(word[k]!)})`);
    }
    i++;
  };
  const num = () => {
    if (text[i] === '-') {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) bad('in numeric literal');
    }
    if (text[i] === '0') i++;
    else while (i < n && /[0-9]/.test(text[i]!)) i++;
    if (text[i] === '.') {
      i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) bad('after decimal point in numeric literal');
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      if (i >= n) eof();
      if (!/[0-9]/.test(text[i]!)) bad('in exponent of numeric literal');
      while (i < n && /[0-9]/.test(text[i]!)) i++;
    }
  };
  /** After a member of an object or array: true past a `,`, false past `close`; anything else is an error. */
  const more = (close: '}' | ']', context: string): boolean => {
    ws();
    if (i >= n) eof();
    if (text[i] === ',') {
      i++;
      return true;
    }
    if (text[i] !== close) bad(context);
    i++;
    return false;
  };
  const value = (): void => {
    ws();
    if (i >= n) eof();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      do {
        ws();
        if (i >= n) eof();
        if (text[i] !== '"') bad('looking for beginning of object key string');
        str();
        ws();
        if (i >= n) eof();
        if (text[i] !== ':') bad('after object key');
        i++;
        value();
      } while (more('}', 'after object key:value pair'));
      return;
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      do {
        value();
      } while (more(']', 'after array element'));
      return;
    }
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    if (c === '-' || (c! >= '0' && c! <= '9')) return num();
    bad('looking for beginning of value');
  };
  try {
    value();
    ws();
    if (i < n) bad('after top-level value');
    return undefined;
  } catch (e) {
    if (e instanceof Fail) return e.e;
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering a parsed template back to Packer JSON (round trip: parse(render(t)) ≅ t)
// ---------------------------------------------------------------------------------------------

/** The template as Packer JSON again (2-space indent), as `packer fix` would print it. */
export function templateToJson(t: ParsedTemplate): string {
  const out: Record<string, unknown> = { ...t.comments };
  if (t.description !== undefined) out['description'] = t.description;
  if (t.minPackerVersion !== undefined) out['min_packer_version'] = t.minPackerVersion;
  if (Object.keys(t.variables).length) out['variables'] = Object.fromEntries(Object.entries(t.variables).map(([k, v]) => [k, v.default]));
  if (t.sensitiveVariables.length) out['sensitive-variables'] = t.sensitiveVariables;
  if (t.builders.length) out['builders'] = t.builders.map((b) => ({ type: b.type, ...(b.name !== b.type ? { name: b.name } : {}), ...b.config }));
  const prov = (p: ProvisionerDef) => ({
    type: p.type,
    ...(p.only ? { only: p.only } : {}),
    ...(p.except ? { except: p.except } : {}),
    ...(p.override ? { override: p.override } : {}),
    ...(p.pauseBefore !== undefined ? { pause_before: p.pauseBefore } : {}),
    ...(p.maxRetries !== undefined ? { max_retries: p.maxRetries } : {}),
    ...(p.timeout !== undefined ? { timeout: p.timeout } : {}),
    ...p.config,
  });
  if (t.provisioners.length) out['provisioners'] = t.provisioners.map(prov);
  if (t.errorCleanupProvisioner) out['error-cleanup-provisioner'] = prov(t.errorCleanupProvisioner);
  const pp = (p: PostProcessorDef) => ({
    type: p.type,
    ...(p.name !== p.type ? { name: p.name } : {}),
    ...(p.only ? { only: p.only } : {}),
    ...(p.except ? { except: p.except } : {}),
    ...(p.keepInputArtifact !== undefined ? { keep_input_artifact: p.keepInputArtifact } : {}),
    ...p.config,
  });
  if (t.postProcessors.length) out['post-processors'] = t.postProcessors.map((ch) => (ch.length === 1 ? pp(ch[0]!) : ch.map(pp)));
  if (t.push !== undefined) out['push'] = t.push;
  return JSON.stringify(out, null, 2) + '\n';
}
