// The local target's side of "the plan tells the truth": everything the local target would refuse,
// found before anything is created, and the values only the local account knows. Called by
// src/deploy/index.ts around the template's evaluation:
//
//   resolveTargetParameters(template, given, ctx)  before: SSM-typed parameters get the Parameter
//       Store's value (public AMI aliases through kiln's mapping, Windows refused); AWS-specific
//       parameter values (VPC, subnet, group, key pair, instance) must exist in the local account.
//   checkDesired(template, desired, ctx)           after: `{{resolve:ssm:…}}` / `{{resolve:ssm-secure:…}}`
//       references resolved (secure values become secrets); every ImageId must be a local image, an
//       AMI id that is none runs on a stand-in (a warning naming both); types the target has no
//       handler for, SAM and other transforms refused.
//
// Diagnostics carry `segments` (the caller locates them in the template). Nothing here prints.
import type { Diagnostic } from '../core/diagnostics.js';
import { KilnError, errorMessage } from '../core/errors.js';
import type { Json, JsonObject } from '../stack/model.js';
import { isParameterType, parameterValue, resolveParameters, type ParamValue } from '../stack/params.js';
import type { DesiredStack } from '../stack/plan.js';
import type { Provider } from '../model/provider.js';
import type { ParameterStore } from '../state/ssm.js';
import type { Secret } from '../exec/secrets.js';
import { lookupParameter, splitSelector, standInFor } from './ami-aliases.js';
import { ACCOUNT_TYPES, inventoryOf, type Inventory, type InventoryRow } from './inventory.js';

export interface TargetContext {
  parameters: ParameterStore;
  provider: Provider;
  /** Live resources of every stack: the local account's VPCs, subnets, groups, key pairs, instances. */
  rows(): readonly InventoryRow[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const SSM_VALUE = /^AWS::SSM::Parameter::Value<(.+)>$/;

function err(code: string, message: string, segments: Array<string | number>): Diagnostic {
  return { severity: 'error', code, message, segments };
}

// ---------------------------------------------------------------------------------------------
// Parameters

interface TargetParameters {
  /** SSM-typed parameters: the value `Ref` yields (the store's), by parameter name. */
  resolved: Record<string, ParamValue>;
  diagnostics: Diagnostic[];
}

/** `List<X>` → X, `X` → X; and whether it was a list. */
function member(type: string): { type: string; list: boolean } {
  const m = /^List<(.+)>$/.exec(type);
  if (m) return { type: m[1]!, list: true };
  return { type, list: type === 'CommaDelimitedList' };
}

export async function resolveTargetParameters(template: unknown, given: Readonly<Record<string, string | readonly string[]>>, ctx: TargetContext): Promise<TargetParameters> {
  const out: TargetParameters = { resolved: {}, diagnostics: [] };
  const defs = isObj(template) && isObj(template.Parameters) ? template.Parameters : {};
  const { values } = resolveParameters(template, given, { requireAll: false });
  let inventory: Inventory | undefined;
  for (const [name, def] of Object.entries(defs)) {
    if (!isObj(def) || !isParameterType(def.Type) || !values[name]) continue;
    const at = values[name]!.fromDefault ? ['Parameters', name, 'Default'] : ['Parameters', name];
    let type = def.Type;
    let value: ParamValue = values[name]!.value;
    const ssm = SSM_VALUE.exec(type);
    if (ssm) {
      const got = await ssmParameterValue(name, type, ssm[1]!, String(value), ctx);
      if ('problem' in got) {
        out.diagnostics.push(err('PARAM_SSM', got.problem, at));
        continue;
      }
      value = got.value;
      out.resolved[name] = value;
      type = ssm[1]!;
    }
    const m = member(type);
    const account = ACCOUNT_TYPES[m.type];
    if (!account) continue;
    inventory ??= inventoryOf(ctx.rows());
    const known = account.ids(inventory);
    const members = Array.isArray(value) ? value : m.list ? (value === '' ? [] : value.split(',').map((s) => s.trim())) : [value];
    const missing = members.filter((v) => !known.some((k) => k.id === v));
    if (missing.length === 0) continue;
    const shown = known.slice(0, 6).map((k) => `${k.id} (${k.about})`);
    const have = known.length
      ? `the local ${account.plural}: ${shown.join(', ')}${known.length > shown.length ? `, and ${known.length - shown.length} more` : ''}`
      : `there are no ${account.plural} locally`;
    out.diagnostics.push(
      err(
        'PARAM_NOT_FOUND',
        `Parameter '${name}' of type ${def.Type}: ${missing.map((v) => (v === '' ? 'an empty value' : `'${v}'`)).join(', ')} ${missing.length > 1 ? 'name' : 'names'} no ${account.what} of the local account; ${have} (\`kiln network\` lists them)`,
        at,
      ),
    );
  }
  return out;
}

/** The store's value for an SSM-typed parameter, shaped and normalised for its inner type. */
async function ssmParameterValue(param: string, type: string, inner: string, selector: string, ctx: TargetContext): Promise<{ value: ParamValue } | { problem: string }> {
  const { name, version } = splitSelector(selector);
  const hit = lookupParameter(ctx.parameters, name, version);
  const what = `Parameter '${param}' (${type})`;
  if (!hit.found) return { problem: `${what}: ${hit.reason}` };
  if (hit.type === 'SecureString')
    return { problem: `${what}: ${name} is a SecureString, which CloudFormation does not resolve through parameter types; write {{resolve:ssm-secure:${name}}} where the property takes a secret` };
  const m = member(inner);
  let value = parameterValue(m.list ? 'CommaDelimitedList' : 'String', hit.value);
  if (m.type === 'AWS::EC2::Image::Id' && ctx.provider.normalizeParameter) {
    const via = hit.source === 'default mapping' ? `${name} is kiln's default mapping to ${hit.value}` : `${name} holds ${hit.value}`;
    try {
      value = Array.isArray(value) ? await Promise.all(value.map((v) => ctx.provider.normalizeParameter!(m.type, v))) : await ctx.provider.normalizeParameter(m.type, value);
    } catch (e) {
      if (!KilnError.is(e) || e.source !== 'user') throw e;
      return { problem: `${what}: ${via}, which is not a local image (${errorMessage(e)}); build or import it, or \`kiln ssm put\` another` };
    }
  }
  return { value };
}

// ---------------------------------------------------------------------------------------------
// The evaluated template

interface TargetDesired {
  diagnostics: Diagnostic[];
  /** SecureString values the template now holds: secrets for the engine (masked, never stored). */
  secrets: Secret[];
}

const DYNAMIC = /\{\{resolve:(ssm|ssm-secure):([^}]*)\}\}/g;

/** The token name a SecureString value stands under in state (`[A-Za-z0-9]+`). */
function secretName(name: string): string {
  return `ssm${name.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`;
}

/** Replaces the dynamic references in every string of `v`; problems go to `problems`. */
function resolveDynamic(v: Json, path: Array<string | number>, ctx: TargetContext, inOutputs: boolean, out: TargetDesired): Json {
  if (typeof v === 'string') {
    if (!v.includes('{{resolve:ssm')) return v;
    return v.replace(DYNAMIC, (whole, service: string, body: string) => {
      const { name, version } = splitSelector(body);
      const hit = lookupParameter(ctx.parameters, name, version);
      if (!hit.found) {
        out.diagnostics.push(err('DYNAMIC_REFERENCE', `${whole}: ${hit.reason}`, path));
        return whole;
      }
      const secure = service === 'ssm-secure';
      if (secure && inOutputs) {
        out.diagnostics.push(err('DYNAMIC_REFERENCE', `${whole}: ssm-secure references are not supported in Outputs`, path));
        return whole;
      }
      if (secure && hit.type !== 'SecureString') {
        out.diagnostics.push(err('DYNAMIC_REFERENCE', `${whole}: ${name} is a ${hit.type} parameter; ssm-secure reads SecureString parameters (write {{resolve:ssm:${body}}})`, path));
        return whole;
      }
      if (!secure && hit.type === 'SecureString') {
        out.diagnostics.push(err('DYNAMIC_REFERENCE', `${whole}: ${name} is a SecureString; read it with {{resolve:ssm-secure:${body}}}`, path));
        return whole;
      }
      if (secure) out.secrets.push({ name: secretName(name), value: hit.value, salt: hit.parameter?.salt ?? name });
      return hit.value;
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => resolveDynamic(x, [...path, i], ctx, inOutputs, out));
  if (v && typeof v === 'object') {
    const o: JsonObject = {};
    for (const [k, x] of Object.entries(v)) o[k] = resolveDynamic(x, [...path, k], ctx, inOutputs, out);
    return o;
  }
  return v;
}

/** Where each type keeps an image id. */
const IMAGE_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  'AWS::EC2::Instance': ['ImageId'],
  'AWS::EC2::LaunchTemplate': ['LaunchTemplateData', 'ImageId'],
  'AWS::AutoScaling::LaunchConfiguration': ['ImageId'],
};

const AMI_ID = /^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;

async function checkImage(id: string, type: string, props: JsonObject, ctx: TargetContext, out: TargetDesired): Promise<void> {
  const path = IMAGE_PROPERTIES[type];
  if (!path || !ctx.provider.findImage) return;
  let holder: JsonObject = props;
  for (const key of path.slice(0, -1)) {
    const next = holder[key];
    if (!next || typeof next !== 'object' || Array.isArray(next)) return;
    holder = next;
  }
  const key = path[path.length - 1]!;
  const image = holder[key];
  if (typeof image !== 'string') return; // known only at run time (a reference to another resource)
  const at = ['Resources', id, 'Properties', ...path];
  if (await ctx.provider.findImage(image)) return;
  if (AMI_ID.test(image)) {
    const standIn = standInFor(ctx.parameters, image);
    const ami = await ctx.provider.findImage(standIn.image);
    if (!ami) {
      out.diagnostics.push(
        err('IMAGE_NOT_LOCAL', `ImageId ${image} is not a local image, and its stand-in ${standIn.image} (${standIn.from}) is not present either: build or import it, or \`kiln ssm put\` another`, at),
      );
      return;
    }
    holder[key] = ami;
    out.diagnostics.push({
      severity: 'warning',
      code: 'IMAGE_STAND_IN',
      message: `ImageId ${image} is not a local image: it runs on the stand-in ${standIn.image} (${ami}), chosen by ${standIn.from} (\`kiln ssm put /kiln/images/stand-in/${image} IMAGE\` chooses another)`,
      segments: at,
    });
    return;
  }
  const hint = image.startsWith('/')
    ? '; it looks like a Systems Manager parameter name: declare the parameter as AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>, or write {{resolve:ssm:NAME}}'
    : ' (build it first; kiln never pulls)';
  out.diagnostics.push(err('IMAGE_NOT_LOCAL', `ImageId '${image}' is neither a local image nor an AMI id${hint}`, at));
}

function transformNames(t: unknown): string[] {
  const one = (x: unknown) => (typeof x === 'string' ? x : isObj(x) && typeof x.Name === 'string' ? x.Name : undefined);
  return (Array.isArray(t) ? t.map(one) : [one(t)]).filter((x): x is string => x !== undefined);
}

export async function checkDesired(template: unknown, desired: DesiredStack, ctx: TargetContext): Promise<TargetDesired> {
  const out: TargetDesired = { diagnostics: [], secrets: [] };
  const transforms = isObj(template) ? transformNames(template.Transform) : [];
  for (const t of transforms) {
    if (t === 'AWS::LanguageExtensions') continue;
    out.diagnostics.push(
      err(
        'TRANSFORM_NOT_EXPANDED',
        t === 'AWS::Serverless-2016-10-31'
          ? `the SAM transform (${t}) is not expanded locally, so its AWS::Serverless::* resources cannot be deployed; deploy SAM's processed template instead; nothing was deployed`
          : `Transform ${t} is not expanded locally; nothing was deployed`,
        ['Transform'],
      ),
    );
  }
  for (const [id, r] of Object.entries(desired.resources)) {
    if (!ctx.provider.handler(r.type)) {
      if (!r.type.startsWith('AWS::Serverless::') || !transforms.includes('AWS::Serverless-2016-10-31'))
        out.diagnostics.push(
          err('UNSUPPORTED_RESOURCE_TYPE', `Resource type ${r.type} has no local realisation (${ctx.provider.refusal?.(r.type) ?? 'unrecognized resource type'}); nothing was deployed`, [
            'Resources',
            id,
            'Type',
          ]),
        );
      continue;
    }
    r.properties = resolveDynamic(r.properties, ['Resources', id, 'Properties'], ctx, false, out) as JsonObject;
    await checkImage(id, r.type, r.properties, ctx, out);
    const note = ctx.provider.handler(r.type)?.planNote?.(r.properties);
    if (note?.error) out.diagnostics.push(err('UNSUPPORTED_ON_LOCAL', `${note.message}; nothing was deployed`, ['Resources', id, 'Properties']));
    else if (note) out.diagnostics.push({ severity: 'warning', code: 'LOCAL_EFFECT', message: `${id}: ${note.message}`, segments: ['Resources', id, 'Properties'] });
  }
  for (const [name, o] of Object.entries(desired.outputs)) o.value = resolveDynamic(o.value, ['Outputs', name, 'Value'], ctx, true, out);
  return out;
}
