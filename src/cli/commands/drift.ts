// `kiln drift --stack NAME [--json]`: compares what runs with what was deployed — changed
// configuration, deleted or extra objects, and files changed inside instances since they started
// (`docker diff`). Exit 0 when IN_SYNC, 1 when DRIFTED. `kiln deploy --replace-drifted` replaces them.
import type { Command } from '../main.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString } from '../args.js';
import { HELP, JSON_FLAG, STACK, STATE_DIR, parse, requireStack, usage } from '../views/common.js';
import { finish } from '../views/common.js';

const SPECS = [STACK, JSON_FLAG, STATE_DIR, HELP];

export const command: Command = {
  summary: 'compare what runs with what was deployed',
  async run(argv, io) {
    try {
      return await runCommand(argv, io);
    } finally {
      finish(io);
    }
  },
};

async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, SPECS, 'drift');
  if (flagBool(p, 'help')) {
    io.out(usage('kiln drift --stack NAME [--json]', 'Compares what runs with what was deployed. Exit 0: IN_SYNC; 1: DRIFTED.\n`kiln deploy --replace-drifted` replaces drifted resources.', SPECS));
    return 0;
  }
  const stack = requireStack(p, 'drift');
  const [{ driftStack, openProvider }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/stack.js')]);
  const dir = flagString(p, 'state-dir');
  const r = await driftStack({ stack, provider: await openProvider(io.env), ...(dir ? { stateDir: dir } : {}) });
  if (flagBool(p, 'json')) io.out(JSON.stringify(r, null, 2) + '\n');
  else io.out(view.renderDrift(r));
  return r.status === 'IN_SYNC' ? 0 : 1;
}
