// `kiln status [--stack NAME] [--json]`: the stacks, or one stack's resources.
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG } from '../views/common.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'status',
  summary: 'show stacks and their resources',
  usage: 'kiln status [--stack NAME] [--json]',
  about: 'Lists the stacks with their status, or the resources of one stack.',
  flags: [JSON_FLAG],
  async run(p, io) {
    const [store, view] = await Promise.all([openStackStore(p), import('../views/stack.js')]);
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
    if (json)
      io.out(
        JSON.stringify({ ...st, resources: rows.map((r) => ({ logicalId: r.logicalId, type: r.type, physicalId: r.physicalId, status: r.status, attributes: r.state.attributes })) }, null, 2) + '\n',
      );
    else io.out(view.renderResources(st, rows));
    return 0;
  },
});
