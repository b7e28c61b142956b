// `kiln watch [DIR] [--target local] [--stack NAME] [--state-dir D]`: `kiln up` now and after every
// change of an input (kiln.yaml, the stack template, each image's template, var files, scripts and
// uploaded files), debounced. A failed build or deploy leaves what runs serving; the next change
// tries again. Ctrl-C stops watching (a deploy in flight rolls back).
import type { Command } from '../command.js';
import { flagBool, flagString } from '../args.js';
import { HELP, STACK, STATE_DIR, finish, parse, usage } from '../views/common.js';
import { KilnError } from '../../core/errors.js';
import { reportFailure } from '../command.js';
import { TARGET, extraLabels, parseTarget, pipelineView, planConfirm, reportUp } from './up.js';

const SPECS = [TARGET, STACK, STATE_DIR, { names: ['debounce'], kind: 'string' as const, valueName: 'MS', description: 'quiet time after a change before running (default 500)' }, HELP];

export const command: Command = {
  summary: 'run `up` again on every change of an input',
  async run(argv, io) {
    const p = parse(argv, SPECS, 'watch');
    if (flagBool(p, 'help')) {
      io.out(
        usage(
          'kiln watch [DIR] [--target local] [--stack NAME]',
          'Runs `kiln up` now and again after every change of any input of any image or of the stack\n(debounced). A failed build or deploy keeps the running version serving and waits for the next\nchange. Ctrl-C stops.',
          SPECS,
        ),
      );
      return 0;
    }
    if (p.positionals.length > 1) throw new KilnError('USAGE', `watch: unexpected argument ${p.positionals[1]}`, 'user', { exitCode: 2 });
    const target = parseTarget(flagString(p, 'target'));
    const debounceText = flagString(p, 'debounce');
    const debounceMs = debounceText === undefined ? 500 : Number(debounceText);
    if (!Number.isInteger(debounceMs) || debounceMs < 0) throw new KilnError('USAGE', `watch: --debounce ${debounceText}: expected milliseconds`, 'user', { exitCode: 2 });
    const [{ loadConfig, configPath }, { up }, { watchLoop }, { dirname, relative }] = await Promise.all([
      import('../../pipeline/load.js'),
      import('../../pipeline/up.js'),
      import('../../pipeline/watch.js'),
      import('node:path'),
    ]);
    const arg = p.positionals[0] ?? '.';
    const abort = new AbortController();
    const real = io.stdin === process.stdin;
    const onSigint = () => abort.abort();
    if (real) process.once('SIGINT', onSigint);
    const dir = flagString(p, 'state-dir');
    try {
      await watchLoop({
        load: () => loadConfig(arg, io.cwd),
        target,
        env: io.env,
        debounceMs,
        signal: abort.signal,
        fallbackDir: dirname(configPath(arg, io.cwd)),
        run: async (config, changed) => {
          if (changed.length) io.err(`\n==> changed: ${changed.map((c) => relative(io.cwd, c) || c).join(', ')}\n`);
          const stack = flagString(p, 'stack') ?? config.stack;
          const { feedFor } = await import('../../ui/feed.js');
          const feed = feedFor(dir, stack, 'watch');
          let outcome: string | undefined;
          const view = await pipelineView(io, feed);
          try {
            const r = await up({
              config,
              target,
              stack,
              events: view,
              confirm: await planConfirm(io, stack, true, feed),
              env: io.env,
              labels: extraLabels(io.env.KILN_LABELS),
              signal: abort.signal,
              ...(dir ? { stateDir: dir } : {}),
            });
            outcome = r.outcome;
            view.stop();
            await reportUp(io, r, 'watch');
          } finally {
            view.stop();
            feed.close(outcome);
          }
        },
        onError: (e) => void reportFailure(e, io),
        onWatching: (inputs) => io.err(`==> watching ${inputs.length} input${inputs.length === 1 ? '' : 's'} (Ctrl-C to stop)\n`),
      });
      return 0;
    } finally {
      if (real) process.removeListener('SIGINT', onSigint);
      finish(io);
    }
  },
};
