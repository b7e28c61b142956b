// `kiln validate TEMPLATE`: one command for both kinds of template kiln reads. A Packer JSON
// template (top-level builders / provisioners / post-processors / variables, and no Resources) goes
// to the image engine's validation; anything else is checked as a CloudFormation template.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { Command } from '../main.js';
import type { CliIO } from '../io.js';

export const HELP = `Usage: kiln validate TEMPLATE [--param KEY=VALUE]... [--json]

Checks a template on its own, reporting every problem at once, and exits 0 when it is valid, 1 when
it is not (2 for a usage error).

A CloudFormation template (JSON or YAML, short forms such as !Ref and !GetAtt included) is checked
as cfn-lint would: sections, resource types and properties (from the AWS resource spec), references
(Ref, Fn::GetAtt, Fn::Sub, DependsOn, conditions), dependency cycles, parameters, outputs and the
limits. Each --param value is checked against its parameter; a parameter with no Default and no
value is fine here (render and deploy need one). NoEcho values never appear in messages (****).

A Packer JSON template (top-level builders, provisioners, post-processors or variables, and no
Resources) is checked by the image engine, with Packer's flags (-var, -var-file, ...).

Problems go to stderr, one per line:
  FILE:LINE:COL: error[CODE]: message (at Resources.Web.Properties.ImageId)

Flags:
  --param KEY=VALUE   a parameter value to check (repeatable; CloudFormation only)
  --json              print the diagnostics as JSON on stdout instead
  -h, --help          show this help
`;

const PACKER_KEYS = ['builders', 'provisioners', 'post-processors', 'variables'];

/** True when the text is a Packer JSON template rather than a CloudFormation one. */
export function isPackerTemplate(text: string): boolean {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== '{') return false;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return false;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return !('Resources' in o) && PACKER_KEYS.some((k) => k in o);
}

/** The template argument: the first positional, skipping the values of flags that take one. */
function templateArg(argv: readonly string[]): string | undefined {
  const withValue = new Set(['--param', '-param', '-var', '--var', '-var-file', '--var-file', '-only', '--only', '-except', '--except']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    if (a.startsWith('-') && a !== '-') {
      if (!a.includes('=') && withValue.has(a)) i++;
      continue;
    }
    return a;
  }
  return undefined;
}

export const command: Command = {
  summary: 'check a CloudFormation or Packer template',
  async run(argv: string[], io: CliIO): Promise<number> {
    if (argv.includes('--help') || argv.includes('-h') || argv.includes('-help')) {
      io.out(HELP);
      return 0;
    }
    const file = templateArg(argv);
    if (file !== undefined && file !== '-') {
      let text: string | undefined;
      try {
        text = await readFile(isAbsolute(file) ? file : resolve(io.cwd, file), 'utf8');
      } catch {
        text = undefined; // the stack path reports unreadable files with their reason
      }
      if (text !== undefined && isPackerTemplate(text)) {
        const { runImageValidate } = await import('./validate-image.js');
        return runImageValidate(argv, io);
      }
    }
    const { runStackValidate } = await import('./validate-stack.js');
    return runStackValidate(argv, io);
  },
};
