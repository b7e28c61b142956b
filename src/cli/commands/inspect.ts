// `kiln inspect TEMPLATE`: Packer's `inspect` for JSON templates (variables, builders,
// provisioners; kiln also lists post-processor chains). Does not validate.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import { inspectMachine, inspectText } from '../../image/inspect.js';
import { isAbsolute, resolve } from 'node:path';
import { fsFileExists, isHcl2Path, loadPackerTemplate, printDiagnostics } from './validate-image.js';

const FLAGS: FlagSpec[] = [
  { names: ['machine-readable'], kind: 'bool', description: 'machine-readable records (timestamp,target,type,data…)' },
  { names: ['help', 'h'], kind: 'bool', description: 'show this help' },
];

export const HELP = `Usage: kiln inspect [-machine-readable] TEMPLATE

Shows the variables (required, and optional with their defaults; sensitive defaults as
<sensitive>), builders and provisioners of a Packer JSON template, as \`packer inspect\` does. It
does not validate the template (see \`kiln validate\`).

Flags:
${renderFlagHelp(FLAGS)}

Where kiln differs from Packer 1.6.6: it also lists post-processor chains ("Post-processors:",
records "template-post-processor"); required variables are listed sorted (Packer 1.6.6 lists
them in a different random order on each run). HCL2 templates (*.pkr.hcl, *.pkr.json, a folder)
are shown as Packer's HCL2 mode does: input variables, locals, builds.
`;

export const command: Command = {
  summary: 'show the variables, builders and provisioners of a Packer template',
  async run(argv: string[], io: CliIO): Promise<number> {
    const p = parseArgs(argv, FLAGS, 'inspect');
    if (flagBool(p, 'help')) {
      io.out(HELP);
      return 0;
    }
    if (p.positionals.length !== 1) {
      io.err(`kiln inspect: expected exactly one template\n\n${HELP}`);
      return 2;
    }
    const file = p.positionals[0]!;
    if (file !== '-' && isHcl2Path(file, fsFileExists(isAbsolute(file) ? file : resolve(io.cwd, file)) === 'dir')) {
      const { runHclInspect } = await import('./validate-hcl.js');
      return runHclInspect(file, io, flagBool(p, 'machine-readable'));
    }
    const loaded = await loadPackerTemplate(file, io);
    if (!loaded.template) {
      printDiagnostics(loaded.diagnostics, io, (s) => s, p.positionals[0], loaded.text);
      return 1;
    }
    if (flagBool(p, 'machine-readable')) io.out(inspectMachine(loaded.template, Math.floor(Date.now() / 1000)));
    else io.out(inspectText(loaded.template));
    return 0;
  },
};
