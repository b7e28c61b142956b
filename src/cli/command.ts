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
