// Decoding a plugin config the way Packer's `Prepare` does: every string rendered with the plugin's
// template context (except the keys the plugin renders later), then mapstructure with
// WeaklyTypedInput (`"pull": "false"` is a bool, a single string is a list of one) and ErrorUnused
// (`unknown configuration key: '"bogus"'`). Errors are collected with the key's path. Pure.
import type { Path } from '../../core/source.js';
import { goKind, parseGoDuration, weakBool } from '../template.js';
import { TemplateError } from '../interpolate.js';
import { PACKER_COMMON_SCHEMA, type ArgKind, type Schema } from './amazon-ebs-schema.js';

export interface ConfigIssue {
  message: string;
  /** Path relative to the plugin block (e.g. `['bogus']`); empty = the block itself. */
  at: Path;
  /** Point at the key rather than the value. */
  key?: boolean;
  severity?: 'error' | 'warning';
}

type Renderer = (text: string) => string;

/** Thrown (and caught by the caller) when rendering fails: Packer stops decoding at that point. */
export class RenderFailure extends Error {
  constructor(readonly issue: ConfigIssue) {
    super(issue.message);
  }
}

export class Decoder {
  readonly issues: ConfigIssue[] = [];
  // Packer's own keys are known at a plugin's top level (a nested decoder forgets them: `nested`).
  private readonly used = new Set<string>(Object.keys(PACKER_COMMON_SCHEMA));
  readonly values: Record<string, unknown>;
  /** How messages name this decoder's keys: `source_ami_filter.` for a nested block's. */
  private prefix = '';

  /**
   * @param raw the plugin's keys (meta keys already removed)
   * @param render renders one string with the plugin's context
   * @param lateKeys keys Packer does not render at prepare (rendered later by the runner)
   */
  constructor(raw: Record<string, unknown>, render: Renderer, lateKeys: readonly string[] = []) {
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (lateKeys.includes(k)) {
        values[k] = v;
        continue;
      }
      try {
        values[k] = deepRender(v, render);
      } catch (e) {
        if (e instanceof TemplateError) {
          throw new RenderFailure({ message: `${e.kind === 'parse' ? 'invalid' : 'render'} '${k}': ${e.message}`, at: [k] });
        }
        throw e;
      }
    }
    this.values = values;
  }

  has(key: string): boolean {
    this.used.add(key);
    return this.values[key] !== undefined && this.values[key] !== null;
  }

  error(message: string, at: Path = [], key = false): void {
    this.issues.push({ message, at, key });
  }
  warn(message: string, at: Path = []): void {
    this.issues.push({ message, at, severity: 'warning' });
  }

  private typeErr(key: string, want: string, v: unknown): void {
    // Inside plugin configs, nested objects arrive as map[interface {}]interface {} (msgpack over RPC).
    const kind = v && typeof v === 'object' && !Array.isArray(v) ? 'map[interface {}]interface {}' : goKind(v);
    this.error(`'${this.prefix}${key}' expected type '${want}', got unconvertible type '${kind}', value: '${goValue(v)}'`, [key]);
  }

  str(key: string, dflt = ''): string {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
    this.typeErr(key, 'string', v);
    return dflt;
  }

  optStr(key: string): string | undefined {
    return this.has(key) ? this.str(key) : undefined;
  }

  bool(key: string, dflt = false): boolean {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return dflt;
    const b = weakBool(v);
    if (b !== undefined) return b;
    if (typeof v === 'string') this.error(`cannot parse '${this.prefix}${key}' as bool: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`, [key]);
    else this.typeErr(key, 'bool', v);
    return dflt;
  }

  int(key: string, dflt = 0): number {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
    if (typeof v === 'string') {
      if (v === '') return 0;
      if (/^[+-]?\d+$/.test(v)) return Number(v);
      this.error(`cannot parse '${this.prefix}${key}' as int: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`, [key]);
      return dflt;
    }
    this.typeErr(key, 'int', v);
    return dflt;
  }

  /** A list of strings; a single string is a list of one (weak decoding). */
  strList(key: string, dflt: string[] = []): string[] {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'string') return [v];
    if (!Array.isArray(v)) {
      this.typeErr(key, '[]string', v);
      return dflt;
    }
    const out: string[] = [];
    v.forEach((x, i) => {
      if (typeof x === 'string') out.push(x);
      else if (typeof x === 'number' || typeof x === 'boolean') out.push(String(typeof x === 'boolean' ? (x ? 1 : 0) : x));
      else this.error(`'${this.prefix}${key}[${i}]' expected type 'string', got unconvertible type '${goKind(x)}', value: '${goValue(x)}'`, [key, i]);
    });
    return out;
  }

  intList(key: string, dflt: number[]): number[] {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return dflt;
    const arr = Array.isArray(v) ? v : [v];
    const out: number[] = [];
    arr.forEach((x, i) => {
      if (typeof x === 'number' && Number.isInteger(x)) out.push(x);
      else if (typeof x === 'string' && /^[+-]?\d+$/.test(x)) out.push(Number(x));
      else this.error(`cannot parse '${this.prefix}${key}[${i}]' as int: strconv.ParseInt: parsing ${JSON.stringify(typeof x === 'string' ? x : goValue(x))}: invalid syntax`, [key, i]);
    });
    return out;
  }

  strMap(key: string): Record<string, string> {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return {};
    if (Array.isArray(v)) {
      // mapstructure decodes a list into a map element by element
      if (v.length) this.error(`'${this.prefix}${key}[0]' expected a map, got '${Array.isArray(v[0]) ? 'slice' : typeof v[0] === 'object' && v[0] !== null ? 'map' : goKind(v[0])}'`, [key, 0]);
      return {};
    }
    if (typeof v !== 'object') {
      // mapstructure's words for a scalar where a map belongs
      this.error(`'${this.prefix}${key}' expected a map, got '${goKind(v)}'`, [key]);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'string') out[k] = x;
      else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else this.error(`'${this.prefix}${key}[${k}]' expected type 'string', got unconvertible type '${goKind(x)}', value: '${goValue(x)}'`, [key, k]);
    }
    return out;
  }

  obj(key: string): Record<string, unknown> | undefined {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.typeErr(key, 'struct', v);
      return undefined;
    }
    return v as Record<string, unknown>;
  }

  /** A Go duration, in ms. */
  duration(key: string, dflt = 0): number {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null || v === '') return dflt;
    if (typeof v === 'number') return v / 1e6;
    if (typeof v !== 'string') {
      this.typeErr(key, 'time.Duration', v);
      return dflt;
    }
    const d = parseGoDuration(v);
    if (typeof d === 'string') {
      this.error(`error decoding '${this.prefix}${key}': ${d}`, [key]);
      return dflt;
    }
    return d;
  }

  /** A key as messages name it (with the enclosing blocks). */
  label(key: string): string {
    return this.prefix + key;
  }

  /** Whether a decoder call has asked for this key. */
  isUsed(key: string): boolean {
    return this.used.has(key);
  }

  /**
   * A decoder for a nested object (a block's arguments), its values taken as they are (already
   * rendered); its issues are merged into this one's under `at` by `adopt`.
   */
  nested(values: Record<string, unknown>, label: string): Decoder {
    const d = new Decoder(values, (s) => s);
    d.prefix = `${this.prefix}${label}.`;
    // packer_build_name and the rest belong to the plugin's top level only (Packer 1.6.6:
    // `unknown configuration key: '"aws_polling.packer_build_name"'`).
    d.used.clear();
    return d;
  }

  /** Takes over a nested decoder's issues, their paths under `at`. */
  adopt(sub: Decoder, at: Path): void {
    for (const i of sub.issues) this.issues.push({ ...i, at: [...at, ...i.at] });
  }

  /** Marks keys as known without decoding them (accepted, not used by kiln). */
  accept(...keys: string[]): void {
    for (const k of keys) this.used.add(k);
  }

  /** Every key that no decoder call asked for: `unknown configuration key: '"x"'`. */
  finishUnknown(): void {
    for (const k of Object.keys(this.values)) if (!this.used.has(k)) this.error(`unknown configuration key: '"${this.prefix}${k}"'`, [k], true);
  }
}

const isMap = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/**
 * Decodes every key of `schema` that no decoder call has read yet as mapstructure does with weak
 * typing (type errors in Packer's words), nested blocks included, then reports every key the schema
 * does not know (`unknown configuration key: '"source_ami_filter.bogus"'`). `checked`: keys whose
 * contents the caller has already checked.
 */
export function decodeBySchema(d: Decoder, schema: Schema, checked: readonly string[] = []): void {
  for (const [k, v] of Object.entries(d.values)) {
    const entry = schema[k];
    if (entry === undefined || checked.includes(k) || v === undefined || v === null) continue;
    if (typeof entry === 'string') {
      if (!d.isUsed(k)) decodeArg(d, k, entry);
      continue;
    }
    if ('block' in entry) {
      const o = d.isUsed(k) ? (isMap(v) ? v : undefined) : d.obj(k);
      if (!o) continue;
      const sub = d.nested(o, k);
      decodeBySchema(sub, entry.block);
      d.adopt(sub, [k]);
      continue;
    }
    // A list of blocks; one object is a list of one (weak decoding).
    d.accept(k);
    const items = Array.isArray(v) ? v : [v];
    items.forEach((it, i) => {
      const at = Array.isArray(v) ? [k, i] : [k];
      if (!isMap(it)) return void d.error(`'${d.label(k)}[${i}]' expected a map, got '${Array.isArray(it) ? 'slice' : goKind(it)}'`, at);
      const sub = d.nested(it, `${k}[${i}]`);
      decodeBySchema(sub, entry.blocks);
      d.adopt(sub, at);
    });
  }
  d.finishUnknown();
}

function decodeArg(d: Decoder, key: string, kind: ArgKind): void {
  switch (kind) {
    case 'string':
      return void d.str(key);
    case 'bool':
      return void d.bool(key);
    case 'number':
      return void d.int(key);
    case 'list':
      return void d.strList(key);
    case 'map':
      return void d.strMap(key);
    case 'duration':
      return void d.duration(key);
    case 'bytes':
      return d.accept(key);
  }
}

function deepRender(v: unknown, render: Renderer): unknown {
  if (typeof v === 'string') return render(v);
  if (Array.isArray(v)) return v.map((x) => deepRender(x, render));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = deepRender(x, render);
    return out;
  }
  return v;
}

function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (v && typeof v === 'object')
    return `map[${Object.keys(v)
      .sort()
      .map((k) => `${k}:${goValue((v as Record<string, unknown>)[k])}`)
      .join(' ')}]`;
  return String(v);
}
