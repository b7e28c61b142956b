// Decoding a plugin config the way Packer's `Prepare` does: every string rendered with the plugin's
// template context (except the keys the plugin renders later), then mapstructure with
// WeaklyTypedInput (`"pull": "false"` is a bool, a single string is a list of one) and ErrorUnused
// (`unknown configuration key: '"bogus"'`). Errors are collected with the key's path. Pure.
import type { Path } from '../../core/source.js';
import { goKind, parseGoDuration, weakBool } from '../template.js';
import { TemplateError } from '../interpolate.js';

export interface ConfigIssue {
  message: string;
  /** Path relative to the plugin block (e.g. `['bogus']`); empty = the block itself. */
  at: Path;
  /** Point at the key rather than the value. */
  key?: boolean;
  severity?: 'error' | 'warning';
}

/** Keys Packer injects into every plugin config; a user may write them too. */
const PACKER_COMMON = ['packer_build_name', 'packer_builder_type', 'packer_core_version', 'packer_debug', 'packer_force', 'packer_on_error', 'packer_user_variables', 'packer_sensitive_variables'];

export type Renderer = (text: string) => string;

/** Thrown (and caught by the caller) when rendering fails: Packer stops decoding at that point. */
export class RenderFailure extends Error {
  constructor(readonly issue: ConfigIssue) {
    super(issue.message);
  }
}

export class Decoder {
  readonly issues: ConfigIssue[] = [];
  private readonly used = new Set<string>(PACKER_COMMON);
  readonly values: Record<string, unknown>;

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
    this.error(`'${key}' expected type '${want}', got unconvertible type '${kind}', value: '${goValue(v)}'`, [key]);
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
    if (typeof v === 'string') this.error(`cannot parse '${key}' as bool: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`, [key]);
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
      this.error(`cannot parse '${key}' as int: strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`, [key]);
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
      else this.error(`'${key}[${i}]' expected type 'string', got unconvertible type '${goKind(x)}', value: '${goValue(x)}'`, [key, i]);
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
      else this.error(`cannot parse '${key}[${i}]' as int: strconv.ParseInt: parsing ${JSON.stringify(typeof x === 'string' ? x : goValue(x))}: invalid syntax`, [key, i]);
    });
    return out;
  }

  strMap(key: string): Record<string, string> {
    this.used.add(key);
    const v = this.values[key];
    if (v === undefined || v === null) return {};
    if (Array.isArray(v)) {
      // mapstructure decodes a list into a map element by element
      if (v.length) this.error(`'${key}[0]' expected a map, got '${Array.isArray(v[0]) ? 'slice' : typeof v[0] === 'object' && v[0] !== null ? 'map' : goKind(v[0])}'`, [key, 0]);
      return {};
    }
    if (typeof v !== 'object') {
      this.typeErr(key, 'map[string]string', v);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'string') out[k] = x;
      else if (typeof x === 'number' || typeof x === 'boolean') out[k] = String(x);
      else this.error(`'${key}[${k}]' expected type 'string', got unconvertible type '${goKind(x)}', value: '${goValue(x)}'`, [key, k]);
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
      this.error(`error decoding '${key}': ${d}`, [key]);
      return dflt;
    }
    return d;
  }

  /** Marks keys as known without decoding them (accepted, not used by kiln). */
  accept(...keys: string[]): void {
    for (const k of keys) this.used.add(k);
  }

  /** Every key that no decoder call asked for: `unknown configuration key: '"x"'`. */
  finishUnknown(): void {
    for (const k of Object.keys(this.values)) if (!this.used.has(k)) this.error(`unknown configuration key: '"${k}"'`, [k], true);
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
