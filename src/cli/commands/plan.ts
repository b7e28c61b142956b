// `kiln plan TEMPLATE --stack NAME [--param K=V]... [--json]`: the change set against what is deployed.
import { resolve } from 'node:path';
import type { Command } from '../main.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString } from '../args.js';
import { HELP, JSON_FLAG, PARAM, STACK, STATE_DIR, params, parse, requireStack, requireTemplate, usage } from '../views/common.js';
import { finish } from '../views/common.js';

const SPECS = [STACK, PARAM, JSON_FLAG, STATE_DIR, HELP];

export const command: Command = {
  summary: 'show the change set against what is deployed',
  async run(argv, io) {
    try {
      return await runCommand(argv, io);
    } finally {
      finish(io);
    }
  },
};

async function runCommand(argv: string[], io: CliIO): Promise<number> {
  const p = parse(argv, SPECS, 'plan');
  if (flagBool(p, 'help')) {
    io.out(
      usage(
        'kiln plan TEMPLATE --stack NAME [--param K=V]... [--json]',
        'Shows what `kiln deploy` would do, changing nothing: + create, ~ update (changed properties),\n+/- replace (create first; the property that forces it), - delete, = no change.\nParameters not given keep the value of the last deploy.',
        SPECS,
      ),
    );
    return 0;
  }
  const stack = requireStack(p, 'plan');
  const file = resolve(io.cwd, requireTemplate(p, 'plan'));
  const [{ planStack, openProvider }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/plan.js')]);
  const dir = flagString(p, 'state-dir');
  const r = await planStack({ stack, file, params: params(p), provider: await openProvider(io.env), ...(dir ? { stateDir: dir } : {}) });
  if (flagBool(p, 'json')) io.out(view.planJson(r.plan, { stack, parameters: r.parameters }));
  else io.out(view.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }));
  return 0;
}
