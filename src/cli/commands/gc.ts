// `kiln gc [--dry-run] [--state-dir DIR]`: removes intermediate and superseded images kiln made.
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { parseArgs, flagBool, flagString, renderFlagHelp, type FlagSpec } from '../args.js';

const FLAGS: FlagSpec[] = [
  { names: ['dry-run', 'n'], kind: 'bool', description: 'show what would be removed, remove nothing' },
  { names: ['state-dir'], kind: 'string', valueName: 'DIR', description: 'kiln state directory (default $KILN_HOME or ~/.kiln)' },
  { names: ['help', 'h'], kind: 'bool' },
];

const HELP = `Usage: kiln gc [--dry-run] [--state-dir DIR]

Removes images kiln built that nothing needs: every intermediate image (the saved state after a
provisioner) and every artifact superseded by a newer build of the same template and build name.
Keeps the newest artifact of each build, images a stack deployment uses, tagged images, and what
the engine refuses to remove (used by a container, or parent of a kept image). Only images this
state directory's build cache recorded are considered.

Flags:
${renderFlagHelp(FLAGS)}
`;

export const command: Command = {
  summary: 'remove intermediate and unreferenced images kiln made',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'gc');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    const { openState, stateDir } = await import('../../state/db.js');
    const { BuildCache } = await import('../../image/cache.js');
    const { runGc } = await import('../../image/gc.js');
    const db = openState(stateDir(flagString(args, 'state-dir'), io.env));
    const cache = new BuildCache(db);
    const dryRun = flagBool(args, 'dry-run');
    const r = await runGc(db, cache, { dryRun });
    for (const d of r.decisions) {
      const verb = d.action === 'keep' ? 'keep  ' : dryRun ? 'would remove' : 'remove';
      io.out(`${verb} ${d.imageId.slice(0, 19)}  ${d.kind.padEnd(12)} ${d.build}  (${d.reason})\n`);
    }
    for (const f of r.failed) io.out(`kept   ${f.imageId.slice(0, 19)}  the engine refused: ${f.reason}\n`);
    const n = r.decisions.filter((d) => d.action === 'remove').length;
    io.out(dryRun ? `${n} image(s) would be removed\n` : `${r.removed.length} image(s) removed\n`);
    return 0;
  },
};
