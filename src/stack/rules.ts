// The Rules section (reference §1, §3 rule functions): each rule's RuleCondition, then its
// Assertions, evaluated against the parameter values before render or deploy. A failing
// assertion is an error diagnostic carrying the AssertDescription.
//
//   evaluateRules(template, operand) -> Diagnostic[]
//
// `operand(node, path)` evaluates a plain operand (Ref to a parameter, a pseudo parameter,
// FindInMap, Join, …) and returns undefined when it is not known (a parameter without a value
// under `kiln validate`). evaluate.ts supplies it.
//
// Functions that ask AWS about the account (Fn::RefAll, Fn::ValueOf, Fn::ValueOfAll) cannot be
// answered locally: an assertion that needs them is reported as a warning (RULE_NOT_CHECKED),
// never as a failure. Pure.
import type { Diagnostic } from '../core/diagnostics.js';
import type { Json } from './model.js';
import { conditionEquals } from './conditions.js';
import { intrinsicKey } from './intrinsics.js';

type Seg = string | number;
type RuleOperand = (node: unknown, path: Seg[]) => Json | undefined;

/** Thrown inside one rule when a value cannot be known locally. */
class Unknowable {
  constructor(readonly why: string) {}
}
class Unknown {}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const ACCOUNT_FUNCTIONS = new Set(['Fn::RefAll', 'Fn::ValueOf', 'Fn::ValueOfAll']);

export function evaluateRules(template: unknown, operand: RuleOperand): Diagnostic[] {
  const diags: Diagnostic[] = [];
  if (!isObj(template) || template.Rules === undefined) return diags;
  const rules = template.Rules;
  if (!isObj(rules)) {
    diags.push({ severity: 'error', code: 'RULES_INVALID', message: 'Rules must be an object', segments: ['Rules'] });
    return diags;
  }
  const err = (code: string, message: string, segments: Seg[]) => diags.push({ severity: 'error', code, message, segments });

  const value = (node: unknown, path: Seg[]): Json => {
    const key = intrinsicKey(node);
    if (key && ACCOUNT_FUNCTIONS.has(key)) throw new Unknowable(`${key} needs the AWS account`);
    const v = operand(node, path);
    if (v === undefined) throw new Unknown();
    return v;
  };
  const list = (node: unknown, path: Seg[]): Json[] => {
    const v = value(node, path);
    if (Array.isArray(v)) return v;
    if (typeof v === 'string') return v.split(',').map((s) => s.trim());
    throw new Unknown();
  };
  const bool = (node: unknown, path: Seg[]): boolean => {
    const key = intrinsicKey(node);
    if (!key) {
      if (typeof node === 'boolean') return node;
      if (node === 'true' || node === 'false') return node === 'true';
      err('RULE_INVALID', 'A rule condition or assertion must be a rule function (Fn::Equals, Fn::And, Fn::Contains, …)', path);
      throw new Unknown();
    }
    const arg = (node as Record<string, unknown>)[key];
    const at = [...path, key];
    const args = (n: number | [number, number]): unknown[] => {
      const [lo, hi] = typeof n === 'number' ? [n, n] : n;
      if (!Array.isArray(arg) || arg.length < lo || arg.length > hi) {
        err('RULE_INVALID', `${key} takes a list of ${lo === hi ? lo : `${lo} to ${hi}`} arguments`, at);
        throw new Unknown();
      }
      return arg;
    };
    switch (key) {
      case 'Fn::Equals': {
        const [a, b] = args(2);
        return conditionEquals(value(a, [...at, 0]), value(b, [...at, 1]));
      }
      case 'Fn::Not':
        return !bool(args(1)[0], [...at, 0]);
      case 'Fn::And':
      case 'Fn::Or': {
        const vs = args([2, 10]).map((c, i) => bool(c, [...at, i]));
        return key === 'Fn::And' ? vs.every(Boolean) : vs.some(Boolean);
      }
      case 'Fn::Contains': {
        const [l, v] = args(2);
        const x = value(v, [...at, 1]);
        return list(l, [...at, 0]).some((m) => conditionEquals(m, x));
      }
      case 'Fn::EachMemberEquals': {
        const [l, v] = args(2);
        const x = value(v, [...at, 1]);
        return list(l, [...at, 0]).every((m) => conditionEquals(m, x));
      }
      case 'Fn::EachMemberIn': {
        const [a, b] = args(2);
        const allowed = list(b, [...at, 1]);
        return list(a, [...at, 0]).every((m) => allowed.some((x) => conditionEquals(m, x)));
      }
      default:
        if (ACCOUNT_FUNCTIONS.has(key)) throw new Unknowable(`${key} needs the AWS account`);
        err('RULE_INVALID', `${key} cannot be used as a rule condition or assertion`, at);
        throw new Unknown();
    }
  };
  /** true / false, or undefined when not decidable locally (a warning was given if it never will be). */
  const decide = (node: unknown, path: Seg[]): boolean | undefined => {
    try {
      return bool(node, path);
    } catch (e) {
      if (e instanceof Unknowable) {
        diags.push({ severity: 'warning', code: 'RULE_NOT_CHECKED', message: `Not checked locally: ${e.why}`, segments: path });
        return undefined;
      }
      if (e instanceof Unknown) return undefined;
      throw e;
    }
  };

  for (const [name, rule] of Object.entries(rules)) {
    const base: Seg[] = ['Rules', name];
    if (!isObj(rule)) {
      err('RULES_INVALID', `Rule '${name}' must be an object`, base);
      continue;
    }
    for (const k of Object.keys(rule)) if (k !== 'RuleCondition' && k !== 'Assertions') err('RULES_INVALID', `Rule '${name}' has unknown property '${k}'`, [...base, k]);
    if (!Array.isArray(rule.Assertions)) {
      err('RULES_INVALID', `Rule '${name}' needs a list of Assertions`, [...base, 'Assertions']);
      continue;
    }
    if (rule.RuleCondition !== undefined) {
      const c = decide(rule.RuleCondition, [...base, 'RuleCondition']);
      if (c !== true) continue;
    }
    rule.Assertions.forEach((a, i) => {
      const at: Seg[] = [...base, 'Assertions', i];
      if (!isObj(a) || a.Assert === undefined) {
        err('RULES_INVALID', `Rule '${name}': each assertion needs an Assert`, at);
        return;
      }
      if (a.AssertDescription !== undefined && typeof a.AssertDescription !== 'string') err('RULES_INVALID', `Rule '${name}': AssertDescription must be a string`, [...at, 'AssertDescription']);
      const ok = decide(a.Assert, [...at, 'Assert']);
      if (ok === false) {
        const why = typeof a.AssertDescription === 'string' && a.AssertDescription ? a.AssertDescription : `assertion ${i + 1} is false`;
        err('RULE_ASSERTION_FAILED', `Rule '${name}' failed: ${why}`, at);
      }
    });
  }
  return diags;
}
