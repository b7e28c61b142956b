// Values of the HCL2 expression language as plain JS data (string, number, boolean, null, arrays for
// lists/tuples/sets, plain objects for maps/objects), plus `Unknown` for what is only known later
// (a data source evaluated on its target). Type constraints and conversions follow cty, the value
// system Packer uses, with its error wording.

export type Value = null | boolean | number | string | Value[] | { [k: string]: Value } | Unknown;

/** A value known only later (e.g. `data.amazon-ami.x.id` before the AWS target runs it). */
export class Unknown {
  constructor(readonly what: string) {}
  toString(): string {
    return `(known after ${this.what})`;
  }
}

export function isObj(v: Value | undefined): v is { [k: string]: Value } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Unknown);
}
export function isUnknown(v: unknown): v is Unknown {
  return v instanceof Unknown;
}
/** True when an unknown value is anywhere inside `v`. */
export function containsUnknown(v: Value): boolean {
  if (v instanceof Unknown) return true;
  if (Array.isArray(v)) return v.some(containsUnknown);
  if (isObj(v)) return Object.values(v).some(containsUnknown);
  return false;
}

export type Ty = { k: 'string' | 'number' | 'bool' | 'any' } | { k: 'list' | 'set' | 'map'; el: Ty } | { k: 'object'; attrs: Record<string, Ty>; optional: string[] } | { k: 'tuple'; els: Ty[] };

function tyName(t: Ty): string {
  switch (t.k) {
    case 'string':
    case 'number':
    case 'bool':
      return t.k;
    case 'any':
      return 'any type';
    case 'list':
    case 'set':
    case 'map':
      return `${t.k} of ${tyName(t.el)}`;
    case 'object':
      return 'object';
    case 'tuple':
      return 'tuple';
  }
}

/** The type expression as written (`list(string)`), for `inspect` and messages. */
export function tyString(t: Ty): string {
  switch (t.k) {
    case 'list':
    case 'set':
    case 'map':
      return `${t.k}(${tyString(t.el)})`;
    case 'object':
      return `object({${Object.entries(t.attrs)
        .map(([k, v]) => `${k}=${t.optional.includes(k) ? `optional(${tyString(v)})` : tyString(v)}`)
        .join(', ')}})`;
    case 'tuple':
      return `tuple([${t.els.map(tyString).join(', ')}])`;
    default:
      return t.k;
  }
}

/** The name of a value's own kind, as cty words it in messages. */
export function kindOf(v: Value): string {
  if (v === null) return 'null';
  if (v instanceof Unknown) return 'unknown';
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'tuple';
  return 'object';
}

export class ConvertError extends Error {}

/** Number → string as cty prints it. */
export function numberToString(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  return String(n);
}

/** cty's conversion of `v` to type `t`; throws ConvertError with cty's wording. */
export function convert(v: Value, t: Ty, path = ''): Value {
  if (v instanceof Unknown || t.k === 'any') return v;
  if (v === null) return null;
  const at = (msg: string) => new ConvertError(path ? `${path}: ${msg}` : msg);
  switch (t.k) {
    case 'string':
      if (typeof v === 'string') return v;
      if (typeof v === 'number') return numberToString(v);
      if (typeof v === 'boolean') return v ? 'true' : 'false';
      throw at('string required');
    case 'number':
      if (typeof v === 'number') return v;
      if (typeof v === 'string') {
        const s = v.trim();
        if (s !== '' && /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
        throw at('a number is required');
      }
      throw at('number required');
    case 'bool':
      if (typeof v === 'boolean') return v;
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      if (typeof v === 'string') throw at('a bool is required');
      throw at('bool required');
    case 'list':
    case 'set': {
      if (!Array.isArray(v)) throw at(`${tyName(t)} required`);
      const out = v.map((x, i) => convert(x, t.el, `${path}[${i}]`));
      return t.k === 'set' ? dedupeSorted(out) : out;
    }
    case 'map': {
      if (!isObj(v)) throw at(`${tyName(t)} required`);
      const out: Record<string, Value> = {};
      for (const [k, x] of Object.entries(v)) out[k] = convert(x, t.el, `${path}[${JSON.stringify(k)}]`);
      return out;
    }
    case 'object': {
      if (!isObj(v)) throw at('object required');
      const out: Record<string, Value> = {};
      for (const [k, at2] of Object.entries(t.attrs)) {
        if (!(k in v)) {
          if (t.optional.includes(k)) {
            out[k] = null;
            continue;
          }
          throw at(`attribute ${JSON.stringify(k)} is required`);
        }
        out[k] = convert(v[k]!, at2, path ? `${path}.${k}` : `.${k}`);
      }
      return out;
    }
    case 'tuple': {
      if (!Array.isArray(v)) throw at('tuple required');
      if (v.length !== t.els.length) throw at(`tuple required with ${t.els.length} elements`);
      return v.map((x, i) => convert(x, t.els[i]!, `${path}[${i}]`));
    }
  }
}

function dedupeSorted(vs: Value[]): Value[] {
  const seen = new Map<string, Value>();
  for (const v of vs) seen.set(JSON.stringify(v), v);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** Deep equality as `==` sees it (lists and tuples alike, maps and objects alike). */
export function equal(a: Value, b: Value): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => equal(x, b[i]!));
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && equal(a[k]!, b[k]!));
  }
  return false;
}

/** A short rendering of a value for messages and `inspect` (HCL-like). */
export function show(v: Value): string {
  if (v === null) return 'null';
  if (v instanceof Unknown) return v.toString();
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${/^[A-Za-z_][A-Za-z0-9_-]*$/.test(k) ? k : JSON.stringify(k)} = ${show(x)}`)
    .join(', ')}}`;
}

/** A value as plain JSON data for plugin configs (unknown values become a readable placeholder). */
export function toPlain(v: Value): unknown {
  if (v instanceof Unknown) return v.toString();
  if (Array.isArray(v)) return v.map(toPlain);
  if (isObj(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  return v;
}

/** Plain JSON data (from a var file or `jsondecode`) as a value. */
export function fromPlain(v: unknown): Value {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(fromPlain);
  if (typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, fromPlain(x)]));
  return String(v);
}
