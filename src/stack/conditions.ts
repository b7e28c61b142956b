// The Conditions section: each named condition evaluated once, on demand, with cycle detection
// (reference §1, §3: Fn::Equals, Fn::And, Fn::Or, Fn::Not, {"Condition": name}).
//
// The table does not know how to evaluate operands (Refs, FindInMap, …); the evaluator hands it an
// `operand` function, so the same table serves render, deploy and Rules. Pure.
import type { Diagnostic } from '../core/diagnostics.js';
import type { Json } from './model.js';
import { intrinsicKey } from './intrinsics.js';

type Seg = string | number;

/** Operand evaluation: a plain value, or `undefined` when it is not known (a diagnostic was given). */
type OperandFn = (node: unknown, path: Seg[]) => Json | undefined;

/** `Fn::Equals` compares the resolved values as strings (`"1"` equals `1`, `"true"` equals `true`). */
export function conditionEquals(a: Json, b: Json): boolean {
  const norm = (v: Json): string => {
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return JSON.stringify(v.map((x) => norm(x)));
    return JSON.stringify(v);
  };
  return norm(a) === norm(b);
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class ConditionTable {
  private readonly values = new Map<string, boolean | undefined>();
  private readonly visiting: string[] = [];
  private readonly defs: Record<string, unknown>;
  private readonly report: (d: Diagnostic) => void;

  constructor(
    conditions: unknown,
    private readonly operand: OperandFn,
    report: (d: Diagnostic) => void,
  ) {
    // Paths may be reused by the caller after the call: keep a copy.
    this.report = (d) => report(d.segments ? { ...d, segments: [...d.segments] } : d);
    this.defs = isObj(conditions) ? conditions : {};
  }

  has(name: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.defs, name);
  }

  names(): string[] {
    return Object.keys(this.defs);
  }

  /** The value of a named condition; `undefined` when it is unknown or broken (diagnosed). */
  value(name: string, from: Seg[]): boolean | undefined {
    if (this.values.has(name)) return this.values.get(name);
    if (!this.has(name)) {
      this.report({ severity: 'error', code: 'CONDITION_UNKNOWN', message: `Condition '${name}' is not defined in Conditions`, segments: from });
      return undefined;
    }
    const at = this.visiting.indexOf(name);
    if (at >= 0) {
      const cycle = [...this.visiting.slice(at), name].join(' -> ');
      this.report({ severity: 'error', code: 'CONDITION_CYCLE', message: `Circular dependency between conditions: ${cycle}`, segments: ['Conditions', name] });
      return undefined;
    }
    this.visiting.push(name);
    let v: boolean | undefined;
    try {
      v = this.evaluate(this.defs[name], ['Conditions', name]);
    } finally {
      this.visiting.pop();
    }
    this.values.set(name, v);
    return v;
  }

  /** Every condition's value (broken ones count as false). */
  all(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const n of this.names()) out[n] = this.value(n, ['Conditions', n]) ?? false;
    return out;
  }

  /** A condition expression: Fn::Equals / And / Or / Not, or {"Condition": name}. */
  evaluate(node: unknown, path: Seg[]): boolean | undefined {
    const key = intrinsicKey(node, true);
    const bad = (message: string, segs: Seg[] = path): undefined => {
      this.report({ severity: 'error', code: 'CONDITION_INVALID', message, segments: segs });
      return undefined;
    };
    if (!key) {
      if (typeof node === 'boolean') return node;
      if (node === 'true' || node === 'false') return node === 'true';
      return bad('A condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or {"Condition": name}');
    }
    const arg = (node as Record<string, unknown>)[key];
    const at = [...path, key];
    switch (key) {
      case 'Condition':
        if (typeof arg !== 'string') return bad('Condition takes the name of a condition', at);
        return this.value(arg, at);
      case 'Fn::Equals': {
        if (!Array.isArray(arg) || arg.length !== 2) return bad('Fn::Equals takes a list of two values', at);
        const a = this.operand(arg[0], [...at, 0]);
        const b = this.operand(arg[1], [...at, 1]);
        if (a === undefined || b === undefined) return undefined;
        return conditionEquals(a, b);
      }
      case 'Fn::Not': {
        if (!Array.isArray(arg) || arg.length !== 1) return bad('Fn::Not takes a list of one condition', at);
        const v = this.evaluate(arg[0], [...at, 0]);
        return v === undefined ? undefined : !v;
      }
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) return bad(`${key} takes a list of 2 to 10 conditions`, at);
        // Every member is evaluated (so each broken one is reported), then combined.
        const vs = arg.map((c, i) => this.evaluate(c, [...at, i]));
        if (vs.some((v) => v === undefined)) return undefined;
        return key === 'Fn::And' ? vs.every(Boolean) : vs.some(Boolean);
      }
      default:
        return bad(`${key} cannot be used as a condition`, at);
    }
  }
}
