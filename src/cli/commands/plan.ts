// `kiln plan TEMPLATE --stack NAME [--param K=V]... [--json | --format text|json|html]`: the change
// set against what is deployed (`--format html`: a self-contained page, replacements highlighted).
import { resolve } from 'node:path';
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG, PARAM, params, requireStack, requireTemplate } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';

const FORMATS = ['text', 'json', 'html'];

export const command = stackCommand({
  name: 'plan',
  summary: 'show the change set against what is deployed',
  usage: 'kiln plan TEMPLATE --stack NAME [--param K=V]... [--json | --format text|json|html]',
  about:
    'Shows what `kiln deploy` would do, changing nothing: + create, ~ update (changed properties),\n+/- replace (create first; the property that forces it), - delete, = no change.\nParameters not given keep the value of the last deploy.\n--format html prints the change set as one self-contained page (the graph coloured by action,\nreplacements highlighted): kiln plan t.json --stack web --format html > plan.html',
  flags: [PARAM, JSON_FLAG, { names: ['format', 'f'], kind: 'string', valueName: 'text|json|html', description: 'output format (default: text; --json is --format json)' }],
  exitWhenDone: true,
  async run(p, io) {
    const stack = requireStack(p, 'plan');
    const file = resolve(io.cwd, requireTemplate(p, 'plan'));
    const format = flagString(p, 'format') ?? (flagBool(p, 'json') ? 'json' : 'text');
    if (!FORMATS.includes(format)) {
      io.err(`kiln plan: --format ${format}: expected one of ${FORMATS.join(', ')}\n`);
      return 2;
    }
    const [{ planStack }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/plan.js')]);
    const r = await planStack({ stack, file, params: params(p), ...(await stackTarget(p, io)) });
    if (format === 'json') io.out(view.planJson(r.plan, { stack, parameters: r.parameters, ...(r.refusals ? { refusals: r.refusals } : {}) }));
    else if (format === 'html') {
      const [{ loadTemplateFile }, { templateGraph }, { planPage }] = await Promise.all([import('../../stack/load.js'), import('./graph.js'), import('../../ui/pictures.js')]);
      const { graph } = await templateGraph((await loadTemplateFile(file)).value, params(p));
      io.out(planPage(r.plan, graph.edges, { stack, isCreate: r.isCreate, parameters: r.parameters, ...(r.refusals ? { refusals: r.refusals } : {}) }));
      for (const why of r.refusals ?? []) io.err(`kiln plan: deploy would be refused: ${why}\n`);
    } else {
      io.out(view.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }));
      for (const why of r.refusals ?? []) io.err(`kiln plan: deploy would be refused: ${why}\n`);
    }
    // A change `kiln deploy` would refuse is not a plan that can be applied.
    return r.refusals ? 1 : 0;
  },
});
