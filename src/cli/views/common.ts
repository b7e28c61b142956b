// Shared by the stack commands: flags, help, confirmation on a terminal.
import { createInterface } from 'node:readline';
import { KilnError } from '../../core/errors.js';
import { flagString, keyValues, flagList, parseArgs, renderFlagHelp, type FlagSpec, type ParsedArgs } from '../args.js';
import type { CliIO } from '../io.js';

export const STACK: FlagSpec = { names: ['stack', 's'], kind: 'string', valueName: 'NAME', description: 'the stack name' };
export const STATE_DIR: FlagSpec = { names: ['state-dir'], kind: 'string', valueName: 'DIR', description: 'state directory (default $KILN_HOME or ~/.kiln)' };
export const PARAM: FlagSpec = { names: ['param', 'p'], kind: 'multi', valueName: 'KEY=VALUE', description: 'a parameter value' };
export const JSON_FLAG: FlagSpec = { names: ['json'], kind: 'bool', description: 'print JSON' };
export const OUT: FlagSpec = { names: ['out', 'o'], kind: 'string', valueName: 'PLAN', description: 'save the plan to this file, for `kiln deploy PLAN` (docs/plan-file.md)' };
export const YES: FlagSpec = { names: ['yes', 'y'], kind: 'bool', description: 'do not ask for confirmation' };
export const HELP: FlagSpec = { names: ['help', 'h'], kind: 'bool', description: 'show this help' };

export function parse(argv: readonly string[], specs: readonly FlagSpec[], command: string): ParsedArgs {
  return parseArgs(argv, specs, command);
}

export function usage(line: string, about: string, specs: readonly FlagSpec[]): string {
  return `Usage: ${line}\n\n${about}\n\nFlags:\n${renderFlagHelp(specs)}\n`;
}

export function requireStack(p: ParsedArgs, command: string): string {
  const s = flagString(p, 'stack');
  if (!s) throw new KilnError('USAGE', `${command}: --stack NAME is required`, 'user', { exitCode: 2 });
  return s;
}

export function requireTemplate(p: ParsedArgs, command: string): string {
  const t = p.positionals[0];
  if (!t) throw new KilnError('USAGE', `${command}: a TEMPLATE file is required`, 'user', { exitCode: 2 });
  if (p.positionals.length > 1) throw new KilnError('USAGE', `${command}: unexpected argument ${p.positionals[1]}`, 'user', { exitCode: 2 });
  return t;
}

export function params(p: ParsedArgs): Record<string, string> {
  return Object.fromEntries(keyValues(flagList(p, 'param'), '--param'));
}

/** Asks a yes/no question on a terminal; anything but y/yes is no. */
export async function confirm(io: CliIO, question: string): Promise<boolean> {
  if (!io.stdin) return false;
  const rl = createInterface({ input: io.stdin, output: process.stderr });
  try {
    const answer = await new Promise<string>((resolve) => rl.question(`${question} [y/N] `, resolve));
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * When running as the real process, makes sure the CLI exits soon after the command is done (with
 * the exit code the dispatcher sets): a provider may leave connections to the Docker engine open
 * (keep-alive, streams) that would hold the process for minutes. Tests (memory IO) are unaffected.
 */
export function finish(io: CliIO): void {
  if (io.stdin === process.stdin) setTimeout(() => process.exit(), 250).unref();
}
