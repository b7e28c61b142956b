// What a subcommand is, and how a failure is reported: shared by the dispatcher (main.ts) and the
// commands that run others (watch), so no command imports the dispatcher.
import { KilnError, errorMessage } from '../core/errors.js';
import { DiagnosticsError, formatDiagnostic } from '../core/diagnostics.js';
import type { CliIO } from './io.js';
import { explainStateFault } from '../state/db.js';

export interface Command {
  summary: string;
  run(argv: string[], io: CliIO): Promise<number>;
}

export function reportFailure(err: unknown, io: CliIO): number {
  // SQLite's and the file system's complaints about the state are the environment's, not kiln's.
  const e = explainStateFault(err);
  if (e instanceof DiagnosticsError) {
    for (const d of e.diagnostics) io.err(formatDiagnostic(d) + '\n');
    return 1;
  }
  if (KilnError.is(e)) {
    io.err(`kiln: ${e.message}\n`);
    return e.exitCode;
  }
  io.err(`kiln: internal error: ${errorMessage(e)}\n`);
  if (e instanceof Error && e.stack && io.env.KILN_DEBUG) io.err(e.stack + '\n');
  io.err('This is a bug in kiln; please report it with the command you ran (set KILN_DEBUG=1 for a stack trace).\n');
  return 70;
}

/**
 * Runs one subcommand: loads its module, runs it, and turns any failure (in loading or running)
 * into a message and an exit code. The dispatcher (main.ts) and the per-command bundles that
 * bin/kiln.js loads (scripts/bundle-cli.mjs) both go through here, so they behave the same.
 */
export async function runCommand(load: () => Promise<{ command: Command }>, argv: string[], io: CliIO): Promise<number> {
  try {
    const { command } = await load();
    return await command.run(argv, io);
  } catch (e) {
    return reportFailure(e, io);
  }
}
