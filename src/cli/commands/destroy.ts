// `kiln destroy --stack NAME [--yes] [--json]`: deletes the stack's resources in reverse dependency order
// (DeletionPolicy Retain keeps an object and says DELETE_SKIPPED). Asks on a terminal unless --yes.
import { flagBool, flagString } from '../args.js';
import { tee } from '../../core/events.js';
import { YES, confirm, requireStack } from '../views/common.js';
import { stackCommand, stackTarget } from './stack-common.js';

export const command = stackCommand({
  name: 'destroy',
  summary: 'delete a stack and everything it made',
  usage: 'kiln destroy --stack NAME [--yes] [--json]',
  about: 'Deletes every resource of the stack, dependents first. Asks on a terminal unless --yes.',
  flags: [YES, { names: ['json'], kind: 'bool', description: 'print JSON lines on stdout: every event, then the result' }],
  exitWhenDone: true,
  async run(p, io) {
    const stack = requireStack(p, 'destroy');
    const interactive = io.stdoutIsTTY && io.stdin !== undefined && (io.stdin as NodeJS.ReadStream).isTTY === true;
    if (interactive && !flagBool(p, 'yes') && !(await confirm(io, `Delete stack ${stack} and everything it made?`))) {
      io.err('kiln destroy: cancelled; nothing changed\n');
      return 1;
    }
    const [{ destroyStack }, { ProgressView }, { JsonLinesView }, { feedFor }] = await Promise.all([
      import('../../deploy/index.js'),
      import('../views/progress.js'),
      import('../views/jsonlines.js'),
      import('../../ui/feed.js'),
    ]);
    const json = flagBool(p, 'json') ? new JsonLinesView(io) : undefined;
    const progress = json ?? new ProgressView(io);
    const stop = () => (progress instanceof ProgressView ? progress.stop() : undefined);
    const feed = feedFor(flagString(p, 'state-dir'), stack, 'destroy');
    let outcome: string | undefined;
    try {
      const r = await destroyStack({ stack, ...(await stackTarget(p, io)), events: tee(progress, feed), command: 'destroy' });
      outcome = r.outcome;
      stop();
      if (json) {
        json.line({ kind: 'result', stack, outcome: r.outcome, ...(r.status ? { status: r.status } : {}), ...(r.reason ? { reason: r.reason } : {}) });
        return r.outcome === 'failed' ? 1 : 0;
      }
      if (r.outcome === 'absent') {
        io.out(`Stack ${stack} does not exist; nothing to delete.\n`);
        return 0;
      }
      if (r.outcome === 'failed') {
        io.err(`kiln destroy: stack ${stack} ${r.status}: ${r.reason ?? ''}\n`);
        return 1;
      }
      io.out(`Stack ${stack}: ${r.status}\n`);
      return 0;
    } finally {
      stop();
      feed.close(outcome);
    }
  },
});
