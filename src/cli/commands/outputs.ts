// `kiln outputs --stack NAME [--json]`: the outputs of the last successful deployment.
import { flagBool } from '../args.js';
import { JSON_FLAG, requireStack } from '../views/common.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'outputs',
  summary: 'show the outputs of a stack',
  usage: 'kiln outputs --stack NAME [--json]',
  about: 'Prints the outputs of the stack as last deployed (NoEcho values masked), with the export name of\nexported ones and the stacks that import them. --json prints {"Name": value}.',
  flags: [JSON_FLAG],
  async run(p, io) {
    const stack = requireStack(p, 'outputs');
    const [store, view] = await Promise.all([openStackStore(p), import('../views/stack.js')]);
    const st = store.stack(stack);
    if (!st || st.status === 'DELETE_COMPLETE') {
      io.err(`kiln outputs: stack ${stack} does not exist\n`);
      return 1;
    }
    const outputs = st.deployment ? (store.deployment(st.deployment)?.outputs ?? {}) : {};
    if (flagBool(p, 'json')) io.out(JSON.stringify(Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])), null, 2) + '\n');
    else io.out(view.renderOutputs(outputs, (name) => store.importersOf(name, stack)) || `Stack ${stack} has no outputs.\n`);
    return 0;
  },
});
