// The HCL2 expression language evaluated in kiln: references, operators, conditionals, `for`
// expressions, splats, string templates (interpolation, %{if}/%{for}, strip markers) and function
// calls, with HCL's error wording and the range of the expression at fault. Pure.
import type { Expr, Range, TemplatePart } from './ast.js';
import { convert, ConvertError, equal, isObj, isUnknown, kindOf, numberToString, Unknown, type Value } from './values.js';

/** An evaluation error: HCL's summary and detail, and where. */
export class EvalError extends Error {
  constructor(
    readonly summary: string,
    readonly detail: string,
    readonly range: Range,
  ) {
    super(detail ? `${summary}; ${detail}` : summary);
    this.name = 'EvalError';
  }
}

export type HclFunction = {
  /** Parameter names, for arity messages; `variadic` takes the rest. */
  params: string[];
  variadic?: string;
  /** True when the function handles unknown arguments itself (`try`, `can`, `coalesce`...). */
  allowUnknown?: boolean;
  /** Gets raw expressions instead of values (`try`, `can`). */
  lazy?: boolean;
  fn: (args: Value[], ctx: CallContext) => Value;
};

export interface CallContext {
  range: Range;
  /** For lazy functions: evaluates an argument expression. */
  evalArg?: (i: number) => Value;
}

export interface Scope {
  /** Root names: `var`, `local`, `path`, `packer`, `source`, `build`, `data`, iterators... */
  names: Record<string, Value>;
  functions: Record<string, HclFunction>;
  /** A message for a root name that is known but not available here (e.g. `build` outside provisioners). */
  unavailable?: Record<string, string>;
}

export function child(scope: Scope, extra: Record<string, Value>): Scope {
  return { ...scope, names: { ...scope.names, ...extra } };
}

const fail = (summary: string, detail: string, r: Range): never => {
  throw new EvalError(summary, detail, r);
};

export function evaluate(e: Expr, scope: Scope, anon?: Value): Value {
  switch (e.k) {
    case 'lit':
      return e.v;
    case 'paren':
      return evaluate(e.e, scope, anon);
    case 'let':
      return evaluate(e.e, child(scope, e.bind as Record<string, Value>), anon);
    case 'anon':
      return anon === undefined ? null : anon;
    case 'tmpl':
      return template(e.parts, scope, e.r, anon);
    case 'var': {
      if (Object.prototype.hasOwnProperty.call(scope.names, e.name)) return scope.names[e.name]!;
      const why = scope.unavailable?.[e.name];
      if (why) return fail('Unsupported reference', why, e.r);
      return fail('Unknown variable', `There is no variable named "${e.name}".`, e.r);
    }
    case 'attr': {
      const obj = evaluate(e.obj, scope, anon);
      return getAttr(obj, e.name, e.r, e.obj);
    }
    case 'index': {
      const obj = evaluate(e.obj, scope, anon);
      const key = evaluate(e.key, scope, anon);
      return index(obj, key, e.r);
    }
    case 'splat': {
      const obj = evaluate(e.obj, scope, anon);
      if (isUnknown(obj)) return obj;
      if (obj === null) return [];
      const list = Array.isArray(obj) ? obj : [obj];
      return list.map((x) => evaluate(e.each, scope, x));
    }
    case 'tuple':
      return e.items.map((x) => evaluate(x, scope, anon));
    case 'object': {
      const out: Record<string, Value> = {};
      for (const it of e.items) {
        let key: Value;
        if (it.key.k === 'var') key = it.key.name;
        else key = evaluate(it.key, scope, anon);
        if (isUnknown(key)) return new Unknown('an object key');
        if (key === null) fail('Invalid object key', 'Key must not be null.', it.key.r);
        let ks: string;
        try {
          ks = convert(key, { k: 'string' }) as string;
        } catch {
          return fail('Incorrect key type', "Can't use this value as a key: string required.", it.key.r);
        }
        out[ks] = evaluate(it.value, scope, anon);
      }
      return out;
    }
    case 'cond': {
      const c = evaluate(e.c, scope, anon);
      if (isUnknown(c)) return c;
      if (c === null) return fail('Null condition', 'The condition value is null. Conditions must either be true or false.', e.c.r);
      let b: boolean;
      try {
        b = convert(c, { k: 'bool' }) as boolean;
      } catch {
        return fail('Incorrect condition type', 'The condition expression must be of type bool.', e.c.r);
      }
      return b ? evaluate(e.t, scope, anon) : evaluate(e.f, scope, anon);
    }
    case 'un': {
      const a = evaluate(e.a, scope, anon);
      if (isUnknown(a)) return a;
      if (e.op === '!') return !operand(a, 'bool', e.a.r, 'Invalid operand', 'Unsuitable value for unary operand');
      return -operand(a, 'number', e.a.r, 'Invalid operand', 'Unsuitable value for unary operand');
    }
    case 'bin':
      return binary(e.op, e, scope, anon);
    case 'for':
      return forExpr(e, scope, anon);
    case 'call':
      return call(e, scope, anon);
  }
}

function operand(v: Value, t: 'bool', r: Range, summary: string, detail: string): boolean;
function operand(v: Value, t: 'number', r: Range, summary: string, detail: string): number;
function operand(v: Value, t: 'bool' | 'number', r: Range, summary: string, detail: string): boolean | number {
  if (v === null) return fail(summary, `${detail}: argument must not be null.`, r);
  try {
    return convert(v, { k: t }) as boolean | number;
  } catch {
    return fail(summary, `${detail}: ${t === 'bool' ? 'bool' : 'number'} required.`, r);
  }
}

function binary(op: string, e: Extract<Expr, { k: 'bin' }>, scope: Scope, anon: Value | undefined): Value {
  if (op === '&&' || op === '||') {
    const a = evaluate(e.a, scope, anon);
    const b = evaluate(e.b, scope, anon);
    if (isUnknown(a) || isUnknown(b)) return new Unknown('a logical operation');
    const x = operand(a, 'bool', e.a.r, 'Invalid operand', 'Unsuitable value for left operand');
    const y = operand(b, 'bool', e.b.r, 'Invalid operand', 'Unsuitable value for right operand');
    return op === '&&' ? x && y : x || y;
  }
  const a = evaluate(e.a, scope, anon);
  const b = evaluate(e.b, scope, anon);
  if (isUnknown(a) || isUnknown(b)) return new Unknown('an operation');
  if (op === '==') return equal(a, b);
  if (op === '!=') return !equal(a, b);
  const x = operand(a, 'number', e.a.r, 'Invalid operand', 'Unsuitable value for left operand');
  const y = operand(b, 'number', e.b.r, 'Invalid operand', 'Unsuitable value for right operand');
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      if (y === 0) return fail('Operation failed', "Error during operation: can't divide by zero.", e.r);
      return x / y;
    case '%':
      if (y === 0) return fail('Operation failed', "Error during operation: can't use modulo by zero.", e.r);
      return x % y;
    case '<':
      return x < y;
    case '>':
      return x > y;
    case '<=':
      return x <= y;
    case '>=':
      return x >= y;
  }
  return fail('Invalid operator', `unknown operator ${op}`, e.r);
}

function getAttr(obj: Value, name: string, r: Range, objExpr: Expr): Value {
  if (isUnknown(obj)) return obj;
  if (obj === null) return fail('Attempt to get attribute from null value', 'This value is null, so it does not have any attributes.', r);
  if (isObj(obj)) {
    if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name]!;
    const what = objExpr.k === 'var' && objExpr.name === 'var' ? 'input variable' : objExpr.k === 'var' && objExpr.name === 'local' ? 'local value' : undefined;
    if (what) return fail(`Unsupported attribute`, `This object does not have an attribute named "${name}".`, r);
    return fail('Unsupported attribute', `This object does not have an attribute named "${name}".`, r);
  }
  if (Array.isArray(obj)) return fail('Unsupported attribute', `This value does not have any attributes.`, r);
  return fail('Unsupported attribute', "Can't access attributes on a primitive-typed value (" + kindOf(obj) + ').', r);
}

export function index(obj: Value, key: Value, r: Range): Value {
  if (isUnknown(obj) || isUnknown(key)) return new Unknown('an index');
  if (obj === null) return fail('Attempt to index null value', 'This value is null, so it does not have any indices.', r);
  if (key === null) return fail('Invalid index', "Can't use a null value as an indexing key.", r);
  if (Array.isArray(obj)) {
    let n: number;
    try {
      n = convert(key, { k: 'number' }) as number;
    } catch {
      return fail('Invalid index', 'The given key does not identify an element in this collection value: a number is required.', r);
    }
    if (!Number.isInteger(n) || n < 0 || n >= obj.length) return fail('Invalid index', 'The given key does not identify an element in this collection value.', r);
    return obj[n]!;
  }
  if (isObj(obj)) {
    let k: string;
    try {
      k = convert(key, { k: 'string' }) as string;
    } catch {
      return fail('Invalid index', 'The given key does not identify an element in this collection value: string required.', r);
    }
    if (!Object.prototype.hasOwnProperty.call(obj, k)) return fail('Invalid index', 'The given key does not identify an element in this collection value.', r);
    return obj[k]!;
  }
  return fail('Invalid index', 'This value does not have any indices.', r);
}

/** A value inside a string template (strings as they are, numbers and bools converted). */
function templateString(v: Value, r: Range): string {
  if (v === null) return fail('Invalid template interpolation value', 'The expression result is null. Cannot include a null value in a string template.', r);
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return numberToString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return fail('Invalid template interpolation value', `Cannot include the given value in a string template: string required.`, r);
}

function template(parts: TemplatePart[], scope: Scope, r: Range, anon: Value | undefined): Value {
  // "${x}" alone: the value of x, not converted to a string.
  if (parts.length === 1 && parts[0]!.k === 'interp') return evaluate(parts[0]!.e, scope, anon);
  const out = renderParts(parts, scope, anon);
  return out;
  void r;
}

function renderParts(parts: TemplatePart[], scope: Scope, anon: Value | undefined): Value {
  let s = '';
  let unknown: Unknown | undefined;
  for (const p of parts) {
    switch (p.k) {
      case 'str':
        s += p.v;
        break;
      case 'interp': {
        const v = evaluate(p.e, scope, anon);
        if (isUnknown(v)) unknown = v;
        else s += templateString(v, p.e.r);
        break;
      }
      case 'if': {
        const c = evaluate(p.cond, scope, anon);
        if (isUnknown(c)) {
          unknown = c;
          break;
        }
        const b = operand(c, 'bool', p.cond.r, 'Invalid template directive', 'The condition must be a bool');
        const v = renderParts(b ? p.then : p.else, scope, anon);
        if (isUnknown(v)) unknown = v;
        else s += v as string;
        break;
      }
      case 'for': {
        const coll = evaluate(p.coll, scope, anon);
        if (isUnknown(coll)) {
          unknown = coll;
          break;
        }
        for (const [k, v] of entries(coll, p.coll.r)) {
          const inner = child(scope, { [p.valVar]: v, ...(p.keyVar !== undefined ? { [p.keyVar]: k } : {}) });
          const x = renderParts(p.body, inner, anon);
          if (isUnknown(x)) unknown = x;
          else s += x as string;
        }
        break;
      }
    }
  }
  return unknown ?? s;
}

/** Key/value pairs of a collection, maps in lexical key order (as cty iterates them). */
function entries(coll: Value, r: Range): Array<[Value, Value]> {
  if (Array.isArray(coll)) return coll.map((v, i) => [i, v]);
  if (isObj(coll))
    return Object.keys(coll)
      .sort()
      .map((k) => [k, coll[k]!]);
  if (coll === null) return fail('Iteration over null value', "A null value cannot be used as the collection in a 'for' expression.", r);
  return fail('Iteration over non-iterable value', `A value of type ${kindOf(coll)} cannot be used as the collection in a 'for' expression.`, r);
}

function forExpr(e: Extract<Expr, { k: 'for' }>, scope: Scope, anon: Value | undefined): Value {
  const coll = evaluate(e.coll, scope, anon);
  if (isUnknown(coll)) return coll;
  const pairs = entries(coll, e.coll.r);
  const tupleOut: Value[] = [];
  const objOut: Record<string, Value> = {};
  const groups: Record<string, Value[]> = {};
  for (const [k, v] of pairs) {
    const inner = child(scope, { [e.valVar]: v, ...(e.keyVar !== undefined ? { [e.keyVar]: k } : {}) });
    if (e.cond) {
      const c = evaluate(e.cond, inner, anon);
      if (isUnknown(c)) return c;
      if (!operand(c, 'bool', e.cond.r, "Invalid 'for' condition", "The 'if' clause value is invalid")) continue;
    }
    if (e.keyExpr) {
      const kv = evaluate(e.keyExpr, inner, anon);
      if (isUnknown(kv)) return kv;
      let ks: string;
      try {
        ks = convert(kv, { k: 'string' }) as string;
      } catch {
        return fail('Invalid object key', 'The key expression produced an invalid result: string required.', e.keyExpr.r);
      }
      const val = evaluate(e.valExpr, inner, anon);
      if (e.group) (groups[ks] ??= []).push(val);
      else {
        if (Object.prototype.hasOwnProperty.call(objOut, ks))
          fail(
            'Duplicate object key',
            `Two different items produced the key ${JSON.stringify(ks)} in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key.`,
            e.keyExpr.r,
          );
        objOut[ks] = val;
      }
    } else tupleOut.push(evaluate(e.valExpr, inner, anon));
  }
  if (e.keyExpr) return e.group ? groups : objOut;
  return tupleOut;
}

function call(e: Extract<Expr, { k: 'call' }>, scope: Scope, anon: Value | undefined): Value {
  const f = scope.functions[e.name];
  if (!f) {
    const why = scope.unavailable?.[`${e.name}()`];
    if (why) return fail('Function not available', why, e.nameR);
    return fail('Call to unknown function', `There is no function named "${e.name}".`, e.nameR);
  }
  if (f.lazy) {
    return f.fn([], { range: e.r, evalArg: (i) => evaluate(e.args[i]!, scope, anon) });
  }
  let args = e.args.map((a) => evaluate(a, scope, anon));
  if (e.expand) {
    const last = args[args.length - 1];
    if (!Array.isArray(last)) return fail('Invalid expanding argument value', 'The expanding argument (indicated by ...) must be of a tuple, list, or set type.', e.args[e.args.length - 1]!.r);
    args = [...args.slice(0, -1), ...last];
  }
  const n = f.params.length;
  if (args.length < n)
    return fail('Not enough function arguments', `Function "${e.name}" expects ${f.variadic ? 'at least ' : ''}${n} argument(s). Missing value for "${f.params[args.length]}".`, e.r);
  if (args.length > n && !f.variadic) return fail('Too many function arguments', `Function "${e.name}" expects only ${n} argument(s).`, e.args[n]?.r ?? e.r);
  if (!f.allowUnknown && args.some(isUnknown)) return args.find(isUnknown)!;
  try {
    return f.fn(args, { range: e.r });
  } catch (err) {
    if (err instanceof EvalError) throw err;
    const msg = err instanceof Error ? err.message : String(err);
    const argAt = err instanceof ArgError ? (e.args[Math.min(err.index, e.args.length - 1)]?.r ?? e.r) : e.r;
    if (err instanceof ArgError) return fail('Invalid function argument', `Invalid value for "${err.param}" parameter: ${msg}.`, argAt);
    return fail('Error in function call', `Call to function "${e.name}" failed: ${msg}.`, e.r);
  }
}

/** A function's complaint about one argument (HCL: `Invalid value for "str" parameter: …`). */
export class ArgError extends Error {
  constructor(
    readonly index: number,
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

export { ConvertError };
