// The AWS::LanguageExtensions transform (reference §3): Fn::ForEach::<Loop> expansion, done before
// validation and evaluation. The other parts of the transform are evaluated by the evaluator
// (evaluate.ts) wherever they appear, since they need values: Fn::Length, Fn::ToJsonString,
// Fn::FindInMap with {DefaultValue}, intrinsic functions in DeletionPolicy / UpdateReplacePolicy
// and inside Ref.
//
//   hasLanguageExtensions(template) -> boolean
//   expandLanguageExtensions(template, params?) -> { template, diagnostics }
//
// Fn::ForEach::Name: [Identifier, Collection, {OutputKey: OutputValue}]
//   - Collection: a literal list, or anything that evaluates to one with the parameters given
//     (Ref to a CommaDelimitedList, Fn::FindInMap, Fn::Split …). Members are strings.
//   - In the fragment's keys and in its Fn::Sub strings, `${Identifier}` becomes the member and
//     `&{Identifier}` the member with every non-alphanumeric character removed (for logical ids);
//     `{"Ref": "Identifier"}` becomes the member. Other strings are literal (as in CloudFormation
//     and cfn-lint's implementation of the transform).
//   - Allowed in Resources (also inside a resource, e.g. in Properties), Conditions and Outputs,
//     not elsewhere; loops nest (an inner collection may use an outer identifier).
// The input is never modified. Pure.
import type { Diagnostic } from '../core/diagnostics.js';
import { Evaluator, NO_VALUE } from './evaluator.js';
import { pseudoValues, setKey } from './intrinsics.js';
import type { ResolvedParameter } from './params.js';

export const LANGUAGE_EXTENSIONS = 'AWS::LanguageExtensions';
const FOREACH = 'Fn::ForEach::';
/** Expansion stops beyond this many generated entries (a template allows 500 resources). */
const MAX_GENERATED = 20_000;

type Seg = string | number;

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function hasLanguageExtensions(template: unknown): boolean {
  if (!isObj(template)) return false;
  const t = template.Transform;
  return t === LANGUAGE_EXTENSIONS || (Array.isArray(t) && t.includes(LANGUAGE_EXTENSIONS));
}

/** True when a value holds a `Fn::ForEach::` key anywhere. */
function containsForEach(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(containsForEach);
  if (!isObj(v)) return false;
  for (const k of Object.keys(v)) if (k.startsWith(FOREACH) || containsForEach(v[k])) return true;
  return false;
}

class Expander {
  readonly diagnostics: Diagnostic[] = [];
  private generated = 0;
  private stopped = false;

  constructor(
    private readonly template: Record<string, unknown>,
    private readonly params: Readonly<Record<string, ResolvedParameter>>,
  ) {}

  private err(code: string, message: string, segments: Seg[]) {
    this.diagnostics.push({ severity: 'error', code, message, segments });
  }

  private subst(s: string, b: ReadonlyMap<string, string>): string {
    if (b.size === 0 || (!s.includes('${') && !s.includes('&{'))) return s;
    return s.replace(/([$&])\{([^}]*)\}/g, (whole, sigil: string, name: string) => {
      const v = b.get(name);
      if (v === undefined) return whole;
      return sigil === '$' ? v : v.replace(/[^A-Za-z0-9]/g, '');
    });
  }

  /**
   * A value inside a loop's fragment. As CloudFormation (and cfn-lint's transform) do, the
   * identifier is replaced in keys, in Fn::Sub strings and by `{"Ref": identifier}`; other strings
   * are left as written (`"x-${N}"` stays literal, and so does the condition name of an Fn::If).
   */
  value(v: unknown, path: Seg[], b: ReadonlyMap<string, string>): unknown {
    if (Array.isArray(v)) return v.map((x, i) => this.value(x, [...path, i], b));
    if (!isObj(v)) return v;
    const keys = Object.keys(v);
    if (keys.length === 1 && b.size > 0) {
      const k = keys[0]!;
      const a = v[k];
      if (k === 'Ref' && typeof a === 'string' && b.has(a)) return b.get(a);
      // An Fn::Sub left with no `${` at all is its string (so `DependsOn: !Sub Db${N}` names a resource).
      if (k === 'Fn::Sub' && typeof a === 'string') {
        const t = this.subst(a, b);
        return t.includes('${') ? { 'Fn::Sub': t } : t;
      }
      if (k === 'Fn::Sub' && Array.isArray(a) && typeof a[0] === 'string') {
        const t = this.subst(a[0], b);
        if (!t.includes('${')) return t;
        return { 'Fn::Sub': [t, ...a.slice(1).map((x, i) => this.value(x, [...path, k, i + 1], b))] };
      }
    }
    return this.object(v, path, b);
  }

  object(o: Record<string, unknown>, path: Seg[], b: ReadonlyMap<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const put = (k: string, v: unknown, at: Seg[]) => {
      if (Object.prototype.hasOwnProperty.call(out, k)) this.err('FOREACH_DUPLICATE', `'${k}' is defined more than once after Fn::ForEach expansion`, at);
      setKey(out, k, v);
    };
    for (const k of Object.keys(o)) {
      if (this.stopped) break;
      if (k.startsWith(FOREACH)) {
        for (const [ek, ev] of this.loop(k, o[k], [...path, k], b)) put(ek, ev, [...path, k]);
      } else put(this.subst(k, b), this.value(o[k], [...path, k], b), [...path, k]);
    }
    return out;
  }

  private loop(key: string, arg: unknown, path: Seg[], b: ReadonlyMap<string, string>): Array<[string, unknown]> {
    if (!Array.isArray(arg) || arg.length !== 3 || !isObj(arg[2])) {
      this.err('FOREACH_ARGUMENT', `${key} takes [Identifier, Collection, {OutputKey: OutputValue}]`, path);
      return [];
    }
    const [id, collection, fragment] = arg as [unknown, unknown, Record<string, unknown>];
    if (typeof id !== 'string' || !/^[A-Za-z0-9]+$/.test(id)) {
      this.err('FOREACH_ARGUMENT', `${key}: the identifier must be an alphanumeric string`, [...path, 0]);
      return [];
    }
    if (b.has(id)) {
      this.err('FOREACH_ARGUMENT', `${key}: identifier '${id}' is already used by an enclosing loop`, [...path, 0]);
      return [];
    }
    const items = this.collection(this.value(collection, [...path, 1], b), [...path, 1], key);
    if (items === 'unknown') return [[key, this.value(arg, path, b)]];
    if (!items) return [];
    const out: Array<[string, unknown]> = [];
    const keys = Object.keys(fragment);
    if (keys.length > 0 && !keys.some((k) => k.includes('${') || k.includes('&{') || k.startsWith(FOREACH)))
      this.err('FOREACH_KEY', `${key}: each output key must use the identifier (\${${id}} or &{${id}}) so that the keys differ`, [...path, 2]);
    for (const item of items) {
      if (this.stopped) break;
      const inner = new Map(b);
      inner.set(id, item);
      for (const e of Object.entries(this.object(fragment, [...path, 2], inner))) {
        out.push(e);
        if (++this.generated > MAX_GENERATED) {
          if (!this.stopped) this.err('FOREACH_TOO_LARGE', `Fn::ForEach expansion produces more than ${MAX_GENERATED} entries`, path);
          this.stopped = true;
          break;
        }
      }
    }
    return out;
  }

  /** The members; 'unknown' when a parameter it needs has no value (the loop then stays as written). */
  private collection(v: unknown, path: Seg[], key: string): string[] | 'unknown' | undefined {
    const ev = new Evaluator({
      parameters: this.params,
      declaredParameters: new Set(isObj(this.template.Parameters) ? Object.keys(this.template.Parameters) : []),
      pseudo: pseudoValues(),
      mappings: this.template.Mappings,
      mask: false,
      noResources: 'Fn::ForEach collections',
    });
    const r = ev.control(v, path);
    if (ev.diagnostics.length) {
      this.diagnostics.push(...ev.diagnostics);
      return undefined;
    }
    if (r !== NO_VALUE && !ev.known(r)) {
      this.diagnostics.push({ severity: 'warning', code: 'FOREACH_UNRESOLVED', message: `${key} is not expanded: its collection needs a parameter value`, segments: path });
      return 'unknown';
    }
    if (r === NO_VALUE || !Array.isArray(r)) {
      this.err('FOREACH_COLLECTION', `${key}: the collection must be a list`, path);
      return undefined;
    }
    const items: string[] = [];
    for (const x of r) {
      if (typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean') items.push(String(x));
      else {
        this.err('FOREACH_COLLECTION', `${key}: collection members must be strings`, path);
        return undefined;
      }
    }
    return items;
  }
}

const ALLOWED_SECTIONS = ['Resources', 'Conditions', 'Outputs'];

/**
 * Applies the transform's template rewrites (Fn::ForEach expansion) when the template lists
 * AWS::LanguageExtensions; any other template is returned unchanged. `params` are the resolved
 * parameter values (resolveParameters), needed when a collection is a Ref to a parameter.
 */
export function expandLanguageExtensions(template: unknown, params: Readonly<Record<string, ResolvedParameter>> = {}): { template: unknown; diagnostics: Diagnostic[] } {
  if (!hasLanguageExtensions(template) || !isObj(template)) return { template, diagnostics: [] };
  const ex = new Expander(template, params);
  const out: Record<string, unknown> = {};
  for (const [section, v] of Object.entries(template)) {
    if (ALLOWED_SECTIONS.includes(section) && isObj(v)) out[section] = ex.object(v, [section], new Map());
    else {
      if (containsForEach(v)) ex.diagnostics.push({ severity: 'error', code: 'FOREACH_PLACEMENT', message: `Fn::ForEach is not allowed in ${section}`, segments: [section] });
      out[section] = v;
    }
  }
  // Transform stays as written: later stages still allow the transform's functions (Fn::Length …).
  return { template: out, diagnostics: ex.diagnostics };
}
