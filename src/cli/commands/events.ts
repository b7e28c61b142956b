// `kiln events --stack NAME [--json]`: the stack's events (CloudFormation statuses), oldest first.
import { flagBool } from '../args.js';
import { JSON_FLAG, requireStack } from '../views/common.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'events',
  summary: 'show the events of a stack',
  usage: 'kiln events --stack NAME [--json]',
  about: 'Prints the events of the stack (every status change of the stack and its resources), oldest first.',
  flags: [JSON_FLAG],
  async run(p, io) {
    const stack = requireStack(p, 'events');
    const [store, view] = await Promise.all([openStackStore(p), import('../views/stack.js')]);
    if (!store.stack(stack)) {
      io.err(`kiln events: stack ${stack} does not exist\n`);
      return 1;
    }
    const events = store.events(stack);
    if (flagBool(p, 'json')) io.out(JSON.stringify(events, null, 2) + '\n');
    else io.out(view.renderEvents(events));
    return 0;
  },
});
