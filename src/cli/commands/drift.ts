// `kiln drift --stack NAME [--json]`: compares what runs with what was deployed — changed
// configuration, deleted or extra objects, and files changed inside instances since they started
// (`docker diff`). Exit 0 when IN_SYNC, 1 when DRIFTED. `kiln deploy --replace-drifted` replaces them.
import { flagBool } from '../args.js';
import { JSON_FLAG, requireStack } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';

export const command = stackCommand({
  name: 'drift',
  summary: 'compare what runs with what was deployed',
  usage: 'kiln drift --stack NAME [--json]',
  about: 'Compares what runs with what was deployed. Exit 0: IN_SYNC; 1: DRIFTED.\n`kiln deploy --replace-drifted` replaces drifted resources.',
  flags: [JSON_FLAG],
  exitWhenDone: true,
  async run(p, io) {
    const stack = requireStack(p, 'drift');
    const [{ driftStack }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/stack.js')]);
    const r = await driftStack({ stack, ...(await stackTarget(p, io)) });
    if (flagBool(p, 'json')) io.out(JSON.stringify(r, null, 2) + '\n');
    else io.out(view.renderDrift(r));
    return r.status === 'IN_SYNC' ? 0 : 1;
  },
});
