// `kiln plan TEMPLATE --stack NAME [--param K=V]... [--out PLAN] [--json | --format text|json|html]`:
// the change set against what is deployed; `--out` saves it for `kiln deploy PLAN`
// (docs/plan-file.md), `--json` prints the same document, `--format html` a self-contained page
// with replacements highlighted.
import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG, OUT, PARAM, params, requireStack, requireTemplate } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';

const FORMATS = ['text', 'json', 'html'];

export const command = stackCommand({
  name: 'plan',
  summary: 'show the change set against what is deployed',
  usage: 'kiln plan TEMPLATE --stack NAME [--param K=V]... [--out PLAN] [--json | --format text|json|html]',
  about:
    'Shows what `kiln deploy` would do, changing nothing: + create, ~ update (changed properties),\n+/- replace (create first; the property that forces it), - delete, = no change. A step that hangs\non a value known only after apply says so (conditional), and what it does otherwise.\nParameters not given keep the value of the last deploy.\n--out saves the plan: `kiln deploy PLAN` then runs exactly these steps, or refuses if the stack\nchanged since (NoEcho values are sealed in the file with a key kept in the state directory).\n--json prints the same document (docs/plan-file.md).\n--format html prints the change set as one self-contained page (the graph coloured by action,\nreplacements highlighted): kiln plan t.json --stack web --format html > plan.html',
  flags: [PARAM, OUT, JSON_FLAG, { names: ['format', 'f'], kind: 'string', valueName: 'text|json|html', description: 'output format (default: text; --json is --format json)' }],
  exitWhenDone: true,
  async run(p, io) {
    const stack = requireStack(p, 'plan');
    const file = resolve(io.cwd, requireTemplate(p, 'plan'));
    const out = flagString(p, 'out');
    const format = flagString(p, 'format') ?? (flagBool(p, 'json') ? 'json' : 'text');
    if (!FORMATS.includes(format)) {
      io.err(`kiln plan: --format ${format}: expected one of ${FORMATS.join(', ')}\n`);
      return 2;
    }
    const [{ planStack }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/plan.js')]);
    const r = await planStack({ stack, file, params: params(p), ...(await stackTarget(p, io)), document: format === 'json' || out !== undefined });
    if (out !== undefined) await writeFile(resolve(io.cwd, out), JSON.stringify(r.document, null, 2) + '\n');
    if (format === 'json') io.out(JSON.stringify(r.document, null, 2) + '\n');
    else if (format === 'html') {
      const [{ templateFileGraph }, { planPage }] = await Promise.all([import('../../stack/template-graph.js'), import('../../ui/pictures.js')]);
      const g = await templateFileGraph(file, file, { params: params(p) });
      io.out(planPage(r.plan, g.ok ? g.graph.edges : [], { stack, isCreate: r.isCreate, parameters: r.parameters, ...(r.refusals ? { refusals: r.refusals } : {}) }));
      for (const why of r.refusals ?? []) io.err(`kiln plan: deploy would be refused: ${why}\n`);
    } else {
      io.out(view.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }));
      for (const why of r.refusals ?? []) io.err(`kiln plan: deploy would be refused: ${why}\n`);
      if (out !== undefined && !r.refusals) io.out(`Plan saved to ${out}; deploy exactly it with: kiln deploy ${out}\n`);
    }
    // A change `kiln deploy` would refuse is not a plan that can be applied.
    return r.refusals ? 1 : 0;
  },
});
