// Template validation: every problem a template has on its own, collected at once, each with a code
// (modelled on cfn-lint's rule ids where one clearly corresponds), the logical path and the source
// position. Pure apart from reading the extracted resource spec (src/stack/spec.ts).
//
//   validateTemplate(doc, { params }) -> Diagnostic[]  (sorted; parse diagnostics of `doc` included)
//   validateValue(template, { params }) -> Diagnostic[] (same checks on plain data; `segments` only)
//
// Codes: E0000 unreadable file, JSON_SYNTAX / YAML_* / DUPLICATE_KEY from the loader;
// E1001 template structure; E1002 template size; E1003 Description length; E1005 Transform;
// E1010 Fn::GetAtt target/attribute; E1019 Fn::Sub variable; E1020 Ref target;
// E2xxx / PARAM_* parameters (src/stack/params.ts); E3001 resource structure and logical ids;
// E3002 unknown property; E3003 missing required property; E3004 dependency cycle; E3005 DependsOn;
// E3006 unknown resource type; E3007 duplicate logical id across sections; E3010/E2010/E6010/E7010
// section size limits; E3012 property value of the wrong shape; E3035 DeletionPolicy;
// E3036 UpdateReplacePolicy; E6001 outputs; E7001 mappings; E8001 conditions structure;
// E8002 undefined condition. Parameter checks come from src/stack/params.ts, Fn::ForEach expansion
// from src/stack/langext.ts, intrinsic argument checks (E10xx, E80xx) from
// src/stack/intrinsics-check.ts, service rules on literal values (Lambda runtimes W2531/E2531/E2533,
// retired services E3710/W3696/W3697, CIDR blocks E3031/E3059/CIDR_SIZE, KMS keys E1157/E1162) from
// src/stack/service-rules.ts, and YAML_BOOLEAN (unquoted yes/no/on/off) from src/stack/yaml-booleans.ts;
// SAM_NOT_EXPANDED warns that the SAM transform is not expanded locally.
import { editDistance } from '../core/text.js';
import { error, sortDiagnostics, warning, type Diagnostic } from '../core/diagnostics.js';
import { formatPath, locate, type PathSegment, type SourceDoc } from '../core/source.js';
import { SECTION_ORDER } from './model.js';
import { PSEUDO_PARAMETERS, collectReferences, dependsOnReferences, findCycles, resourceDependencies, type Reference } from './refs.js';
import { resourceType, resourceTypeNames, type PropertySpec, type Shape } from './spec.js';
import { checkParameterDefinitions, resolveParameters } from './params.js';
import { expandLanguageExtensions } from './langext.js';
import { checkIntrinsics } from './intrinsics-check.js';
import { checkServiceRules } from './service-rules.js';
import { yamlBooleanHints } from './yaml-booleans.js';
import { evaluateTemplate } from './evaluate.js';

interface ValidateOptions {
  /** Values given with `--param K=V`, checked against their parameters. Missing ones are fine. */
  params?: Readonly<Record<string, string | readonly string[]>>;
  /** Today, for the date-dependent service rules (Lambda runtimes, retired services); skipped without it. */
  now?: Date;
}

const LIMITS = { resources: 500, parameters: 200, outputs: 200, mappings: 200, mappingAttributes: 200, name: 255, description: 1024, templateBytes: 1_000_000 };
const LOGICAL_ID = /^[A-Za-z0-9]+$/;
const RESOURCE_KEYS = new Set(['Type', 'Properties', 'DependsOn', 'Condition', 'DeletionPolicy', 'UpdateReplacePolicy', 'CreationPolicy', 'UpdatePolicy', 'Metadata', 'Version']);
const OUTPUT_KEYS = new Set(['Value', 'Description', 'Export', 'Condition']);
const DELETION_POLICIES = ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'];
const UPDATE_REPLACE_POLICIES = ['Delete', 'Retain', 'Snapshot'];
const SNAPSHOT_TYPES = new Set([
  'AWS::EC2::Volume',
  'AWS::ElastiCache::CacheCluster',
  'AWS::ElastiCache::ReplicationGroup',
  'AWS::Neptune::DBCluster',
  'AWS::RDS::DBCluster',
  'AWS::RDS::DBInstance',
  'AWS::Redshift::Cluster',
  'AWS::DocDB::DBCluster',
]);
const SERVERLESS = 'AWS::Serverless-2016-10-31';
const LANGUAGE_EXTENSIONS = 'AWS::LanguageExtensions';
const SYNTAX_CODES = new Set(['JSON_SYNTAX', 'YAML_SYNTAX', 'YAML_TOO_DEEP']);
/** Codes whose position is the key of the member, not its value. */
const AT_KEY = new Set(['E1001', 'E3001', 'E3002', 'E3007', 'E6001', 'E7001', 'E8001']);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : typeof v === 'string' ? 'a string' : `a ${typeof v}`);

/** The one key of an intrinsic function object (`Ref`, `Fn::*`, and `Condition` where asked). */
function intrinsicName(v: unknown): string | undefined {
  if (!isObj(v)) return undefined;
  const keys = Object.keys(v);
  if (keys.length !== 1) return undefined;
  const k = keys[0]!;
  return k === 'Ref' || k.startsWith('Fn::') || k === 'Condition' ? k : undefined;
}

interface Context {
  diags: Diagnostic[];
  template: Obj;
  resources: Obj;
  parameters: Obj;
  conditions: Obj;
  transforms: string[];
  /** A transform other than LanguageExtensions may rewrite anything: checks stay lenient. */
  macros: boolean;
  serverless: boolean;
  languageExtensions: boolean;
  /** Logical ids of CloudFormation modules (`…::MODULE`): they add resources named `<id><Name>`. */
  modules: string[];
  /** The Condition of the resource being checked, if any. */
  resourceCondition?: string;
}

/**
 * A `Fn::ForEach::Name` loop key: with AWS::LanguageExtensions one left unexpanded (its collection
 * needs a parameter value); without the transform an error that intrinsics-check reports (E1032).
 * Either way the checks here skip it.
 */
const isLoop = (_ctx: Context, name: string) => name.startsWith('Fn::ForEach::');

function push(ctx: Context, code: string, message: string, segments: PathSegment[], severity: 'error' | 'warning' = 'error'): Diagnostic {
  const d = severity === 'error' ? error(code, message) : warning(code, message);
  d.segments = segments;
  ctx.diags.push(d);
  return d;
}

/** The `${name}` a Fn::Sub diagnostic is about, so that its position can be that variable's. */
const subVariableOf = new WeakMap<Diagnostic, string>();

/** Moves a Fn::Sub diagnostic from the start of the string to its `${name}` when the text has it. */
function atSubVariable(d: Diagnostic, doc: SourceDoc): Diagnostic {
  const name = subVariableOf.get(d);
  if (name === undefined || !d.segments || d.range) return d;
  const span = doc.positions.span(d.segments);
  if (!span) return d;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`\\$\\{\\s*${escaped}\\s*\\}`, 'g');
  re.lastIndex = span.start;
  const m = re.exec(doc.text);
  if (!m || m.index >= span.end) return d;
  return { ...d, path: d.path ?? formatPath(d.segments), range: { file: doc.file, start: doc.positions.pos(m.index), end: doc.positions.pos(m.index + m[0].length) } };
}

/** Validates a loaded template: its parse diagnostics, then every check below, with positions. */
export function validateTemplate(doc: SourceDoc, opts: ValidateOptions = {}): Diagnostic[] {
  const out: Diagnostic[] = [...doc.diagnostics];
  // Text that is not well-formed JSON/YAML: report that alone (a parser's recovery guesses would
  // only add confusing follow-on errors). Duplicate keys, aliases and unknown tags do not stop here.
  if (doc.value === undefined || out.some((d) => SYNTAX_CODES.has(d.code))) return sortDiagnostics(out);
  if (Buffer.byteLength(doc.text, 'utf8') > LIMITS.templateBytes)
    out.push({ ...error('E1002', `template is ${Buffer.byteLength(doc.text, 'utf8')} bytes; CloudFormation accepts at most ${LIMITS.templateBytes} (from S3)`), segments: [] });
  const diags = validateValue(doc.value, opts).map((d) => atSubVariable(atLoop(d, doc), doc));
  const located = [...locate([...out, ...diags], doc, { key: (d) => AT_KEY.has(d.code) }), ...yamlBooleanHints(doc)];
  // Diagnostics with no path point at the start of the document.
  for (const d of located) if (!d.range) d.range = { file: doc.file, start: doc.positions.pos(0) };
  return sortDiagnostics(located);
}

/**
 * A diagnostic about something Fn::ForEach generated (`Resources.Topica…`, absent from the text)
 * points at the loop that generated it, keeping its logical path.
 */
function atLoop(d: Diagnostic, doc: SourceDoc): Diagnostic {
  const seg = d.segments;
  if (!seg || seg.length < 2 || d.range || !isObj(doc.value)) return d;
  const section = doc.value[String(seg[0])];
  if (!isObj(section) || has(section, String(seg[1]))) return d;
  const loop = Object.keys(section).find((k) => k.startsWith('Fn::ForEach::'));
  if (!loop) return d;
  return { ...d, path: d.path ?? formatPath(seg), range: doc.positions.range([String(seg[0]), loop], { key: true }) };
}

/** The same checks on plain data; diagnostics carry `segments` (no positions). */
export function validateValue(value: unknown, opts: ValidateOptions = {}): Diagnostic[] {
  const diags: Diagnostic[] = [];
  if (!isObj(value)) {
    diags.push({
      ...error('E1001', value === null || value === undefined ? 'the template is empty; it must be an object with a Resources section' : `the template must be an object, not ${kindOf(value)}`),
      segments: [],
    });
    return diags;
  }
  const transforms = transformNames(value.Transform);
  const ctx: Context = {
    diags,
    template: value,
    resources: isObj(value.Resources) ? value.Resources : {},
    parameters: isObj(value.Parameters) ? value.Parameters : {},
    conditions: isObj(value.Conditions) ? value.Conditions : {},
    transforms,
    macros: transforms.some((t) => t !== LANGUAGE_EXTENSIONS),
    serverless: transforms.includes(SERVERLESS),
    languageExtensions: transforms.includes(LANGUAGE_EXTENSIONS),
    modules: [],
  };

  // The template as written: its sections and parameters.
  checkSections(ctx);
  checkParameters(ctx, opts);

  // AWS::LanguageExtensions: Fn::ForEach loops are expanded first (src/stack/langext.ts), with the
  // parameter values known here; the rest is checked on the expansion. A loop whose collection needs
  // a parameter with no value stays unexpanded (a warning) and the checks below skip it.
  if (ctx.languageExtensions) {
    const values = resolveParameters(value, opts.params ?? {}, { requireAll: false }).values;
    const expanded = expandLanguageExtensions(value, values);
    diags.push(...expanded.diagnostics);
    if (isObj(expanded.template)) {
      const t = expanded.template;
      ctx.template = t;
      ctx.resources = isObj(t.Resources) ? t.Resources : {};
      ctx.conditions = isObj(t.Conditions) ? t.Conditions : {};
    }
  }
  for (const [id, r] of Object.entries(ctx.resources)) if (isObj(r) && typeof r.Type === 'string' && r.Type.endsWith('::MODULE')) ctx.modules.push(id);

  checkMappings(ctx);
  checkConditions(ctx);
  checkResources(ctx);
  checkOutputs(ctx);
  checkReferences(ctx);
  checkCycles(ctx);
  // Where each intrinsic may appear and the shape of its arguments (src/stack/intrinsics-check.ts).
  diags.push(...checkIntrinsics(ctx.template));
  // Literal values the spec cannot judge: runtimes, retired services, CIDR blocks, KMS keys.
  diags.push(...checkServiceRules(ctx.template, opts.now ? { now: opts.now } : {}));
  if (ctx.serverless)
    push(
      ctx,
      'SAM_NOT_EXPANDED',
      `the SAM transform (${SERVERLESS}) is not expanded locally: its AWS::Serverless::* resources and Globals are checked only as written, and \`kiln deploy\` refuses the template; deploy SAM's processed template instead`,
      ['Transform'],
      'warning',
    );
  diags.push(...evaluationProblems(value, opts, diags));
  return diags;
}

/**
 * Evaluation errors validate adds: those about the values intrinsics compute, which the checks above
 * cannot see and which no value validate lacks (a parameter, the region) can change.
 */
const RENDER_ERRORS = new Set([
  'SELECT_OUT_OF_RANGE',
  'SELECT_ARGUMENT',
  'SELECT_NULL',
  'CIDR_ARGUMENT',
  'CONDITION_CYCLE',
  'SUB_UNCLOSED',
  'SUB_LIST',
  'SUB_ARGUMENT',
  'INTRINSIC_TOO_LARGE',
  'NESTING_TOO_DEEP',
  'JOIN_ARGUMENT',
  'SPLIT_ARGUMENT',
  'BASE64_ARGUMENT',
  'LENGTH_ARGUMENT',
  'TOJSONSTRING_ARGUMENT',
]);

/**
 * What render would meet: the template evaluated as render evaluates it (with the values given and
 * the Defaults), its errors about computed values added where the checks above said nothing about
 * the same place — an Fn::Select index out of its list, an Fn::Cidr too big for its block, circular
 * Conditions, a string an intrinsic would build past its budget.
 */
function evaluationProblems(template: Obj, opts: ValidateOptions, found: readonly Diagnostic[]): Diagnostic[] {
  const { diagnostics } = evaluateTemplate(template, { parameters: opts.params ?? {}, requireAllParameters: false });
  const near = (a: readonly PathSegment[], b: readonly PathSegment[]) => a.length > 0 && b.length > 0 && a.slice(0, Math.min(a.length, b.length)).every((x, i) => x === b[i]);
  const taken = found.filter((d) => d.severity === 'error' && d.segments).map((d) => d.segments!);
  return diagnostics.filter((d) => d.severity === 'error' && RENDER_ERRORS.has(d.code) && !taken.some((t) => near(t, d.segments ?? [])));
}

function transformNames(t: unknown): string[] {
  const one = (x: unknown): string | undefined => (typeof x === 'string' ? x : isObj(x) && typeof x.Name === 'string' ? x.Name : undefined);
  if (Array.isArray(t)) return t.map(one).filter((x): x is string => x !== undefined);
  const s = one(t);
  return s === undefined ? [] : [s];
}

// ---------------------------------------------------------------------------------------------
// Sections

const SECTION_TYPES: Record<string, 'object' | 'string' | 'transform'> = {
  AWSTemplateFormatVersion: 'string',
  Description: 'string',
  Metadata: 'object',
  Parameters: 'object',
  Rules: 'object',
  Mappings: 'object',
  Conditions: 'object',
  Transform: 'transform',
  Resources: 'object',
  Outputs: 'object',
  Hooks: 'object',
};

function checkSections(ctx: Context) {
  const t = ctx.template;
  const known = new Set<string>(SECTION_ORDER);
  if (ctx.serverless) known.add('Globals');
  for (const key of Object.keys(t)) {
    if (!known.has(key)) {
      push(ctx, 'E1001', `unknown top-level section '${key}' (allowed: ${[...known].join(', ')})`, [key]);
      continue;
    }
    const want = SECTION_TYPES[key];
    const v = t[key];
    if (want === 'object' && !isObj(v)) push(ctx, 'E1001', `${key} must be an object, not ${kindOf(v)}`, [key]);
    if (want === 'string' && typeof v !== 'string') push(ctx, 'E1001', `${key} must be a string, not ${kindOf(v)}`, [key]);
  }
  if (!has(t, 'Resources')) push(ctx, 'E1001', 'the template has no Resources section (it is required)', []);
  if (typeof t.AWSTemplateFormatVersion === 'string' && t.AWSTemplateFormatVersion !== '2010-09-09')
    push(ctx, 'E1001', `AWSTemplateFormatVersion must be "2010-09-09", not "${t.AWSTemplateFormatVersion}"`, ['AWSTemplateFormatVersion']);
  if (typeof t.Description === 'string' && Buffer.byteLength(t.Description, 'utf8') > LIMITS.description)
    push(ctx, 'E1003', `Description is ${Buffer.byteLength(t.Description, 'utf8')} bytes; the limit is ${LIMITS.description}`, ['Description']);
  if (has(t, 'Transform')) {
    const v = t.Transform;
    const ok = (x: unknown) => typeof x === 'string' || (isObj(x) && typeof x.Name === 'string');
    if (!(ok(v) || (Array.isArray(v) && v.every(ok)))) push(ctx, 'E1005', 'Transform must be a transform name or a list of them', ['Transform']);
    const le = ctx.transforms.indexOf(LANGUAGE_EXTENSIONS);
    const sam = ctx.transforms.indexOf(SERVERLESS);
    if (le >= 0 && sam >= 0 && le > sam) push(ctx, 'E1005', `${LANGUAGE_EXTENSIONS} must be listed before ${SERVERLESS}`, ['Transform']);
  }
  // Logical ids are unique across Parameters, Resources and (separately named) Outputs/Conditions/Mappings.
  for (const name of Object.keys(ctx.resources)) {
    if (has(ctx.parameters, name)) push(ctx, 'E3007', `'${name}' is both a parameter and a resource; logical ids must be unique`, ['Resources', name]);
  }
}

function checkName(ctx: Context, section: string, name: string, code: string) {
  if (isLoop(ctx, name)) return;
  if (!LOGICAL_ID.test(name)) push(ctx, code, `${section} name '${name}' must be alphanumeric (A-Z, a-z, 0-9)`, [section, name]);
  else if (name.length > LIMITS.name) push(ctx, code, `${section} name '${name.slice(0, 20)}…' is ${name.length} characters; the limit is ${LIMITS.name}`, [section, name]);
}

function checkCount(ctx: Context, section: string, limit: number, code: string) {
  const v = ctx.template[section];
  if (isObj(v) && Object.keys(v).length > limit) push(ctx, code, `${section} has ${Object.keys(v).length} entries; CloudFormation allows at most ${limit}`, [section]);
}

// ---------------------------------------------------------------------------------------------
// Parameters: H1b's checks (src/stack/params.ts). Values given with --param are checked; a parameter
// with neither a value nor a Default is fine here (validate checks the template on its own).

function checkParameters(ctx: Context, opts: ValidateOptions) {
  checkCount(ctx, 'Parameters', LIMITS.parameters, 'E2010');
  ctx.diags.push(...checkParameterDefinitions(ctx.template));
  if (opts.params) ctx.diags.push(...resolveParameters(ctx.template, opts.params, { requireAll: false }).diagnostics);
}

// ---------------------------------------------------------------------------------------------
// Mappings

function checkMappings(ctx: Context) {
  const maps = ctx.template.Mappings;
  if (!isObj(maps)) return;
  checkCount(ctx, 'Mappings', LIMITS.mappings, 'E7010');
  for (const [name, map] of Object.entries(maps)) {
    if (isLoop(ctx, name)) continue;
    checkName(ctx, 'Mappings', name, 'E7001');
    if (!isObj(map)) {
      push(ctx, 'E7001', `mapping '${name}' must be an object of top-level keys`, ['Mappings', name]);
      continue;
    }
    if (Object.keys(map).length > LIMITS.mappingAttributes) push(ctx, 'E7010', `mapping '${name}' has ${Object.keys(map).length} keys; the limit is ${LIMITS.mappingAttributes}`, ['Mappings', name]);
    for (const [k1, level2] of Object.entries(map)) {
      if (!isObj(level2)) {
        push(ctx, 'E7001', `Mappings.${name}.${k1} must be an object of second-level keys, not ${kindOf(level2)}`, ['Mappings', name, k1]);
        continue;
      }
      for (const [k2, v] of Object.entries(level2)) {
        // A function here is reported by intrinsics-check (E1001).
        if (isObj(v) && intrinsicName(v) === undefined) push(ctx, 'E7001', `mapping values must be strings, numbers or lists, not an object`, ['Mappings', name, k1, k2]);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Conditions

function checkConditions(ctx: Context) {
  const conds = ctx.template.Conditions;
  if (!isObj(conds)) return;
  for (const [name, body] of Object.entries(conds)) {
    if (isLoop(ctx, name)) continue;
    checkName(ctx, 'Conditions', name, 'E8001');
    // That the body is a condition function of the right shape: intrinsics-check (E8001, E80xx).
    for (const r of collectReferences(body, ['Conditions', name])) {
      if (r.kind === 'Condition') {
        if (!has(conds, r.target)) push(ctx, 'E8002', `condition '${r.target}' is not defined in Conditions`, r.path);
      } else if (r.kind === 'Ref') {
        if (has(ctx.resources, r.target) && !has(ctx.parameters, r.target)) push(ctx, 'E1020', `conditions cannot refer to resources: Ref ${r.target}`, r.path);
      } else if (r.kind === 'GetAtt') push(ctx, 'E1010', `conditions cannot use Fn::GetAtt (${r.target})`, r.path);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Resources

function checkResources(ctx: Context) {
  const res = ctx.template.Resources;
  if (!isObj(res)) return;
  checkCount(ctx, 'Resources', LIMITS.resources, 'E3010');
  for (const [id, r] of Object.entries(res)) {
    if (isLoop(ctx, id)) continue;
    const at: PathSegment[] = ['Resources', id];
    if (!LOGICAL_ID.test(id)) push(ctx, 'E3001', `logical id '${id}' must be alphanumeric (A-Z, a-z, 0-9)`, at);
    else if (id.length > LIMITS.name) push(ctx, 'E3001', `logical id '${id.slice(0, 20)}…' is ${id.length} characters; the limit is ${LIMITS.name}`, at);
    if (!isObj(r)) {
      push(ctx, 'E3001', `resource '${id}' must be an object with a Type, not ${kindOf(r)}`, at);
      continue;
    }
    const samType = ctx.serverless && typeof r.Type === 'string' && r.Type.startsWith('AWS::Serverless::');
    for (const key of Object.keys(r))
      if (!RESOURCE_KEYS.has(key) && !(samType && key === 'IgnoreGlobals')) push(ctx, 'E3001', `unknown resource attribute '${key}' (allowed: ${[...RESOURCE_KEYS].join(', ')})`, [...at, key]);
    checkDependsOn(ctx, id, r);
    if (has(r, 'Condition')) {
      if (typeof r.Condition !== 'string') push(ctx, 'E3001', `Condition must be a condition name, not ${kindOf(r.Condition)}`, [...at, 'Condition']);
      else if (!has(ctx.conditions, r.Condition)) push(ctx, 'E8002', `condition '${r.Condition}' is not defined in Conditions`, [...at, 'Condition']);
    }
    const type = r.Type;
    if (typeof type !== 'string') {
      push(ctx, 'E3001', has(r, 'Type') ? `Type must be a string, not ${kindOf(type)}` : `resource '${id}' has no Type`, has(r, 'Type') ? [...at, 'Type'] : at);
      continue;
    }
    checkPolicies(ctx, id, r, type);
    if (has(r, 'Properties') && !isObj(r.Properties)) {
      push(ctx, 'E3001', `Properties must be an object, not ${kindOf(r.Properties)}`, [...at, 'Properties']);
      continue;
    }
    if (isCustomType(type) || UNSPECIFIED_TYPES.has(type)) continue;
    if (type.startsWith('AWS::Serverless::') && ctx.serverless) continue; // the SAM transform defines them
    const spec = resourceType(type);
    if (!spec) {
      if (ctx.macros && !type.startsWith('AWS::')) continue; // a macro or module may define it
      if (type.endsWith('::MODULE')) continue; // CloudFormation modules come from the registry
      push(ctx, 'E3006', `unknown resource type '${type}'${suggest(type, resourceTypeNames())}`, [...at, 'Type']);
      continue;
    }
    if (ctx.macros && containsTransform(r.Properties)) continue;
    const props = isObj(r.Properties) ? r.Properties : {};
    ctx.resourceCondition = typeof r.Condition === 'string' ? r.Condition : undefined;
    const packaged = PACKAGED[type];
    if (packaged && typeof props[packaged] === 'string') {
      // `aws cloudformation package` replaces a local path here with the uploaded location.
      push(ctx, 'W3002', `${packaged} is a local path ('${props[packaged] as string}'): this template only works after \`aws cloudformation package\``, [...at, 'Properties', packaged], 'warning');
      checkObject(ctx, props, spec.properties, [...at, 'Properties'], [...at, 'Properties'], packaged);
      continue;
    }
    checkObject(ctx, props, spec.properties, [...at, 'Properties'], has(r, 'Properties') ? [...at, 'Properties'] : at);
  }
}

function isCustomType(type: string): boolean {
  return type.startsWith('Custom::') || type === 'AWS::CloudFormation::CustomResource';
}

/** Properties `aws cloudformation package` fills from a local path (cfn-lint: W3002). */
const PACKAGED: Record<string, string> = {
  'AWS::Lambda::Function': 'Code',
  'AWS::Lambda::LayerVersion': 'Content',
  'AWS::ApiGateway::RestApi': 'BodyS3Location',
  'AWS::ElasticBeanstalk::ApplicationVersion': 'SourceBundle',
  'AWS::StepFunctions::StateMachine': 'DefinitionS3Location',
  'AWS::AppSync::Resolver': 'RequestMappingTemplateS3Location',
  'AWS::Glue::Job': 'Command',
};

/** Types CloudFormation accepts that the resource spec does not describe. */
const UNSPECIFIED_TYPES = new Set(['AWS::CDK::Metadata']);

function containsTransform(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(containsTransform);
  if (!isObj(v)) return false;
  return has(v, 'Fn::Transform') || Object.values(v).some(containsTransform);
}

function checkDependsOn(ctx: Context, id: string, r: Obj) {
  if (!has(r, 'DependsOn')) return;
  const d = r.DependsOn;
  const at: PathSegment[] = ['Resources', id, 'DependsOn'];
  if (!(typeof d === 'string' || (Array.isArray(d) && d.every((x) => typeof x === 'string')))) {
    push(ctx, 'E3005', 'DependsOn must be a logical id or a list of logical ids', at);
    return;
  }
  for (const ref of dependsOnReferences(r, ['Resources', id])) {
    if (ref.target === id) push(ctx, 'E3005', `resource '${id}' cannot depend on itself`, ref.path);
    else if (!has(ctx.resources, ref.target)) push(ctx, 'E3005', `DependsOn names '${ref.target}', which is not a resource of this template`, ref.path);
  }
}

function checkPolicies(ctx: Context, id: string, r: Obj, type: string) {
  const at: PathSegment[] = ['Resources', id];
  if (has(r, 'DeletionPolicy') && intrinsicName(r.DeletionPolicy) === undefined) {
    const v = r.DeletionPolicy;
    if (typeof v !== 'string' || !DELETION_POLICIES.includes(v)) push(ctx, 'E3035', `DeletionPolicy must be one of ${DELETION_POLICIES.join(', ')}`, [...at, 'DeletionPolicy']);
    else if (v === 'Snapshot' && !SNAPSHOT_TYPES.has(type) && !isCustomType(type)) push(ctx, 'E3035', `DeletionPolicy Snapshot is not supported for ${type}`, [...at, 'DeletionPolicy']);
  }
  if (has(r, 'UpdateReplacePolicy') && intrinsicName(r.UpdateReplacePolicy) === undefined) {
    const v = r.UpdateReplacePolicy;
    if (typeof v !== 'string' || !UPDATE_REPLACE_POLICIES.includes(v)) push(ctx, 'E3036', `UpdateReplacePolicy must be one of ${UPDATE_REPLACE_POLICIES.join(', ')}`, [...at, 'UpdateReplacePolicy']);
    else if (v === 'Snapshot' && !SNAPSHOT_TYPES.has(type) && !isCustomType(type)) push(ctx, 'E3036', `UpdateReplacePolicy Snapshot is not supported for ${type}`, [...at, 'UpdateReplacePolicy']);
  }
  for (const key of ['CreationPolicy', 'UpdatePolicy', 'Metadata']) {
    if (has(r, key) && !isObj(r[key])) push(ctx, 'E3001', `${key} must be an object, not ${kindOf(r[key])}`, [...at, key]);
  }
}

/** Checks an object against its property specs: unknown names, missing required ones, shapes. */
function checkObject(ctx: Context, v: Obj, props: Readonly<Record<string, PropertySpec>>, path: PathSegment[], requiredAt: PathSegment[], skipShapeOf?: string) {
  const fn = intrinsicName(v);
  if (fn !== undefined) {
    // A whole object given by a function: check both branches of Fn::If; others are not known here.
    const args = v[fn];
    if (fn === 'Fn::If' && Array.isArray(args) && args.length === 3)
      for (const i of [1, 2]) {
        const b = args[i];
        if (isObj(b)) checkObject(ctx, b, props, [...path, 'Fn::If', i], [...path, 'Fn::If', i]);
      }
    return;
  }
  for (const key of Object.keys(v)) {
    const p = props[key];
    if (!p) {
      if (key === 'Fn::Transform') return; // AWS::Include replaces this object
      if (isLoop(ctx, key)) continue; // an Fn::ForEach left unexpanded (its collection needs a value)
      push(ctx, 'E3002', `unknown property '${key}'${suggest(key, Object.keys(props))}`, [...path, key]);
      continue;
    }
    if (key !== skipShapeOf) checkShape(ctx, v[key], p.shape, [...path, key]);
  }
  for (const p of Object.values(props)) {
    if (!p.required) continue;
    if (!has(v, p.name)) {
      push(ctx, 'E3003', `missing required property '${p.name}'`, requiredAt);
      continue;
    }
    const removed = removedWhen(v[p.name]);
    if (removed && !(removed.when === 'false' && removed.condition === ctx.resourceCondition))
      push(ctx, 'E3003', `required property '${p.name}' is removed (AWS::NoValue) when condition '${removed.condition}' is ${removed.when}`, [...path, p.name, 'Fn::If']);
  }
}

/** `Fn::If [C, x, Ref AWS::NoValue]`: the property disappears when C is false (or true, mirrored). */
function removedWhen(v: unknown): { condition: string; when: 'true' | 'false' } | undefined {
  if (!isObj(v) || intrinsicName(v) !== 'Fn::If') return undefined;
  const a = v['Fn::If'];
  if (!Array.isArray(a) || a.length !== 3 || typeof a[0] !== 'string') return undefined;
  const noValue = (x: unknown) => isObj(x) && x.Ref === 'AWS::NoValue' && Object.keys(x).length === 1;
  if (noValue(a[2])) return { condition: a[0], when: 'false' };
  if (noValue(a[1])) return { condition: a[0], when: 'true' };
  return undefined;
}

/** ` (did you mean 'X'?)` for the closest name within a small edit distance, else ''. */
function suggest(key: string, names: readonly string[]): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestD = Math.min(3, Math.floor(key.length / 3) + 1);
  for (const n of names) {
    if (Math.abs(n.length - key.length) >= bestD) continue;
    const d = n.toLowerCase() === lower ? 0 : editDistance(lower, n.toLowerCase(), bestD);
    if (d < bestD) {
      bestD = d;
      best = n;
    }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

const NUMERIC = /^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/;

function checkShape(ctx: Context, v: unknown, shape: Shape, path: PathSegment[]) {
  const fn = intrinsicName(v);
  if (fn !== undefined) {
    if (fn === 'Fn::If') {
      const args = (v as Obj)['Fn::If'];
      if (Array.isArray(args) && args.length === 3) {
        checkShape(ctx, args[1], shape, [...path, 'Fn::If', 1]);
        checkShape(ctx, args[2], shape, [...path, 'Fn::If', 2]);
      }
    }
    return; // any other function: its result is not known here
  }
  switch (shape.kind) {
    case 'any':
    case 'json':
    case 'date-time':
      return;
    case 'string':
      if (isObj(v) || Array.isArray(v)) push(ctx, 'E3012', `expected a string, found ${kindOf(v)}`, path);
      return;
    case 'integer':
    case 'number':
      if (typeof v === 'number') return;
      if (typeof v === 'string' && NUMERIC.test(v)) return;
      push(ctx, 'E3012', `expected ${shape.kind === 'integer' ? 'an integer' : 'a number'}, found ${typeof v === 'string' ? `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'` : kindOf(v)}`, path);
      return;
    case 'boolean':
      if (typeof v === 'boolean') return;
      if (typeof v === 'string' && /^(?:true|false)$/i.test(v)) return;
      push(ctx, 'E3012', `expected a boolean, found ${typeof v === 'string' ? `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'` : kindOf(v)}`, path);
      return;
    case 'tag':
      if (!isObj(v)) push(ctx, 'E3012', `expected a tag object {Key, Value}, found ${kindOf(v)}`, path);
      else {
        for (const k of Object.keys(v)) if (k !== 'Key' && k !== 'Value') push(ctx, 'E3002', `unknown property '${k}' in a tag (Key, Value)`, [...path, k]);
        if (!has(v, 'Key')) push(ctx, 'E3003', "missing required property 'Key' in a tag", path);
      }
      return;
    case 'array':
      if (!Array.isArray(v)) {
        push(ctx, 'E3012', `expected a list, found ${kindOf(v)}`, path);
        return;
      }
      v.forEach((x, i) => checkShape(ctx, x, shape.element, [...path, i]));
      return;
    case 'map':
      if (!isObj(v)) {
        push(ctx, 'E3012', `expected an object (a map), found ${kindOf(v)}`, path);
        return;
      }
      for (const [k, x] of Object.entries(v)) checkShape(ctx, x, shape.element, [...path, k]);
      return;
    case 'object':
      if (!isObj(v)) {
        push(ctx, 'E3012', `expected an object (${shape.name}), found ${kindOf(v)}`, path);
        return;
      }
      checkObject(ctx, v, shape.properties, path, path);
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs

function checkOutputs(ctx: Context) {
  const outs = ctx.template.Outputs;
  if (!isObj(outs)) return;
  checkCount(ctx, 'Outputs', LIMITS.outputs, 'E6010');
  for (const [name, o] of Object.entries(outs)) {
    if (isLoop(ctx, name)) continue;
    checkName(ctx, 'Outputs', name, 'E6001');
    const at: PathSegment[] = ['Outputs', name];
    if (!isObj(o)) {
      push(ctx, 'E6001', `output '${name}' must be an object with a Value`, at);
      continue;
    }
    for (const key of Object.keys(o)) if (!OUTPUT_KEYS.has(key)) push(ctx, 'E6001', `unknown output attribute '${key}' (allowed: Value, Description, Export, Condition)`, [...at, key]);
    if (!has(o, 'Value')) push(ctx, 'E6002', `output '${name}' has no Value`, at);
    else if (o.Value === null) push(ctx, 'E6002', `output '${name}' has an empty Value`, [...at, 'Value']);
    if (has(o, 'Description')) {
      if (typeof o.Description !== 'string') push(ctx, 'E6001', 'output Description must be a literal string', [...at, 'Description']);
      else if (Buffer.byteLength(o.Description, 'utf8') > LIMITS.description) push(ctx, 'E6001', `output Description is longer than ${LIMITS.description} bytes`, [...at, 'Description']);
    }
    if (has(o, 'Export') && !(isObj(o.Export) && has(o.Export, 'Name'))) push(ctx, 'E6001', 'Export must be an object with a Name', [...at, 'Export']);
    if (has(o, 'Condition')) {
      if (typeof o.Condition !== 'string') push(ctx, 'E6001', 'output Condition must be a condition name', [...at, 'Condition']);
      else if (!has(ctx.conditions, o.Condition)) push(ctx, 'E8002', `condition '${o.Condition}' is not defined in Conditions`, [...at, 'Condition']);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// References: Ref, GetAtt, Sub variables and Fn::If conditions in Resources and Outputs

function checkReferences(ctx: Context) {
  const refs: Reference[] = [];
  const forEach = (section: string, skipKeys: ReadonlySet<string>) => {
    const s = ctx.template[section];
    if (!isObj(s)) return;
    for (const [name, v] of Object.entries(s)) {
      if (isLoop(ctx, name)) continue;
      if (!isObj(v)) continue;
      for (const [k, x] of Object.entries(v)) if (!skipKeys.has(k)) collectReferences(x, [section, name, k], refs);
    }
  };
  forEach('Resources', new Set(['Type', 'DependsOn', 'Condition']));
  forEach('Outputs', new Set(['Condition']));
  for (const r of refs) {
    // Inside an unexpanded loop, names may be its identifier: not checkable before expansion.
    if (r.path.some((seg) => typeof seg === 'string' && seg.startsWith('Fn::ForEach::'))) continue;
    checkReference(ctx, r);
  }
}

/** A name a module adds (`<ModuleId><ResourceName>`), which only the registry knows. */
function fromModule(ctx: Context, name: string): boolean {
  return ctx.modules.some((m) => name.startsWith(m) && name !== m);
}

function checkReference(ctx: Context, r: Reference) {
  const lenient = ctx.macros || fromModule(ctx, r.target);
  switch (r.kind) {
    case 'Condition':
      return; // `{Condition: X}` outside Conditions is ordinary data (e.g. an IAM policy key)
    case 'If':
      if (!has(ctx.conditions, r.target)) push(ctx, 'E8002', `Fn::If names condition '${r.target}', which is not defined in Conditions`, r.path);
      return;
    case 'Ref':
      if (PSEUDO_PARAMETERS.has(r.target) || has(ctx.parameters, r.target) || has(ctx.resources, r.target)) return;
      if (!lenient) push(ctx, 'E1020', `Ref to '${r.target}', which is not a parameter, resource or pseudo parameter`, r.path);
      return;
    case 'GetAtt':
      checkGetAtt(ctx, r, 'E1010', 'Fn::GetAtt');
      return;
    case 'Sub':
      if (r.attribute === undefined) {
        if (PSEUDO_PARAMETERS.has(r.target) || has(ctx.parameters, r.target) || has(ctx.resources, r.target)) return;
        if (!lenient) subVariableOf.set(push(ctx, 'E1019', `Fn::Sub variable \${${r.target}} is not a parameter, resource, pseudo parameter or variable of this Sub`, r.path), r.target);
        return;
      }
      const before = ctx.diags.length;
      checkGetAtt(ctx, r, 'E1019', 'Fn::Sub');
      for (const d of ctx.diags.slice(before)) subVariableOf.set(d, `${r.target}.${r.attribute}`);
      return;
    case 'DependsOn':
      return;
  }
}

function checkGetAtt(ctx: Context, r: Reference, code: string, fn: string) {
  const res = ctx.resources[r.target];
  const shown = r.attribute === undefined ? r.target : `${r.target}.${r.attribute}`;
  if (!isObj(res)) {
    if (ctx.macros || fromModule(ctx, r.target)) return;
    const what = has(ctx.parameters, r.target) ? 'a parameter (use Ref)' : 'not a resource of this template';
    push(ctx, code, `${fn} ${shown}: '${r.target}' is ${what}`, r.path);
    return;
  }
  if (r.attribute === undefined) {
    if (fn === 'Fn::GetAtt' && r.path[r.path.length - 1] !== 0) push(ctx, code, `Fn::GetAtt ${shown}: an attribute name is needed (Resource.Attribute)`, r.path);
    return;
  }
  const type = res.Type;
  if (typeof type !== 'string' || isCustomType(type) || type.endsWith('::MODULE')) return;
  if (type.startsWith('AWS::Serverless::') && ctx.serverless) return;
  const spec = resourceType(type);
  if (!spec) return; // unknown type reported once, on the resource
  const attr = r.attribute;
  if (spec.attributes.includes(attr)) return;
  if (type === 'AWS::CloudFormation::Stack' && attr.startsWith('Outputs.')) return;
  if (spec.attributes.some((a) => attr.startsWith(a + '.')) && type === 'AWS::CloudFormation::Stack') return;
  const attrPath = fn === 'Fn::GetAtt' && r.path[r.path.length - 1] === 0 ? [...r.path.slice(0, -1), 1] : r.path;
  const list = spec.attributes.length ? `; ${type} has ${spec.attributes.join(', ')}` : `; ${type} has no attributes`;
  push(ctx, code, `${fn} ${shown}: unknown attribute '${attr}'${list}`, attrPath);
}

// ---------------------------------------------------------------------------------------------
// Cycles

function checkCycles(ctx: Context) {
  if (!isObj(ctx.template.Resources)) return;
  const deps = resourceDependencies(ctx.template);
  for (const cycle of findCycles(deps)) {
    const [first, second] = cycle;
    const edge = deps.get(first!)?.find((d) => d.on === second);
    push(ctx, 'E3004', `circular dependency between resources: ${cycle.join(' -> ')}`, edge?.path ?? ['Resources', first!]);
  }
}
