// `kiln outputs --stack NAME [--json]`: the outputs of the last successful deployment.
import type { Command } from '../main.js';
import { flagBool, flagString } from '../args.js';
import { HELP, JSON_FLAG, STACK, STATE_DIR, parse, requireStack, usage } from '../views/common.js';

const SPECS = [STACK, JSON_FLAG, STATE_DIR, HELP];

export const command: Command = {
  summary: 'show the outputs of a stack',
  async run(argv, io) {
    const p = parse(argv, SPECS, 'outputs');
    if (flagBool(p, 'help')) {
      io.out(usage('kiln outputs --stack NAME [--json]', 'Prints the outputs of the stack as last deployed (NoEcho values masked). --json prints {"Name": value}.', SPECS));
      return 0;
    }
    const stack = requireStack(p, 'outputs');
    const [{ StackStore }, view] = await Promise.all([import('../../state/stacks.js'), import('../views/stack.js')]);
    const store = StackStore.open(flagString(p, 'state-dir'));
    const st = store.stack(stack);
    if (!st || st.status === 'DELETE_COMPLETE') {
      io.err(`kiln outputs: stack ${stack} does not exist\n`);
      return 1;
    }
    const outputs = st.deployment ? (store.deployment(st.deployment)?.outputs ?? {}) : {};
    if (flagBool(p, 'json')) io.out(JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])), null, 2) + '\n');
    else io.out(view.renderOutputs(outputs) || `Stack ${stack} has no outputs.\n`);
    return 0;
  },
};
