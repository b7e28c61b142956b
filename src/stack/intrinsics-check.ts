// Static checks of intrinsic function calls (reference §3): where each function may appear, the
// shape of its arguments (arity, types, literal ranges), and which functions may be nested in which
// argument. Whether a Ref/GetAtt/Sub target exists is validate.ts's business; the values themselves
// are evaluate.ts's.
//
//   checkIntrinsics(template) -> Diagnostic[]     (segments point at the offending node)
//
// Codes follow cfn-lint's rule ids: E1010 GetAtt, E1011 FindInMap, E1015 GetAZs, E1016 ImportValue,
// E1017 Select, E1018 Split, E1019 Sub, E1020 Ref, E1021 Base64, E1022 Join, E1024 Cidr, E1028 If,
// W1029 (warning) a Sub variable outside Fn::Sub, E1030 Length, E1031 ToJsonString, E1032 ForEach, E1033 GetStackOutput, E8003 Equals, E8004 And,
// E8005 Not, E8006 Or, E8007 Condition, E1001 a function where none is allowed or unknown, E1036 rule functions outside Rules.
// The nesting tables follow cfn-lint's function schemas (src/cfnlint/data/schemas/other/functions),
// which encode the AWS documentation. Pure.
import type { Diagnostic } from '../core/diagnostics.js';
import { INTRINSIC_FUNCTIONS, RULE_FUNCTIONS, intrinsicKey, unclosedSub, unclosedSubMessage } from './intrinsics.js';
import { LANGUAGE_EXTENSIONS } from './langext.js';

type Seg = string | number;
const MAX_DEPTH = 256;
/** What a position expects once evaluated. */
type Want = 'string' | 'integer' | 'list' | 'any' | 'object';

const CODE: Record<string, string> = {
  Ref: 'E1020',
  'Fn::GetAtt': 'E1010',
  'Fn::FindInMap': 'E1011',
  'Fn::GetAZs': 'E1015',
  'Fn::ImportValue': 'E1016',
  'Fn::Select': 'E1017',
  'Fn::Split': 'E1018',
  'Fn::Sub': 'E1019',
  'Fn::Base64': 'E1021',
  'Fn::Join': 'E1022',
  'Fn::Cidr': 'E1024',
  'Fn::If': 'E1028',
  'Fn::Length': 'E1030',
  'Fn::ToJsonString': 'E1031',
  'Fn::GetStackOutput': 'E1033',
  'Fn::Transform': 'E1001',
  'Fn::Equals': 'E8003',
  'Fn::And': 'E8004',
  'Fn::Not': 'E8005',
  'Fn::Or': 'E8006',
  Condition: 'E8007',
};

const CONDITION_FNS = ['Fn::Equals', 'Fn::And', 'Fn::Or', 'Fn::Not', 'Condition'];
const RULE_ONLY: readonly string[] = RULE_FUNCTIONS;
const LE_ONLY = ['Fn::Length', 'Fn::ToJsonString'];
/** Functions usable as a value in Properties, Outputs, Metadata, UpdatePolicy: every template function but the condition ones. */
const VALUE_FNS: readonly string[] = INTRINSIC_FUNCTIONS.filter((f) => !CONDITION_FNS.includes(f));

// Nesting tables (per argument position).
const N = {
  joinList: ['Fn::Cidr', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::If', 'Fn::Split', 'Ref'],
  joinItem: ['Fn::Base64', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetStackOutput', 'Fn::If', 'Fn::ImportValue', 'Fn::Join', 'Fn::Select', 'Fn::Sub', 'Fn::Transform', 'Ref'],
  subVar: [
    'Fn::Base64',
    'Fn::FindInMap',
    'Fn::GetAtt',
    'Fn::GetAZs',
    'Fn::GetStackOutput',
    'Fn::If',
    'Fn::ImportValue',
    'Fn::Join',
    'Fn::Select',
    'Fn::Sub',
    'Fn::ToJsonString',
    'Fn::Transform',
    'Ref',
  ],
  selectIndex: ['Ref', 'Fn::FindInMap'],
  selectIndexLE: ['Ref', 'Fn::FindInMap', 'Fn::Length'],
  selectList: ['Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::If', 'Fn::Split', 'Fn::Cidr', 'Ref'],
  selectItem: ['Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetStackOutput', 'Fn::If', 'Ref'],
  splitSource: ['Fn::Base64', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::GetAZs', 'Fn::If', 'Fn::ImportValue', 'Fn::Join', 'Fn::Select', 'Fn::Sub', 'Ref'],
  findInMapKey: ['Fn::FindInMap', 'Ref'],
  findInMapKeyLE: ['Fn::FindInMap', 'Fn::Join', 'Fn::Sub', 'Fn::If', 'Fn::Select', 'Fn::Length', 'Fn::ToJsonString', 'Ref'],
  getAZs: ['Fn::GetAtt', 'Fn::If', 'Fn::Join', 'Fn::Select', 'Fn::Sub', 'Ref'],
  base64: [
    'Fn::Base64',
    'Fn::Cidr',
    'Fn::FindInMap',
    'Fn::GetAtt',
    'Fn::GetStackOutput',
    'Fn::If',
    'Fn::ImportValue',
    'Fn::Join',
    'Fn::Length',
    'Fn::Select',
    'Fn::Sub',
    'Fn::ToJsonString',
    'Fn::Transform',
    'Ref',
  ],
  cidr: ['Fn::FindInMap', 'Fn::GetAtt', 'Fn::If', 'Fn::ImportValue', 'Fn::Select', 'Fn::Sub', 'Ref'],
  importValue: ['Fn::Base64', 'Fn::FindInMap', 'Fn::If', 'Fn::Join', 'Fn::Select', 'Fn::Sub', 'Ref'],
  equals: ['Ref', 'Fn::FindInMap', 'Fn::Sub', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Length', 'Fn::ToJsonString'],
  getAttLE: ['Ref', 'Fn::Base64', 'Fn::FindInMap', 'Fn::Sub', 'Fn::If', 'Fn::Join', 'Fn::ToJsonString'],
  refLE: ['Ref', 'Fn::Base64', 'Fn::FindInMap', 'Fn::If', 'Fn::Join', 'Fn::Sub', 'Fn::ToJsonString'],
  length: ['Fn::Base64', 'Fn::FindInMap', 'Fn::Join', 'Fn::Length', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::ToJsonString', 'Fn::If', 'Ref', 'Fn::GetAZs', 'Fn::Cidr', 'Fn::GetAtt'],
  none: [] as string[],
};

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const kind = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'a string' : `a ${typeof v}`);

class Checker {
  readonly diags: Diagnostic[] = [];
  constructor(readonly le: boolean) {}

  err(code: string, message: string, segments: Seg[]) {
    this.diags.push({ severity: 'error', code, message, segments });
  }

  /** A section or attribute where no function may appear (Fn::Transform excepted: it is a macro). */
  forbid(v: unknown, path: Seg[], where: string) {
    const stack: Array<[unknown, Seg[]]> = [[v, path]];
    while (stack.length) {
      const [x, p] = stack.pop()!;
      if (Array.isArray(x)) x.forEach((y, i) => stack.push([y, [...p, i]]));
      else if (isObj(x)) {
        const k = intrinsicKey(x);
        if (k === 'Fn::Transform') continue;
        if (k) {
          this.err('E1001', `${k} cannot be used in ${where}`, [...p, k]);
          continue;
        }
        for (const key of Object.keys(x)) stack.push([x[key], [...p, key]]);
      }
    }
  }

  private depth = 0;
  private tooDeep = false;

  /** Runs `f` one level deeper; beyond MAX_DEPTH reports once and stops descending. */
  private deeper(path: Seg[], f: () => void) {
    if (this.depth >= MAX_DEPTH) {
      if (!this.tooDeep) this.err('E1001', `Nesting deeper than ${MAX_DEPTH} levels`, path);
      this.tooDeep = true;
      return;
    }
    this.depth++;
    try {
      f();
    } finally {
      this.depth--;
    }
  }

  /** A value position in Properties / Outputs / Metadata / UpdatePolicy. */
  value(v: unknown, path: Seg[]): void {
    if (typeof v === 'object' && v !== null) this.deeper(path, () => this.valueAt(v, path));
  }

  private valueAt(v: unknown, path: Seg[]) {
    if (Array.isArray(v)) {
      v.forEach((x, i) => this.value(x, [...path, i]));
      return;
    }
    if (!isObj(v)) return;
    const k = intrinsicKey(v);
    if (!k) {
      for (const key of Object.keys(v)) this.value(v[key], [...path, key]);
      return;
    }
    if (CONDITION_FNS.includes(k)) this.err(CODE[k]!, `${k} can only be used in Conditions (use Fn::If to choose a value)`, [...path, k]);
    else if (!this.placementOk(k, path)) return;
    else this.fn(k, v[k], [...path, k], 'any');
  }

  /** Rule-only, LanguageExtensions-only and unknown functions; true when the call may be checked. */
  private placementOk(k: string, path: Seg[]): boolean {
    if (RULE_ONLY.includes(k)) {
      this.err('E1036', `${k} can only be used in Rules`, [...path, k]);
      return false;
    }
    if (LE_ONLY.includes(k) && !this.le) {
      this.err(CODE[k]!, `${k} needs "Transform: ${LANGUAGE_EXTENSIONS}"`, [...path, k]);
      return false;
    }
    if (k.startsWith('Fn::ForEach::')) {
      if (this.le) return false; // left unexpanded for want of a parameter value (already a warning)
      this.err('E1032', `${k} ${this.le ? 'can only be used in Resources, Conditions and Outputs' : `needs "Transform: ${LANGUAGE_EXTENSIONS}"`}`, [...path, k]);
      return false;
    }
    if (!VALUE_FNS.includes(k) && !CONDITION_FNS.includes(k)) {
      this.err('E1001', `Unknown intrinsic function ${k}`, [...path, k]);
      return false;
    }
    return true;
  }

  /** An argument position: `allowed` functions may appear here, otherwise a literal of type `want`. */
  arg(v: unknown, path: Seg[], allowed: readonly string[], want: Want, owner: string): void {
    this.deeper(path, () => this.argAt(v, path, allowed, want, owner));
  }

  private argAt(v: unknown, path: Seg[], allowed: readonly string[], want: Want, owner: string) {
    const k = intrinsicKey(v);
    if (k === 'Fn::Transform') return this.fn(k, (v as Record<string, unknown>)[k], [...path, k], want); // a macro may stand anywhere
    if (k) {
      if (!allowed.includes(k)) {
        this.err(
          CODE[owner] ?? 'E1001',
          `${k} cannot be used inside ${owner} here${allowed.length ? ` (allowed: ${allowed.map((a) => a.replace('Fn::', '')).join(', ')})` : ' (no function is allowed here)'}`,
          [...path, k],
        );
        return;
      }
      if (!this.placementOk(k, path)) return;
      this.fn(k, (v as Record<string, unknown>)[k], [...path, k], want, allowed);
      return;
    }
    const bad = (what: string) => this.err(CODE[owner] ?? 'E1001', `${owner} expects ${what} here, got ${kind(v)}`, path);
    switch (want) {
      case 'string':
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') bad('a string');
        break;
      case 'integer':
        if (!(typeof v === 'number' && Number.isInteger(v)) && !(typeof v === 'string' && /^\d+$/.test(v))) bad('an integer');
        break;
      case 'list':
        if (!Array.isArray(v)) bad('a list');
        break;
      case 'object':
        if (!isObj(v)) bad('an object');
        break;
      case 'any':
        this.value(v, path);
        break;
    }
  }

  private list(v: unknown, path: Seg[], listFns: readonly string[], itemFns: readonly string[], owner: string, itemWant: Want = 'string') {
    if (Array.isArray(v)) v.forEach((x, i) => this.arg(x, [...path, i], itemFns, itemWant, owner));
    else this.arg(v, path, listFns, 'list', owner);
  }

  /** One call; `allowed` is what may stand where the call stands (an Fn::If passes it to its branches). */
  fn(k: string, a: unknown, at: Seg[], want: Want, allowed: readonly string[] = VALUE_FNS) {
    if (k !== 'Fn::Transform' && intrinsicKey(a) === 'Fn::Transform') return; // the macro supplies the arguments
    const code = CODE[k] ?? 'E1001';
    const shape = (msg: string) => this.err(code, `${k} ${msg}, got ${kind(a)}${Array.isArray(a) ? ` of ${a.length}` : ''}`, at);
    const arr = (x: unknown, lo: number, hi = lo): x is unknown[] => Array.isArray(x) && x.length >= lo && x.length <= hi;
    switch (k) {
      case 'Ref':
        if (typeof a === 'string') {
          if (a === '') this.err(code, 'Ref needs a name', at);
        } else if (this.le && isObj(a)) this.arg(a, at, N.refLE, 'string', k);
        else shape('takes the name of a parameter, resource or pseudo parameter');
        return;
      case 'Fn::GetAtt':
        if (typeof a === 'string') {
          if (!/^[A-Za-z0-9]+\..+$/.test(a)) shape('takes "LogicalId.Attribute"');
        } else if (arr(a, 2)) {
          this.arg(a[0], [...at, 0], this.le ? N.getAttLE : N.none, 'string', k);
          this.arg(a[1], [...at, 1], this.le ? N.getAttLE : ['Ref'], 'string', k);
        } else shape('takes [LogicalId, Attribute] or "LogicalId.Attribute"');
        return;
      case 'Fn::Join':
        if (!arr(a, 2)) return shape('takes [delimiter, list]');
        this.arg(a[0], [...at, 0], N.none, 'string', k);
        this.list(a[1], [...at, 1], N.joinList, N.joinItem, k);
        return;
      case 'Fn::Sub': {
        const text = typeof a === 'string' ? a : Array.isArray(a) && typeof a[0] === 'string' ? a[0] : undefined;
        const open = text === undefined ? undefined : unclosedSub(text);
        if (open !== undefined) this.err(code, unclosedSubMessage(text!, open), typeof a === 'string' ? at : [...at, 0]);
        if (typeof a === 'string') return;
        if (!arr(a, 2)) return shape('takes a string or [string, {variables}]');
        this.arg(a[0], [...at, 0], N.none, 'string', k);
        if (!isObj(a[1]) || intrinsicKey(a[1])) return this.err(code, `Fn::Sub variables must be an object of name: value`, [...at, 1]);
        for (const [name, v] of Object.entries(a[1])) this.arg(v, [...at, 1, name], N.subVar, 'string', k);
        return;
      }
      case 'Fn::Select':
        if (!arr(a, 2)) return shape('takes [index, list]');
        this.arg(a[0], [...at, 0], this.le ? N.selectIndexLE : N.selectIndex, 'integer', k);
        if (Array.isArray(a[1])) a[1].forEach((x, i) => this.arg(x, [...at, 1, i], N.selectItem, 'any', k));
        else this.arg(a[1], [...at, 1], N.selectList, 'list', k);
        return;
      case 'Fn::Split':
        if (!arr(a, 2)) return shape('takes [delimiter, string]');
        this.arg(a[0], [...at, 0], N.none, 'string', k);
        this.arg(a[1], [...at, 1], N.splitSource, 'string', k);
        return;
      case 'Fn::FindInMap':
        if (!arr(a, 3, 4)) return shape('takes [MapName, TopLevelKey, SecondLevelKey]');
        for (let i = 0; i < 3; i++) this.arg(a[i], [...at, i], this.le ? N.findInMapKeyLE : N.findInMapKey, 'string', k);
        if (a.length === 4) {
          if (!this.le) this.err(code, `Fn::FindInMap with a DefaultValue needs "Transform: ${LANGUAGE_EXTENSIONS}"`, [...at, 3]);
          else if (!isObj(a[3]) || Object.keys(a[3]).length !== 1 || !('DefaultValue' in a[3])) this.err(code, 'Fn::FindInMap fourth argument must be {"DefaultValue": value}', [...at, 3]);
          else this.value(a[3].DefaultValue, [...at, 3, 'DefaultValue']);
        }
        return;
      case 'Fn::GetAZs':
        this.arg(a, at, N.getAZs, 'string', k);
        if (typeof a === 'string' && a !== '' && !/^[a-z]{2}(?:-[a-z]+)+-\d+$/.test(a)) this.err(code, `Fn::GetAZs takes a region name (like us-east-1) or "", got '${a}'`, at);
        return;
      case 'Fn::Base64':
        this.arg(a, at, N.base64, 'string', k);
        return;
      case 'Fn::Cidr':
        if (!arr(a, 3)) return shape('takes [ipBlock, count, cidrBits]');
        this.arg(a[0], [...at, 0], N.cidr, 'string', k);
        this.arg(a[1], [...at, 1], N.cidr, 'integer', k);
        this.arg(a[2], [...at, 2], N.cidr, 'integer', k);
        if (typeof a[0] === 'string' && !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(a[0])) this.err(code, `Fn::Cidr ipBlock '${a[0]}' is not in CIDR notation`, [...at, 0]);
        if ((typeof a[1] === 'number' || typeof a[1] === 'string') && /^\d+$/.test(String(a[1])) && (Number(a[1]) < 1 || Number(a[1]) > 256))
          this.err(code, `Fn::Cidr count must be between 1 and 256, got ${a[1]}`, [...at, 1]);
        if ((typeof a[2] === 'number' || typeof a[2] === 'string') && /^\d+$/.test(String(a[2])) && Number(a[2]) > 128)
          this.err(code, `Fn::Cidr cidrBits must be at most 128, got ${a[2]}`, [...at, 2]);
        return;
      case 'Fn::ImportValue':
        this.arg(a, at, N.importValue, 'string', k);
        return;
      case 'Fn::GetStackOutput':
        if (!isObj(a) || intrinsicKey(a)) return shape('takes {StackName, OutputName, Region?, RoleArn?}');
        for (const req of ['StackName', 'OutputName']) if (!(req in a)) this.err(code, `Fn::GetStackOutput needs ${req}`, at);
        for (const [key, v] of Object.entries(a)) {
          if (!['StackName', 'OutputName', 'Region', 'RoleArn'].includes(key)) this.err(code, `Fn::GetStackOutput has no property ${key}`, [...at, key]);
          else this.arg(v, [...at, key], ['Ref', 'Fn::Sub', 'Fn::Join', 'Fn::FindInMap', 'Fn::If', 'Fn::Select'], 'string', k);
        }
        return;
      case 'Fn::If':
        if (!arr(a, 3)) return shape('takes [ConditionName, valueIfTrue, valueIfFalse]');
        if (typeof a[0] !== 'string') this.err(code, 'Fn::If first argument must be the name of a condition', [...at, 0]);
        // Each branch stands where the Fn::If stands.
        for (const i of [1, 2]) {
          if (intrinsicKey(a[i]) === 'Ref' && (a[i] as Record<string, unknown>).Ref === 'AWS::NoValue') continue;
          if (want === 'any') this.value(a[i], [...at, i]);
          else this.arg(a[i], [...at, i], allowed, want, k);
        }
        return;
      case 'Fn::Transform':
        if (!(Array.isArray(a) ? a : [a]).every((x) => isObj(x) && typeof x.Name === 'string')) shape('takes {Name, Parameters}');
        return; // arguments go to the macro as written
      case 'Fn::Length':
        if (Array.isArray(a)) a.forEach((x, i) => this.value(x, [...at, i]));
        else this.arg(a, at, N.length, 'list', k);
        return;
      case 'Fn::ToJsonString':
        if (isObj(a) && !intrinsicKey(a)) this.value(a, at);
        else if (Array.isArray(a)) this.value(a, at);
        else shape('takes an object or a list');
        return;
      default:
        return;
    }
  }

  /** A condition expression (Conditions section, Rules, nested condition functions). */
  condition(v: unknown, path: Seg[], rules = false): void {
    this.deeper(path, () => this.conditionAt(v, path, rules));
  }

  private conditionAt(v: unknown, path: Seg[], rules: boolean) {
    const k = intrinsicKey(v, true);
    const okFns = rules ? [...CONDITION_FNS, ...RULE_ONLY] : CONDITION_FNS;
    if (!k || !okFns.includes(k)) {
      this.err(
        rules ? 'E1036' : 'E8001',
        `A ${rules ? 'rule condition or assertion' : 'condition'} must be ${rules ? 'a rule function' : 'Fn::Equals, Fn::And, Fn::Or, Fn::Not or {"Condition": name}'}, got ${k ?? kind(v)}`,
        k ? [...path, k] : path,
      );
      return;
    }
    const a = (v as Record<string, unknown>)[k];
    const at = [...path, k];
    const code = CODE[k] ?? 'E1036';
    const operand = (x: unknown, p: Seg[]) => {
      const kk = intrinsicKey(x);
      if (kk && rules && RULE_ONLY.includes(kk)) return this.condition(x, p, true);
      if (kk && this.le && kk === 'Fn::Length') return this.fn(kk, (x as Record<string, unknown>)[kk], [...p, kk], 'any');
      if (Array.isArray(x) && rules) return x.forEach((y, i) => operand(y, [...p, i]));
      this.arg(x, p, N.equals, 'string', k);
    };
    switch (k) {
      case 'Condition':
        if (typeof a !== 'string') this.err(code, 'Condition takes the name of a condition', at);
        return;
      case 'Fn::Equals':
        if (!Array.isArray(a) || a.length !== 2) return this.err(code, `Fn::Equals takes a list of two values, got ${kind(a)}`, at);
        a.forEach((x, i) => operand(x, [...at, i]));
        return;
      case 'Fn::Not':
        if (!Array.isArray(a) || a.length !== 1) return this.err(code, `Fn::Not takes a list of one condition, got ${kind(a)}${Array.isArray(a) ? ` of ${a.length}` : ''}`, at);
        this.condition(a[0], [...at, 0], rules);
        return;
      case 'Fn::And':
      case 'Fn::Or':
        if (!Array.isArray(a) || a.length < 2 || a.length > 10) return this.err(code, `${k} takes a list of 2 to 10 conditions, got ${kind(a)}${Array.isArray(a) ? ` of ${a.length}` : ''}`, at);
        a.forEach((c, i) => this.condition(c, [...at, i], rules));
        return;
      case 'Fn::Contains':
      case 'Fn::EachMemberEquals':
      case 'Fn::EachMemberIn':
        if (!Array.isArray(a) || a.length !== 2) return this.err(code, `${k} takes a list of two arguments`, at);
        a.forEach((x, i) => operand(x, [...at, i]));
        return;
      case 'Fn::RefAll':
        if (typeof a !== 'string') this.err(code, 'Fn::RefAll takes a parameter type', at);
        return;
      case 'Fn::ValueOf':
        if (!Array.isArray(a) || a.length !== 2 || typeof a[1] !== 'string' || (typeof a[0] !== 'string' && intrinsicKey(a[0]) !== 'Ref'))
          this.err(code, 'Fn::ValueOf takes [ParameterName, Attribute]', at);
        return;
      case 'Fn::ValueOfAll':
        if (!Array.isArray(a) || a.length !== 2 || typeof a[0] !== 'string' || typeof a[1] !== 'string') this.err(code, 'Fn::ValueOfAll takes [ParameterType, Attribute]', at);
        return;
    }
  }
}

const DYNAMIC_REF = /\{\{resolve:([^}]*)\}\}/g;
const MAX_DYNAMIC_REFERENCES = 60;

/**
 * Dynamic references (`{{resolve:ssm:name[:version]}}`, `{{resolve:ssm-secure:…}}`,
 * `{{resolve:secretsmanager:secret-id[:SecretString[:json-key[:stage[:id]]]]}}`): their form, and at
 * most 60 per template (reference §2). Code E1029-like: DYNAMIC_REFERENCE.
 */
function checkDynamicReferences(template: Record<string, unknown>, c: Checker) {
  let count = 0;
  const stack: Array<[unknown, Seg[]]> = [[template, []]];
  while (stack.length) {
    const [v, p] = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.includes('{{resolve:')) continue;
      for (const m of v.matchAll(DYNAMIC_REF)) {
        count++;
        const [service, ...rest] = m[1]!.split(':');
        const body = rest.join(':');
        let problem: string | undefined;
        if (service === 'ssm' || service === 'ssm-secure') {
          if (!/^[a-zA-Z0-9_.\-/]+(?::\d+)?$/.test(body)) problem = `takes a parameter name and an optional version: {{resolve:${service}:name[:version]}}`;
        } else if (service === 'secretsmanager') {
          if (body === '' || body.startsWith(':')) problem = 'needs a secret id: {{resolve:secretsmanager:secret-id[:SecretString[:json-key[:version-stage[:version-id]]]]}}';
        } else problem = `uses an unknown service '${service}' (ssm, ssm-secure or secretsmanager)`;
        if (problem) c.err('DYNAMIC_REFERENCE', `Dynamic reference ${m[0]} ${problem}`, p);
      }
    } else if (Array.isArray(v)) for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], [...p, i]]);
    else if (isObj(v)) for (const k of Object.keys(v).reverse()) stack.push([v[k], [...p, k]]);
  }
  if (count > MAX_DYNAMIC_REFERENCES) c.err('DYNAMIC_REFERENCE', `A template may hold at most ${MAX_DYNAMIC_REFERENCES} dynamic references, found ${count}`, []);
}

/**
 * A plain string that names a template variable the way Fn::Sub would (`"${AMIId}"`,
 * `"arn:${AWS::Partition}:…"`, `"${Res.Arn}"`) is almost certainly a forgotten Fn::Sub: CloudFormation
 * leaves it as written. CloudFormation accepts such a template, so this is a warning (W1029; cfn-lint
 * reports it as E1029). Only names the template defines count, so IAM policy variables such as
 * `${aws:username}` are fine.
 */
function checkSubNeeded(template: Record<string, unknown>, c: Checker) {
  const names = new Set<string>([...Object.keys(isObj(template.Parameters) ? template.Parameters : {}), ...Object.keys(isObj(template.Resources) ? template.Resources : {})]);
  const isVar = (v: string) => {
    if (v.startsWith('AWS::')) return /^AWS::(AccountId|NotificationARNs|NoValue|Partition|Region|StackId|StackName|URLSuffix)$/.test(v);
    const dot = v.indexOf('.');
    return names.has(dot < 0 ? v : v.slice(0, dot));
  };
  const stack: Array<[unknown, Seg[]]> = [];
  for (const section of ['Resources', 'Outputs']) {
    const sec = template[section];
    if (!isObj(sec)) continue;
    for (const [id, r] of Object.entries(sec)) {
      if (!isObj(r)) continue;
      for (const attr of section === 'Resources' ? ['Properties', 'Metadata'] : ['Value', 'Export']) if (r[attr] !== undefined) stack.push([r[attr], [section, id, attr]]);
    }
  }
  while (stack.length) {
    const [v, p] = stack.pop()!;
    if (typeof v === 'string') {
      if (!v.includes('${')) continue;
      for (const m of v.matchAll(/\$\{([^!}][^}]*)\}/g)) {
        if (!isVar(m[1]!)) continue;
        c.diags.push({ severity: 'warning', code: 'W1029', message: `'${m[0]}' looks like a Fn::Sub variable but the string is not in an Fn::Sub, so it stays as written`, segments: p });
        break;
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => stack.push([x, [...p, i]]));
    else if (isObj(v)) {
      const k = intrinsicKey(v);
      if (k === 'Fn::Sub') {
        const a = v[k];
        if (Array.isArray(a) && isObj(a[1])) for (const [n, x] of Object.entries(a[1])) stack.push([x, [...p, k, 1, n]]);
        continue;
      }
      if (k === 'Fn::Transform') continue;
      for (const key of Object.keys(v)) stack.push([v[key], [...p, key]]);
    }
  }
}

/**
 * Checks every intrinsic function call of a template (after LanguageExtensions expansion, if any:
 * a remaining `Fn::ForEach::` is reported as misplaced). Never throws.
 */
export function checkIntrinsics(template: unknown): Diagnostic[] {
  if (!isObj(template)) return [];
  const tr = template.Transform;
  const le = tr === LANGUAGE_EXTENSIONS || (Array.isArray(tr) && tr.includes(LANGUAGE_EXTENSIONS));
  const c = new Checker(le);
  for (const [section, v] of Object.entries(template)) {
    switch (section) {
      case 'AWSTemplateFormatVersion':
      case 'Description':
      case 'Parameters':
      case 'Mappings':
        c.forbid(v, [section], section);
        break;
      case 'Conditions':
        if (isObj(v)) for (const [name, cond] of Object.entries(v)) c.condition(cond, ['Conditions', name]);
        break;
      case 'Rules':
        if (isObj(v))
          for (const [name, rule] of Object.entries(v)) {
            if (!isObj(rule)) continue;
            if (rule.RuleCondition !== undefined) c.condition(rule.RuleCondition, ['Rules', name, 'RuleCondition'], true);
            if (Array.isArray(rule.Assertions))
              rule.Assertions.forEach((a, i) => {
                if (isObj(a) && a.Assert !== undefined) c.condition(a.Assert, ['Rules', name, 'Assertions', i, 'Assert'], true);
              });
          }
        break;
      case 'Resources':
        if (isObj(v))
          for (const [id, r] of Object.entries(v)) {
            const base: Seg[] = ['Resources', id];
            if (id.startsWith('Fn::ForEach::')) {
              if (!le) c.err('E1032', `${id} needs "Transform: ${LANGUAGE_EXTENSIONS}"`, base);
              continue; // with the transform: left unexpanded for want of a parameter value
            }
            if (!isObj(r)) continue;
            for (const [attr, x] of Object.entries(r)) {
              const p = [...base, attr];
              if (attr === 'Properties' || attr === 'Metadata' || attr === 'UpdatePolicy' || attr === 'CreationPolicy') c.value(x, p);
              // CloudFormation resolves Ref / FindInMap / If in the policies (cfn-lint accepts them too).
              else if (attr === 'DeletionPolicy' || attr === 'UpdateReplacePolicy') c.value(x, p);
              else c.forbid(x, p, attr);
            }
          }
        break;
      case 'Outputs':
        if (isObj(v))
          for (const [name, o] of Object.entries(v)) {
            if (!isObj(o)) continue;
            for (const [attr, x] of Object.entries(o)) {
              const p = ['Outputs', name, attr];
              if (attr === 'Value') c.value(x, p);
              else if (attr === 'Export' && isObj(x)) for (const [ek, ev] of Object.entries(x)) c.value(ev, [...p, ek]);
              else c.forbid(x, p, `an output's ${attr}`);
            }
          }
        break;
      default:
        break; // Hooks and unknown sections are validate.ts's business
    }
  }
  checkDynamicReferences(template, c);
  checkSubNeeded(template, c);
  return c.diags;
}
