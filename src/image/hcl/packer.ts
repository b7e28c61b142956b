// Packer's HCL2 template language with Packer's meaning, turned into kiln's internal template
// (types.ts ParsedTemplate) so that the same engine prepares, builds and caches it:
//
//   files (.pkr.hcl / .pkr.json, a folder)  → blocks: packer, variable(s), local(s), data, source, build
//   variables: defaults < PKR_VAR_* < *.auto.pkrvars.hcl < -var-file (in order) < -var (in order)
//   locals and data sources: evaluated in dependency order (cycles are an error)
//   build: each source used becomes a builder (full name `[build.]type.name`, PACKER_BUILD_NAME =
//   the source's name), its provisioners and post-processors restricted to the builders of that build
//
// Every diagnostic has the range of the HCL that caused it. Pure apart from the file reads that the
// caller's FunctionEnv provides.
import { dirname } from 'node:path';
import type { Diagnostic } from '../../core/diagnostics.js';
import type { Path } from '../../core/source.js';
import { BUILDER_SCHEMAS, listBlockNames } from '../config/amazon-ebs-schema.js';
import { BUILDER_TYPES, buildKeys } from '../config/builders.js';
import { makeResolved } from '../variables.js';
import type { BuilderDef, ParsedTemplate, PostProcessorDef, ProvisionerDef, ResolvedVariables } from '../types.js';
import { SENSITIVE_MASK } from '../types.js';
import { bareName, traversalNames, type Attribute, type Block, type Body, type Expr, type Range } from './ast.js';
import { child, evaluate, EvalError, type Scope } from './eval.js';
import { makeFunctions, type FunctionEnv } from './functions.js';
import { checkBodyShape, checkValues, type SchemaIssue } from './plugin-schema.js';
import { HclPositionIndex } from './positions.js';
import { convert, ConvertError, containsUnknown, isObj, isUnknown, show, toPlain, tyString, Unknown, type Ty, type Value } from './values.js';

/** The Packer release whose HCL2 language kiln follows (the corpus's, and `packer.version`). */
const HCL_PACKER_VERSION = '1.9.4';

export const HCL_CODES = {
  syntax: 'HCL_SYNTAX',
  schema: 'HCL_SCHEMA',
  variables: 'HCL_VARIABLES',
  expr: 'HCL_EXPRESSION',
  version: 'HCL_VERSION',
  plugin: 'HCL_PLUGIN',
} as const;

interface HclFileInput {
  file: string;
  body: Body;
}

interface HclInputs {
  /** Template files, parsed, in load order. */
  files: HclFileInput[];
  /** `*.auto.pkrvars.hcl` then `-var-file`s, parsed, in order (each a flat body of attributes). */
  varFiles: HclFileInput[];
  /** `-var k=v` in command-line order. */
  vars: Array<[string, string]>;
  /** Parses a `-var`/`PKR_VAR_` value as an HCL expression (for non-string variables). */
  parseExpr(text: string, origin: string): { expr?: Expr; diagnostics: Diagnostic[] };
  env: Record<string, string | undefined>;
  fn: FunctionEnv;
  /** Absolute directory of the template. */
  root: string;
  /** `path.root`: the template's directory as given (relative stays relative, as in Packer). */
  rootAsGiven?: string;
  /** Path as given (file or folder), for messages and `ParsedTemplate.file`. */
  display: string;
  /**
   * Data sources looked up outside the loader (amazon-ami on AWS), by `TYPE.NAME`: their outputs.
   * Data sources not here stay unknown (`kiln validate` looks nothing up).
   */
  dataValues?: Record<string, Record<string, Value>>;
}

interface VariableInfo {
  name: string;
  type?: Ty;
  default?: Value;
  value?: Value;
  set: boolean;
  sensitive: boolean;
  description?: string;
  range: Range;
}

/** A data block whose outputs come from outside (amazon-ami): its configuration, once fully known. */
export interface DataSourceInfo {
  type: string;
  name: string;
  /** The evaluated arguments; undefined while one depends on something unknown (another data source). */
  config?: Record<string, unknown>;
  /** The block's header (`data "amazon-ami" "NAME"`), for messages. */
  range: Range;
}

interface HclInfo {
  variables: VariableInfo[];
  dataSources: DataSourceInfo[];
  locals: Array<{ name: string; value?: Value; sensitive: boolean }>;
  builds: Array<{ name?: string; description?: string; sources: string[]; provisioners: string[]; postProcessors: string[][] }>;
  requiredVersion?: string;
}

export interface HclResult {
  template?: ParsedTemplate;
  info: HclInfo;
  diagnostics: Diagnostic[];
  /** Hides sensitive values in any text. */
  mask: (s: string) => string;
}

const diag = (code: string, summary: string, detail: string, r: Range | undefined, severity: 'error' | 'warning' = 'error'): Diagnostic => ({
  severity,
  code,
  message: detail ? `${summary}; ${detail}` : summary,
  ...(r ? { range: { file: r.file, start: r.start, end: r.end } } : {}),
});

const fromEval = (e: EvalError, code: string = HCL_CODES.expr): Diagnostic => diag(code, e.summary, e.detail, e.range);

const TOP_BLOCKS = ['packer', 'variable', 'variables', 'locals', 'local', 'source', 'build', 'data'];
const KNOWN_BUILDERS = BUILDER_TYPES as readonly string[];
/** Plugins kiln has built in, by the `required_plugins` source address's last part. */
const BUILT_IN_PLUGINS: Record<string, string> = {
  docker: 'the docker builder and the docker-tag, docker-import, docker-save post-processors',
  amazon: 'the amazon-ebs builder and the amazon-ami data source',
};
/** Nested block types that plugin configs take as lists even when written once. */
const LIST_BLOCKS = listBlockNames(Object.values(BUILDER_SCHEMAS));
const DATA_TYPES: Record<string, string[]> = {
  'amazon-ami': ['id', 'name', 'creation_date', 'owner', 'owner_name', 'root_device_type', 'tags'],
  null: ['output'],
};

interface Ctx {
  in: HclInputs;
  diags: Diagnostic[];
  pos: HclPositionIndex;
  scope: Scope;
  sensitive: Set<string>;
  sensitiveValues: Value[];
}

// ---------------------------------------------------------------------------------------------
// Schema helpers
// ---------------------------------------------------------------------------------------------

function unsupportedArg(c: Ctx, a: Attribute): void {
  c.diags.push(diag(HCL_CODES.schema, 'Unsupported argument', `An argument named "${a.name}" is not expected here.`, a.nameR));
}
function unsupportedBlock(c: Ctx, b: Block, hint = ''): void {
  c.diags.push(diag(HCL_CODES.schema, 'Unsupported block type', `Blocks of type "${b.type}" are not expected here.${hint}`, b.typeR));
}
function checkSchema(c: Ctx, body: Body, attrs: string[], blocks: string[]): void {
  for (const a of body.attrs) if (!attrs.includes(a.name)) unsupportedArg(c, a);
  for (const b of body.blocks) if (!blocks.includes(b.type)) unsupportedBlock(c, b);
  const seen = new Map<string, Attribute>();
  for (const a of body.attrs) {
    const prev = seen.get(a.name);
    if (prev) c.diags.push(diag(HCL_CODES.schema, 'Duplicate argument', `The argument "${a.name}" was already set at ${where(prev.nameR)}. Each argument may be set only once.`, a.nameR));
    seen.set(a.name, a);
  }
}
/** Schema issues of a plugin body, each once (a source used by several builds is checked for each). */
function reportSchema(c: Ctx, issues: SchemaIssue[]): void {
  for (const i of issues) {
    const d = diag(HCL_CODES.schema, i.summary, i.detail, i.r);
    const same = (x: Diagnostic) => x.message === d.message && x.range?.file === d.range?.file && x.range?.start.offset === d.range?.start.offset;
    if (!c.diags.some(same)) c.diags.push(d);
  }
}
function where(r: Range): string {
  return `${r.file}:${r.start.line},${r.start.col}-${r.end.col}`;
}
const attr = (body: Body, name: string) => body.attrs.find((a) => a.name === name);

function ev(c: Ctx, e: Expr, scope = c.scope): Value | undefined {
  try {
    return evaluate(e, scope);
  } catch (err) {
    if (err instanceof EvalError) {
      c.diags.push(fromEval(err));
      return undefined;
    }
    throw err;
  }
}

function evString(c: Ctx, a: Attribute, scope = c.scope): string | undefined {
  const v = ev(c, a.expr, scope);
  if (v === undefined) return undefined;
  if (isUnknown(v)) return undefined;
  try {
    return convert(v, { k: 'string' }) as string;
  } catch {
    c.diags.push(diag(HCL_CODES.expr, 'Incorrect attribute value type', `Inappropriate value for attribute "${a.name}": string required.`, a.expr.r));
    return undefined;
  }
}

function evStringList(c: Ctx, a: Attribute, scope = c.scope): string[] | undefined {
  const v = ev(c, a.expr, scope);
  if (v === undefined || isUnknown(v)) return undefined;
  try {
    return convert(v, { k: 'list', el: { k: 'string' } }) as string[];
  } catch {
    c.diags.push(diag(HCL_CODES.expr, 'Incorrect attribute value type', `Inappropriate value for attribute "${a.name}": list of string required.`, a.expr.r));
    return undefined;
  }
}

/** Literal (no references) list of strings, as Packer requires for `sources`, `only`, `except`. */
function literalStrings(c: Ctx, a: Attribute): string[] | undefined {
  const refs = references(a.expr);
  if (refs.length) {
    c.diags.push(diag(HCL_CODES.expr, 'Variables not allowed', 'Variables may not be used here.', refs[0]!.r));
    return undefined;
  }
  return evStringList(c, a, { names: {}, functions: {} });
}

/** Every root traversal in an expression (`var.x`, `local.y`, `data.t.n.id`). */
export function references(e: Expr, bound: Set<string> = new Set()): Array<{ names: string[]; r: Range }> {
  const out: Array<{ names: string[]; r: Range }> = [];
  const walk = (x: Expr, b: Set<string>): void => {
    switch (x.k) {
      case 'var':
        if (!b.has(x.name)) out.push({ names: [x.name], r: x.r });
        return;
      case 'attr': {
        const names = traversalNames(x);
        if (names) {
          if (!b.has(names[0]!)) out.push({ names, r: x.r });
          return;
        }
        return walk(x.obj, b);
      }
      case 'index':
        walk(x.obj, b);
        return walk(x.key, b);
      case 'splat':
        walk(x.obj, b);
        return walk(x.each, b);
      case 'call':
        return x.args.forEach((a) => walk(a, b));
      case 'tuple':
        return x.items.forEach((a) => walk(a, b));
      case 'object':
        return x.items.forEach((it) => {
          if (it.key.k !== 'var') walk(it.key, b);
          walk(it.value, b);
        });
      case 'cond':
        walk(x.c, b);
        walk(x.t, b);
        return walk(x.f, b);
      case 'bin':
        walk(x.a, b);
        return walk(x.b, b);
      case 'un':
        return walk(x.a, b);
      case 'paren':
        return walk(x.e, b);
      case 'let':
        return walk(x.e, new Set([...b, ...Object.keys(x.bind)]));
      case 'for': {
        walk(x.coll, b);
        const inner = new Set([...b, x.valVar, ...(x.keyVar ? [x.keyVar] : [])]);
        if (x.keyExpr) walk(x.keyExpr, inner);
        walk(x.valExpr, inner);
        if (x.cond) walk(x.cond, inner);
        return;
      }
      case 'tmpl': {
        const parts = (ps: typeof x.parts, bb: Set<string>): void =>
          ps.forEach((p) => {
            if (p.k === 'interp') walk(p.e, bb);
            else if (p.k === 'if') {
              walk(p.cond, bb);
              parts(p.then, bb);
              parts(p.else, bb);
            } else if (p.k === 'for') {
              walk(p.coll, bb);
              parts(p.body, new Set([...bb, p.valVar, ...(p.keyVar ? [p.keyVar] : [])]));
            }
          });
        return parts(x.parts, b);
      }
      default:
        return;
    }
  };
  walk(e, bound);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Type constraints
// ---------------------------------------------------------------------------------------------

function parseType(c: Ctx, e: Expr): Ty | undefined {
  const bad = (kw: string, r: Range) => {
    c.diags.push(diag(HCL_CODES.variables, 'Invalid type specification', `The keyword "${kw}" is not a valid type specification.`, r));
    return undefined;
  };
  if (e.k === 'var') {
    if (['string', 'number', 'bool', 'any'].includes(e.name)) return { k: e.name as 'string' };
    if (['list', 'map', 'set'].includes(e.name)) return { k: e.name as 'list', el: { k: 'any' } };
    return bad(e.name, e.r);
  }
  if (e.k === 'tmpl' && e.parts.length === 1 && e.parts[0]!.k === 'interp') return parseType(c, e.parts[0]!.e);
  if (e.k === 'call') {
    const arg0 = e.args[0];
    if (['list', 'set', 'map'].includes(e.name)) {
      if (e.args.length !== 1) return bad(e.name, e.r);
      const el = parseType(c, arg0!);
      return el ? { k: e.name as 'list', el } : undefined;
    }
    if (e.name === 'object' && arg0?.k === 'object') {
      const attrs: Record<string, Ty> = {};
      const optional: string[] = [];
      for (const it of arg0.items) {
        const name = bareName(it.key);
        if (name === undefined) return bad('object', it.key.r);
        let te = it.value;
        if (te.k === 'call' && te.name === 'optional' && te.args.length >= 1) {
          optional.push(name);
          te = te.args[0]!;
        }
        const t = parseType(c, te);
        if (!t) return undefined;
        attrs[name] = t;
      }
      return { k: 'object', attrs, optional };
    }
    if (e.name === 'tuple' && arg0?.k === 'tuple') {
      const els: Ty[] = [];
      for (const x of arg0.items) {
        const t = parseType(c, x);
        if (!t) return undefined;
        els.push(t);
      }
      return { k: 'tuple', els };
    }
    return bad(e.name, e.nameR);
  }
  c.diags.push(
    diag(
      HCL_CODES.variables,
      'Invalid type specification',
      'A type specification is either a primitive type keyword (bool, number, string) or a complex type constructor call, like list(string).',
      e.r,
    ),
  );
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The loader
// ---------------------------------------------------------------------------------------------

interface VarDecl {
  info: VariableInfo;
  validations: Array<{ condition: Expr; message?: Expr; r: Range }>;
  defaultExpr?: Expr;
}

interface SourceDecl {
  type: string;
  name: string;
  block: Block;
}

export function loadHcl(input: HclInputs): HclResult {
  const pos = new HclPositionIndex(input.display);
  const fnBase = makeFunctions(input.fn, { allowEnv: false });
  const c: Ctx = {
    in: input,
    diags: [],
    pos,
    scope: { names: {}, functions: fnBase },
    sensitive: new Set(),
    sensitiveValues: [],
  };
  const info: HclInfo = { variables: [], dataSources: [], locals: [], builds: [] };
  const all = input.files.flatMap((f) => f.body.blocks);
  for (const f of input.files) for (const a of f.body.attrs) unsupportedArg(c, a);
  for (const b of all)
    if (!TOP_BLOCKS.includes(b.type)) {
      unsupportedBlock(c, b);
    }

  const pathObj: Value = { root: input.rootAsGiven ?? input.root, cwd: input.fn.cwd };
  const packerObj: Value = { version: HCL_PACKER_VERSION };
  c.scope.names = { path: pathObj, packer: packerObj };

  // packer {}
  for (const b of all.filter((x) => x.type === 'packer')) packerBlock(c, b, info);

  // variables
  const vars = collectVariables(c, all);
  assignVariables(c, vars);
  const varObj: Record<string, Value> = {};
  const unset = new Set<string>();
  for (const v of vars.values()) {
    info.variables.push(v.info);
    if (v.info.set) varObj[v.info.name] = v.info.value ?? null;
    else {
      // Reported once below; what uses it evaluates to an unknown value rather than a second error.
      unset.add(v.info.name);
      varObj[v.info.name] = new Unknown(`var.${v.info.name} is set`);
    }
    if (v.info.sensitive) {
      c.sensitive.add(`var.${v.info.name}`);
      if (v.info.value !== undefined) c.sensitiveValues.push(v.info.value);
    }
  }
  c.scope.names = { ...c.scope.names, var: varObj };
  c.scope.unavailable = {};
  // An unset variable is an error even when nothing uses it (Packer 1.6.6 and 1.9.4 agree).
  for (const name of unset) {
    const v = vars.get(name)!;
    c.diags.push(
      diag(
        HCL_CODES.variables,
        `Unset variable "${name}"`,
        'A used variable must be set or have a default value; see https://packer.io/docs/templates/hcl_templates/syntax for details.',
        v.info.range,
      ),
    );
  }
  validateVariables(c, vars);

  // locals and data sources, in dependency order
  const localObj: Record<string, Value> = {};
  const dataObj: Record<string, Record<string, Value>> = {};
  c.scope.names = { ...c.scope.names, local: localObj, data: dataObj };
  evaluateLocalsAndData(c, all, localObj, dataObj, info);

  // sources
  const sources = new Map<string, SourceDecl>();
  for (const b of all.filter((x) => x.type === 'source')) {
    if (b.labels.length !== 2) {
      c.diags.push(diag(HCL_CODES.schema, b.labels.length === 0 ? 'Missing type for source' : 'Missing name for source', 'All source blocks must have 2 labels (type, name).', b.typeR));
      continue;
    }
    const [type, name] = [b.labels[0]!.v, b.labels[1]!.v];
    const key = `${type}.${name}`;
    const prev = sources.get(key);
    if (prev) {
      c.diags.push(
        diag(
          HCL_CODES.schema,
          'Duplicate source block',
          `This source block has the same builder type and name as a previous block declared at ${where(prev.block.r)}. Each source must have a unique name per builder type.`,
          b.typeR,
        ),
      );
      continue;
    }
    sources.set(key, { type, name, block: b });
    const schema = BUILDER_SCHEMAS[type];
    if (schema) reportSchema(c, checkBodyShape(b.body, schema));
    if (!KNOWN_BUILDERS.includes(type)) c.diags.push(diag(HCL_CODES.plugin, `Unknown source type ${type}`, `kiln's builders are: ${KNOWN_BUILDERS.join(', ')}.`, b.labels[0]!.r));
  }

  // builds
  const t: ParsedTemplate = {
    file: input.display,
    dir: input.root,
    doc: { file: input.display, text: '', format: 'json', value: null, positions: pos, diagnostics: [] },
    variables: {},
    sensitiveVariables: [],
    builders: [],
    provisioners: [],
    postProcessors: [],
    comments: {},
  };
  const builds = all.filter((x) => x.type === 'build');
  builds.forEach((b, i) => buildBlock(c, b, i, sources, t, info));

  const secrets = c.sensitiveValues.flatMap(leafStrings);
  // HCL2 has no `{{user}}` values; `values` holds only the sensitive ones, under names no template
  // can spell, so that masking and the build-key redaction (docker-plan.ts) find them.
  const secretName = (i: number) => `\u0000sensitive.${i}`;
  const resolved: ResolvedVariables = makeResolved(Object.fromEntries(secrets.map((s, i) => [secretName(i), s])), new Set(secrets.map((_, i) => secretName(i))));
  t.resolvedVariables = resolved;
  const mask = resolved.mask;
  const errors = c.diags.some((d) => d.severity === 'error');
  return { template: errors ? undefined : t, info, diagnostics: c.diags, mask };
}

function leafStrings(v: Value): string[] {
  if (typeof v === 'string') return v ? [v] : [];
  if (typeof v === 'number') return [String(v)];
  if (Array.isArray(v)) return v.flatMap(leafStrings);
  if (isObj(v)) return Object.values(v).flatMap(leafStrings);
  return [];
}

function packerBlock(c: Ctx, b: Block, info: HclInfo): void {
  checkSchema(c, b.body, ['required_version'], ['required_plugins']);
  const rv = attr(b.body, 'required_version');
  if (rv) {
    const s = evString(c, rv);
    if (s !== undefined) {
      info.requiredVersion = s;
      const ok = versionSatisfies(HCL_PACKER_VERSION, s);
      if (ok === undefined) c.diags.push(diag(HCL_CODES.version, 'Invalid version constraint', `This string does not use correct version constraint syntax: ${JSON.stringify(s)}.`, rv.expr.r));
      else if (!ok)
        c.diags.push(
          diag(
            HCL_CODES.version,
            'Unsupported Packer Core version',
            `This configuration does not support Packer version ${HCL_PACKER_VERSION} (the HCL2 language kiln follows). To proceed, either choose another supported Packer version or update the root module's version constraint.`,
            rv.expr.r,
          ),
        );
    }
  }
  const rps = b.body.blocks.filter((x) => x.type === 'required_plugins');
  if (rps.length > 1) c.diags.push(diag(HCL_CODES.schema, 'Duplicate required_plugins block', 'Only one required_plugins block is allowed in the packer block.', rps[1]!.typeR));
  for (const rp of rps) {
    for (const a of rp.body.attrs) {
      const v = ev(c, a.expr);
      if (v === undefined) continue;
      if (!isObj(v) || typeof v['source'] !== 'string') {
        c.diags.push(
          diag(HCL_CODES.schema, 'Invalid plugin requirement', `A required_plugins entry is an object: ${a.name} = { source = "github.com/hashicorp/${a.name}", version = ">= 1.0.0" }.`, a.expr.r),
        );
        continue;
      }
      if (v['source'].split('/').length !== 3 || v['source'].split('/').some((x) => !x)) {
        c.diags.push(
          diag(
            HCL_CODES.schema,
            'Invalid plugin source string',
            `The source ${JSON.stringify(v['source'])} must be a fully qualified plugin address of the form HOSTNAME/NAMESPACE/TYPE, e.g. "github.com/hashicorp/${a.name}".`,
            a.expr.r,
          ),
        );
        continue;
      }
      const src = v['source'];
      const short = src.split('/').pop() ?? a.name;
      const has = BUILT_IN_PLUGINS[short] ?? BUILT_IN_PLUGINS[a.name];
      c.diags.push(
        has
          ? diag(HCL_CODES.plugin, `Plugin "${a.name}" is built into kiln`, `kiln has ${has} built in: there is nothing to install (no "packer init").`, a.nameR, 'warning')
          : diag(HCL_CODES.plugin, `Plugin "${a.name}" is not available in kiln`, `kiln does not install plugins; its builders are docker, null, file and amazon-ebs.`, a.nameR, 'warning'),
      );
    }
  }
}

/** `>= 1.7.0, < 2` against a version; undefined for a malformed constraint. */
function versionSatisfies(version: string, constraint: string): boolean | undefined {
  const parse = (s: string) => {
    const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?$/.exec(s.trim());
    return m ? [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] : undefined;
  };
  const have = parse(version)!;
  const cmp = (a: number[], b: number[]) => {
    for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  };
  for (const part of constraint.split(',')) {
    const m = /^\s*(>=|<=|!=|~>|=|>|<)?\s*(\S+)\s*$/.exec(part);
    if (!m) return undefined;
    const want = parse(m[2]!);
    if (!want) return undefined;
    const d = cmp(have, want);
    const op = m[1] ?? '=';
    const segs = m[2]!.replace(/^v/, '').split('.').length;
    const ok =
      op === '>='
        ? d >= 0
        : op === '<='
          ? d <= 0
          : op === '>'
            ? d > 0
            : op === '<'
              ? d < 0
              : op === '!='
                ? d !== 0
                : op === '~>'
                  ? d >= 0 && (segs <= 1 ? true : segs === 2 ? have[0] === want[0] : have[0] === want[0] && have[1] === want[1])
                  : d === 0;
    if (!ok) return false;
  }
  return true;
}

function collectVariables(c: Ctx, all: Block[]): Map<string, VarDecl> {
  const vars = new Map<string, VarDecl>();
  const add = (name: string, d: VarDecl, r: Range) => {
    if (vars.has(name)) {
      c.diags.push(diag(HCL_CODES.variables, 'Duplicate variable', `Duplicate ${name} variable definition found.`, r));
      return;
    }
    vars.set(name, d);
  };
  const constScope: Scope = { names: {}, functions: makeFunctions(c.in.fn, { allowEnv: true }) };
  for (const b of all) {
    if (b.type === 'variables') {
      checkSchema(
        c,
        b.body,
        b.body.attrs.map((a) => a.name),
        [],
      );
      for (const a of b.body.attrs) {
        const v = ev(c, a.expr, constScope);
        add(
          a.name,
          { info: { name: a.name, set: v !== undefined, sensitive: false, range: a.nameR, ...(v !== undefined ? { default: v, value: v } : {}) }, validations: [], defaultExpr: a.expr },
          a.nameR,
        );
      }
      continue;
    }
    if (b.type !== 'variable') continue;
    if (b.labels.length !== 1) {
      c.diags.push(diag(HCL_CODES.schema, b.labels.length ? 'Extraneous label for variable' : 'Missing name for variable', 'A variable block has exactly one label: its name.', b.typeR));
      continue;
    }
    const name = b.labels[0]!.v;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) {
      c.diags.push(diag(HCL_CODES.variables, 'Invalid variable name', 'A name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes.', b.labels[0]!.r));
      continue;
    }
    checkSchema(c, b.body, ['type', 'default', 'description', 'sensitive'], ['validation']);
    const decl: VarDecl = { info: { name, set: false, sensitive: false, range: b.labels[0]!.r }, validations: [] };
    const typeA = attr(b.body, 'type');
    if (typeA) {
      const ty = parseType(c, typeA.expr);
      if (ty) decl.info.type = ty;
    }
    const desc = attr(b.body, 'description');
    if (desc) {
      const s = evString(c, desc, constScope);
      if (s !== undefined) decl.info.description = s;
    }
    const sens = attr(b.body, 'sensitive');
    if (sens) {
      const v = ev(c, sens.expr, constScope);
      decl.info.sensitive = v === true || v === 'true';
    }
    const def = attr(b.body, 'default');
    if (def) {
      decl.defaultExpr = def.expr;
      let v = ev(c, def.expr, constScope);
      if (v !== undefined && decl.info.type && v !== null) {
        try {
          v = convert(v, decl.info.type);
        } catch (e) {
          if (!(e instanceof ConvertError)) throw e;
          c.diags.push(diag(HCL_CODES.variables, 'Invalid default value for variable', `This default value is not compatible with the variable's type constraint: ${e.message}.`, def.expr.r));
          v = undefined;
        }
      }
      // `default = null` counts as a default: the variable is set, to null.
      if (v !== undefined) {
        decl.info.default = v;
        decl.info.value = v;
        decl.info.set = true;
      }
    }
    for (const vb of b.body.blocks.filter((x) => x.type === 'validation')) {
      checkSchema(c, vb.body, ['condition', 'error_message'], []);
      const cond = attr(vb.body, 'condition');
      const msg = attr(vb.body, 'error_message');
      if (!cond) {
        c.diags.push(diag(HCL_CODES.schema, 'Missing required argument', 'The argument "condition" is required, but no definition was found.', vb.typeR));
        continue;
      }
      if (!references(cond.expr).some((r) => r.names[0] === 'var' && r.names[1] === name))
        c.diags.push(
          diag(HCL_CODES.variables, 'Invalid variable validation condition', `The condition for variable "${name}" must refer to var.${name} in order to test incoming values.`, cond.expr.r),
        );
      decl.validations.push({ condition: cond.expr, ...(msg ? { message: msg.expr } : {}), r: cond.r });
    }
    add(name, decl, b.labels[0]!.r);
  }
  return vars;
}

/** Values from PKR_VAR_*, var files (auto first) and -var, over the defaults. */
function assignVariables(c: Ctx, vars: Map<string, VarDecl>): void {
  const set = (d: VarDecl, raw: Value | undefined, r: Range | undefined, what: string) => {
    if (raw === undefined) return;
    let v = raw;
    if (d.info.type && v !== null && !isUnknown(v)) {
      try {
        v = convert(v, d.info.type);
      } catch (e) {
        if (!(e instanceof ConvertError)) throw e;
        c.diags.push(diag(HCL_CODES.variables, 'Invalid value for variable', `The value for ${d.info.name} is not compatible with the variable's type constraint: ${e.message}.`, r ?? d.info.range));
        return;
      }
    }
    void what;
    d.info.value = v;
    d.info.set = v !== null || d.info.default !== undefined;
    if (v === null && d.info.default !== undefined) d.info.value = d.info.default;
  };
  const fromString = (d: VarDecl, text: string, origin: string): { v?: Value; r?: Range } => {
    const t = d.info.type?.k;
    if (t === undefined || t === 'string' || t === 'number' || t === 'any') {
      if (t === 'any') {
        // `any` parses as an expression like other complex types.
      } else return { v: text };
    }
    const p = c.in.parseExpr(text, origin);
    if (!p.expr) {
      c.diags.push(...p.diagnostics);
      return {};
    }
    const v = ev(c, p.expr, { names: {}, functions: {} });
    return v === undefined ? {} : { v, r: p.expr.r };
  };
  // PKR_VAR_name from the environment
  for (const [k, val] of Object.entries(c.in.env)) {
    if (!k.startsWith('PKR_VAR_') || val === undefined) continue;
    const d = vars.get(k.slice(8));
    if (!d) continue;
    const { v, r } = fromString(d, val, k);
    set(d, v, r, k);
  }
  // var files
  const constScope: Scope = { names: {}, functions: {} };
  for (const f of c.in.varFiles) {
    for (const b of f.body.blocks) c.diags.push(diag(HCL_CODES.schema, 'Unexpected block', `Blocks are not allowed here: a variables file holds only "name = value" arguments.`, b.typeR));
    for (const a of f.body.attrs) {
      const d = vars.get(a.name);
      if (!d) {
        c.diags.push(
          diag(
            HCL_CODES.variables,
            'Undefined variable',
            `A "${a.name}" variable was set but was not declared in an input variable block. To declare variable "${a.name}", place this block in one of your .pkr.hcl files, such as variables.pkr.hcl`,
            a.nameR,
            'warning',
          ),
        );
        continue;
      }
      const v = ev(c, a.expr, constScope);
      set(d, v, a.expr.r, f.file);
    }
  }
  // -var
  for (const [k, val] of c.in.vars) {
    const d = vars.get(k);
    if (!d) {
      c.diags.push({
        severity: 'error',
        code: HCL_CODES.variables,
        message: `Undefined -var variable; A "${k}" variable was passed in but was not found in known variables. To declare variable "${k}", place this block in one of your .pkr.hcl files, such as variables.pkr.hcl`,
        path: `-var ${k}`,
      });
      continue;
    }
    const { v, r } = fromString(d, val, `-var ${k}`);
    set(d, v, r, `-var ${k}`);
  }
}

function validateVariables(c: Ctx, vars: Map<string, VarDecl>): void {
  for (const d of vars.values()) {
    if (!d.info.set || d.info.value === undefined || containsUnknown(d.info.value)) continue;
    for (const val of d.validations) {
      const ok = ev(c, val.condition);
      if (ok === undefined || isUnknown(ok)) continue;
      if (ok === false || ok === 'false') {
        const msg = val.message ? ev(c, val.message) : undefined;
        const text = typeof msg === 'string' ? msg : 'The value failed its validation rule.';
        c.diags.push(diag(HCL_CODES.variables, 'Invalid value for variable', `${text}\n\nThis was checked by the validation rule at ${where(val.condition.r)}.`, d.info.range));
      }
    }
  }
}

function evaluateLocalsAndData(c: Ctx, all: Block[], localObj: Record<string, Value>, dataObj: Record<string, Record<string, Value>>, info: HclInfo): void {
  type Node = { kind: 'local'; name: string; expr: Expr; sensitive: boolean; r: Range } | { kind: 'data'; type: string; name: string; block: Block };
  const nodes = new Map<string, Node>();
  for (const b of all) {
    if (b.type === 'locals') {
      for (const bb of b.body.blocks) unsupportedBlock(c, bb);
      for (const a of b.body.attrs) {
        const key = `local.${a.name}`;
        if (nodes.has(key)) {
          c.diags.push(diag(HCL_CODES.schema, 'Duplicate local definition', `Duplicate ${a.name} definition found.`, a.nameR));
          continue;
        }
        nodes.set(key, { kind: 'local', name: a.name, expr: a.expr, sensitive: false, r: a.nameR });
      }
    } else if (b.type === 'local') {
      if (b.labels.length !== 1) {
        c.diags.push(diag(HCL_CODES.schema, 'Missing name for local', 'A local block has exactly one label: its name.', b.typeR));
        continue;
      }
      checkSchema(c, b.body, ['expression', 'sensitive'], []);
      const ex = attr(b.body, 'expression');
      if (!ex) {
        c.diags.push(diag(HCL_CODES.schema, 'Missing required argument', 'The argument "expression" is required, but no definition was found.', b.typeR));
        continue;
      }
      const name = b.labels[0]!.v;
      const key = `local.${name}`;
      if (nodes.has(key)) {
        c.diags.push(diag(HCL_CODES.schema, 'Duplicate local definition', `Duplicate ${name} definition found.`, b.labels[0]!.r));
        continue;
      }
      const sens = attr(b.body, 'sensitive');
      nodes.set(key, { kind: 'local', name, expr: ex.expr, sensitive: !!sens && ev(c, sens.expr) === true, r: b.labels[0]!.r });
    } else if (b.type === 'data') {
      if (b.labels.length !== 2) {
        c.diags.push(diag(HCL_CODES.schema, b.labels.length === 0 ? 'Missing type for data source' : 'Missing name for data source', 'All data blocks must have 2 labels (type, name).', b.typeR));
        continue;
      }
      const [type, name] = [b.labels[0]!.v, b.labels[1]!.v];
      const key = `data.${type}.${name}`;
      if (nodes.has(key)) {
        c.diags.push(diag(HCL_CODES.schema, 'Duplicate data block', `This data block has the same data type and name as a previous block. Each data must have a unique name per data type.`, b.typeR));
        continue;
      }
      if (!DATA_TYPES[type]) {
        c.diags.push(diag(HCL_CODES.plugin, `Unknown data source type ${JSON.stringify(type)}`, `kiln has the data sources ${Object.keys(DATA_TYPES).join(', ')}.`, b.labels[0]!.r));
        continue;
      }
      nodes.set(key, { kind: 'data', type, name, block: b });
    }
  }
  const depsOf = (n: Node): string[] => {
    const exprs = n.kind === 'local' ? [n.expr] : bodyExprs(n.block.body);
    const out = new Set<string>();
    for (const e of exprs)
      for (const r of references(e)) {
        if (r.names[0] === 'local' && r.names[1]) out.add(`local.${r.names[1]}`);
        if (r.names[0] === 'data' && r.names[2]) out.add(`data.${r.names[1]}.${r.names[2]}`);
      }
    return [...out].filter((k) => nodes.has(k));
  };
  const state = new Map<string, 'visiting' | 'done'>();
  const order: string[] = [];
  const visit = (k: string, stack: string[]): void => {
    if (state.get(k) === 'done') return;
    if (state.get(k) === 'visiting') {
      const n = nodes.get(k)!;
      const r = n.kind === 'local' ? n.r : n.block.typeR;
      const cycle = [...stack.slice(stack.indexOf(k)), k].join(' -> ');
      c.diags.push(diag(HCL_CODES.expr, 'Cycle in local and data definitions', `${cycle}: a value cannot depend on itself.`, r));
      return;
    }
    state.set(k, 'visiting');
    for (const d of depsOf(nodes.get(k)!)) visit(d, [...stack, k]);
    state.set(k, 'done');
    order.push(k);
  };
  for (const k of nodes.keys()) visit(k, []);
  for (const k of order) {
    const n = nodes.get(k)!;
    if (n.kind === 'local') {
      const v = ev(c, n.expr);
      if (v === undefined) continue;
      localObj[n.name] = v;
      info.locals.push({ name: n.name, value: v, sensitive: n.sensitive });
      if (n.sensitive) c.sensitiveValues.push(v);
      continue;
    }
    // data sources: validated here; values known later (amazon-ami runs on the AWS target)
    const cfg = evalBody(c, n.block.body, c.scope, []);
    const obj: Record<string, Value> = {};
    if (n.type === 'null') {
      const input = cfg?.value['input'];
      obj['output'] = input === undefined ? null : input;
    } else {
      if (cfg && n.type === 'amazon-ami') {
        if (!('filters' in cfg.value) && !('owners' in cfg.value))
          c.diags.push(diag(HCL_CODES.schema, 'Missing required argument', 'The amazon-ami data source needs "filters" (and usually "owners") to find an image.', n.block.typeR));
        const allowed = [
          'filters',
          'owners',
          'most_recent',
          'region',
          'access_key',
          'secret_key',
          'token',
          'profile',
          'assume_role',
          'skip_credential_validation',
          'include_deprecated',
          'executable_users',
          'filter',
        ];
        for (const a of n.block.body.attrs) if (!allowed.includes(a.name)) unsupportedArg(c, a);
      }
      const header = n.block.labels[1] ? { ...n.block.typeR, end: n.block.labels[1].r.end } : n.block.typeR;
      info.dataSources.push({ type: n.type, name: n.name, ...(cfg && !containsUnknown(cfg.value) ? { config: toPlain(cfg.value) as Record<string, unknown> } : {}), range: header });
      const known = c.in.dataValues?.[`${n.type}.${n.name}`];
      for (const out of DATA_TYPES[n.type]!) obj[out] = known && known[out] !== undefined ? known[out] : new Unknown(`data.${n.type}.${n.name}.${out}`);
    }
    (dataObj[n.type] ??= {})[n.name] = obj;
  }
}

function bodyExprs(body: Body): Expr[] {
  return [...body.attrs.map((a) => a.expr), ...body.blocks.flatMap((b) => bodyExprs(b.body))];
}

// ---------------------------------------------------------------------------------------------
// Plugin config bodies → plain config objects (dynamic blocks expanded), positions recorded
// ---------------------------------------------------------------------------------------------

interface EvaluatedBody {
  value: Record<string, Value>;
  /** Positions by key path relative to the body. */
  ranges: Array<{ path: Path; r: Range; key?: Range; block?: boolean; value?: Range }>;
}

function evalBody(c: Ctx, body: Body, scope: Scope, skip: string[]): EvaluatedBody | undefined {
  const out: Record<string, Value> = {};
  const ranges: EvaluatedBody['ranges'] = [];
  let ok = true;
  for (const a of body.attrs) {
    if (skip.includes(a.name)) continue;
    const v = ev(c, a.expr, scope);
    if (v === undefined) {
      ok = false;
      continue;
    }
    out[a.name] = v;
    ranges.push({ path: [a.name], r: a.r, key: a.nameR, value: a.expr.r });
    exprRanges(a.expr, [a.name], ranges);
  }
  const grouped = new Map<string, Array<{ v: Record<string, Value>; r: Range; ranges: EvaluatedBody['ranges'] }>>();
  const addBlock = (type: string, v: Record<string, Value>, r: Range, rs: EvaluatedBody['ranges']) => {
    if (!grouped.has(type)) grouped.set(type, []);
    grouped.get(type)!.push({ v, r, ranges: rs });
  };
  for (const b of body.blocks) {
    if (skip.includes(b.type)) continue;
    if (b.type === 'dynamic') {
      const dyn = expandDynamic(c, b, scope);
      if (!dyn) {
        ok = false;
        continue;
      }
      for (const d of dyn) addBlock(d.type, d.value, d.r, d.ranges);
      continue;
    }
    const inner = evalBody(c, b.body, scope, []);
    if (!inner) {
      ok = false;
      continue;
    }
    const v = b.labels.length ? { ...inner.value, ...(b.labels.length === 1 ? { name: b.labels[0]!.v } : {}) } : inner.value;
    addBlock(b.type, v, b.r, inner.ranges);
  }
  for (const [type, items] of grouped) {
    if (items.length === 1 && !LIST_BLOCKS.has(type)) {
      out[type] = items[0]!.v;
      ranges.push({ path: [type], r: items[0]!.r, block: true });
      for (const x of items[0]!.ranges) ranges.push({ ...x, path: [type, ...x.path] });
    } else {
      out[type] = items.map((x) => x.v);
      ranges.push({ path: [type], r: items[0]!.r, block: true });
      items.forEach((x, i) => {
        ranges.push({ path: [type, i], r: x.r, block: true });
        for (const y of x.ranges) ranges.push({ ...y, path: [type, i, ...y.path] });
      });
    }
  }
  return ok ? { value: out, ranges } : undefined;
}

function exprRanges(e: Expr, path: Path, out: EvaluatedBody['ranges']): void {
  if (e.k === 'tuple')
    e.items.forEach((x, i) => {
      out.push({ path: [...path, i], r: x.r });
      exprRanges(x, [...path, i], out);
    });
  else if (e.k === 'object')
    for (const it of e.items) {
      const k = bareName(it.key);
      if (k === undefined) continue;
      out.push({ path: [...path, k], r: it.value.r, key: it.key.r });
      exprRanges(it.value, [...path, k], out);
    }
}

function expandDynamic(c: Ctx, b: Block, scope: Scope): Array<{ type: string; value: Record<string, Value>; r: Range; ranges: EvaluatedBody['ranges'] }> | undefined {
  if (b.labels.length !== 1) {
    c.diags.push(diag(HCL_CODES.schema, 'Invalid dynamic block', 'A dynamic block has exactly one label: the type of the blocks it makes.', b.typeR));
    return undefined;
  }
  const type = b.labels[0]!.v;
  checkSchema(c, b.body, ['for_each', 'iterator', 'labels'], ['content']);
  const fe = attr(b.body, 'for_each');
  const content = b.body.blocks.find((x) => x.type === 'content');
  if (!fe || !content) {
    c.diags.push(diag(HCL_CODES.schema, 'Missing required argument', `A dynamic block needs ${!fe ? '"for_each"' : 'a "content" block'}.`, b.typeR));
    return undefined;
  }
  const itA = attr(b.body, 'iterator');
  const itName = itA ? (bareName(itA.expr) ?? type) : type;
  const coll = ev(c, fe.expr, scope);
  if (coll === undefined) return undefined;
  if (isUnknown(coll)) return [];
  let pairs: Array<[Value, Value]>;
  if (Array.isArray(coll)) pairs = coll.map((v, i) => [i, v]);
  else if (isObj(coll))
    pairs = Object.keys(coll)
      .sort()
      .map((k) => [k, coll[k]!]);
  else {
    c.diags.push(diag(HCL_CODES.expr, 'Invalid dynamic for_each value', `Cannot use a ${coll === null ? 'null' : typeof coll} value in for_each. An iterable collection is required.`, fe.expr.r));
    return undefined;
  }
  const out = [];
  for (const [k, v] of pairs) {
    const inner = child(scope, { [itName]: { key: k, value: v } });
    const r = evalBody(c, content.body, inner, []);
    if (!r) return undefined;
    out.push({ type, value: r.value, r: content.r, ranges: r.ranges });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// build blocks
// ---------------------------------------------------------------------------------------------

const SOURCE_REF = /^(?:sources?\.)?([A-Za-z][A-Za-z0-9_-]*)\.([A-Za-z0-9_][A-Za-z0-9_.-]*)$/;

interface BuildSource {
  decl: SourceDecl;
  /** The name it runs as (`name` override in the build's source block). */
  name: string;
  overrides?: Block;
  refR: Range;
}

function buildScope(c: Ctx, s: BuildSource, buildName: string | undefined, type: string): Scope {
  const keys = buildKeys(type);
  const build: Record<string, Value> = Object.fromEntries(keys.map((k) => [k, `{{.${k}}}`]));
  if (buildName !== undefined) build['name'] = buildName;
  return child(c.scope, { source: { name: s.name, type: s.decl.type }, build });
}

/**
 * `dynamic "provisioner" { for_each, labels, content {} }` (and any other block type) inside a build:
 * expanded into blocks before the build is read, their expressions bound to the iterator, since
 * each is evaluated later once per source.
 */
function expandDynamicBlocks(c: Ctx, body: Body): Body {
  const blocks: Block[] = [];
  for (const b of body.blocks) {
    if (b.type !== 'dynamic') {
      blocks.push(b);
      continue;
    }
    if (b.labels.length !== 1) {
      c.diags.push(diag(HCL_CODES.schema, 'Invalid dynamic block', 'A dynamic block has exactly one label: the type of the blocks it makes.', b.typeR));
      continue;
    }
    checkSchema(c, b.body, ['for_each', 'iterator', 'labels'], ['content']);
    const type = b.labels[0]!.v;
    const fe = attr(b.body, 'for_each');
    const content = b.body.blocks.find((x) => x.type === 'content');
    if (!fe || !content) {
      c.diags.push(diag(HCL_CODES.schema, 'Missing required argument', `A dynamic block needs ${!fe ? '"for_each"' : 'a "content" block'}.`, b.typeR));
      continue;
    }
    const itA = attr(b.body, 'iterator');
    const it = itA ? (bareName(itA.expr) ?? type) : type;
    const coll = ev(c, fe.expr);
    if (coll === undefined || isUnknown(coll)) continue;
    const pairs: Array<[Value, Value]> = Array.isArray(coll)
      ? coll.map((v, i) => [i, v])
      : isObj(coll)
        ? Object.keys(coll)
            .sort()
            .map((k) => [k, coll[k]!])
        : [];
    if (!Array.isArray(coll) && !isObj(coll)) {
      c.diags.push(diag(HCL_CODES.expr, 'Invalid dynamic for_each value', 'Cannot use this value in for_each. An iterable collection is required.', fe.expr.r));
      continue;
    }
    const labelsA = attr(b.body, 'labels');
    for (const [k, v] of pairs) {
      const bind = { [it]: { key: k, value: v } };
      const labels = labelsA ? (evStringList(c, labelsA, child(c.scope, bind)) ?? []) : [];
      const wrap = (x: Body): Body => ({ ...x, attrs: x.attrs.map((a) => ({ ...a, expr: { k: 'let', bind, e: a.expr, r: a.expr.r } })), blocks: x.blocks.map((y) => ({ ...y, body: wrap(y.body) })) });
      blocks.push({ type, labels: labels.map((l) => ({ v: l, r: labelsA!.expr.r })), body: wrap(content.body), r: content.r, typeR: b.labels[0]!.r });
    }
  }
  return { ...body, blocks };
}

function buildBlock(c: Ctx, b0: Block, bi: number, sources: Map<string, SourceDecl>, t: ParsedTemplate, info: HclInfo): void {
  const b: Block = { ...b0, body: expandDynamicBlocks(c, b0.body) };
  checkSchema(c, b.body, ['name', 'description', 'sources'], ['source', 'provisioner', 'post-processor', 'post-processors', 'error-cleanup-provisioner', 'hcp_packer_registry']);
  for (const h of b.body.blocks.filter((x) => x.type === 'hcp_packer_registry'))
    c.diags.push(
      diag(
        HCL_CODES.schema,
        'Unsupported block type',
        'Blocks of type "hcp_packer_registry" are not supported by kiln: it does not publish to the HCP Packer registry (remove the block; kiln records its builds in its own state).',
        h.typeR,
      ),
    );
  const nameA = attr(b.body, 'name');
  const buildName = nameA ? evString(c, nameA) : undefined;
  const descA = attr(b.body, 'description');
  const description = descA ? evString(c, descA) : undefined;
  const used: BuildSource[] = [];
  const resolveRef = (ref: string, r: Range): SourceDecl | undefined => {
    const m = SOURCE_REF.exec(ref);
    if (!m) {
      c.diags.push(
        diag(
          HCL_CODES.schema,
          'Invalid source reference',
          'A source type is made of three parts that are split by a dot `.`; each part must start with a letter and may contain only letters, digits, underscores, and dashes.A valid source reference looks like: `source.type.name`',
          r,
        ),
      );
      return undefined;
    }
    const decl = sources.get(`${m[1]}.${m[2]}`);
    if (!decl) c.diags.push(diag(HCL_CODES.schema, `Unknown source ${m[1]}.${m[2]}`, `No source block "${m[1]}" "${m[2]}" is declared.`, r));
    return decl;
  };
  const srcA = attr(b.body, 'sources');
  if (srcA) {
    const refs = literalStrings(c, srcA);
    const items = srcA.expr.k === 'tuple' ? srcA.expr.items : [];
    (refs ?? []).forEach((ref, i) => {
      const r = items[i]?.r ?? srcA.expr.r;
      const decl = resolveRef(ref, r);
      if (decl) used.push({ decl, name: decl.name, refR: r });
    });
  }
  for (const sb of b.body.blocks.filter((x) => x.type === 'source')) {
    if (sb.labels.length !== 1) {
      c.diags.push(diag(HCL_CODES.schema, 'Invalid source block', 'A source block inside a build has one label: the source it uses (`source.type.name`).', sb.typeR));
      continue;
    }
    const decl = resolveRef(sb.labels[0]!.v, sb.labels[0]!.r);
    if (!decl) continue;
    const nm = attr(sb.body, 'name');
    const name = nm ? (evString(c, nm) ?? decl.name) : decl.name;
    used.push({ decl, name, overrides: sb, refR: sb.labels[0]!.r });
  }
  if (!used.length)
    c.diags.push(
      diag(
        HCL_CODES.schema,
        'Build without sources',
        'This build block uses no source, so it builds nothing: add `sources = ["source.TYPE.NAME"]` or a `source "source.TYPE.NAME" {}` block.',
        b.typeR,
        'warning',
      ),
    );

  // builders
  const builderNames: string[] = [];
  const byRef = new Map<string, string>();
  for (const s of used) {
    const full = `${buildName ? `${buildName}.` : ''}${s.decl.type}.${s.name}`;
    if (t.builders.some((x) => x.name === full)) {
      c.diags.push(diag(HCL_CODES.schema, 'Duplicate build', `The build "${full}" is defined twice.`, s.refR));
      continue;
    }
    if (!KNOWN_BUILDERS.includes(s.decl.type)) continue;
    const i = t.builders.length;
    const path: Path = ['builders', i];
    const scope = buildScope(c, s, buildName, s.decl.type);
    const base = evalBody(c, s.decl.block.body, scope, []);
    const over = s.overrides ? evalBody(c, s.overrides.body, scope, ['name']) : { value: {}, ranges: [] };
    if (!base || !over) continue;
    const schema = BUILDER_SCHEMAS[s.decl.type];
    if (schema) {
      if (s.overrides) reportSchema(c, checkBodyShape(s.overrides.body, schema, ['name']));
      for (const [body, ev] of [[s.decl.block.body, base], ...(s.overrides ? [[s.overrides.body, over] as const] : [])] as const) {
        // Positions are looked up only for an argument that has an issue: the map is made on the first.
        let ranges: Map<string, Range> | undefined;
        const at = (p: Path) => (ranges ??= new Map(ev.ranges.map((x) => [x.path.join('\u0000'), x.value ?? x.r]))).get(p.join('\u0000'));
        reportSchema(c, checkValues(ev.value, schema, at, !!body.json));
      }
    }
    const config = { ...base.value, ...over.value };
    c.pos.setRange(path, s.decl.block.r, s.decl.block.typeR);
    c.pos.labels.set(`builders[${i}]`, `source.${s.decl.type}.${s.name}`);
    for (const x of base.ranges) c.pos.setRange([...path, ...x.path], x.r, x.key, x.block);
    for (const x of over.ranges) c.pos.setRange([...path, ...x.path], x.r, x.key, x.block);
    c.pos.setRange([...path, 'type'], s.decl.block.labels[0]!.r);
    const def: BuilderDef = { name: full, type: s.decl.type, config: toPlain(config) as Record<string, unknown>, path, packerBuildName: s.name };
    t.builders.push(def);
    builderNames.push(full);
    byRef.set(`${s.decl.type}.${s.name}`, full);
    if (s.name !== s.decl.name) byRef.set(`${s.decl.type}.${s.decl.name}`, full);
  }
  const buildInfo: HclInfo['builds'][number] = { sources: used.map((s) => `${s.decl.type}.${s.name}`), provisioners: [], postProcessors: [] };
  if (buildName !== undefined) buildInfo.name = buildName;
  if (description !== undefined) buildInfo.description = description;
  info.builds.push(buildInfo);

  const sourceFor = (full: string) => used.find((s) => `${buildName ? `${buildName}.` : ''}${s.decl.type}.${s.name}` === full)!;
  /** Names (full build names) an only/except list selects. */
  const select = (names: string[] | undefined): string[] | undefined => {
    if (!names) return undefined;
    const out = new Set<string>();
    for (const n of names) {
      const re = globToRegex(n.replace(/^sources?\./, ''));
      for (const [ref, full] of byRef) if (re.test(ref) || re.test(full)) out.add(full);
    }
    return [...out];
  };
  const applies = (only: string[] | undefined, except: string[] | undefined) => builderNames.filter((n) => (only ? only.includes(n) : true) && !(except ?? []).includes(n));

  // provisioners
  const provBlocks = b.body.blocks.filter((x) => x.type === 'provisioner' || x.type === 'error-cleanup-provisioner');
  const cleanups = provBlocks.filter((x) => x.type === 'error-cleanup-provisioner');
  if (cleanups.length > 1) c.diags.push(diag(HCL_CODES.schema, 'Duplicate error-cleanup-provisioner block', 'Only one error-cleanup-provisioner block is allowed per build.', cleanups[1]!.typeR));
  for (const pb of provBlocks) {
    if (pb.labels.length !== 1) {
      c.diags.push(diag(HCL_CODES.schema, 'Missing provisioner type', `A ${pb.type} block has exactly one label: its type.`, pb.typeR));
      continue;
    }
    const type = pb.labels[0]!.v;
    const meta = ['only', 'except', 'pause_before', 'max_retries', 'timeout', 'override', 'name'];
    const onlyA = attr(pb.body, 'only');
    const exceptA = attr(pb.body, 'except');
    if (onlyA && exceptA) c.diags.push(diag(HCL_CODES.schema, 'only one of only or except may be set', 'A provisioner has either "only" or "except", not both.', exceptA.nameR));
    const only = select(onlyA ? literalStrings(c, onlyA) : undefined);
    const except = select(exceptA ? literalStrings(c, exceptA) : undefined);
    const targets = applies(only, except);
    const isCleanup = pb.type === 'error-cleanup-provisioner';
    const index = isCleanup ? -1 : t.provisioners.length;
    const path: Path = isCleanup ? ['error-cleanup-provisioner'] : ['provisioners', index];
    // Evaluated once per build it applies to (`source.name` and `build.*` differ); the first is
    // the config, the others an override layer where they differ.
    let config: Record<string, Value> | undefined;
    const override: Record<string, Record<string, unknown>> = {};
    let failed = false;
    for (const full of targets.length ? targets : builderNames.slice(0, 1)) {
      const s = sourceFor(full);
      if (!s) continue;
      const scope = buildScope(c, s, buildName, s.decl.type);
      const r = evalBody(c, pb.body, scope, meta);
      if (!r) {
        failed = true;
        break;
      }
      if (config === undefined) {
        config = r.value;
        for (const x of r.ranges) c.pos.setRange([...path, ...x.path], x.r, x.key);
      } else if (JSON.stringify(r.value) !== JSON.stringify(config)) override[full] = toPlain(r.value) as Record<string, unknown>;
    }
    // `override = { "docker.web" = { … } }`
    const ovA = attr(pb.body, 'override');
    if (ovA) {
      const ov = ev(c, ovA.expr);
      if (ov !== undefined && !isObj(ov)) c.diags.push(diag(HCL_CODES.expr, 'Incorrect attribute value type', 'Inappropriate value for attribute "override": object required.', ovA.expr.r));
      else if (isObj(ov))
        for (const [ref, layer] of Object.entries(ov)) {
          const full = byRef.get(ref.replace(/^sources?\./, '')) ?? (builderNames.includes(ref) ? ref : undefined);
          if (!full || !isObj(layer)) continue;
          override[full] = { ...(override[full] ?? {}), ...(toPlain(layer) as Record<string, unknown>) };
          const itemR = ovA.expr.k === 'object' ? ovA.expr.items.find((it) => bareName(it.key) === ref) : undefined;
          if (itemR) c.pos.setRange([...path, 'override', full], itemR.value.r, itemR.key.r);
          if (itemR?.value.k === 'object')
            for (const it of itemR.value.items) {
              const k = bareName(it.key);
              if (k !== undefined) c.pos.setRange([...path, 'override', full, k], it.value.r, it.key.r);
            }
        }
    }
    if (failed || config === undefined) continue;
    c.pos.setRange(path, pb.r, pb.typeR);
    c.pos.setRange([...path, 'type'], pb.labels[0]!.r);
    c.pos.labels.set(isCleanup ? 'error-cleanup-provisioner' : `provisioners[${index}]`, `${buildLabel(buildName, bi)}.${pb.type}[${JSON.stringify(type)}]`);
    const def: ProvisionerDef = { type, config: toPlain(config) as Record<string, unknown>, path, only: targets };
    if (Object.keys(override).length) def.override = override;
    for (const [key, field] of [
      ['pause_before', 'pauseBefore'],
      ['timeout', 'timeout'],
    ] as const) {
      const a = attr(pb.body, key);
      if (!a) continue;
      const v = evString(c, a);
      if (v === undefined) continue;
      const d = parseDurationStrict(v);
      if (typeof d === 'string') c.diags.push(diag(HCL_CODES.expr, `Failed to parse ${key} duration`, d, a.expr.r));
      else def[field] = v;
      c.pos.setRange([...path, key], a.r, a.nameR);
    }
    const mr = attr(pb.body, 'max_retries');
    if (mr) {
      const v = ev(c, mr.expr);
      if (typeof v === 'number' || typeof v === 'string') def.maxRetries = v;
      c.pos.setRange([...path, 'max_retries'], mr.r, mr.nameR);
    }
    if (isCleanup) {
      if (t.errorCleanupProvisioner) c.diags.push(diag(HCL_CODES.schema, 'Duplicate error-cleanup-provisioner block', 'kiln runs one error-cleanup-provisioner per template.', pb.typeR));
      else t.errorCleanupProvisioner = def;
    } else {
      t.provisioners.push(def);
      buildInfo.provisioners.push(type);
    }
  }

  // post-processors
  const chains: Block[][] = [];
  for (const x of b.body.blocks) {
    if (x.type === 'post-processor') chains.push([x]);
    else if (x.type === 'post-processors') {
      checkSchema(c, x.body, [], ['post-processor']);
      chains.push(x.body.blocks.filter((y) => y.type === 'post-processor'));
    }
  }
  for (const chain of chains) {
    const ci = t.postProcessors.length;
    const out: PostProcessorDef[] = [];
    chain.forEach((pb, j) => {
      if (pb.labels.length !== 1) {
        c.diags.push(diag(HCL_CODES.schema, 'Missing post-processor type', 'A post-processor block has exactly one label: its type.', pb.typeR));
        return;
      }
      const type = pb.labels[0]!.v;
      const path: Path = chain.length === 1 && b.body.blocks.includes(pb) ? ['post-processors', ci] : ['post-processors', ci, j];
      const nameA2 = attr(pb.body, 'name');
      if (nameA2 && references(nameA2.expr).length) {
        c.diags.push(diag(HCL_CODES.expr, 'Variables not allowed', 'Variables may not be used here.', nameA2.expr.r));
        return;
      }
      const name = nameA2 ? evString(c, nameA2) : undefined;
      const onlyA = attr(pb.body, 'only');
      const exceptA = attr(pb.body, 'except');
      const only = select(onlyA ? literalStrings(c, onlyA) : undefined);
      const except = select(exceptA ? literalStrings(c, exceptA) : undefined);
      const targets = applies(only, except);
      const s = sourceFor(targets[0] ?? builderNames[0] ?? '');
      if (!s) return;
      const r = evalBody(c, pb.body, buildScope(c, s, buildName, s.decl.type), ['name', 'only', 'except', 'keep_input_artifact']);
      if (!r) return;
      c.pos.setRange(path, pb.r, pb.typeR);
      c.pos.setRange([...path, 'type'], pb.labels[0]!.r);
      c.pos.labels.set(path.length === 2 ? `post-processors[${ci}]` : `post-processors[${ci}][${j}]`, `${buildLabel(buildName, bi)}.post-processor[${JSON.stringify(name ?? type)}]`);
      for (const x of r.ranges) c.pos.setRange([...path, ...x.path], x.r, x.key);
      const def: PostProcessorDef = { type, name: name ?? type, config: toPlain(r.value) as Record<string, unknown>, path, only: targets };
      const keep = attr(pb.body, 'keep_input_artifact');
      if (keep) {
        const v = ev(c, keep.expr);
        if (typeof v === 'boolean') def.keepInputArtifact = v;
        else if (v !== undefined) c.diags.push(diag(HCL_CODES.expr, 'Incorrect attribute value type', 'Inappropriate value for attribute "keep_input_artifact": bool required.', keep.expr.r));
      }
      out.push(def);
    });
    t.postProcessors.push(out);
    buildInfo.postProcessors.push(out.map((p) => p.type));
  }
}

function buildLabel(name: string | undefined, i: number): string {
  return name !== undefined ? `build[${JSON.stringify(name)}]` : `build[${i}]`;
}

/** Go's ParseDuration, without Packer 1.6.6's crash on a missing unit. */
function parseDurationStrict(s: string): number | string {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60000, h: 3600000 };
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)([a-zµ]+)?/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let rest = s.replace(/^[+-]/, '');
  if (!rest) return `time: invalid duration "${s}"`;
  re.lastIndex = 0;
  while (rest && (m = re.exec(rest))) {
    if (!m[2]) return `time: missing unit in duration "${s}"`;
    const u = units[m[2]];
    if (u === undefined) return `time: unknown unit "${m[2]}" in duration "${s}"`;
    total += Number(m[1]) * u;
    if (re.lastIndex >= rest.length) {
      rest = '';
      break;
    }
  }
  if (rest && re.lastIndex < rest.length) return `time: invalid duration "${s}"`;
  return s.startsWith('-') ? -total : total;
}

/** Packer's `-only`/`-except` and `only`/`except` globs (`*` matches anything, dots included). */
export function globToRegex(g: string): RegExp {
  return new RegExp(
    `^${g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
}

/** For `inspect` and messages: a value with sensitive parts masked. */
export function maskedShow(v: Value | undefined, sensitive: boolean): string {
  if (v === undefined) return '<unknown>';
  if (!sensitive) return show(v);
  const walk = (x: Value): Value => (Array.isArray(x) ? x.map(walk) : isObj(x) ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, walk(y)])) : SENSITIVE_MASK);
  return show(walk(v));
}

export { tyString, dirname };
