// Template evaluation: a CloudFormation template plus parameter values and pseudo values in, the
// template as it would be deployed out (reference §2–§4, §6).
//
//   evaluateTemplate(template, { parameters, pseudo, maskNoEcho }) -> { template: ResolvedTemplate, diagnostics }
//   renderedTemplate(resolved) -> JsonObject        the printable CloudFormation JSON (what `kiln render` prints)
//
// Everything whose inputs are known is computed: parameters and pseudo parameters substituted,
// Mappings looked up, Conditions evaluated (resources and outputs whose condition is false are gone,
// Fn::If resolved, AWS::NoValue removes the property or list element), Join/Sub/Select/Split/
// Base64/Cidr/GetAZs/FindInMap/Length/ToJsonString computed. What depends on a resource stays an
// intrinsic object in canonical long form, for the executor to resolve at deploy time with
// runtime.ts (`resolveRuntime`):
//   {"Ref": "R"}   {"Fn::GetAtt": ["R", "A.B"]}   {"Fn::Sub": ["text ${R.A} ${Var}", {"Var": …}]}
//   {"Fn::Join": [delim, [...]]}   {"Fn::Select": [i, list]}   {"Fn::Split": [d, s]}   {"Fn::Base64": v}
//   {"Fn::Cidr": [ip, n, bits]}    {"Fn::ImportValue": name}   {"Fn::Length": v}   {"Fn::ToJsonString": v}
//
// NoEcho: by default the ResolvedTemplate carries the real values (the executor needs them) and
// `parameters[name].noEcho` says which are secret. With `maskNoEcho: true` (what `kiln render`
// uses) every NoEcho value is replaced by `****` wherever it would appear in Resources, Outputs and
// `parameters`; conditions, FindInMap keys, Select indexes and Cidr arguments still use the real
// values, so the shape of the result is the same.
//
// Pure: no I/O, no clock. Diagnostics carry `segments` (locate() them against the SourceDoc).
import type { Diagnostic } from '../core/diagnostics.js';
import { MIN_DERIVED } from '../core/mask.js';
import type { CfnTemplate, Json, JsonObject } from './model.js';
import { ConditionTable } from './conditions.js';
import { pseudoValues } from './intrinsics.js';
import { MASK, maskJson, resolveParameters, secretValues, type ResolvedParameter } from './params.js';
import { expandLanguageExtensions, hasLanguageExtensions } from './langext.js';
import { evaluateRules } from './rules.js';
import { Evaluator, NO_VALUE, isObj, type EvaluateOptions, type EvaluateResult, type ResolvedOutput, type ResolvedResource, type ResolvedTemplate, type Scope, type Seg } from './evaluator.js';

export { Evaluator, NO_VALUE } from './evaluator.js';
export type { EvaluateOptions, EvaluateResult, ResolvedOutput, ResolvedResource, ResolvedTemplate, RuntimeHooks, Scope, Val } from './evaluator.js';

// -----------------------------------------------------------------------------------------------
// The template

function normaliseDependsOn(v: unknown): unknown[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/**
 * Evaluates a template for deployment. Parameters are checked and resolved (every parameter needs
 * a value or a Default unless `requireAllParameters: false`), the LanguageExtensions transform is
 * applied when listed, Rules are checked, then everything is evaluated as described above.
 * The returned template is usable even with errors (broken parts are left as they were); callers
 * must check `hasErrors(diagnostics)` before deploying.
 */
export function evaluateTemplate(input: CfnTemplate | unknown, opts: EvaluateOptions = {}): EvaluateResult {
  const diagnostics: Diagnostic[] = [];
  let t: Record<string, unknown> = isObj(input) ? input : {};
  if (!isObj(input)) diagnostics.push({ severity: 'error', code: 'TEMPLATE_NOT_OBJECT', message: 'A template must be an object', segments: [] });
  const mask = opts.maskNoEcho === true;

  const params = resolveParameters(t, opts.parameters ?? {}, { requireAll: opts.requireAllParameters !== false });
  const fromTarget = opts.resolvedParameters ?? {};
  for (const [name, value] of Object.entries(fromTarget)) {
    const p = params.values[name];
    if (p) params.values[name] = { ...p, value };
  }
  diagnostics.push(...params.diagnostics.filter((d) => !(d.code === 'PARAM_SSM_LOCAL' && d.segments && String(d.segments[1]) in fromTarget)));

  if (hasLanguageExtensions(t)) {
    const ex = expandLanguageExtensions(t, params.values);
    diagnostics.push(...ex.diagnostics);
    t = ex.template as Record<string, unknown>;
  }

  const pseudo = pseudoValues(opts.pseudo ?? {});
  const resources = isObj(t.Resources) ? t.Resources : {};
  const declared = new Map<string, string | undefined>();
  for (const [id, r] of Object.entries(resources)) declared.set(id, isObj(r) && typeof r.Condition === 'string' ? r.Condition : undefined);
  const declaredParameters = new Set(isObj(t.Parameters) ? Object.keys(t.Parameters) : []);

  // Conditions see parameters (real values), pseudo parameters and mappings; never resources.
  const condScope: Scope = { parameters: params.values, declaredParameters, pseudo, mappings: t.Mappings, declared, mask: false, noResources: 'Conditions' };
  const condEval = new Evaluator(condScope);
  const conditions = new ConditionTable(
    t.Conditions,
    (node, path) => {
      const v = condEval.control(node, path);
      return v === NO_VALUE || !condEval.known(v) ? undefined : v;
    },
    (d) => diagnostics.push(d),
  );
  condScope.conditions = conditions;
  const conditionValues = conditions.all();

  const isTrue = (name: unknown, path: Seg[]): boolean => {
    if (name === undefined) return true;
    if (typeof name !== 'string') {
      diagnostics.push({ severity: 'error', code: 'CONDITION_INVALID', message: 'Condition must be the name of a condition', segments: path });
      return false;
    }
    return conditions.value(name, path) ?? false;
  };

  const present = new Set<string>();
  for (const [id, r] of Object.entries(resources)) if (isObj(r) && isTrue(r.Condition, ['Resources', id, 'Condition'])) present.add(id);

  if (t.Rules !== undefined) {
    const ruleEval = new Evaluator({ parameters: params.values, declaredParameters, pseudo, mappings: t.Mappings, conditions, declared, mask: false, noResources: 'Rules' });
    diagnostics.push(
      ...evaluateRules(t, (node, path) => {
        const v = ruleEval.control(node, path);
        return v === NO_VALUE || !ruleEval.known(v) ? undefined : v;
      }),
      ...ruleEval.diagnostics,
    );
  }

  const scope: Scope = { parameters: params.values, declaredParameters, pseudo, mappings: t.Mappings, conditions, declared, present, mask };
  const ev = new Evaluator(scope);
  const evalObject = (v: unknown, path: Seg[], what: string): JsonObject | undefined => {
    if (v === undefined) return undefined;
    const r = ev.value(v, path);
    if (r === NO_VALUE) return undefined;
    if (!isObj(r)) {
      diagnostics.push({ severity: 'error', code: 'NOT_AN_OBJECT', message: `${what} must be an object`, segments: path });
      return undefined;
    }
    return r as JsonObject;
  };
  const evalPolicy = (v: unknown, path: Seg[]): string | undefined => {
    if (v === undefined) return undefined;
    const before = ev.diagnostics.length;
    const r = ev.control(v, path);
    if (ev.diagnostics.length > before) return undefined; // already diagnosed
    if (typeof r === 'string') return r;
    if (isObj(r) && typeof r.Ref === 'string' && declaredParameters.has(r.Ref)) return undefined; // no value (validate)
    if (r !== NO_VALUE) diagnostics.push({ severity: 'error', code: 'POLICY_INVALID', message: `${path[path.length - 1]} must be a string known before deployment`, segments: path });
    return undefined;
  };

  const outResources: Record<string, ResolvedResource> = {};
  for (const [id, r] of Object.entries(resources)) {
    if (!present.has(id) || !isObj(r)) continue;
    const base: Seg[] = ['Resources', id];
    const dependsOn: string[] = [];
    normaliseDependsOn(r.DependsOn).forEach((d, i) => {
      const p = Array.isArray(r.DependsOn) ? [...base, 'DependsOn', i] : [...base, 'DependsOn'];
      if (typeof d !== 'string') diagnostics.push({ severity: 'error', code: 'DEPENDSON_INVALID', message: 'DependsOn must name resources', segments: p });
      else if (!declared.has(d)) diagnostics.push({ severity: 'error', code: 'DEPENDSON_UNKNOWN', message: `DependsOn names '${d}', which is not a resource of this template`, segments: p });
      else if (!present.has(d))
        diagnostics.push({
          severity: 'error',
          code: 'DEPENDSON_CONDITION_FALSE',
          message: `DependsOn names '${d}', which is not created because its Condition '${declared.get(d) ?? ''}' is false`,
          segments: p,
        });
      else if (!dependsOn.includes(d)) dependsOn.push(d);
    });
    const out: ResolvedResource = {
      Type: typeof r.Type === 'string' ? r.Type : String(r.Type),
      Properties: evalObject(r.Properties, [...base, 'Properties'], 'Properties') ?? {},
      DependsOn: dependsOn,
    };
    const dp = evalPolicy(r.DeletionPolicy, [...base, 'DeletionPolicy']);
    if (dp !== undefined) out.DeletionPolicy = dp;
    const urp = evalPolicy(r.UpdateReplacePolicy, [...base, 'UpdateReplacePolicy']);
    if (urp !== undefined) out.UpdateReplacePolicy = urp;
    for (const k of ['CreationPolicy', 'UpdatePolicy', 'Metadata'] as const) {
      const v = evalObject(r[k], [...base, k], k);
      if (v !== undefined) out[k] = v;
    }
    outResources[id] = out;
  }

  const outOutputs: Record<string, ResolvedOutput> = {};
  const outputs = isObj(t.Outputs) ? t.Outputs : {};
  const exportScope: Scope = { ...scope, noResources: 'Export names' };
  const exportEval = new Evaluator(exportScope);
  for (const [name, o] of Object.entries(outputs)) {
    if (!isObj(o)) continue;
    const base: Seg[] = ['Outputs', name];
    if (!isTrue(o.Condition, [...base, 'Condition'])) continue;
    const value = ev.value(o.Value, [...base, 'Value']);
    if (value === NO_VALUE) {
      diagnostics.push({ severity: 'error', code: 'OUTPUT_NO_VALUE', message: `Output '${name}' has no value (AWS::NoValue)`, segments: [...base, 'Value'] });
      continue;
    }
    const out: ResolvedOutput = { Value: value };
    if (typeof o.Description === 'string') out.Description = o.Description;
    if (isObj(o.Export)) {
      const n = exportEval.value(o.Export.Name, [...base, 'Export', 'Name']);
      if (n !== NO_VALUE) out.Export = { Name: n };
    }
    outOutputs[name] = out;
  }
  diagnostics.push(...condEval.diagnostics, ...ev.diagnostics, ...exportEval.diagnostics);

  const transforms = (Array.isArray(t.Transform) ? t.Transform : t.Transform === undefined ? [] : [t.Transform]).filter((x): x is string => typeof x === 'string' && x !== 'AWS::LanguageExtensions');
  let resolved: ResolvedTemplate = {
    ...(typeof t.AWSTemplateFormatVersion === 'string' ? { AWSTemplateFormatVersion: t.AWSTemplateFormatVersion } : {}),
    ...(typeof t.Description === 'string' ? { Description: t.Description } : {}),
    ...(isObj(t.Metadata) ? { Metadata: t.Metadata as JsonObject } : {}),
    ...(transforms.length ? { Transform: transforms } : {}),
    Resources: outResources,
    Outputs: outOutputs,
    parameters: params.values,
    pseudo,
    conditions: conditionValues,
    mappings: isObj(t.Mappings) ? (t.Mappings as JsonObject) : {},
    masked: mask,
    // Export names count too: one built from a secret is refused at deploy (it would be public).
    derivedSecrets: mask ? [] : [...ev.derived, ...[...exportEval.derived].filter(([v]) => !ev.derived.has(v))].map(([value, parameter]) => ({ parameter, value })),
  };
  if (mask) {
    // Belt and braces: a secret that reached a string by another road (a mapping key, say) is
    // masked too. Short values would mangle unrelated text and are left alone.
    const secrets = secretValues(params.values).filter((s) => s.length >= MIN_DERIVED);
    const maskedParams: Record<string, ResolvedParameter> = {};
    for (const [k, p] of Object.entries(params.values)) maskedParams[k] = p.noEcho ? { ...p, value: Array.isArray(p.value) ? p.value.map(() => MASK) : MASK } : p;
    resolved = {
      ...resolved,
      Resources: maskJson(resolved.Resources as unknown as Json, secrets) as unknown as Record<string, ResolvedResource>,
      Outputs: maskJson(resolved.Outputs as unknown as Json, secrets) as unknown as Record<string, ResolvedOutput>,
      parameters: maskedParams,
    };
  }
  // Messages are output too: a NoEcho value that reached one (a Cidr argument, a Select index) is masked.
  const secrets = secretValues(params.values).filter((x) => x.length >= 3);
  const masked = secrets.length
    ? diagnostics.map((d) => {
        let message = d.message;
        for (const x of secrets) if (message.includes(x)) message = message.split(x).join(MASK);
        return message === d.message ? d : { ...d, message };
      })
    : diagnostics;
  return { template: resolved, diagnostics: dedupe(masked) };
}

function dedupe(diags: Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return diags.filter((d) => {
    const k = `${d.code}\0${d.message}\0${(d.segments ?? []).join('\0')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The printable CloudFormation JSON of a resolved template: what `kiln render` prints. */
export function renderedTemplate(r: ResolvedTemplate): JsonObject {
  const out: JsonObject = {};
  if (r.AWSTemplateFormatVersion !== undefined) out.AWSTemplateFormatVersion = r.AWSTemplateFormatVersion;
  if (r.Description !== undefined) out.Description = r.Description;
  if (r.Metadata !== undefined) out.Metadata = r.Metadata;
  if (r.Transform !== undefined) out.Transform = r.Transform.length === 1 ? r.Transform[0]! : r.Transform;
  const res: JsonObject = {};
  for (const [id, x] of Object.entries(r.Resources)) {
    const o: JsonObject = { Type: x.Type };
    if (Object.keys(x.Properties).length) o.Properties = x.Properties;
    if (x.DependsOn.length) o.DependsOn = x.DependsOn;
    for (const k of ['DeletionPolicy', 'UpdateReplacePolicy', 'CreationPolicy', 'UpdatePolicy', 'Metadata'] as const) if (x[k] !== undefined) o[k] = x[k] as Json;
    res[id] = o;
  }
  out.Resources = res;
  if (Object.keys(r.Outputs).length) out.Outputs = r.Outputs as unknown as JsonObject;
  return out;
}
