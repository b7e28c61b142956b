// `kiln plan TEMPLATE --stack NAME [--param K=V]... [--out PLAN] [--json]`: the change set against
// what is deployed; `--out` saves it for `kiln deploy PLAN` (docs/plan-file.md), `--json` prints the
// same document.
import { resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG, OUT, PARAM, params, requireStack, requireTemplate } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';



export const command = stackCommand({
  name: 'plan',
  summary: 'show the change set against what is deployed',
  usage: 'kiln plan TEMPLATE --stack NAME [--param K=V]... [--out PLAN] [--json]',
  about:
    'Shows what `kiln deploy` would do, changing nothing: + create, ~ update (changed properties),\n+/- replace (create first; the property that forces it), - delete, = no change. A step that hangs\non a value known only after apply says so (conditional), and what it does otherwise.\nParameters not given keep the value of the last deploy.\n--out saves the plan: `kiln deploy PLAN` then runs exactly these steps, or refuses if the stack\nchanged since (NoEcho values are sealed in the file with a key kept in the state directory).\n--json prints the same document (docs/plan-file.md).',
  flags: [PARAM, OUT, JSON_FLAG],
  exitWhenDone: true,
  async run(p, io) {
    const stack = requireStack(p, 'plan');
    const file = resolve(io.cwd, requireTemplate(p, 'plan'));
    const out = flagString(p, 'out');
    const json = flagBool(p, 'json');
    const [{ planStack }, view] = await Promise.all([import('../../deploy/index.js'), import('../views/plan.js')]);
    const r = await planStack({ stack, file, params: params(p), ...(await stackTarget(p, io)), document: json || out !== undefined });
    if (out !== undefined) await writeFile(resolve(io.cwd, out), JSON.stringify(r.document, null, 2) + '\n');
    if (json) io.out(JSON.stringify(r.document, null, 2) + '\n');
    else {
      io.out(view.renderPlan(r.plan, { color: io.color, stack, isCreate: r.isCreate }));
      for (const why of r.refusals ?? []) io.err(`kiln plan: deploy would be refused: ${why}\n`);
      if (out !== undefined && !r.refusals) io.out(`Plan saved to ${out}; deploy exactly it with: kiln deploy ${out}\n`);
    }
    // A change `kiln deploy` would refuse is not a plan that can be applied.
    return r.refusals ? 1 : 0;
  },
});
