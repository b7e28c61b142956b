// `kiln history --stack NAME [--json]`: the pipeline runs that deployed the stack (up and rollback),
// oldest first, with each image's id and what changed against the run before.
import type { Command } from '../command.js';
import { flagBool, flagString } from '../args.js';
import { HELP, JSON_FLAG, STACK, STATE_DIR, parse, requireStack, usage } from '../views/common.js';

const SPECS = [STACK, JSON_FLAG, STATE_DIR, HELP];

export const command: Command = {
  summary: 'list the deployments of a stack',
  async run(argv, io) {
    const p = parse(argv, SPECS, 'history');
    if (flagBool(p, 'help')) {
      io.out(
        usage(
          'kiln history --stack NAME [--json]',
          'Lists every deployment `kiln up` or `kiln rollback` made of the stack, oldest first: its id (for\n`kiln rollback --to ID`), outcome, the image id of each image and what changed.',
          SPECS,
        ),
      );
      return 0;
    }
    const stack = requireStack(p, 'history');
    const [{ PipelineStore }, { table }] = await Promise.all([import('../../state/pipeline.js'), import('../views/stack.js')]);
    const runs = PipelineStore.open(flagString(p, 'state-dir')).list(stack);
    if (flagBool(p, 'json')) {
      io.out(
        JSON.stringify(
          runs.map(({ template: _t, ...r }) => r),
          null,
          2,
        ) + '\n',
      );
      return 0;
    }
    if (runs.length === 0) {
      io.out(`No deployments of stack ${stack} by kiln up.\n`);
      return 0;
    }
    const rows = [['ID', 'WHEN', 'KIND', 'OUTCOME', 'IMAGES', 'CHANGES']];
    for (const r of runs) {
      const images = Object.entries(r.images)
        .map(([n, i]) => `${n}=${i.imageId.replace(/^sha256:/, '').slice(0, 12)}${i.built ? '*' : ''}`)
        .join(' ');
      const kind = r.kind === 'rollback' ? `rollback to ${r.rollbackOf}` : r.plan ? `up (plan ${r.plan.file.split('/').pop()})` : r.kind;
      const outcome = r.outcome === 'failed' ? `failed (rolled back)${r.reason ? `: ${r.reason.split('\n')[0]}` : ''}` : r.outcome;
      rows.push([String(r.id), r.startedAt.replace('T', ' ').slice(0, 19), kind, outcome, images || '-', r.changes.join('; ') || '-']);
    }
    io.out(table(rows));
    io.out('(* = built by that run; the others came from the build cache)\n');
    return 0;
  },
};
