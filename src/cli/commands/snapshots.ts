// `kiln snapshots [--json]`, `kiln snapshots --delete NAME`: the final snapshots the local target
// took when a resource with a Snapshot policy was deleted (snapshots.ts): listed with what they were
// taken of, as `aws elasticache describe-snapshots` would, and deleted only when asked.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString, parseArgs, renderFlagHelp, type FlagSpec } from '../args.js';
import { HELP as HELP_FLAG, JSON_FLAG } from '../views/common.js';

const FLAGS: FlagSpec[] = [JSON_FLAG, { names: ['delete'], kind: 'string', valueName: 'NAME', description: 'delete this snapshot' }, HELP_FLAG];

const HELP = `Usage: kiln snapshots [--json]
       kiln snapshots --delete NAME

Lists the final snapshots the local target took: a cache (or another resource kiln can snapshot)
whose DeletionPolicy or UpdateReplacePolicy is Snapshot has its data saved before it is deleted, as
on AWS. Each is a Docker volume (kiln-snapshot-NAME) holding the data (Redis: one RDB file per
primary), kept until deleted here; destroying stacks never removes them.

Flags:
${renderFlagHelp(FLAGS)}
`;

export const command: Command = {
  summary: 'list or delete the final snapshots of deleted caches',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'snapshots');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    if (args.positionals.length) {
      io.err(`kiln snapshots: unexpected argument ${args.positionals[0]} (delete one with --delete NAME)\n\n${HELP}`);
      return 2;
    }
    const [{ connectDocker }, { deleteSnapshot, listSnapshots }, view] = await Promise.all([
      import('../../docker/client.js'),
      import('../../providers/docker/snapshots.js'),
      import('../views/stack.js'),
    ]);
    const docker = connectDocker(io.env);
    const doomed = flagString(args, 'delete');
    if (doomed !== undefined) {
      await deleteSnapshot(docker, doomed);
      io.out(`deleted snapshot ${doomed}\n`);
      return 0;
    }
    const all = await listSnapshots(docker);
    if (flagBool(args, 'json')) {
      io.out(JSON.stringify(all, null, 2) + '\n');
      return 0;
    }
    if (!all.length) {
      io.out('no snapshots\n');
      return 0;
    }
    io.out(view.table([['SNAPSHOT', 'SOURCE', 'TYPE', 'STACK/RESOURCE', 'CREATED'], ...all.map((s) => [s.name, s.source, s.type, `${s.stack}/${s.resource}`, s.created])]));
    return 0;
  },
};
