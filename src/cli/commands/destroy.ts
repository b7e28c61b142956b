// `kiln destroy --stack NAME [--yes]`: deletes the stack's resources in reverse dependency order
// (DeletionPolicy Retain keeps an object and says DELETE_SKIPPED). Asks on a terminal unless --yes.
import type { Command } from '../main.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString } from '../args.js';
import { HELP, STACK, STATE_DIR, YES, confirm, parse, requireStack, usage } from '../views/common.js';
import { finish } from '../views/common.js';

const SPECS = [STACK, YES, STATE_DIR, HELP];

export const command: Command = {
  summary: 'delete a stack and everything it made',
  async run(argv, io) {
    try {
      return await runCommand(argv, io);
    } finally {
      finish(io);
    }
  },
};

async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, SPECS, 'destroy');
  if (flagBool(p, 'help')) {
    io.out(usage('kiln destroy --stack NAME [--yes]', 'Deletes every resource of the stack, dependents first. Asks on a terminal unless --yes.', SPECS));
    return 0;
  }
  const stack = requireStack(p, 'destroy');
  const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
  if (interactive && !flagBool(p, 'yes') && !(await confirm(io, `Delete stack ${stack} and everything it made?`))) {
    io.err('kiln destroy: cancelled; nothing changed\n');
    return 1;
  }
  const [{ destroyStack, openProvider }, { ProgressView }] = await Promise.all([import('../../deploy/index.js'), import('../views/progress.js')]);
  const progress = new ProgressView(io);
  const dir = flagString(p, 'state-dir');
  try {
    const r = await destroyStack({ stack, provider: await openProvider(io.env), events: progress, command: 'destroy', ...(dir ? { stateDir: dir } : {}) });
    progress.stop();
    if (r.outcome === 'absent') {
      io.out(`Stack ${stack} does not exist; nothing to delete.\n`);
      return 0;
    }
    if (r.outcome === 'failed') {
      io.err(`kiln destroy: stack ${stack} ${r.status}: ${r.reason ?? ''}\n`);
      return 1;
    }
    io.out(`Stack ${stack}: ${r.status}\n`);
    return 0;
  } finally {
    progress.stop();
  }
}
