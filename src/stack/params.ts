// Parameters: their definitions checked, the values given for them (`--param K=V`) checked against
// those definitions, and both resolved to the values `Ref` yields (reference §2).
//
// Public API:
//   PARAMETER_TYPES, isParameterType(type)            every legal `Type`
//   checkParameterDefinitions(template)  -> Diagnostic[]   (segments under `Parameters.<Name>`)
//   checkParameterValue(name, def, raw)  -> string[]       failure messages for one value
//   resolveParameters(template, given, { requireAll })
//        -> { values: Record<name, ResolvedParameter>, diagnostics }
//   secretValues(values) -> string[]       the NoEcho values, for masking by callers
//   MASK = '****'
//
// Every message masks NoEcho values as `****`. Pure: no I/O.
import type { Diagnostic } from '../core/diagnostics.js';
import type { Json } from './model.js';
import { setKey } from './intrinsics.js';
import { PATTERN_BUDGET_MS, compilePattern, matchPattern } from './pattern.js';

export const MASK = '****';

/** What `Ref` to a parameter yields: a string, or a list of strings for list types. */
export type ParamValue = string | string[];

export interface ResolvedParameter {
  type: string;
  value: ParamValue;
  noEcho: boolean;
  /** True when the value came from the template's `Default`, not from the caller. */
  fromDefault: boolean;
}

// ---------------------------------------------------------------------------------------------
// Types

/** AWS-specific parameter types and the shape a value must have (AWS checks existence; we can't). */
const AWS_SPECIFIC: Record<string, { re: RegExp; what: string }> = {
  'AWS::EC2::AvailabilityZone::Name': { re: /^[a-z]{2}(?:-[a-z]+)+-\d+(?:-[a-z]+-\d+)?[a-z]$/, what: 'an availability zone name like us-east-1a' },
  'AWS::EC2::Image::Id': { re: /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, what: 'an AMI id: ami- and 8 or 17 hex digits' },
  'AWS::EC2::Instance::Id': { re: /^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, what: 'an instance id: i- and 8 or 17 hex digits' },
  'AWS::EC2::KeyPair::KeyName': { re: /^[\x20-\x7e]{1,255}$/, what: 'a key pair name of 1 to 255 ASCII characters' },
  'AWS::EC2::SecurityGroup::GroupName': { re: /^[\x20-\x7e]{1,255}$/, what: 'a security group name of 1 to 255 ASCII characters' },
  'AWS::EC2::SecurityGroup::Id': { re: /^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, what: 'a security group id: sg- and 8 or 17 hex digits' },
  'AWS::EC2::Subnet::Id': { re: /^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, what: 'a subnet id: subnet- and 8 or 17 hex digits' },
  'AWS::EC2::Volume::Id': { re: /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, what: 'a volume id: vol- and 8 or 17 hex digits' },
  'AWS::EC2::VPC::Id': { re: /^vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})$/, what: 'a VPC id: vpc- and 8 or 17 hex digits' },
  'AWS::Route53::HostedZone::Id': { re: /^(?:\/hostedzone\/)?[A-Z0-9]{1,32}$/, what: 'a hosted zone id like Z1R8UBAEXAMPLE' },
};
const SSM_NAME = /^[a-zA-Z0-9_.\-/]{1,2048}$/;
const SSM_PREFIX = 'AWS::SSM::Parameter::Value<';

export const PARAMETER_TYPES: readonly string[] = (() => {
  // List<String> is not in the parameter-type table of the user guide, but CloudFormation and
  // cfn-lint accept it and read it like a CommaDelimitedList.
  const base = ['String', 'Number', 'List<Number>', 'List<String>', 'CommaDelimitedList'];
  const aws = Object.keys(AWS_SPECIFIC);
  const lists = aws.map((t) => `List<${t}>`);
  const ssmInner = ['String', 'List<String>', 'CommaDelimitedList', ...aws, ...lists];
  return [...base, ...aws, ...lists, 'AWS::SSM::Parameter::Name', ...ssmInner.map((t) => `${SSM_PREFIX}${t}>`)];
})();
const TYPE_SET = new Set(PARAMETER_TYPES);

export function isParameterType(type: unknown): type is string {
  return typeof type === 'string' && TYPE_SET.has(type);
}

/** How a type's values are read: one string or a list, and what each member must look like. */
interface TypeInfo {
  list: boolean;
  member: 'string' | 'number' | 'ssm-name' | keyof typeof AWS_SPECIFIC;
  /** SSM `Value<…>` types: the given value names a Parameter Store entry (not resolvable locally). */
  ssm: boolean;
}

function typeInfo(type: string): TypeInfo {
  if (type.startsWith(SSM_PREFIX)) return { list: false, member: 'ssm-name', ssm: true };
  if (type === 'AWS::SSM::Parameter::Name') return { list: false, member: 'ssm-name', ssm: false };
  if (type === 'Number') return { list: false, member: 'number', ssm: false };
  if (type === 'List<Number>') return { list: true, member: 'number', ssm: false };
  if (type === 'CommaDelimitedList' || type === 'List<String>') return { list: true, member: 'string', ssm: false };
  const m = /^List<(.+)>$/.exec(type);
  if (m && AWS_SPECIFIC[m[1]!]) return { list: true, member: m[1]!, ssm: false };
  if (AWS_SPECIFIC[type]) return { list: false, member: type, ssm: false };
  return { list: false, member: 'string', ssm: false };
}

/** True for the types whose `Ref` yields a list. */
export function isListType(type: string): boolean {
  return isParameterType(type) && typeInfo(type).list;
}

// ---------------------------------------------------------------------------------------------
// Helpers

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
function isNumeric(s: string): boolean {
  return NUMBER_RE.test(s.trim());
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function toInt(v: unknown): number | undefined {
  const s = scalarText(v);
  if (s === undefined || !/^\s*\d+\s*$/.test(s)) return undefined;
  return Number(s);
}

function toNum(v: unknown): number | undefined {
  const s = scalarText(v);
  if (s === undefined || !isNumeric(s)) return undefined;
  return Number(s);
}

function isNoEcho(def: Record<string, unknown>): boolean {
  const n = def.NoEcho;
  return n === true || (typeof n === 'string' && n.toLowerCase() === 'true');
}

/** Split a comma-delimited value: on `,`, each member trimmed of spaces. */
function splitList(raw: string): string[] {
  return raw.split(',').map((s) => s.trim());
}

const PARAM_KEYS = new Set(['Type', 'Default', 'AllowedValues', 'AllowedPattern', 'MinLength', 'MaxLength', 'MinValue', 'MaxValue', 'NoEcho', 'Description', 'ConstraintDescription']);

// ---------------------------------------------------------------------------------------------
// Values

/**
 * Checks one value (as given on the command line, or a Default) against its parameter's definition.
 * Returns the failure messages, empty when the value is acceptable. NoEcho values are masked.
 * `shape: false` skips the AWS-specific shape checks (used for Defaults, which AWS checks only when
 * they are used).
 */
export function checkParameterValue(name: string, def: Record<string, unknown>, raw: string | readonly string[], opts: { shape?: boolean } = {}): string[] {
  const type = typeof def.Type === 'string' ? def.Type : 'String';
  const info = typeInfo(type);
  const secret = isNoEcho(def);
  const show = (v: string) => (secret ? MASK : `'${v}'`);
  const cd = typeof def.ConstraintDescription === 'string' && def.ConstraintDescription !== '' ? def.ConstraintDescription : undefined;
  const constraint = (fallback: string) => (cd ? `Parameter '${name}' failed to satisfy constraint: ${cd}` : fallback);
  const out: string[] = [];
  const whole = typeof raw === 'string' ? raw : raw.join(',');
  if (Buffer.byteLength(whole, 'utf8') > 4096) out.push(`Parameter '${name}' value is longer than 4,096 bytes`);
  const members = info.list ? (typeof raw === 'string' ? (raw === '' ? [] : splitList(raw)) : raw.map((s) => s.trim())) : [whole];

  for (const m of members) {
    if (info.member === 'number') {
      if (!isNumeric(m)) out.push(`Parameter '${name}' must be a number, got ${show(m)}`);
    } else if (info.member === 'ssm-name') {
      if (!SSM_NAME.test(m)) out.push(`Parameter '${name}' must name a Systems Manager parameter, got ${show(m)}`);
    } else if (info.member !== 'string' && opts.shape !== false) {
      const shape = AWS_SPECIFIC[info.member]!;
      if (!shape.re.test(m)) out.push(`Parameter '${name}' of type ${type} must be ${shape.what}, got ${show(m)}`);
    }
  }

  if (Array.isArray(def.AllowedValues)) {
    const allowed = def.AllowedValues.map(scalarText).filter((s): s is string => s !== undefined);
    const numeric = info.member === 'number';
    const ok = (m: string) => allowed.some((a) => a === m || (numeric && isNumeric(a) && isNumeric(m) && Number(a) === Number(m)));
    for (const m of members) {
      if (!ok(m)) {
        out.push(constraint(`Parameter '${name}' must be one of AllowedValues (${allowed.join(', ')}), got ${show(m)}`));
        break;
      }
    }
  }
  if (typeof def.AllowedPattern === 'string') {
    // Every value gets a definite answer in bounded time (src/stack/pattern.ts): match, no match, or
    // a refusal that says why the pattern cannot be checked.
    const verdicts = matchPattern(compilePattern(def.AllowedPattern), members);
    const unchecked = verdicts.find((v) => v.kind === 'unchecked');
    if (unchecked?.kind === 'unchecked') out.push(`Parameter '${name}': the value cannot be checked against AllowedPattern ${def.AllowedPattern}: ${unchecked.reason}`);
    else {
      const miss = verdicts.findIndex((v) => v.kind === 'no-match');
      if (miss >= 0) out.push(constraint(`Parameter '${name}' must match pattern ${def.AllowedPattern}, got ${show(members[miss]!)}`));
    }
  }
  const minLen = toInt(def.MinLength);
  const maxLen = toInt(def.MaxLength);
  if (minLen !== undefined || maxLen !== undefined) {
    const lengthOf = (s: string) => [...s].length;
    const subjects = info.list ? members : [whole];
    for (const m of subjects) {
      const n = lengthOf(m);
      if (minLen !== undefined && n < minLen) {
        out.push(constraint(`Parameter '${name}' must contain at least ${minLen} characters, got ${n}`));
        break;
      }
      if (maxLen !== undefined && n > maxLen) {
        out.push(constraint(`Parameter '${name}' must contain at most ${maxLen} characters, got ${n}`));
        break;
      }
    }
  }
  const minVal = toNum(def.MinValue);
  const maxVal = toNum(def.MaxValue);
  if ((minVal !== undefined || maxVal !== undefined) && info.member === 'number') {
    for (const m of members) {
      if (!isNumeric(m)) continue;
      const v = Number(m);
      if (minVal !== undefined && v < minVal) {
        out.push(constraint(`Parameter '${name}' must be at least ${minVal}, got ${show(m)}`));
        break;
      }
      if (maxVal !== undefined && v > maxVal) {
        out.push(constraint(`Parameter '${name}' must be at most ${maxVal}, got ${show(m)}`));
        break;
      }
    }
  }
  return out;
}

/** A Default (JSON scalar, or a list in YAML/JSON) as the raw text a caller would have given. */
function defaultText(v: unknown): string | string[] | undefined {
  const s = scalarText(v);
  if (s !== undefined) return s;
  if (Array.isArray(v) && v.every((x) => scalarText(x) !== undefined)) return v.map((x) => scalarText(x)!);
  return undefined;
}

/** The value `Ref` yields for a raw value of this type. */
export function parameterValue(type: string, raw: string | readonly string[]): ParamValue {
  const info = typeInfo(type);
  if (!info.list) return typeof raw === 'string' ? raw : raw.join(',');
  if (typeof raw !== 'string') return raw.map((s) => s.trim());
  return raw === '' ? [] : splitList(raw);
}

// ---------------------------------------------------------------------------------------------
// Definitions

/**
 * Checks the `Parameters` section: names, types, constraint properties and their consistency, and
 * that each Default passes its own constraints. Diagnostics carry `segments`.
 */
export function checkParameterDefinitions(template: unknown): Diagnostic[] {
  const diags: Diagnostic[] = [];
  if (!isObj(template) || template.Parameters === undefined) return diags;
  const params = template.Parameters;
  const err = (code: string, message: string, segments: (string | number)[], severity: 'error' | 'warning' = 'error') => diags.push({ severity, code, message, segments: ['Parameters', ...segments] });
  if (!isObj(params)) {
    diags.push({ severity: 'error', code: 'PARAM_DEFINITION', message: 'Parameters must be an object', segments: ['Parameters'] });
    return diags;
  }
  const names = Object.keys(params);
  if (names.length > 200) err('PARAM_LIMIT', `A template may declare at most 200 parameters, found ${names.length}`, []);
  for (const name of names) {
    const def = params[name];
    if (!/^[A-Za-z0-9]+$/.test(name)) err('PARAM_NAME', `Parameter name '${name}' must be alphanumeric`, [name]);
    if (name.length > 255) err('PARAM_NAME', `Parameter name is longer than 255 characters`, [name]);
    if (!isObj(def)) {
      err('PARAM_DEFINITION', `Parameter '${name}' must be an object with a Type`, [name]);
      continue;
    }
    for (const k of Object.keys(def)) if (!PARAM_KEYS.has(k)) err('PARAM_DEFINITION', `Parameter '${name}' has unknown property '${k}'`, [name, k]);
    if (def.Type === undefined) {
      err('PARAM_TYPE', `Parameter '${name}' has no Type`, [name]);
      continue;
    }
    if (!isParameterType(def.Type)) {
      err('PARAM_TYPE', `Parameter '${name}' has an unknown Type ${JSON.stringify(def.Type)}`, [name, 'Type']);
      continue;
    }
    const type = def.Type;
    const info = typeInfo(type);
    let consistent = true;
    const bad = (key: string, message: string) => {
      consistent = false;
      err('PARAM_DEFINITION', `Parameter '${name}': ${message}`, [name, key]);
    };
    if (def.AllowedValues !== undefined) {
      if (!Array.isArray(def.AllowedValues)) bad('AllowedValues', 'AllowedValues must be a list');
      else if (def.AllowedValues.length === 0) bad('AllowedValues', 'AllowedValues must not be empty');
      else
        def.AllowedValues.forEach((v, i) => {
          if (scalarText(v) === undefined) {
            consistent = false;
            err('PARAM_DEFINITION', `Parameter '${name}': AllowedValues members must be strings or numbers`, [name, 'AllowedValues', i]);
          }
        });
    }
    if (def.AllowedPattern !== undefined) {
      if (typeof def.AllowedPattern !== 'string') bad('AllowedPattern', 'AllowedPattern must be a string');
      else {
        const c = compilePattern(def.AllowedPattern);
        if (c.engine === 'none' && c.problem!.message.startsWith('is not')) bad('AllowedPattern', `AllowedPattern ${def.AllowedPattern} ${c.problem!.message}`);
        else if (c.engine === 'none')
          err('PARAM_PATTERN_UNCHECKABLE', `Parameter '${name}': AllowedPattern ${c.problem!.message}; every value given for it is refused`, [name, 'AllowedPattern'], 'warning');
        else if (c.engine === 'backtracking')
          err(
            'PARAM_PATTERN_BACKTRACKING',
            `Parameter '${name}': AllowedPattern needs a backtracking engine (for ${c.backtracking!.message}); a value whose check takes longer than ${PATTERN_BUDGET_MS / 1000} s is refused`,
            [name, 'AllowedPattern'],
            'warning',
          );
      }
    }
    for (const k of ['MinLength', 'MaxLength'] as const) {
      if (def[k] === undefined) continue;
      if (toInt(def[k]) === undefined) bad(k, `${k} must be a non-negative integer`);
      else if (info.member === 'number') err('PARAM_DEFINITION', `Parameter '${name}': ${k} has no effect on type ${type}`, [name, k], 'warning');
    }
    for (const k of ['MinValue', 'MaxValue'] as const) {
      if (def[k] === undefined) continue;
      if (toNum(def[k]) === undefined) bad(k, `${k} must be a number`);
      else if (info.member !== 'number') err('PARAM_DEFINITION', `Parameter '${name}': ${k} has no effect on type ${type}`, [name, k], 'warning');
    }
    const [minL, maxL] = [toInt(def.MinLength), toInt(def.MaxLength)];
    if (minL !== undefined && maxL !== undefined && minL > maxL) bad('MinLength', `MinLength ${minL} is greater than MaxLength ${maxL}`);
    const [minV, maxV] = [toNum(def.MinValue), toNum(def.MaxValue)];
    if (minV !== undefined && maxV !== undefined && minV > maxV) bad('MinValue', `MinValue ${minV} is greater than MaxValue ${maxV}`);
    if (def.NoEcho !== undefined && typeof def.NoEcho !== 'boolean' && !(typeof def.NoEcho === 'string' && /^(true|false)$/i.test(def.NoEcho))) bad('NoEcho', 'NoEcho must be true or false');
    for (const k of ['Description', 'ConstraintDescription'] as const) {
      if (def[k] !== undefined && typeof def[k] !== 'string') bad(k, `${k} must be a string`);
    }
    if (typeof def.Description === 'string' && def.Description.length > 4000) bad('Description', 'Description is longer than 4,000 characters');
    // Constraints that contradict each other: an allowed value the other constraints refuse.
    if (consistent && Array.isArray(def.AllowedValues)) {
      const { AllowedValues: _omit, Default: _d, ConstraintDescription: _c, ...others } = def;
      def.AllowedValues.forEach((v, i) => {
        const text = scalarText(v);
        if (text === undefined) return;
        const refused = checkParameterValue(name, { ...others, NoEcho: false }, info.list ? [text] : text, { shape: false });
        if (refused.length)
          err(
            'PARAM_DEFINITION',
            `Parameter '${name}': AllowedValues member '${text}' can never be accepted: ${refused[0]!.replace(/^Parameter '[^']*' /, '')}`,
            [name, 'AllowedValues', i],
            'warning',
          );
      });
    }
    if (def.Default !== undefined && consistent) {
      const raw = defaultText(def.Default);
      if (raw === undefined) err('PARAM_DEFAULT', `Parameter '${name}': Default must be a string or a number`, [name, 'Default']);
      else {
        for (const m of checkParameterValue(name, def, raw, { shape: false })) err('PARAM_DEFAULT', `Default does not pass its own constraints: ${m}`, [name, 'Default']);
        const shape = AWS_SPECIFIC[info.member];
        const members = typeof raw === 'string' ? (info.list ? (raw === '' ? [] : splitList(raw)) : [raw]) : raw;
        if (shape && members.some((m) => !shape.re.test(m))) err('PARAM_DEFAULT', `Parameter '${name}': Default is not ${shape.what}`, [name, 'Default'], 'warning');
      }
    }
  }
  return diags;
}

// ---------------------------------------------------------------------------------------------
// Resolution

interface ResolveParametersOptions {
  /** Every parameter must end with a value (render, deploy); validate passes false. */
  requireAll?: boolean;
}

/**
 * Checks the given values (`--param K=V`) against their definitions and resolves every parameter
 * that has a value (given or Default) to what `Ref` yields. Unknown names are errors; with
 * `requireAll`, one error names every parameter that has neither a value nor a Default.
 * Definitions are assumed checked (checkParameterDefinitions); broken ones are skipped here.
 */
export function resolveParameters(
  template: unknown,
  given: Readonly<Record<string, string | readonly string[]>>,
  opts: ResolveParametersOptions = {},
): { values: Record<string, ResolvedParameter>; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const values: Record<string, ResolvedParameter> = {};
  const defs = isObj(template) && isObj(template.Parameters) ? template.Parameters : {};
  for (const name of Object.keys(given)) {
    if (!Object.prototype.hasOwnProperty.call(defs, name))
      diagnostics.push({
        severity: 'error',
        code: 'PARAM_UNKNOWN',
        message: `--param ${name}: the template declares no parameter '${name}'${Object.keys(defs).length ? ` (it declares: ${Object.keys(defs).join(', ')})` : ''}`,
        segments: isObj(template) && template.Parameters !== undefined ? ['Parameters'] : [],
      });
  }
  const missing: string[] = [];
  for (const [name, def] of Object.entries(defs)) {
    if (!isObj(def) || !isParameterType(def.Type)) continue;
    const type = def.Type;
    const noEcho = isNoEcho(def);
    if (Object.prototype.hasOwnProperty.call(given, name)) {
      const raw = given[name]!;
      const msgs = checkParameterValue(name, def, raw);
      for (const m of msgs) diagnostics.push({ severity: 'error', code: 'PARAM_VALUE', message: m, segments: ['Parameters', name] });
      if (msgs.length === 0) values[name] = { type, value: parameterValue(type, raw), noEcho, fromDefault: false };
      if (msgs.length === 0 && opts.requireAll && typeInfo(type).ssm)
        diagnostics.push({
          severity: 'warning',
          code: 'PARAM_SSM_LOCAL',
          message: `Parameter '${name}' names a Systems Manager parameter; there is no Parameter Store locally, so the name itself is used as the value`,
          segments: ['Parameters', name],
        });
      continue;
    }
    if (def.Default !== undefined) {
      const raw = defaultText(def.Default);
      if (raw === undefined) continue;
      const msgs = checkParameterValue(name, def, raw, { shape: false });
      if (msgs.length === 0) values[name] = { type, value: parameterValue(type, raw), noEcho, fromDefault: true };
      else if (opts.requireAll) for (const m of msgs) diagnostics.push({ severity: 'error', code: 'PARAM_DEFAULT', message: m, segments: ['Parameters', name, 'Default'] });
      continue;
    }
    missing.push(name);
  }
  if (opts.requireAll && missing.length > 0) {
    diagnostics.push({
      severity: 'error',
      code: 'PARAM_MISSING',
      message: `No value for parameter${missing.length > 1 ? 's' : ''} ${missing.map((m) => `'${m}'`).join(', ')} (no Default): pass ${missing.map((m) => `--param ${m}=VALUE`).join(' ')}`,
      segments: missing.length === 1 ? ['Parameters', missing[0]!] : ['Parameters'],
    });
  }
  return { values, diagnostics };
}

/** The values of NoEcho parameters (each list member separately), longest first, for masking. */
export function secretValues(values: Readonly<Record<string, ResolvedParameter>>): string[] {
  const out = new Set<string>();
  for (const p of Object.values(values)) {
    if (!p.noEcho) continue;
    for (const v of Array.isArray(p.value) ? p.value : [p.value]) if (v !== '') out.add(v);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/** Replaces every occurrence of a secret in the strings of a JSON value by `****`. */
export function maskJson(value: Json, secrets: readonly string[]): Json {
  if (secrets.length === 0) return value;
  // Most values hold no secret: one native scan first (JSON escaping aside, a plain secret shows as itself).
  const text = JSON.stringify(value);
  if (!secrets.some((x) => text.includes(x) || text.includes(JSON.stringify(x).slice(1, -1)))) return value;
  const maskStr = (s: string) => {
    let out = s;
    for (const x of secrets) if (out.includes(x)) out = out.split(x).join(MASK);
    return out;
  };
  const walk = (v: Json): Json => {
    if (typeof v === 'string') return maskStr(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o: Record<string, Json> = {};
      for (const [k, x] of Object.entries(v)) setKey(o, maskStr(k), walk(x));
      return o;
    }
    return v;
  };
  return walk(value);
}
