// `kiln status [--stack NAME] [--json]`: the stacks, or one stack's resources.
import type { Command } from '../main.js';
import { flagBool, flagString } from '../args.js';
import { HELP, JSON_FLAG, STACK, STATE_DIR, parse, usage } from '../views/common.js';

const SPECS = [STACK, JSON_FLAG, STATE_DIR, HELP];

export const command: Command = {
  summary: 'show stacks and their resources',
  async run(argv, io) {
    const p = parse(argv, SPECS, 'status');
    if (flagBool(p, 'help')) {
      io.out(usage('kiln status [--stack NAME] [--json]', 'Lists the stacks with their status, or the resources of one stack.', SPECS));
      return 0;
    }
    const [{ StackStore }, view] = await Promise.all([import('../../state/stacks.js'), import('../views/stack.js')]);
    const store = StackStore.open(flagString(p, 'state-dir'));
    const name = flagString(p, 'stack');
    const json = flagBool(p, 'json');
    if (!name) {
      const stacks = store.stacks();
      if (json) io.out(JSON.stringify(stacks, null, 2) + '\n');
      else io.out(view.renderStacks(stacks, (n) => store.resources(n, ['live']).length));
      return 0;
    }
    const st = store.stack(name);
    if (!st) {
      io.err(`kiln status: stack ${name} does not exist\n`);
      return 1;
    }
    const rows = store.resources(name);
    if (json) io.out(JSON.stringify({ ...st, resources: rows.map((r) => ({ logicalId: r.logicalId, type: r.type, physicalId: r.physicalId, status: r.status, attributes: r.state.attributes })) }, null, 2) + '\n');
    else io.out(view.renderResources(st, rows));
    return 0;
  },
};
