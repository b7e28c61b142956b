// `kiln validate A B 'templates/**/*.yaml' …`: many templates in one process, one summary. Each file
// goes where `kiln validate FILE` would send it (CloudFormation, or the image engine for Packer
// templates); the process loads the resource spec once, which is most of a single validate's cost.
// Exit 0 when every template is valid, 1 when any is not, 2 for a usage error (a pattern that
// matches nothing included).
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, type Diagnostic } from '../../core/diagnostics.js';
import { KilnError } from '../../core/errors.js';
import { expandGlob, hasGlob } from '../../core/glob.js';
import { flagBool, flagList, keyValues, parseArgs, type FlagSpec } from '../args.js';
import { memoryIO, type CliIO } from '../io.js';
import { isPackerTemplate } from './template-kind.js';
import { diagnosticJson } from './validate-stack.js';

const FLAGS: FlagSpec[] = [
  { names: ['param'], kind: 'multi', valueName: 'KEY=VALUE', description: 'a parameter value, checked in each CloudFormation template that declares it' },
  { names: ['var'], kind: 'multi', valueName: 'k=v', description: 'a Packer user variable (Packer templates)' },
  { names: ['var-file'], kind: 'multi', valueName: 'FILE', description: 'a Packer variable file (Packer templates)' },
  { names: ['only'], kind: 'multi', valueName: 'a,b', description: 'Packer builds to validate' },
  { names: ['except'], kind: 'multi', valueName: 'a,b', description: 'Packer builds not to validate' },
  { names: ['syntax-only'], kind: 'bool', description: 'Packer templates: syntax only' },
  { names: ['json'], kind: 'bool', description: 'print every verdict and diagnostic as one JSON document' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

interface Verdict {
  file: string;
  kind: 'cloudformation' | 'packer';
  valid: boolean;
  errors: number;
  warnings: number;
  diagnostics: Array<Record<string, unknown>>;
}

/** The files the arguments name: patterns expanded (an existing file named like a pattern is itself). */
export function templateFiles(args: readonly string[], cwd: string): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const a of args) {
    const abs = isAbsolute(a) ? a : resolve(cwd, a);
    let exists = false;
    try {
      statSync(abs);
      exists = true;
    } catch {
      exists = false;
    }
    const matches = !exists && hasGlob(a) ? expandGlob(a, cwd) : [a];
    if (matches.length === 0) throw new KilnError('USAGE', `validate: no file matches ${a}`, 'user', { exitCode: 2 });
    for (const m of matches) {
      const key = isAbsolute(m) ? m : resolve(cwd, m);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(m);
    }
  }
  return out;
}

/** Arguments for the image engine's validate of one file: the Packer flags given, then the file. */
function packerArgv(p: ReturnType<typeof parseArgs>, file: string): string[] {
  const argv: string[] = [];
  for (const name of ['var', 'var-file', 'only', 'except']) for (const v of flagList(p, name)) argv.push(`-${name}`, v);
  if (flagBool(p, 'syntax-only')) argv.push('-syntax-only');
  return [...argv, '--json', file];
}

async function validatePacker(p: ReturnType<typeof parseArgs>, file: string, io: CliIO): Promise<Verdict> {
  const { runImageValidate } = await import('./validate-image.js');
  const captured = memoryIO({ cwd: io.cwd, env: io.env });
  let code: number;
  try {
    code = await runImageValidate(packerArgv(p, file), captured);
  } catch (e) {
    if (!KilnError.is(e)) throw e;
    const d: Diagnostic = { severity: 'error', code: e.code, message: e.message, range: { file, start: { line: 1, col: 1, offset: 0 } } };
    return { file, kind: 'packer', valid: false, errors: 1, warnings: 0, diagnostics: [diagnosticJson(d)] };
  }
  let parsed: { diagnostics?: Diagnostic[] } = {};
  try {
    parsed = JSON.parse(captured.stdout) as { diagnostics?: Diagnostic[] };
  } catch {
    parsed = {};
  }
  const diags = parsed.diagnostics ?? [];
  return {
    file,
    kind: 'packer',
    valid: code === 0,
    errors: diags.filter((d) => d.severity === 'error').length,
    warnings: diags.filter((d) => d.severity === 'warning').length,
    diagnostics: diags.map((d) => diagnosticJson({ ...d, range: d.range ? { ...d.range, file: d.range.file || file } : { file, start: { line: 1, col: 1, offset: 0 } } })),
  };
}

async function validateStack(file: string, text: string | undefined, params: Record<string, string>, now: Date, cwd: string): Promise<{ verdict: Verdict; diags: Diagnostic[] }> {
  const { checkTemplate } = await import('../../stack/check.js');
  const input = text !== undefined ? { text, displayName: file } : { path: isAbsolute(file) ? file : resolve(cwd, file), displayName: file };
  const { diagnostics: diags } = await checkTemplate(input, { params, now, declaredOnly: true });
  const errors = diags.filter((d) => d.severity === 'error').length;
  return { verdict: { file, kind: 'cloudformation', valid: errors === 0, errors, warnings: diags.length - errors, diagnostics: diags.map(diagnosticJson) }, diags };
}

export async function runValidateMany(argv: string[], io: CliIO): Promise<number> {
  const p = parseArgs(argv, FLAGS, 'validate');
  const json = flagBool(p, 'json');
  const files = templateFiles(p.positionals, io.cwd);
  const params: Record<string, string> = {};
  for (const [k, v] of keyValues(flagList(p, 'param'), '--param')) params[k] = v;
  const now = new Date();
  const verdicts: Verdict[] = [];
  for (const file of files) {
    const abs = isAbsolute(file) ? file : resolve(io.cwd, file);
    let text: string | undefined;
    let dir = false;
    try {
      dir = statSync(abs).isDirectory();
      if (!dir) text = readFileSync(abs, 'utf8');
    } catch {
      text = undefined; // the stack path reports an unreadable file with its reason
    }
    const packer = dir || file.endsWith('.pkr.hcl') || file.endsWith('.pkr.json') || (text !== undefined && (await isPackerTemplate(text)));
    if (packer) {
      const v = await validatePacker(p, file, io);
      verdicts.push(v);
      if (!json) for (const d of v.diagnostics) io.err(formatDiagnostic(fromJson(d), file) + '\n');
      continue;
    }
    const { verdict, diags } = await validateStack(file, text, params, now, io.cwd);
    verdicts.push(verdict);
    if (!json) for (const d of diags) io.err(formatDiagnostic(d, file) + '\n');
  }
  const invalid = verdicts.filter((v) => !v.valid);
  const summary = {
    templates: verdicts.length,
    valid: verdicts.length - invalid.length,
    invalid: invalid.length,
    errors: verdicts.reduce((n, v) => n + v.errors, 0),
    warnings: verdicts.reduce((n, v) => n + v.warnings, 0),
  };
  if (json) io.out(JSON.stringify({ valid: invalid.length === 0, summary, templates: verdicts }, null, 2) + '\n');
  else {
    const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
    io.err(
      `kiln validate: ${plural(summary.templates, 'template')}: ${summary.valid} valid, ${summary.invalid} invalid (${plural(summary.errors, 'error')}, ${plural(summary.warnings, 'warning')})\n`,
    );
  }
  return invalid.length ? 1 : 0;
}

/** A diagnostic back from its `--json` form, for printing. */
function fromJson(d: Record<string, unknown>): Diagnostic {
  const line = typeof d.line === 'number' ? d.line : undefined;
  return {
    severity: d.severity === 'warning' ? 'warning' : 'error',
    code: String(d.code),
    message: String(d.message),
    ...(typeof d.path === 'string' ? { path: d.path } : {}),
    ...(line !== undefined ? { range: { file: String(d.file), start: { line, col: Number(d.col ?? 1), offset: 0 } } } : {}),
  };
}
