// The evaluator of intrinsic functions (reference §2–§4, §6): the engine under evaluateTemplate
// (evaluate.ts), the LanguageExtensions transform (langext.ts) and the deploy-time resolution
// (runtime.ts). See evaluate.ts for what is computed and what stays for deploy time.
//
// Pure: no I/O, no clock.
import type { Diagnostic } from '../core/diagnostics.js';
import { MIN_DERIVED } from '../core/mask.js';
import type { Json, JsonObject, PseudoValues } from './model.js';
import type { ConditionTable } from './conditions.js';
import {
  IntrinsicError,
  base64,
  cidr,
  formatSub,
  getAZs,
  intrinsicKey,
  parseSub,
  pseudoRef,
  setKey,
  splitGetAttString,
  splitString,
  unclosedSub,
  unclosedSubMessage,
  type SubPart,
} from './intrinsics.js';
import { MASK, type ParamValue, type ResolvedParameter } from './params.js';
import { collectReferences } from './refs.js';

export type Seg = string | number;

/** The marker for `Ref: AWS::NoValue`: the enclosing property or list element disappears. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');
export type Val = Json | typeof NO_VALUE;

export interface ResolvedResource {
  Type: string;
  /** Evaluated; may still hold deploy-time intrinsics (see the file comment). */
  Properties: JsonObject;
  /** Always a list (a single string in the template becomes a one-element list). */
  DependsOn: string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  CreationPolicy?: JsonObject;
  UpdatePolicy?: JsonObject;
  Metadata?: JsonObject;
}

export interface ResolvedOutput {
  Value: Json;
  Description?: string;
  Export?: { Name: Json };
}

/** What the executor consumes: the template as it would be deployed, plus the values used. */
export interface ResolvedTemplate {
  AWSTemplateFormatVersion?: string;
  Description?: string;
  Metadata?: JsonObject;
  /** Transforms other than AWS::LanguageExtensions (which has been applied). */
  Transform?: string[];
  /** Only resources whose condition is true, in template order. */
  Resources: Record<string, ResolvedResource>;
  /** Only outputs whose condition is true. */
  Outputs: Record<string, ResolvedOutput>;
  /** Every parameter that has a value, with what `Ref` yields and whether it is NoEcho. */
  parameters: Record<string, ResolvedParameter>;
  pseudo: PseudoValues;
  /** The value of every named condition. */
  conditions: Record<string, boolean>;
  /** Mappings as declared (for deploy-time Fn::FindInMap, should any remain). */
  mappings: JsonObject;
  /** True when NoEcho values were replaced by `****` (maskNoEcho). */
  masked: boolean;
  /** Strings computed from NoEcho values (Fn::Base64, Fn::Split pieces, Fn::Sub, Fn::Join…), each with
   * the parameter it came from: secret like the values themselves (empty when masked). */
  derivedSecrets?: DerivedSecret[];
}

/** A string an intrinsic built from a NoEcho value, and the parameter it was built from. */
interface DerivedSecret {
  parameter: string;
  value: string;
}

export interface EvaluateOptions {
  /** Values as given (`--param K=V`): a string, or a list for list types. */
  parameters?: Readonly<Record<string, string | readonly string[]>>;
  pseudo?: Partial<PseudoValues>;
  /** Replace NoEcho values by `****` in the result (for printing). Default false. */
  maskNoEcho?: boolean;
  /** Every parameter needs a value or a Default (default true). */
  requireAllParameters?: boolean;
  /**
   * What a target resolved SSM-typed parameters (`AWS::SSM::Parameter::Value<…>`) to: the Parameter
   * Store's value, which `Ref` yields in place of the name that was given.
   */
  resolvedParameters?: Readonly<Record<string, ParamValue>>;
}

export interface EvaluateResult {
  template: ResolvedTemplate;
  diagnostics: Diagnostic[];
}

/** How deploy-time references are answered (runtime.ts); absent at render time. */
export interface RuntimeHooks {
  ref(logicalId: string): Json;
  getAtt(logicalId: string, attribute: string): Json;
  importValue?(exportName: string): Json;
  /** Another stack's output (Fn::GetStackOutput). */
  getStackOutput?(query: { StackName: string; OutputName: string; Region?: string }): Json;
}

export interface Scope {
  parameters: Readonly<Record<string, ResolvedParameter>>;
  /** Parameters declared in the template (a Ref to one without a value is not "unknown"). */
  declaredParameters?: ReadonlySet<string>;
  pseudo: PseudoValues;
  mappings: unknown;
  conditions?: ConditionTable;
  /** Declared resources → their Condition name (if any); undefined = any name may be a resource (runtime). */
  declared?: ReadonlyMap<string, string | undefined>;
  /** Resources that exist (condition true). */
  present?: ReadonlySet<string>;
  mask: boolean;
  /** Secret strings already in the value (deploy time: NoEcho values substituted) → their parameter. */
  secretStrings?: ReadonlyMap<string, string>;
  /** Set where resources may not be referenced (Conditions, Rules, Export names): the context's name. */
  noResources?: string;
  hooks?: RuntimeHooks;
}

const MAX_DEPTH = 512;

/** The intrinsics that transform their arguments into new strings: their results from a NoEcho value
 * are secret. (Ref, Fn::If and Fn::Select pass a value through: it is secret when it was already.
 * Fn::Join and Fn::Sub keep each secret they were given verbatim, where it is masked as a part —
 * "pw=****" — while a Fn::Base64 around them still counts them as read from a secret.) */
const BUILDERS = new Set(['Fn::Split', 'Fn::Base64', 'Fn::ToJsonString']);
/** What Fn::Join and Fn::Sub build from a secret shorter than MIN_DERIVED is secret too: such a
 * secret is masked only as a whole value, never as a part of a longer text (see model.ts). */
const JOINERS = new Set(['Fn::Join', 'Fn::Sub']);

/**
 * The longest string one intrinsic may build (Fn::Join, Fn::Sub, Fn::Base64, Fn::ToJsonString), and
 * what all of them may build together in one evaluation: nested functions can expand a small
 * template to gigabytes, which must be an error at the function that blew it, not a crash.
 */
const MAX_BUILT_STRING = 1 << 20;
const MAX_BUILT_TOTAL = 64 << 20;

export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Walks a value, computing every intrinsic whose inputs are known. Unknown (deploy-time) results
 * are remembered in `pending`, so callers can tell "a literal object" from "not known yet".
 */
export class Evaluator {
  readonly diagnostics: Diagnostic[] = [];
  private readonly pending = new WeakSet<object>();
  private depth = 0;
  private reveal = 0;
  /** Characters built by intrinsics so far, and whether the budget was reported as spent. */
  private built = 0;
  private spent = false;
  /** NoEcho parameters read as values (not as keys, indexes or conditions), in order of reading:
   * an intrinsic during which this grew built its result from a secret. */
  private readonly secretReads: Array<{ name: string; short: boolean }> = [];
  /** Strings intrinsics built from NoEcho values → the parameter each came from. */
  readonly derived = new Map<string, string>();

  constructor(private readonly scope: Scope) {}

  /** True when the value holds nothing left for deploy time. */
  known(v: Val): boolean {
    if (v === NO_VALUE || v === null || typeof v !== 'object') return true;
    if (this.pending.has(v)) return false;
    if (Array.isArray(v)) return v.every((x) => this.known(x));
    for (const k in v) if (!this.known(v[k]!)) return false;
    return true;
  }

  isPending(v: Val): boolean {
    return typeof v === 'object' && v !== null && this.pending.has(v);
  }

  private unresolved<T extends object>(o: T): T {
    this.pending.add(o);
    return o;
  }

  private fail(path: Seg[], code: string, message: string, node: unknown): Val {
    this.diagnostics.push({ severity: 'error', code, message, segments: [...path] });
    return this.unresolved(isObj(node) ? (node as JsonObject) : { 'Fn::Invalid': node as Json });
  }

  /**
   * Accounts for a string of `length` characters that `fn` is about to build; a failure value when
   * it is over the budget (see MAX_BUILT_STRING), undefined when it may be built.
   */
  private budget(length: number, fn: string, path: Seg[], node: unknown): Val | undefined {
    if (length > MAX_BUILT_STRING)
      return this.fail(path, 'INTRINSIC_TOO_LARGE', `${fn} would build a string of ${length.toLocaleString('en')} characters; the limit is ${MAX_BUILT_STRING.toLocaleString('en')}`, node);
    this.built += length;
    if (this.built <= MAX_BUILT_TOTAL) return undefined;
    if (this.spent) return this.unresolved(isObj(node) ? (node as JsonObject) : { 'Fn::Invalid': node as Json });
    this.spent = true;
    return this.fail(path, 'INTRINSIC_TOO_LARGE', `the strings built by intrinsics add up to more than ${MAX_BUILT_TOTAL.toLocaleString('en')} characters here`, node);
  }

  /** Evaluates with NoEcho values unmasked (for control arguments: keys, indexes, conditions). */
  control(node: unknown, path: Seg[]): Val {
    this.reveal++;
    try {
      return this.value(node, path);
    } finally {
      this.reveal--;
    }
  }

  value(node: unknown, path: Seg[]): Val {
    if (node === null || typeof node !== 'object') {
      if (node === undefined) return null;
      if (typeof node === 'string' && this.scope.secretStrings && this.reveal === 0) this.readsSecret(node);
      if (typeof node === 'number' && !Number.isFinite(node)) return String(node);
      return node as Json;
    }
    if (this.depth >= MAX_DEPTH) return this.fail(path, 'NESTING_TOO_DEEP', `Nesting deeper than ${MAX_DEPTH} levels`, null);
    this.depth++;
    try {
      // Plain lists and objects are the bulk of a template: their children share one path array,
      // pushed and popped around each child (diagnostics copy the path they keep).
      if (Array.isArray(node)) {
        const out: Json[] = [];
        for (let i = 0; i < node.length; i++) {
          path.push(i);
          const v = this.value(node[i], path);
          path.pop();
          if (v !== NO_VALUE) out.push(v);
        }
        return out;
      }
      const key = intrinsicKey(node);
      if (key) return this.call(key, (node as Record<string, unknown>)[key], node as Record<string, unknown>, path);
      const out: JsonObject = {};
      for (const k of Object.keys(node)) {
        path.push(k);
        const v = this.value((node as Record<string, unknown>)[k], path);
        path.pop();
        if (v !== NO_VALUE) setKey(out, k, v);
      }
      return out;
    } finally {
      this.depth--;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // References

  private param(name: string): Json | undefined {
    const p = this.scope.parameters[name];
    if (!p) return undefined;
    if (p.noEcho && this.scope.mask && this.reveal === 0) return Array.isArray(p.value) ? p.value.map(() => MASK) : MASK;
    if (p.noEcho && this.reveal === 0) this.secretReads.push({ name, short: (Array.isArray(p.value) ? [...p.value, p.value.join(',')] : [p.value]).some((v) => v.length < MIN_DERIVED) });
    return Array.isArray(p.value) ? [...p.value] : p.value;
  }

  /** Checks a reference to a resource; returns an error message or undefined when it is fine. */
  private resourceProblem(id: string, what: string): { code: string; message: string } | undefined {
    if (this.scope.noResources) return { code: 'RESOURCE_IN_' + this.scope.noResources.toUpperCase().replace(/\W+/g, '_'), message: `${this.scope.noResources} cannot refer to resources (${what})` };
    const declared = this.scope.declared;
    if (!declared) return undefined;
    if (!declared.has(id)) return { code: 'REF_UNKNOWN', message: `${what}: no parameter, resource or pseudo parameter named '${id}'` };
    if (this.scope.present && !this.scope.present.has(id)) {
      const c = declared.get(id);
      return {
        code: 'REF_CONDITION_FALSE',
        message: `${what}: resource '${id}' is not created because its Condition${c ? ` '${c}'` : ''} is false (guard the reference with Fn::If on the same condition)`,
      };
    }
    return undefined;
  }

  private callHook(path: Seg[], node: unknown, fn: () => Json): Val {
    try {
      const v = fn();
      return v === undefined ? this.fail(path, 'RUNTIME_VALUE', 'no value', node) : v;
    } catch (e) {
      return this.fail(path, 'RUNTIME_RESOLVE', e instanceof Error ? e.message : String(e), node);
    }
  }

  private refResource(id: string, path: Seg[], node: unknown): Val {
    const p = this.resourceProblem(id, `Ref ${id}`);
    if (p) return this.fail(path, p.code, p.message, node);
    const hooks = this.scope.hooks;
    if (hooks) return this.callHook(path, node, () => hooks.ref(id));
    return this.unresolved({ Ref: id });
  }

  private getAttResource(id: string, attr: string, path: Seg[], node: unknown): Val {
    const p = this.resourceProblem(id, `Fn::GetAtt ${id}.${attr}`);
    if (p) return this.fail(path, p.code === 'REF_UNKNOWN' ? 'GETATT_UNKNOWN' : p.code, p.message.replace('no parameter, resource or pseudo parameter named', 'no resource named'), node);
    const hooks = this.scope.hooks;
    if (hooks) return this.callHook(path, node, () => hooks.getAtt(id, attr));
    return this.unresolved({ 'Fn::GetAtt': [id, attr] });
  }

  private nameValue(name: string, path: Seg[], node: unknown): Val {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const pv = pseudoRef(name, this.scope.pseudo);
    if (pv !== undefined) return pv;
    const p = this.param(name);
    if (p !== undefined) return p;
    if (this.scope.declaredParameters?.has(name)) return this.unresolved({ Ref: name }); // no value: already diagnosed
    if (name.startsWith('AWS::')) return this.fail(path, 'REF_UNKNOWN', `Ref ${name}: unknown pseudo parameter`, node);
    return this.refResource(name, path, node);
  }

  // ---------------------------------------------------------------------------------------------
  // Functions

  private call(key: string, arg: unknown, node: Record<string, unknown>, path: Seg[]): Val {
    const mark = this.secretReads.length;
    const out = this.compute(key, arg, node, path);
    // Taint: whatever an intrinsic built from a NoEcho value is secret too (every string in it: the
    // pieces of a Fn::Split, a Fn::Base64, a Fn::Sub…). Keys and indexes (control) do not taint.
    if (this.secretReads.length > mark && (BUILDERS.has(key) || (JOINERS.has(key) && this.secretReads.slice(mark).some((r) => r.short)))) {
      const from = { ...this.secretReads[mark]!, short: this.secretReads.slice(mark).some((r) => r.short) };
      this.secretReads.length = mark;
      // The outer intrinsic still sees that it read one, and whether a short one (a short piece of a
      // Fn::Split of a long secret is one).
      if (this.taint(out, from.name)) from.short = true;
      this.secretReads.push(from);
    }
    return out;
  }

  /** A literal string holding a secret value counts as reading that secret. */
  private readsSecret(s: string): void {
    for (const [v, name] of this.scope.secretStrings!)
      if (v.length < MIN_DERIVED ? s === v : s.includes(v)) {
        this.secretReads.push({ name, short: v.length < MIN_DERIVED });
        return;
      }
  }

  /** Records every string in `v` as derived from `from`; true when one is shorter than MIN_DERIVED. */
  private taint(v: Val, from: string): boolean {
    let short = false;
    if (typeof v === 'string') {
      if (v !== '' && v !== MASK && !this.derived.has(v)) this.derived.set(v, from);
      short = v !== '' && v.length < MIN_DERIVED;
    } else if (Array.isArray(v)) for (const x of v) short = this.taint(x, from) || short;
    else if (v && typeof v === 'object' && !this.isPending(v)) for (const x of Object.values(v)) short = this.taint(x as Val, from) || short;
    return short;
  }

  private compute(key: string, arg: unknown, node: Record<string, unknown>, path: Seg[]): Val {
    const at = [...path, key];
    // A macro (Fn::Transform) as an argument: nothing here can be computed before it runs.
    if (key !== 'Fn::Transform' && holdsTransform(arg)) return this.unresolved(node as JsonObject);
    const fail = (code: string, message: string) => this.fail(at, code, message, node);
    switch (key) {
      case 'Ref': {
        let name = arg;
        if (typeof name !== 'string') {
          const v = this.control(arg, at);
          if (typeof v !== 'string') return fail('REF_ARGUMENT', 'Ref takes the name of a parameter, resource or pseudo parameter');
          name = v;
        }
        return this.nameValue(name as string, at, node);
      }

      case 'Fn::GetAtt': {
        let id: unknown;
        let attr: unknown;
        if (typeof arg === 'string') [id, attr] = splitGetAttString(arg);
        else if (Array.isArray(arg) && arg.length === 2) {
          id = arg[0];
          attr = typeof arg[1] === 'string' ? arg[1] : this.control(arg[1], [...at, 1]);
        }
        if (typeof id !== 'string' || typeof attr !== 'string' || id === '' || attr === '') return fail('GETATT_ARGUMENT', 'Fn::GetAtt takes [logicalId, attribute] or "logicalId.attribute"');
        return this.getAttResource(id, attr, at, node);
      }

      case 'Fn::Join': {
        if (!Array.isArray(arg) || arg.length !== 2) return fail('JOIN_ARGUMENT', 'Fn::Join takes [delimiter, list]');
        const delim = this.value(arg[0], [...at, 0]);
        if (typeof delim !== 'string') return fail('JOIN_ARGUMENT', 'Fn::Join delimiter must be a string');
        const list = this.value(arg[1], [...at, 1]);
        if (Array.isArray(list)) {
          if (list.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) {
            const strings = list.map(String);
            const size = strings.reduce((n, x) => n + x.length, 0) + delim.length * Math.max(0, strings.length - 1);
            return this.budget(size, 'Fn::Join', at, node) ?? strings.join(delim);
          }
          if (list.some((x) => x === null || (typeof x === 'object' && !this.isPending(x)))) return fail('JOIN_ARGUMENT', 'Fn::Join list members must be strings');
          return this.unresolved({ 'Fn::Join': [delim, list] });
        }
        if (this.isPending(list)) return this.unresolved({ 'Fn::Join': [delim, list as Json] });
        return fail('JOIN_ARGUMENT', 'Fn::Join second argument must be a list');
      }

      case 'Fn::Sub':
        return this.sub(arg, node, at);

      case 'Fn::Select': {
        if (!Array.isArray(arg) || arg.length !== 2) return fail('SELECT_ARGUMENT', 'Fn::Select takes [index, list]');
        const idxV = this.control(arg[0], [...at, 0]);
        const list = this.value(arg[1], [...at, 1]);
        if (this.isPending(idxV)) return this.unresolved({ 'Fn::Select': [idxV as Json, list === NO_VALUE ? [] : list] });
        const idx = typeof idxV === 'number' ? idxV : typeof idxV === 'string' && /^\s*\d+\s*$/.test(idxV) ? Number(idxV) : NaN;
        if (!Number.isInteger(idx) || idx < 0) return fail('SELECT_ARGUMENT', `Fn::Select index must be a non-negative integer, got ${JSON.stringify(idxV)}`);
        if (Array.isArray(list)) {
          if (idx >= list.length) return fail('SELECT_OUT_OF_RANGE', `Fn::Select index ${idx} is out of range for a list of ${list.length}`);
          const el = list[idx]!;
          if (el === null) return fail('SELECT_NULL', `Fn::Select element ${idx} is null`);
          // Another member known only at deploy time is still resolved then (and may fail there).
          if (list.some((x, i) => i !== idx && !this.known(x))) return this.unresolved({ 'Fn::Select': [idx, list] });
          return el;
        }
        if (this.isPending(list)) return this.unresolved({ 'Fn::Select': [idx, list as Json] });
        return fail('SELECT_ARGUMENT', 'Fn::Select second argument must be a list');
      }

      case 'Fn::Split': {
        if (!Array.isArray(arg) || arg.length !== 2) return fail('SPLIT_ARGUMENT', 'Fn::Split takes [delimiter, string]');
        const delim = this.value(arg[0], [...at, 0]);
        if (typeof delim !== 'string') return fail('SPLIT_ARGUMENT', 'Fn::Split delimiter must be a string');
        const s = this.value(arg[1], [...at, 1]);
        if (typeof s === 'string') return splitString(delim, s);
        if (this.isPending(s)) return this.unresolved({ 'Fn::Split': [delim, s as Json] });
        return fail('SPLIT_ARGUMENT', 'Fn::Split second argument must be a string');
      }

      case 'Fn::Base64': {
        const s = this.value(arg, at);
        if (typeof s === 'string' || typeof s === 'number' || typeof s === 'boolean') {
          const text = String(s);
          return this.budget(Math.ceil(Buffer.byteLength(text, 'utf8') / 3) * 4, 'Fn::Base64', at, node) ?? base64(text);
        }
        if (this.isPending(s)) return this.unresolved({ 'Fn::Base64': s as Json });
        return fail('BASE64_ARGUMENT', 'Fn::Base64 takes a string');
      }

      case 'Fn::Cidr': {
        if (!Array.isArray(arg) || arg.length !== 3) return fail('CIDR_ARGUMENT', 'Fn::Cidr takes [ipBlock, count, cidrBits]');
        const args = arg.map((x, i) => this.control(x, [...at, i]));
        if (args.some((x) => x === NO_VALUE)) return fail('CIDR_ARGUMENT', 'Fn::Cidr arguments cannot be AWS::NoValue');
        if (args.some((x) => this.isPending(x))) return this.unresolved({ 'Fn::Cidr': args as Json[] });
        try {
          return cidr(args[0] as Json, args[1] as Json, args[2] as Json);
        } catch (e) {
          if (e instanceof IntrinsicError) return fail(e.code, e.message);
          throw e;
        }
      }

      case 'Fn::GetAZs': {
        const r = this.control(arg, at);
        if (r === '' || r === null) return getAZs(this.scope.pseudo.region);
        if (typeof r === 'string') return getAZs(r);
        if (this.isPending(r)) return this.unresolved({ 'Fn::GetAZs': r as Json });
        return fail('GETAZS_ARGUMENT', 'Fn::GetAZs takes a region name or ""');
      }

      case 'Fn::FindInMap':
        return this.findInMap(arg, node, at);

      case 'Fn::If': {
        if (!Array.isArray(arg) || arg.length !== 3 || typeof arg[0] !== 'string') return fail('IF_ARGUMENT', 'Fn::If takes [conditionName, valueIfTrue, valueIfFalse]');
        if (!this.scope.conditions) return fail('IF_ARGUMENT', 'Fn::If cannot be resolved here (no Conditions)');
        const c = this.scope.conditions.value(arg[0], [...at, 0]);
        return c ? this.value(arg[1], [...at, 1]) : this.value(arg[2], [...at, 2]);
      }

      case 'Fn::Equals':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Fn::Not': {
        if (!this.scope.conditions) return fail('CONDITION_INVALID', `${key} cannot be resolved here`);
        return this.scope.conditions.evaluate(node, path) ?? false;
      }

      case 'Fn::ImportValue': {
        const name = this.control(arg, at);
        if (typeof name === 'string' && this.scope.hooks?.importValue) {
          const h = this.scope.hooks;
          return this.callHook(at, node, () => h.importValue!(name));
        }
        if (this.isPending(name) && this.refersToResource(name as Json)) return fail('IMPORTVALUE_RESOURCE', 'Fn::ImportValue: the export name cannot depend on a resource');
        if (typeof name === 'string' || this.isPending(name)) return this.unresolved({ 'Fn::ImportValue': name as Json });
        return fail('IMPORTVALUE_ARGUMENT', 'Fn::ImportValue takes an export name');
      }

      case 'Fn::GetStackOutput': {
        const v = this.control(arg, at);
        if (!isObj(v) || this.isPending(v)) return fail('GETSTACKOUTPUT_ARGUMENT', 'Fn::GetStackOutput takes {StackName, OutputName, Region?, RoleArn?}');
        const h = this.scope.hooks?.getStackOutput;
        if (h && this.known(v) && typeof v.StackName === 'string' && typeof v.OutputName === 'string') {
          const q = { StackName: v.StackName, OutputName: v.OutputName, ...(typeof v.Region === 'string' ? { Region: v.Region } : {}) };
          return this.callHook(at, node, () => h(q));
        }
        return this.unresolved({ 'Fn::GetStackOutput': v });
      }

      case 'Fn::Transform':
        // Macros receive their arguments as written; there is no local macro runtime.
        return this.unresolved({ 'Fn::Transform': arg as Json });

      case 'Fn::Length': {
        const v = this.value(arg, at);
        if (Array.isArray(v) && this.known(v)) return v.length;
        if (Array.isArray(v) || this.isPending(v)) return this.unresolved({ 'Fn::Length': v as Json });
        return fail('LENGTH_ARGUMENT', 'Fn::Length takes a list');
      }

      case 'Fn::ToJsonString': {
        const v = this.value(arg, at);
        if (v === NO_VALUE || (v !== null && typeof v !== 'object') || v === null) return fail('TOJSONSTRING_ARGUMENT', 'Fn::ToJsonString takes an object or a list');
        if (this.known(v)) {
          let text: string;
          try {
            text = JSON.stringify(v);
          } catch {
            return this.budget(Infinity, 'Fn::ToJsonString', at, node)!;
          }
          return this.budget(text.length, 'Fn::ToJsonString', at, node) ?? text;
        }
        return this.unresolved({ 'Fn::ToJsonString': v });
      }

      case 'Fn::Contains':
      case 'Fn::EachMemberEquals':
      case 'Fn::EachMemberIn':
      case 'Fn::RefAll':
      case 'Fn::ValueOf':
      case 'Fn::ValueOfAll':
        return fail('RULE_FUNCTION_OUTSIDE_RULES', `${key} may only be used in the Rules section`);

      default:
        if (key.startsWith('Fn::ForEach::')) return fail('FOREACH_WITHOUT_TRANSFORM', `${key} needs "Transform: AWS::LanguageExtensions" and may only be used in Resources, Conditions and Outputs`);
        return fail('FN_UNKNOWN', `Unknown intrinsic function ${key}`);
    }
  }

  private sub(arg: unknown, node: Record<string, unknown>, at: Seg[]): Val {
    let text: unknown;
    let vars: Record<string, unknown> = {};
    if (typeof arg === 'string') text = arg;
    else if (Array.isArray(arg) && (arg.length === 1 || arg.length === 2)) {
      text = arg[0];
      if (arg.length === 2) {
        if (!isObj(arg[1])) return this.fail(at, 'SUB_ARGUMENT', 'Fn::Sub variables must be an object', node);
        vars = arg[1];
      }
    }
    if (typeof text !== 'string') return this.fail(at, 'SUB_ARGUMENT', 'Fn::Sub takes a string or [string, {variables}]', node);
    const open = unclosedSub(text);
    if (open !== undefined) return this.fail(Array.isArray(arg) ? [...at, 0] : at, 'SUB_UNCLOSED', unclosedSubMessage(text, open), node);
    if (this.scope.secretStrings && this.reveal === 0) this.readsSecret(text);
    const values = new Map<string, Val>();
    for (const [k, v] of Object.entries(vars)) values.set(k, this.value(v, [...at, 1, k]));
    const parts: SubPart[] = [];
    const kept: JsonObject = {};
    let unknown = false;
    let size = 0;
    const lit = (s: string) => {
      size += s.length;
      if (size > MAX_BUILT_STRING) return;
      const last = parts[parts.length - 1];
      if (last && 'lit' in last) last.lit += s;
      else parts.push({ lit: s });
    };
    const keep = (name: string) => {
      unknown = true;
      parts.push({ name });
    };
    const textPath = Array.isArray(arg) ? [...at, 0] : at;
    for (const p of parseSub(text)) {
      if ('lit' in p) {
        lit(p.lit);
        continue;
      }
      const name = p.name;
      let v: Val;
      if (values.has(name)) {
        v = values.get(name)!;
        if (v === NO_VALUE) return this.fail([...at, 1, name], 'SUB_ARGUMENT', `Fn::Sub variable '${name}' cannot be AWS::NoValue`, node);
        if (this.isPending(v)) {
          kept[name] = v;
          keep(name);
          continue;
        }
      } else if (name.includes('.') && !name.startsWith('AWS::')) {
        const [id, attr] = splitGetAttString(name) as [string, string];
        v = this.getAttResource(id, attr, textPath, node);
        if (this.isPending(v)) {
          keep(name);
          continue;
        }
      } else {
        v = this.nameValue(name, textPath, node);
        if (v === NO_VALUE) return this.fail(textPath, 'SUB_ARGUMENT', `Fn::Sub cannot use \${AWS::NoValue}`, node);
        if (this.isPending(v)) {
          keep(name);
          continue;
        }
      }
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') lit(String(v));
      else if (Array.isArray(v)) return this.fail(textPath, 'SUB_LIST', `Fn::Sub variable \${${name}} is a list; use Fn::Join or Fn::Select`, node);
      else keep(name);
    }
    // A variable the string does not use is still evaluated at deploy time (as when everything is
    // known at once), so one that is not known yet stays in the map.
    for (const [k, v] of values) if (!(k in kept) && v !== NO_VALUE && !this.known(v)) kept[k] = v;
    const over = this.budget(size, 'Fn::Sub', at, node);
    if (over !== undefined) return over;
    if (!unknown && Object.keys(kept).length === 0) return parts.map((p) => ('lit' in p ? p.lit : '')).join('');
    return this.unresolved({ 'Fn::Sub': [formatSub(parts), kept] });
  }

  private findInMap(arg: unknown, node: Record<string, unknown>, at: Seg[]): Val {
    const fail = (code: string, message: string) => this.fail(at, code, message, node);
    if (!Array.isArray(arg) || arg.length < 3 || arg.length > 4) return fail('FINDINMAP_ARGUMENT', 'Fn::FindInMap takes [MapName, TopLevelKey, SecondLevelKey]');
    const keys: string[] = [];
    for (let i = 0; i < 3; i++) {
      const k = this.control(arg[i], [...at, i]);
      if (typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean') keys.push(String(k));
      else if (this.isPending(k)) {
        // A parameter without a value (validate): not known, already diagnosed where it matters.
        if (!this.refersToResource(k)) return this.unresolved(node as JsonObject);
        return fail('FINDINMAP_ARGUMENT', 'Fn::FindInMap keys cannot depend on resources');
      } else return fail('FINDINMAP_ARGUMENT', `Fn::FindInMap key ${i + 1} must be a string`);
    }
    let dflt: { v: unknown } | undefined;
    if (arg.length === 4) {
      if (!isObj(arg[3]) || !('DefaultValue' in arg[3])) return fail('FINDINMAP_ARGUMENT', 'Fn::FindInMap fourth argument must be {"DefaultValue": value}');
      dflt = { v: arg[3].DefaultValue };
    }
    const [m, k1, k2] = keys as [string, string, string];
    const maps = this.scope.mappings;
    const map = isObj(maps) ? maps[m] : undefined;
    const top = isObj(map) ? map[k1] : undefined;
    const val = isObj(top) && Object.prototype.hasOwnProperty.call(top, k2) ? top[k2] : undefined;
    if (val !== undefined) return structuredClone(val) as Json;
    if (dflt) return this.value(dflt.v, [...at, 3, 'DefaultValue']);
    if (!isObj(map)) return fail('FINDINMAP_MISSING', `Fn::FindInMap: no mapping named '${m}'`);
    if (!isObj(top)) return fail('FINDINMAP_MISSING', `Fn::FindInMap: mapping '${m}' has no key '${this.showKey(arg[1], k1)}'`);
    return fail('FINDINMAP_MISSING', `Fn::FindInMap: mapping '${m}' has no key '${this.showKey(arg[1], k1)}.${this.showKey(arg[2], k2)}'`);
  }

  /** True when a pending value names a resource (rather than a parameter without a value). */
  private refersToResource(v: Val): boolean {
    const declared = this.scope.declared;
    const params = this.scope.declaredParameters;
    return collectReferences(v).some(
      (r) => (r.kind === 'Ref' || r.kind === 'GetAtt' || r.kind === 'Sub') && !params?.has(r.target) && !r.target.startsWith('AWS::') && (!declared || declared.has(r.target)),
    );
  }

  /** A key for a message: masked when it came from a NoEcho parameter. */
  private showKey(node: unknown, key: string): string {
    if (!this.scope.mask) return key;
    for (const p of Object.values(this.scope.parameters)) if (p.noEcho && (p.value === key || (Array.isArray(p.value) && p.value.includes(key)))) return MASK;
    void node;
    return key;
  }
}

/** True when a function argument is, or directly holds, an Fn::Transform call. */
function holdsTransform(arg: unknown): boolean {
  const is = (v: unknown) => isObj(v) && intrinsicKey(v) === 'Fn::Transform';
  if (is(arg)) return true;
  if (Array.isArray(arg)) return arg.some(is);
  return false;
}
