// `kiln events --stack NAME [--json]`: the stack's events (CloudFormation statuses), oldest first.
import type { Command } from '../main.js';
import { flagBool, flagString } from '../args.js';
import { HELP, JSON_FLAG, STACK, STATE_DIR, parse, requireStack, usage } from '../views/common.js';

const SPECS = [STACK, JSON_FLAG, STATE_DIR, HELP];

export const command: Command = {
  summary: 'show the events of a stack',
  async run(argv, io) {
    const p = parse(argv, SPECS, 'events');
    if (flagBool(p, 'help')) {
      io.out(usage('kiln events --stack NAME [--json]', 'Prints the events of the stack (every status change of the stack and its resources), oldest first.', SPECS));
      return 0;
    }
    const stack = requireStack(p, 'events');
    const [{ StackStore }, view] = await Promise.all([import('../../state/stacks.js'), import('../views/stack.js')]);
    const store = StackStore.open(flagString(p, 'state-dir'));
    if (!store.stack(stack)) {
      io.err(`kiln events: stack ${stack} does not exist\n`);
      return 1;
    }
    const events = store.events(stack);
    if (flagBool(p, 'json')) io.out(JSON.stringify(events, null, 2) + '\n');
    else io.out(view.renderEvents(events));
    return 0;
  },
};
