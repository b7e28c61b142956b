// `kiln rollback --stack NAME [--to ID] [--yes]`: redeploys the previous deployment's exact images,
// parameters and template (never rebuilds). `kiln history` shows the ids.
import type { Command } from '../command.js';
import { flagBool, flagString } from '../args.js';
import { HELP, STACK, STATE_DIR, YES, finish, parse, requireStack, usage } from '../views/common.js';
import { KilnError } from '../../core/errors.js';
import { planConfirm, pipelineView } from './up.js';

const SPECS = [STACK, { names: ['to'], kind: 'string' as const, valueName: 'ID', description: 'the run to restore (kiln history); default: the one before the last' }, YES, STATE_DIR, HELP];

export const command: Command = {
  summary: "redeploy the previous deployment's exact images and parameters",
  async run(argv, io) {
    const p = parse(argv, SPECS, 'rollback');
    if (flagBool(p, 'help')) {
      io.out(
        usage(
          'kiln rollback --stack NAME [--to ID] [--yes]',
          'Redeploys an earlier deployment of the stack with its exact image ids, parameters and template:\nnothing is built. Fails, changing nothing, if one of its images no longer exists.',
          SPECS,
        ),
      );
      return 0;
    }
    const stack = requireStack(p, 'rollback');
    const toText = flagString(p, 'to');
    const to = toText === undefined ? undefined : Number(toText);
    if (to !== undefined && !Number.isInteger(to)) throw new KilnError('USAGE', `rollback: --to ${toText}: expected a run id from kiln history`, 'user', { exitCode: 2 });
    const [{ rollback }, { feedFor }] = await Promise.all([import('../../pipeline/rollback.js'), import('../../ui/feed.js')]);
    const dir = flagString(p, 'state-dir');
    const feed = feedFor(dir, stack, 'rollback');
    let outcome: string | undefined;
    const view = await pipelineView(io, feed);
    try {
      const r = await rollback({
        stack,
        ...(to !== undefined ? { to } : {}),
        events: view,
        env: io.env,
        confirm: await planConfirm(io, stack, flagBool(p, 'yes'), feed),
        ...(dir ? { stateDir: dir } : {}),
      });
      outcome = r.outcome;
      view.stop();
      const images = Object.entries(r.to.images)
        .map(([n, i]) => `${n}=${i.imageId.replace(/^sha256:/, '').slice(0, 12)}`)
        .join(' ');
      if (r.outcome === 'no-changes') {
        io.out(`${stack}: already at run ${r.to.id} (${images}); nothing to do\n`);
        return 0;
      }
      if (r.outcome === 'cancelled') {
        io.err('kiln rollback: cancelled; nothing changed\n');
        return 1;
      }
      if (r.outcome === 'failed') {
        io.err(`kiln rollback: ${stack}: ${r.deploy.finalStatus}: ${r.deploy.reason ?? 'failed'}\n`);
        return 1;
      }
      const { renderOutputs } = await import('../views/stack.js');
      io.out(`${stack}: rolled back to run ${r.to.id} (${images}; nothing built) in ${(r.ms / 1000).toFixed(1)}s\n`);
      io.out(renderOutputs(r.deploy.outputs));
      return 0;
    } finally {
      view.stop();
      feed.close(outcome);
      finish(io);
    }
  },
};
