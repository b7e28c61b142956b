// `kiln.yaml`: the pipeline of a project — which Packer templates to bake for which target, which
// CloudFormation template to deploy, and the stack parameters, where `${images.NAME}` stands for the
// artifact of image NAME on the current target. Parsed with positions (the stack engine's YAML
// reader: npm `yaml` v2 with a LineCounter), so every mistake is `FILE:LINE:COL: error[CODE]: …
// (at images.web.template)`. Pure apart from the existence checks of referenced files, which the
// caller passes in.
import { error, type Diagnostic } from '../core/diagnostics.js';
import { formatPath, type Path, type SourceDoc } from '../core/source.js';

const TARGETS = ['local', 'aws'] as const;
export type Target = (typeof TARGETS)[number];

export interface ImageSpec {
  name: string;
  /** The Packer template (JSON, `.pkr.hcl`, or a folder of HCL2 files), absolute. */
  template: string;
  /** Build (builder name) of the template per target. */
  builds: Partial<Record<Target, string>>;
  /** `-var` values, in file order. */
  vars: Array<[string, string]>;
  /** `-var-file` paths, absolute. */
  varFiles: string[];
}

/** A parameter value: literal text and `${images.NAME}` references, in order. */
type ParamPart = { text: string } | { image: string };

export interface PipelineConfig {
  /** The kiln.yaml file, absolute. */
  file: string;
  /** Its directory: relative paths are taken from here. */
  dir: string;
  stack: string;
  images: ImageSpec[];
  /** The CloudFormation template, absolute. */
  stackTemplate: string;
  parameters: Record<string, ParamPart[]>;
  /** `s3_bucket`: where `kiln up --target aws` puts a stack template over 51,200 bytes (`--s3-bucket` wins). */
  s3Bucket?: string;
  doc: SourceDoc;
}

interface ConfigResult {
  config?: PipelineConfig;
  diagnostics: Diagnostic[];
}

interface ParseOptions {
  /** 'file' | 'dir' | undefined (absent), for the referenced templates and var files. */
  exists: (absPath: string) => 'file' | 'dir' | undefined;
  resolvePath: (dir: string, p: string) => string;
}

const TOP = ['stack', 'images', 'stack_template', 'parameters', 's3_bucket'] as const;
const IMAGE_KEYS = ['template', 'builds', 'vars', 'var_files'] as const;
const IMAGE_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const REF = /\$\{([^}]*)\}/g;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** Splits `a-${images.web}-b` into parts; unknown `${…}` forms are reported. */
export function parseParamValue(text: string): { parts: ParamPart[]; problems: string[] } {
  const parts: ParamPart[] = [];
  const problems: string[] = [];
  let last = 0;
  for (const m of text.matchAll(REF)) {
    if (m.index > last) parts.push({ text: text.slice(last, m.index) });
    const inner = m[1]!.trim();
    const im = /^images\.([A-Za-z][A-Za-z0-9_-]*)$/.exec(inner);
    if (im) parts.push({ image: im[1]! });
    else problems.push(`'\${${m[1]}}' is not a reference kiln knows: use \${images.NAME}`);
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return { parts, problems };
}

/** Checks a parsed kiln.yaml document; returns the config only when there is no error. */
export function checkConfig(doc: SourceDoc, file: string, dir: string, o: ParseOptions): ConfigResult {
  const diags: Diagnostic[] = [...doc.diagnostics];
  const at = (code: string, message: string, path: Path, key = false) =>
    diags.push({ ...error(code, message, { path: formatPath(path) || undefined }), range: doc.positions.range(path, { key }) ?? { file: doc.file, start: { line: 1, col: 1, offset: 0 } } });
  if (doc.value === undefined) return { diagnostics: diags };
  const root = doc.value;
  if (!isObject(root)) {
    at('KILN_YAML_TYPE', 'kiln.yaml must be a mapping with stack, images, stack_template and parameters', []);
    return { diagnostics: diags };
  }
  for (const k of Object.keys(root)) if (!(TOP as readonly string[]).includes(k)) at('KILN_YAML_UNKNOWN_KEY', `unknown key '${k}' (expected one of ${TOP.join(', ')})`, [k], true);

  let stack = '';
  if (root.stack === undefined) at('KILN_YAML_MISSING', "'stack' is required: the stack name", []);
  else if (typeof root.stack !== 'string' || !/^[A-Za-z][-A-Za-z0-9]{0,127}$/.test(root.stack))
    at('KILN_YAML_STACK', 'stack name must be 1 to 128 letters, digits and hyphens, a letter first', ['stack']);
  else stack = root.stack;

  let s3Bucket: string | undefined;
  if (root.s3_bucket !== undefined && root.s3_bucket !== null) {
    if (typeof root.s3_bucket !== 'string' || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(root.s3_bucket))
      at('KILN_YAML_TYPE', 's3_bucket must be an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)', ['s3_bucket']);
    else s3Bucket = root.s3_bucket;
  }

  const file_ = (v: unknown, path: Path, what: string, want: 'file' | 'dir' | 'file-or-dir' = 'file'): string | undefined => {
    if (typeof v !== 'string' || v === '') {
      at('KILN_YAML_TYPE', `${what} must be a path (a string)`, path);
      return undefined;
    }
    const abs = o.resolvePath(dir, v);
    const kind = o.exists(abs);
    if (want === 'file-or-dir' ? kind === undefined : kind !== want) {
      at('KILN_YAML_FILE', kind ? `${what} ${v} is a directory, not a file` : `${what} ${v} does not exist (looked for ${abs})`, path);
      return undefined;
    }
    return abs;
  };

  const images: ImageSpec[] = [];
  if (root.images !== undefined && root.images !== null) {
    if (!isObject(root.images)) at('KILN_YAML_TYPE', 'images must be a mapping from image name to its template', ['images']);
    else {
      for (const [name, spec] of Object.entries(root.images)) {
        const p = ['images', name];
        if (!IMAGE_NAME.test(name)) at('KILN_YAML_IMAGE_NAME', `image name '${name}' must be letters, digits, '_' and '-', a letter first`, p, true);
        if (!isObject(spec)) {
          at('KILN_YAML_TYPE', `image ${name} must be a mapping with template, builds and vars`, p);
          continue;
        }
        for (const k of Object.keys(spec))
          if (!(IMAGE_KEYS as readonly string[]).includes(k)) at('KILN_YAML_UNKNOWN_KEY', `unknown key '${k}' (expected one of ${IMAGE_KEYS.join(', ')})`, [...p, k], true);
        let template: string | undefined;
        if (spec.template === undefined) at('KILN_YAML_MISSING', `image ${name} needs a template (a Packer JSON or HCL2 file, or a folder of *.pkr.hcl)`, p);
        // A folder is an HCL2 template (all its *.pkr.hcl / *.pkr.json), as Packer reads one.
        else template = file_(spec.template, [...p, 'template'], 'template', 'file-or-dir');
        const builds: Partial<Record<Target, string>> = {};
        if (spec.builds === undefined) at('KILN_YAML_MISSING', `image ${name} needs builds: the build of its template for each target (local: NAME)`, p);
        else if (!isObject(spec.builds)) at('KILN_YAML_TYPE', 'builds must map a target (local, aws) to a build name of the template', [...p, 'builds']);
        else
          for (const [t, b] of Object.entries(spec.builds)) {
            if (!(TARGETS as readonly string[]).includes(t)) at('KILN_YAML_TARGET', `unknown target '${t}' (expected ${TARGETS.join(' or ')})`, [...p, 'builds', t], true);
            else if (typeof b !== 'string' || !b) at('KILN_YAML_TYPE', `the build for target ${t} must be a build name (a string)`, [...p, 'builds', t]);
            else builds[t as Target] = b;
          }
        const vars: Array<[string, string]> = [];
        if (spec.vars !== undefined && spec.vars !== null) {
          if (!isObject(spec.vars)) at('KILN_YAML_TYPE', 'vars must be a mapping of user variables', [...p, 'vars']);
          else
            for (const [k, v] of Object.entries(spec.vars)) {
              const s = scalarText(v);
              if (s === undefined) at('KILN_YAML_TYPE', `variable ${k} must be a string, a number or a boolean`, [...p, 'vars', k]);
              else vars.push([k, s]);
            }
        }
        const varFiles: string[] = [];
        if (spec.var_files !== undefined && spec.var_files !== null) {
          if (!Array.isArray(spec.var_files)) at('KILN_YAML_TYPE', 'var_files must be a list of JSON files', [...p, 'var_files']);
          else
            spec.var_files.forEach((f, i) => {
              const abs = file_(f, [...p, 'var_files', i], 'var file');
              if (abs) varFiles.push(abs);
            });
        }
        if (template) images.push({ name, template, builds, vars, varFiles });
      }
    }
  }

  let stackTemplate: string | undefined;
  if (root.stack_template === undefined) at('KILN_YAML_MISSING', "'stack_template' is required: the CloudFormation template to deploy", []);
  else stackTemplate = file_(root.stack_template, ['stack_template'], 'stack template');

  const parameters: Record<string, ParamPart[]> = {};
  const names = new Set(Object.keys(isObject(root.images) ? root.images : {}));
  if (root.parameters !== undefined && root.parameters !== null) {
    if (!isObject(root.parameters)) at('KILN_YAML_TYPE', 'parameters must be a mapping of stack parameter values', ['parameters']);
    else
      for (const [k, v] of Object.entries(root.parameters)) {
        const p = ['parameters', k];
        let text: string | undefined;
        if (Array.isArray(v)) {
          const items = v.map(scalarText);
          if (items.every((x) => x !== undefined)) text = items.join(',');
        } else text = scalarText(v);
        if (text === undefined) {
          at('KILN_YAML_TYPE', `parameter ${k} must be a string, a number, a boolean or a list of them`, p);
          continue;
        }
        const { parts, problems } = parseParamValue(text);
        for (const m of problems) at('KILN_YAML_REF', m, p);
        for (const part of parts)
          if ('image' in part && !names.has(part.image))
            at('KILN_YAML_REF', `\${images.${part.image}}: no image named ${part.image} under images${names.size ? ` (known: ${[...names].join(', ')})` : ''}`, p);
        parameters[k] = parts;
      }
  }
  if (diags.some((d) => d.severity === 'error') || !stackTemplate) return { diagnostics: diags };
  return { config: { file, dir, stack, images, stackTemplate, parameters, ...(s3Bucket ? { s3Bucket } : {}), doc }, diagnostics: diags };
}

/** The value of a parameter once the images of the target are known. */
export function resolveParam(parts: readonly ParamPart[], artifact: (image: string) => string): string {
  return parts.map((p) => ('image' in p ? artifact(p.image) : p.text)).join('');
}
