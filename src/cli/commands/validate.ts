// `kiln validate TEMPLATE`: one command for both kinds of template kiln reads. A Packer JSON
// template (top-level builders / provisioners / post-processors / variables, and no Resources) goes
// to the image engine's validation; anything else is checked as a CloudFormation template.
import { readFile, stat } from 'node:fs/promises';
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
CloudFormation section) is checked by the image engine, with Packer's flags (-var, -var-file, ...);
so are \`-\` (stdin) and HCL2 templates: *.pkr.hcl / *.pkr.json files and folders of them
(docs/packer-hcl2.md).

Problems go to stderr, one per line:
  FILE:LINE:COL: error[CODE]: message (at Resources.Web.Properties.ImageId)

Flags:
  --param KEY=VALUE   a parameter value to check (repeatable; CloudFormation only)
  --json              print the diagnostics as JSON on stdout instead
  -h, --help          show this help
`;

// Keys only a Packer template has at its root; a cheap look before loading the image engine.
const PACKER_HINT = /"(?:builders|provisioners|post-processors|variables|sensitive-variables|min_packer_version|error-cleanup-provisioner|push)"\s*:/;

/**
 * True when the text is a Packer JSON template rather than a CloudFormation one. The decision is
 * the image engine's (`looksLikePackerTemplate`, which also routes broken JSON that is meant as
 * Packer); its module is loaded only when the text could be one.
 */
export async function isPackerTemplate(text: string): Promise<boolean> {
  const start = text.search(/\S/);
  if (start < 0 || text[start] !== '{' || !PACKER_HINT.test(text)) return false;
  const { looksLikePackerTemplate } = await import('./validate-image.js');
  return looksLikePackerTemplate(text);
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
      // One help for both formats: the CloudFormation side, then the Packer side with its flags and
      // where kiln deliberately differs from Packer 1.6.6.
      const { VALIDATE_HELP } = await import('./validate-image.js');
      io.out(`${HELP}\n--- Packer JSON templates ---\n\n${VALIDATE_HELP}`);
      return 0;
    }
    const file = templateArg(argv);
    // Packer-only forms: stdin (`-`), HCL2 files and directories are the image engine's to answer.
    const packerOnly = file === '-' || (file !== undefined && (file.endsWith('.pkr.hcl') || file.endsWith('.pkr.json')));
    if (packerOnly) {
      const { runImageValidate } = await import('./validate-image.js');
      return runImageValidate(argv, io);
    }
    if (file !== undefined) {
      const path = isAbsolute(file) ? file : resolve(io.cwd, file);
      let text: string | undefined;
      try {
        text = (await stat(path)).isDirectory() ? '{"builders": []}' : await readFile(path, 'utf8');
      } catch {
        text = undefined; // the stack path reports unreadable files with their reason
      }
      if (text !== undefined && (await isPackerTemplate(text))) {
        const { runImageValidate } = await import('./validate-image.js');
        return runImageValidate(argv, io);
      }
    }
    const { runStackValidate } = await import('./validate-stack.js');
    return runStackValidate(argv, io);
  },
};
