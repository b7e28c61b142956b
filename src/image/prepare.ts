// From a parsed template to typed builds, as Packer's core and each plugin's `Prepare` do it:
// template checks (builders, only/except/override names), min_packer_version, variables, build
// names, -only/-except, plugin lookup, then every plugin config decoded and validated. Pure: the file
// system is reached only through `PrepareOptions.fileExists`.
import type { Diagnostic } from '../core/diagnostics.js';
import { KilnError } from '../core/errors.js';
import type { Path } from '../core/source.js';
import { decodeBuilder, buildKeys as builderBuildKeys, BUILDER_TYPES } from './config/builders.js';
import { Decoder, RenderFailure, type ConfigIssue } from './config/decode.js';
import { pluginEnv, type PluginEnv } from './config/env.js';
import { decodePostProcessor, POST_PROCESSOR_LATE_KEYS, POST_PROCESSOR_TYPES } from './config/postprocessors.js';
import { decodeProvisioner, PROVISIONER_LATE_KEYS, PROVISIONER_TYPES } from './config/provisioners.js';
import { cleanResourceName, render, TemplateError, type InterpContext } from './interpolate.js';
import { CODES, diagAt, parseGoDuration } from './template.js';
import {
  PACKER_COMPAT_VERSION,
  type BuilderConfig,
  type BuilderDef,
  type LateContext,
  type ParsedTemplate,
  type PreparedBuild,
  type PreparedPostProcessor,
  type PreparedProvisioner,
  type PrepareOptions,
  type PrepareResult,
  type ProvisionerDef,
  type ResolvedVariables,
} from './types.js';
import { resolveVariables } from './variables.js';

/** Template.Validate: checks that need no plugin (reference §1, §4.1). */
function validateTemplateStructure(t: ParsedTemplate): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (msg: string, path: Path, key = false) => out.push(diagAt(t.doc, CODES.template, msg, path, { key }));
  if (t.builders.length === 0) err('at least one builder must be defined', t.doc.positions.span(['builders']) ? ['builders'] : []);
  const names = new Set(t.builders.map((b) => b.name));
  const onlyExcept = (label: string, def: { only?: string[]; except?: string[]; path: Path }) => {
    if (def.only?.length && def.except?.length) err(`${label}: only one of 'only' or 'except' may be specified`, def.path);
    for (const key of ['only', 'except'] as const)
      (def[key] ?? []).forEach((n, i) => {
        if (!names.has(n)) err(`${label}: '${key}' specified builder '${n}' not found`, [...def.path, key, i]);
      });
  };
  t.provisioners.forEach((p, i) => {
    onlyExcept(`provisioner ${i + 1}`, p);
    for (const name of Object.keys(p.override ?? {})) if (!names.has(name)) err(`provisioner ${i + 1}: override '${name}' doesn't exist`, [...p.path, 'override', name], true);
  });
  t.postProcessors.forEach((chain, i) => chain.forEach((p, j) => onlyExcept(`post-processor ${i + 1}.${j + 1}`, p)));
  return out;
}

function versionParts(v: string): number[] | undefined {
  const m = /^v?(\d+(?:\.\d+)*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/.exec(v.trim());
  if (!m) return undefined;
  return m[1]!.split('.').map(Number);
}

/** `min_packer_version` against kiln's Packer-compatible version. */
function checkMinVersion(t: ParsedTemplate): Diagnostic[] {
  if (!t.minPackerVersion) return [];
  const want = versionParts(t.minPackerVersion);
  if (!want) return [diagAt(t.doc, CODES.version, `min_version is invalid: Malformed version: ${t.minPackerVersion}`, ['min_packer_version'])];
  const have = versionParts(PACKER_COMPAT_VERSION)!;
  for (let i = 0; i < Math.max(want.length, have.length); i++) {
    const a = want[i] ?? 0;
    const b = have[i] ?? 0;
    if (a > b) return [diagAt(t.doc, CODES.version, `This template requires Packer version ${t.minPackerVersion} or higher; using ${PACKER_COMPAT_VERSION}`, ['min_packer_version'])];
    if (a < b) return [];
  }
  return [];
}

interface BuildCtx {
  t: ParsedTemplate;
  vars: ResolvedVariables;
  opts: PrepareOptions;
  env: PluginEnv;
  initTime: number;
  random: () => number;
}

function baseInterp(c: BuildCtx, buildName: string | undefined, buildType: string | undefined): InterpContext {
  const ctx: InterpContext = { user: c.vars.values, templateDir: c.t.dir, pwd: c.opts.cwd, initTime: c.initTime, random: c.random, data: {} };
  if (buildName !== undefined) ctx.buildName = buildName;
  if (buildType !== undefined) ctx.buildType = buildType;
  return ctx;
}

/** Decodes one plugin block; returns no value (with the issue) when rendering failed. */
function decodeWith<T>(raw: Record<string, unknown>, interp: InterpContext, lateKeys: readonly string[], decode: (d: Decoder) => T): { value?: T; issues: ConfigIssue[] } {
  let d: Decoder;
  try {
    d = new Decoder(raw, (s) => render(s, interp), lateKeys);
  } catch (e) {
    if (e instanceof RenderFailure) return { issues: [e.issue] };
    throw e;
  }
  const value = decode(d);
  return { value, issues: d.issues };
}

export function prepareBuilds(t: ParsedTemplate, opts: PrepareOptions): PrepareResult {
  const diagnostics: Diagnostic[] = [];
  const structural = validateTemplateStructure(t);
  if (structural.length) return { builds: [], diagnostics: structural };
  const version = checkMinVersion(t);
  if (version.length) return { builds: [], diagnostics: version };

  const initTime = opts.initTime ?? Date.now();
  const random = opts.random ?? Math.random;
  const vr = t.resolvedVariables
    ? { variables: t.resolvedVariables, diagnostics: [] }
    : resolveVariables(t, { vars: opts.vars, varFiles: opts.varFiles, env: opts.env, initTime, templateDir: t.dir, pwd: opts.cwd, random });
  if (!vr.variables) return { builds: [], diagnostics: vr.diagnostics };
  const vars = vr.variables;
  const fileExists = opts.fileExists ?? (() => undefined);
  const c: BuildCtx = { t, vars, opts, env: pluginEnv(opts.cwd, fileExists, random, opts.env ?? {}), initTime, random };

  // Build names (a name may be a template expression).
  const named: Array<{ def: BuilderDef; name: string }> = [];
  for (const b of t.builders) {
    try {
      named.push({ def: b, name: render(b.name, baseInterp(c, undefined, undefined)) });
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      diagnostics.push(diagAt(t.doc, CODES.template, `Error interpolating builder '${b.name}': ${e.message}`, b.config['name'] !== undefined ? [...b.path, 'name'] : b.path));
    }
  }
  if (diagnostics.length) return { builds: [], diagnostics, variables: vars };

  const only = (opts.only ?? []).filter(Boolean);
  const except = (opts.except ?? []).filter(Boolean);
  // Exact names: Packer 1.6.6 does not glob for JSON templates (`-only=dock*` selects nothing).
  const selected = named.filter(({ name }) => (only.length ? only.includes(name) : true) && !except.includes(name));

  const builds: PreparedBuild[] = [];
  for (const { def, name } of selected) {
    const b = prepareOne(c, def, name, except, diagnostics);
    if (b) builds.push(b);
  }
  return { builds, diagnostics, variables: vars };
}

function prepareOne(c: BuildCtx, def: BuilderDef, name: string, cliExcept: string[], diagnostics: Diagnostic[]): PreparedBuild | undefined {
  const { t } = c;
  const rawName = def.name;
  const provDefs = t.provisioners.filter((p) => !skipFor(p, rawName));
  // Post-processors: an element skipped by its own only/except is left out (the chain goes on with
  // the previous artifact); a name in -except cuts the rest of its chain; empty chains are dropped.
  const chains = t.postProcessors
    .map((chain) => {
      const out = [];
      for (const p of chain) {
        if (skipFor(p, rawName)) continue;
        if (cliExcept.includes(p.name)) break;
        out.push(p);
      }
      return out;
    })
    .filter((ch) => ch.length > 0);

  // Plugin lookup ("Failed to initialize build").
  const initFail = (msg: string, path: Path) => {
    diagnostics.push(diagAt(t.doc, CODES.plugin, `Failed to initialize build "${name}": ${msg}`, path));
  };
  if (!(BUILDER_TYPES as readonly string[]).includes(def.type)) return void initFail(`error initializing builder '${def.type}': Unknown builder ${def.type}`, [...def.path, 'type']);
  for (const p of [...provDefs, ...(t.errorCleanupProvisioner ? [t.errorCleanupProvisioner] : [])])
    if (!(PROVISIONER_TYPES as readonly string[]).includes(p.type)) return void initFail(`error initializing provisioner '${p.type}': Unknown provisioner ${p.type}`, [...p.path, 'type']);
  for (const ch of chains)
    for (const p of ch)
      if (!(POST_PROCESSOR_TYPES as readonly string[]).includes(p.type))
        return void initFail(
          `error initializing post-processor '${p.type}': Unknown post-processor ${p.type}`,
          typeof p.path[p.path.length - 1] === 'number' && t.doc.positions.span([...p.path, 'type']) ? [...p.path, 'type'] : p.path,
        );

  const before = diagnostics.length;
  const report = (issues: ConfigIssue[], path: Path) => {
    for (const iss of issues) {
      const d = diagAt(t.doc, CODES.config, `${iss.severity === 'warning' ? 'Warning when preparing build' : 'Failed to prepare build'}: "${name}": ${iss.message}`, [...path, ...iss.at], {
        key: iss.key ?? false,
      });
      if (iss.severity === 'warning') d.severity = 'warning';
      diagnostics.push(d);
    }
  };
  const buildKeys = builderBuildKeys(def.type);
  const runName = def.packerBuildName ?? name;
  const interp = (): InterpContext => ({ ...baseInterp(c, runName, def.type), build: { mode: 'placeholder', keys: buildKeys } });

  // Builder
  const bInterp = interp();
  if (def.type === 'amazon-ebs') bInterp.extraFuncs = { clean_resource_name: (s: unknown) => cleanResourceName(String(s)) };
  const lateBuilderKeys = def.type === 'docker' ? ['run_command'] : def.type === 'amazon-ebs' ? AMAZON_EBS_LATE_KEYS : [];
  const br = decodeWith(def.config, bInterp, lateBuilderKeys, (d) => decodeBuilder(def.type, d, c.env));
  report(br.issues, def.path);

  // Provisioners
  const provs: PreparedProvisioner[] = [];
  const prepProv = (p: ProvisionerDef, index: number): PreparedProvisioner | undefined => {
    const ov = p.override?.[rawName] ?? {};
    const raw = { ...p.config, ...ov };
    // Packer picks `remote_file` (script_<n>.sh) at random; kiln derives n from the build name and
    // the provisioner's place, so the same template yields the same prepared build (and build key).
    const stable = { ...c.env, random: () => stableFraction(`${runName}\0${p.path.join('.')}`) };
    const r = decodeWith(raw, interp(), PROVISIONER_LATE_KEYS[p.type] ?? [], (d) => decodeProvisioner(p.type, d, stable));
    // An issue about a key that came from `override` points into the override block.
    for (const iss of r.issues) {
      const k = iss.at[0];
      if (typeof k === 'string' && k in ov) report([{ ...iss, at: ['override', rawName, ...iss.at] }], p.path);
      else report([iss], p.path);
    }
    const meta = { pauseBeforeMs: 0, maxRetries: 0, timeoutMs: 0 };
    if (p.pauseBefore) meta.pauseBeforeMs = parseGoDuration(p.pauseBefore) as number;
    if (p.timeout) meta.timeoutMs = parseGoDuration(p.timeout) as number;
    if (p.maxRetries !== undefined && p.maxRetries !== '') {
      let n: number | undefined;
      if (typeof p.maxRetries === 'number') n = Number.isInteger(p.maxRetries) ? p.maxRetries : undefined;
      else {
        try {
          const s = render(p.maxRetries, interp());
          n = /^[+-]?\d+$/.test(s.trim()) ? Number(s.trim()) : undefined;
        } catch {
          n = undefined;
        }
      }
      if (n === undefined)
        diagnostics.push(
          diagAt(t.doc, CODES.plugin, `Failed to initialize build "${name}": \`max_retries\` must be a valid integer: strconv.Atoi: parsing ${JSON.stringify(String(p.maxRetries))}: invalid syntax`, [
            ...p.path,
            'max_retries',
          ]),
        );
      else meta.maxRetries = Math.max(0, n);
    }
    if (!r.value) return undefined;
    return { type: r.value.type, config: r.value, meta, index, path: p.path };
  };
  t.provisioners.forEach((p, i) => {
    if (!provDefs.includes(p)) return;
    const pp = prepProv(p, i);
    if (pp) provs.push(pp);
  });
  const cleanup = t.errorCleanupProvisioner ? prepProv(t.errorCleanupProvisioner, -1) : undefined;

  // Post-processors
  const ppChains: PreparedPostProcessor[][] = chains.map((ch) =>
    ch.flatMap((p) => {
      const r = decodeWith(p.config, interp(), POST_PROCESSOR_LATE_KEYS[p.type] ?? [], (d) => decodePostProcessor(p.type, d, c.env));
      report(r.issues, p.path);
      if (!r.value) return [];
      const out: PreparedPostProcessor = { type: r.value.type, name: p.name, config: r.value, skip: false, stopChain: false, path: p.path };
      if (p.keepInputArtifact !== undefined) out.keepInputArtifact = p.keepInputArtifact;
      return [out];
    }),
  );

  if (diagnostics.slice(before).some((d) => d.severity === 'error') || !br.value) return undefined;
  const builder = br.value as BuilderConfig;
  const lateBase = baseInterp(c, runName, def.type);
  if (bInterp.extraFuncs) lateBase.extraFuncs = bInterp.extraFuncs;
  const build: PreparedBuild = {
    name,
    type: builder.type,
    builder,
    provisioners: provs,
    postProcessors: ppChains,
    variables: c.vars,
    templateDir: t.dir,
    cwd: c.opts.cwd,
    initTime: c.initTime,
    path: def.path,
    renderLate: (text: string, ctx: LateContext) => {
      try {
        return render(text, { ...lateBase, data: ctx, build: { mode: 'values', values: ctx } });
      } catch (e) {
        if (e instanceof TemplateError) throw new KilnError('PACKER_TEMPLATE', c.vars.mask(`${name}: ${e.message}`));
        throw e;
      }
    },
  };
  if (cleanup) build.errorCleanupProvisioner = cleanup;
  if (def.packerBuildName !== undefined) build.packerBuildName = def.packerBuildName;
  return build;
}

/** amazon-ebs keys Packer renders at build time, with the source AMI's data (`{{ .SourceAMI }}`, …). */
const AMAZON_EBS_LATE_KEYS = ['ami_description', 'run_tags', 'run_volume_tags', 'spot_tags', 'snapshot_tags', 'tags'];

/** A number in [0, 1) from a string (FNV-1a), for choices Packer makes at random. */
function stableFraction(seed: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < seed.length; i++) {
    h ^= seed.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 0x100000000;
}

function skipFor(p: { only?: string[]; except?: string[] }, buildName: string): boolean {
  if (p.only?.length) return !p.only.includes(buildName);
  if (p.except?.length) return p.except.includes(buildName);
  return false;
}
