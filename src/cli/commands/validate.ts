// `kiln validate TEMPLATE`: one command for both kinds of template kiln reads. A Packer JSON
// template (top-level builders / provisioners / post-processors / variables, and no Resources) goes
// to the image engine's validation; anything else is checked as a CloudFormation template.
import { stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { MAX_TEMPLATE_BYTES, readInput } from '../../core/input.js';
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { HELP } from './validate-help.js';
import { isPackerTemplate } from './template-kind.js';

export { isPackerTemplate } from './template-kind.js';

/** The template arguments: the positionals, skipping the values of flags that take one. */
function templateArgs(argv: readonly string[]): string[] {
  const withValue = new Set(['--param', '-param', '-var', '--var', '-var-file', '--var-file', '-only', '--only', '-except', '--except']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return [...out, ...argv.slice(i + 1)];
    if (a.startsWith('-') && a !== '-') {
      if (!a.includes('=') && withValue.has(a)) i++;
      continue;
    }
    out.push(a);
  }
  return out;
}

/** More than one template, or a pattern that names no file itself: `kiln validate` of many. */
async function isMany(files: readonly string[], cwd: string): Promise<boolean> {
  if (files.length > 1) return true;
  const f = files[0];
  if (f === undefined || f === '-' || !/[*?[{]/.test(f)) return false;
  return stat(isAbsolute(f) ? f : resolve(cwd, f)).then(
    () => false,
    () => true,
  );
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
    const files = templateArgs(argv);
    if (await isMany(files, io.cwd)) {
      const { runValidateMany } = await import('./validate-many.js');
      return runValidateMany(argv, io);
    }
    const file = files[0];
    // Packer-only forms: HCL2 files and directories are the image engine's to answer.
    const packerOnly = file !== undefined && (file.endsWith('.pkr.hcl') || file.endsWith('.pkr.json'));
    if (packerOnly) {
      const { runImageValidate } = await import('./validate-image.js');
      return runImageValidate(argv, io);
    }
    if (file !== undefined) {
      const path = file === '-' ? '-' : isAbsolute(file) ? file : resolve(io.cwd, file);
      let text: string | undefined;
      try {
        // Read once (a pipe or stdin cannot be read again): whichever engine answers gets the same text.
        text =
          path !== '-' && (await stat(path)).isDirectory()
            ? '{"builders": []}'
            : await readInput(path, { maxBytes: MAX_TEMPLATE_BYTES, what: 'template', ...(path === '-' && io.stdin ? { stdin: io.stdin } : {}) });
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
