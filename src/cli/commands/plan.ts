// `kiln plan TEMPLATE --stack NAME [--param K=V]... [--json]`: the change set against what is deployed.
import { resolve } from 'node:path';
import { flagBool } from '../args.js';
import { JSON_FLAG, PARAM, params, requireStack, requireTemplate } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';

export const command = stackCommand({
  name: 'plan',
  summary: 'show the change set against what is deployed',
  usage: 'kiln plan TEMPLATE --stack NAME [--param K=V]... [--json]',
  about:
    'Shows what `kiln deploy` would do, changing nothing: + create, ~ update (changed properties),\n+/- replace (create first; the property that forces it), - delete, = no change.\nParameters not given keep the value of the last deploy.',
  flags: [PARAM, JSON_FLAG],
  exitWhenDone: true,
  async run(p, io) {
    const stack = requireStack(p, 'plan');
    const file = resolve(io.cwd, requireTemplate(p, 'plan'));
    const [{ planStack }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/plan.js')]);
    const r = await planStack({ stack, file, params: params(p), ...(await stackTarget(p, io)) });
    if (flagBool(p, 'json')) io.out(view.planJson(r.plan, { stack, parameters: r.parameters, ...(r.refusals ? { refusals: r.refusals } : {}) }));
    else {
      io.out(view.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }));
      for (const why of r.refusals ?? []) io.err(`kiln plan: deploy would be refused: ${why}\n`);
    }
    // A change `kiln deploy` would refuse is not a plan that can be applied.
    return r.refusals ? 1 : 0;
  },
});
