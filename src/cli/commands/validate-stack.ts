// CloudFormation half of `kiln validate`: load (JSON or YAML), validate, print every diagnostic.
import { isAbsolute, resolve } from 'node:path';
import { formatDiagnostic, hasErrors, type Diagnostic } from '../../core/diagnostics.js';
import { flagBool, flagList, keyValues, parseArgs, type FlagSpec } from '../args.js';
import type { CliIO } from '../io.js';
import { KilnError } from '../../core/errors.js';
import { HELP } from './validate-help.js';

const FLAGS: FlagSpec[] = [
  { names: ['param'], kind: 'multi', valueName: 'KEY=VALUE', description: 'a parameter value to check' },
  { names: ['json'], kind: 'bool', description: 'print the diagnostics as JSON on stdout' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

/** Diagnostics as `--json` prints them: flat, without internal fields. */
export function diagnosticJson(d: Diagnostic): Record<string, unknown> {
  return {
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.path ? { path: d.path } : {}),
    ...(d.range ? { file: d.range.file, line: d.range.start.line, col: d.range.start.col } : {}),
  };
}

export async function runStackValidate(argv: string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, FLAGS, 'validate');
  if (flagBool(args, 'help')) {
    io.out(HELP);
    return 0;
  }
  if (args.positionals.length !== 1)
    throw new KilnError('USAGE', `validate: expected one TEMPLATE argument${args.positionals.length ? `, got ${args.positionals.length}` : ''} (see \`kiln validate --help\`)`, 'user', {
      exitCode: 2,
    });
  const file = args.positionals[0]!;
  const params: Record<string, string> = {};
  for (const [k, v] of keyValues(flagList(args, 'param'), '--param')) params[k] = v;

  const { checkTemplate } = await import('../../stack/check.js');
  const { diagnostics: diags } = await checkTemplate(
    { path: isAbsolute(file) ? file : resolve(io.cwd, file), displayName: file, ...(io.stdin ? { stdin: io.stdin } : {}) },
    { params, now: new Date() },
  );
  const failed = hasErrors(diags);
  if (flagBool(args, 'json')) {
    io.out(JSON.stringify({ file, valid: !failed, diagnostics: diags.map(diagnosticJson) }, null, 2) + '\n');
  } else {
    for (const d of diags) io.err(formatDiagnostic(d, file) + '\n');
    if (!failed) io.err(`${file}: valid${diags.length ? ` (${diags.length} warning${diags.length > 1 ? 's' : ''})` : ''}\n`);
  }
  return failed ? 1 : 0;
}
