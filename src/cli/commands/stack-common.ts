// What the stack commands (plan, deploy, destroy, drift, events, outputs, status) share, so each
// declares only what is its own: the flags are always [--stack, its own…, --state-dir, --help];
// --help prints the usage and exits 0; --state-dir names the state the engine or the store reads.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString, type FlagSpec, type ParsedArgs } from '../args.js';
import { HELP, STACK, STATE_DIR, finish, parse, usage } from '../views/common.js';
import type { Provider } from '../../model/provider.js';
import type { StackStore } from '../../state/store.js';
import { KilnError } from '../../core/errors.js';
import { AWS_FLAGS, REGION, TARGET } from './aws-stack-flags.js';

interface StackCommandDef {
  /** The command word (`plan`), used in usage errors. */
  name: string;
  summary: string;
  /** The synopsis after `Usage: `. */
  usage: string;
  /** The help text under the synopsis. */
  about: string;
  /** The command's own flags, listed between --stack and --state-dir. */
  flags?: readonly FlagSpec[];
  /**
   * The command talks to the provider: when it runs as the real process, exit soon after it is done
   * (see `finish` in views/common.ts).
   */
  exitWhenDone?: boolean;
  /** Runs with the parsed flags (--help already handled); resolves to the exit code. */
  run(p: ParsedArgs, io: CliIO): Promise<number>;
}

/** A stack command from its definition. */
export function stackCommand(def: StackCommandDef): Command {
  const specs: FlagSpec[] = [STACK, ...(def.flags ?? []), TARGET, REGION, ...(AWS_FLAGS[def.name] ?? []), STATE_DIR, HELP];
  const run = async (argv: string[], io: CliIO): Promise<number> => {
    const p = parse(argv, specs, def.name);
    if (flagBool(p, 'help')) {
      io.out(usage(def.usage, def.about, specs));
      return 0;
    }
    const target = flagString(p, 'target') ?? 'local';
    // The AWS target hands the stack to CloudFormation (src/aws/stack): its own engine, same views.
    if (target === 'aws') return (await import('./aws-stack.js')).runAwsStack(def.name, p, io);
    if (target !== 'local') throw new KilnError('USAGE', `${def.name}: --target ${target}: expected local or aws`, 'user', { exitCode: 2 });
    return def.run(p, io);
  };
  if (!def.exitWhenDone) return { summary: def.summary, run };
  return {
    summary: def.summary,
    async run(argv, io) {
      try {
        return await run(argv, io);
      } finally {
        finish(io);
      }
    },
  };
}

/** `{ stateDir }` when --state-dir was given; nothing otherwise (the engine then uses its default). */
function stateDirOption(p: ParsedArgs): { stateDir?: string } {
  const dir = flagString(p, 'state-dir');
  return dir ? { stateDir: dir } : {};
}

/** What every engine call takes: the provider for this environment (KILN_PROVIDER…) and --state-dir. */
export async function stackTarget(p: ParsedArgs, io: CliIO): Promise<{ provider: Provider; stateDir?: string }> {
  const { openProvider } = await import('../../deploy/index.js');
  return { provider: await openProvider(io.env), ...stateDirOption(p) };
}

/** The stack store of --state-dir (default $KILN_HOME or ~/.kiln); loads SQLite only now. */
export async function openStackStore(p: ParsedArgs): Promise<StackStore> {
  const { SqliteStackStore } = await import('../../state/stacks.js');
  return SqliteStackStore.open(flagString(p, 'state-dir'));
}
