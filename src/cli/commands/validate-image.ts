// `kiln validate` for Packer JSON templates: Packer 1.6.6's `packer validate` flags, verdicts and
// messages, with every error located at `file:line:col` and its logical path.
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { InputError, MAX_TEMPLATE_BYTES, MAX_VAR_FILE_BYTES, readInput, readInputSync } from '../../core/input.js';
import { parsePackerTemplate } from '../../image/template.js';
import { machineEscape } from '../../image/inspect.js';
import { makeResolved, mergeVariableSources } from '../../image/variables.js';
import type { ParsedTemplate, PrepareResult } from '../../image/types.js';
import { flagBool, flagList, keyValues, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import type { CliIO } from '../io.js';
import { excerpt, fsFileExists, splitNames } from './packer-common.js';

export { excerpt, fsFileExists, splitNames } from './packer-common.js';

const VALIDATE_FLAGS: FlagSpec[] = [
  { names: ['syntax-only'], kind: 'bool', description: 'only check syntax; do not verify the config of builders, provisioners, post-processors' },
  { names: ['only'], kind: 'multi', valueName: 'a,b', description: 'validate only these builds (exact names)' },
  { names: ['except'], kind: 'multi', valueName: 'a,b', description: 'validate all builds but these; a post-processor name here cuts its chain' },
  { names: ['var'], kind: 'multi', valueName: 'k=v', description: 'user variable; every -var beats every -var-file' },
  { names: ['var-file'], kind: 'multi', valueName: 'FILE', description: 'JSON file of user variables (a flat object of strings); later files win' },
  { names: ['json'], kind: 'bool', description: 'print the verdict and diagnostics as JSON' },
  { names: ['machine-readable'], kind: 'bool', description: "Packer's machine-readable lines (ts,,ui,error,…), secrets masked" },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

export const VALIDATE_HELP = `Usage: kiln validate [flags] TEMPLATE

Checks a Packer JSON template (legacy format, as Packer 1.6.6) by parsing it, resolving its
variables and preparing the config of every builder, provisioner and post-processor, as
\`packer validate\` does. Exit status 0 when valid, 1 when not. TEMPLATE may be \`-\` (stdin).
Every error is located: FILE:LINE:COL: error[CODE]: message (at logical.path).

Flags:
${renderFlagHelp(VALIDATE_FLAGS)}

Where kiln differs from Packer 1.6.6 on purpose:
  - HCL2 templates (*.pkr.hcl, *.pkr.json, a folder of them) follow Packer 1.9's HCL2 language
    (data sources, local blocks, required_plugins), which 1.6.6 only partly knew; -only/-except
    take source.TYPE.NAME, TYPE.NAME, BUILD.TYPE.NAME or globs. See docs/packer-hcl2.md.
  - Plugins kiln has: builders docker, null, file, amazon-ebs (common keys checked; other amazon-ebs
    keys accepted as given); provisioners shell, file, shell-local; post-processors manifest,
    docker-tag, checksum, shell-local, docker-import, docker-save. Any other type is "Unknown", as
    Packer says for a plugin it does not have.
  - A provisioner with both pause_before and timeout keeps its timeout (Packer 1.6.6 drops it).
  - Sensitive variable values are masked in every message, -machine-readable included.
  - Success prints "Template validated successfully." (Packer 1.6.6 prints nothing).
`;

const PACKER_ROOT = ['builders', 'provisioners', 'post-processors', 'variables', 'sensitive-variables', 'min_packer_version', 'error-cleanup-provisioner', 'push', 'description'];
const CFN_ROOT = ['Resources', 'AWSTemplateFormatVersion', 'Parameters', 'Outputs', 'Mappings', 'Conditions', 'Transform', 'Description'];

/**
 * True when `text` is meant as a Packer JSON template, even when it is not valid JSON (so that a
 * syntax error is reported the way Packer reports it): lower-case Packer root keys and no
 * CloudFormation section.
 */
export function looksLikePackerTemplate(text: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    const keys = [...text.matchAll(/"([A-Za-z_-]+)"\s*:/g)].map((m) => m[1]!);
    return keys.some((k) => PACKER_ROOT.includes(k) && k !== 'description' && k !== 'variables') && !keys.some((k) => CFN_ROOT.includes(k));
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  return keys.some((k) => PACKER_ROOT.includes(k)) && !keys.some((k) => CFN_ROOT.includes(k));
}

export function isHcl2Path(path: string, isDir: boolean): boolean {
  return isDir || path.endsWith('.pkr.hcl') || path.endsWith('.pkr.json');
}

interface LoadedTemplate {
  template?: ParsedTemplate;
  diagnostics: Diagnostic[];
  /** Absolute path ('-' for stdin). */
  path: string;
  /** The template's text, for excerpts. */
  text: string;
}

/** Reads and parses a Packer JSON template. Throws KilnError for an unreadable file or HCL2. */
export async function loadPackerTemplate(file: string, io: Pick<CliIO, 'cwd' | 'stdin'>): Promise<LoadedTemplate> {
  if (file === '-') {
    const text = await readInput('-', { maxBytes: MAX_TEMPLATE_BYTES, what: 'template', ...(io.stdin ? { stdin: io.stdin } : {}) });
    const r = parsePackerTemplate(text, '<stdin>', io.cwd);
    return r.template ? { template: r.template, diagnostics: r.diagnostics, path: '-', text } : { diagnostics: r.diagnostics, path: '-', text };
  }
  const abs = isAbsolute(file) ? file : resolve(io.cwd, file);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    throw new KilnError('PACKER_OPEN', `Failed to parse template: open ${file}: no such file or directory`);
  }
  if (isHcl2Path(file, isDir)) throw new KilnError('PACKER_HCL2', `${file} is an HCL2 template; this command reads Packer JSON templates (kiln build, validate and inspect read both)`);
  const text = await readInput(abs, { maxBytes: MAX_TEMPLATE_BYTES, what: 'template' });
  const r = parsePackerTemplate(text, file, dirname(abs));
  return r.template ? { template: r.template, diagnostics: r.diagnostics, path: abs, text } : { diagnostics: r.diagnostics, path: abs, text };
}

/** Reads `-var-file`s (Packer: `open F: no such file or directory`, exit 1). */
function readVarFiles(files: string[], cwd: string): Array<{ file: string; text: string }> {
  return files.map((f) => {
    try {
      return { file: f, text: readInputSync(isAbsolute(f) ? f : resolve(cwd, f), { maxBytes: MAX_VAR_FILE_BYTES, what: 'var file' }) };
    } catch (e) {
      if (e instanceof InputError && e.reason !== 'no such file') throw new KilnError('PACKER_VAR_FILE', `open ${f}: ${e.reason}`);
      throw new KilnError('PACKER_VAR_FILE', `open ${f}: no such file or directory`);
    }
  });
}

interface CliVariableFlags {
  vars: Array<[string, string]>;
  varFiles: Array<{ file: string; text: string }>;
  only: string[];
  except: string[];
}

function variableFlags(p: ReturnType<typeof parseArgs>, cwd: string): CliVariableFlags {
  return {
    vars: keyValues(flagList(p, 'var'), '-var'),
    varFiles: readVarFiles(flagList(p, 'var-file'), cwd),
    only: splitNames(flagList(p, 'only')),
    except: splitNames(flagList(p, 'except')),
  };
}

/** A masker for a template before (or without) full variable resolution: raw values of sensitive names. */
function rawMasker(t: ParsedTemplate, flags: Pick<CliVariableFlags, 'vars' | 'varFiles'>): (s: string) => string {
  const merged = mergeVariableSources(t, flags);
  return makeResolved(merged.values, new Set(t.sensitiveVariables)).mask;
}

export function printDiagnostics(diags: readonly Diagnostic[], io: CliIO, mask: (s: string) => string, file?: string, text?: string): void {
  for (const d of sortDiagnostics(diags)) {
    io.err(mask(formatDiagnostic(d, file)) + '\n');
    if (d.detail) io.err(mask(d.detail) + '\n');
    else if (io.stderrIsTTY && text !== undefined && d.range && d.range.file === file) io.err(mask(excerpt(text, d.range.start.line, d.range.start.col)));
  }
}

export async function runImageValidate(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, VALIDATE_FLAGS, 'validate');
  if (flagBool(p, 'help')) {
    io.out(VALIDATE_HELP);
    return 0;
  }
  if (p.positionals.length !== 1) {
    io.err(`kiln validate: expected exactly one template\n\n${VALIDATE_HELP}`);
    return 2;
  }
  const json = flagBool(p, 'json');
  const file = p.positionals[0]!;
  if (file !== '-' && isHcl2Path(file, fsFileExists(isAbsolute(file) ? file : resolve(io.cwd, file)) === 'dir')) {
    const { runHclValidate } = await import('./validate-hcl.js');
    return runHclValidate(p, file, io);
  }
  const finish = (diags: Diagnostic[], mask: (s: string) => string, builds: string[] = []): number => {
    const ok = !hasErrors(diags);
    if (json) {
      const out = { valid: ok, template: file, builds, diagnostics: sortDiagnostics(diags) };
      // every string masked (a build name may come from a sensitive variable)
      io.out(JSON.stringify(out, (_k, v: unknown) => (typeof v === 'string' ? mask(v) : v), 2) + '\n');
    } else if (flagBool(p, 'machine-readable')) {
      const ts = Math.floor(Date.now() / 1000);
      for (const d of sortDiagnostics(diags)) {
        const text = mask(formatDiagnostic(d, file) + (d.detail ? `\n${d.detail}` : ''));
        io.out(`${ts},,ui,${d.severity === 'error' ? 'error' : 'say'},${machineEscape(text)}\n`);
      }
      if (ok && flagBool(p, 'syntax-only')) io.out(`${ts},,ui,say,Syntax-only check passed. Everything looks okay.\n`);
    } else {
      printDiagnostics(diags, io, mask, file, source);
      if (ok) io.out(flagBool(p, 'syntax-only') ? 'Syntax-only check passed. Everything looks okay.\n' : 'Template validated successfully.\n');
    }
    return ok ? 0 : 1;
  };

  let source: string | undefined;
  let loaded: LoadedTemplate;
  let flags: CliVariableFlags;
  try {
    flags = variableFlags(p, io.cwd);
    loaded = await loadPackerTemplate(file, io);
    source = loaded.text;
  } catch (e) {
    if (KilnError.is(e) && json) return finish([{ severity: 'error', code: e.code, message: e.message }], (s) => s);
    throw e;
  }
  const t = loaded.template;
  if (!t) return finish(loaded.diagnostics, (s) => s);
  const mask = rawMasker(t, flags);
  if (flagBool(p, 'syntax-only')) return finish(loaded.diagnostics, mask);

  const { prepareBuilds } = await import('../../image/prepare.js');
  const result: PrepareResult = prepareBuilds(t, {
    vars: flags.vars,
    varFiles: flags.varFiles,
    env: io.env,
    only: flags.only,
    except: flags.except,
    cwd: io.cwd,
    fileExists: fsFileExists,
  });
  const resolved = result.variables;
  const fullMask = resolved ? (s: string) => mask(resolved.mask(s)) : mask;
  return finish(
    [...loaded.diagnostics, ...result.diagnostics],
    fullMask,
    result.builds.map((b) => b.name),
  );
}
