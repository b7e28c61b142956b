// `kiln exports [--stack NAME] [--json]`: every exported output (Outputs.*.Export.Name) of every stack
// as last deployed, with the stacks that import it (Fn::ImportValue), as `aws cloudformation
// list-exports` and `list-imports` together. An export in use cannot be removed, changed or have its
// stack deleted.
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG } from '../views/common.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'exports',
  summary: 'list the exports of all stacks and who imports them',
  usage: 'kiln exports [--stack NAME] [--json]',
  about: 'Lists every export of every stack (or of --stack NAME only): name, stack, value, importing stacks.',
  flags: [JSON_FLAG],
  async run(p, io) {
    const [store, view] = await Promise.all([openStackStore(p), import('../views/stack.js')]);
    const only = flagString(p, 'stack');
    const list = store.allExports().filter((e) => only === undefined || e.stack === only);
    if (flagBool(p, 'json')) {
      io.out(JSON.stringify(list, null, 2) + '\n');
      return 0;
    }
    if (list.length === 0) {
      io.out(only ? `Stack ${only} exports nothing.\n` : 'No exports.\n');
      return 0;
    }
    io.out(
      view.table([['EXPORT', 'STACK', 'VALUE', 'IMPORTED BY'], ...list.map((e) => [e.name, e.stack, typeof e.value === 'string' ? e.value : JSON.stringify(e.value), e.importers.join(', ') || '-'])]),
    );
    return 0;
  },
});
