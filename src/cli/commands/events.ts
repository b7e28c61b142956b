// `kiln events --stack NAME [--json] [--chart FILE.html [--deployment ID]]`: the stack's events
// (CloudFormation statuses), oldest first; `--chart` writes one deployment's timeline as a Gantt chart.
import { resolve } from 'node:path';
import { flagBool, flagString } from '../args.js';
import { JSON_FLAG, requireStack } from '../views/common.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'events',
  summary: 'show the events of a stack',
  usage: 'kiln events --stack NAME [--json] [--chart FILE.html [--deployment ID]]',
  about:
    'Prints the events of the stack (every status change of the stack and its resources), oldest first.\n--chart writes the timeline of the last deployment (or --deployment ID) as a Gantt chart in one\nself-contained HTML file: a bar per resource and step, replacements and the cleanup phase visible,\nthe failing resource marked with its reason.',
  flags: [
    JSON_FLAG,
    { names: ['chart'], kind: 'string', valueName: 'FILE.html', description: 'write the timeline of a deployment as a Gantt chart' },
    { names: ['deployment'], kind: 'string', valueName: 'ID', description: 'the deployment to chart (default: the last one)' },
  ],
  async run(p, io) {
    const stack = requireStack(p, 'events');
    const [store, view] = await Promise.all([openStackStore(p), import('../views/stack.js')]);
    if (!store.stack(stack)) {
      io.err(`kiln events: stack ${stack} does not exist\n`);
      return 1;
    }
    const chart = flagString(p, 'chart');
    const deployment = flagString(p, 'deployment');
    if (deployment !== undefined && chart === undefined) {
      io.err('kiln events: --deployment needs --chart FILE.html\n');
      return 2;
    }
    if (chart !== undefined) {
      const { writeChart } = await import('../../ui/files.js');
      const r = writeChart(store, stack, resolve(io.cwd, chart), deployment);
      if (!r.ok) {
        io.err(`kiln events: ${r.message}\n`);
        return 1;
      }
      io.out(`${r.message}\n`);
      return 0;
    }
    const events = store.events(stack);
    if (flagBool(p, 'json')) io.out(JSON.stringify(events, null, 2) + '\n');
    else io.out(view.renderEvents(events));
    return 0;
  },
});
