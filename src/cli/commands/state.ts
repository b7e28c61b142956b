// `kiln state check | restore`: is the state database intact, and putting back the last good copy.
import { join } from 'node:path';
import type { Command } from '../command.js';
import type { CliIO } from '../io.js';
import { flagBool, flagString, parseArgs, type FlagSpec } from '../args.js';
import { HELP as HELP_FLAG, STATE_DIR, usage } from '../views/common.js';
import { KilnError } from '../../core/errors.js';

const FROM: FlagSpec = { names: ['from'], kind: 'string', valueName: 'FILE', description: 'restore this backup instead of the newest intact one' };
const FLAGS: FlagSpec[] = [FROM, STATE_DIR, HELP_FLAG];

const HELP = usage(
  'kiln state check|restore [--from FILE] [--state-dir DIR]',
  `The state database (DIR/state.db) records every stack, resource, deployment and lock. Before each
deploy and destroy, and after each one that succeeds, kiln copies it to DIR/backups/, checks the
copy and keeps the last 6.

  check     checks state.db and every backup with SQLite's integrity check; exit 0 when state.db
            is intact, 1 when it is damaged or unreadable
  restore   puts the newest intact backup (or --from FILE) in place of state.db; the file it
            replaces is renamed state.db.replaced-TIME beside it, never deleted`,
  FLAGS,
);

export const command: Command = {
  summary: 'check the state database, or restore its last good backup',
  async run(argv: string[], io: CliIO): Promise<number> {
    const args = parseArgs(argv, FLAGS, 'state');
    if (flagBool(args, 'help')) {
      io.out(HELP);
      return 0;
    }
    const [sub, ...extra] = args.positionals;
    if ((sub !== 'check' && sub !== 'restore') || extra.length) throw new KilnError('USAGE', `state: expected \`check\` or \`restore\` (see \`kiln state --help\`)`, 'user', { exitCode: 2 });
    const { stateDir } = await import('../../state/db.js');
    const { checkStateFile, listBackups, restoreState } = await import('../../state/backup.js');
    const dir = stateDir(flagString(args, 'state-dir'), io.env);
    const live = join(dir, 'state.db');
    if (sub === 'check') {
      const r = checkStateFile(live);
      io.out(`${live}: ${r.ok ? 'intact' : `damaged or unreadable: ${r.problems.slice(0, 5).join('; ')}`}\n`);
      const backups = listBackups(dir);
      if (!backups.length) io.out(`no backups in ${join(dir, 'backups')}\n`);
      for (const b of backups) io.out(`  backup ${b.file} (${b.taken.toISOString()}, ${b.bytes} bytes): ${checkStateFile(b.file).ok ? 'intact' : 'damaged'}\n`);
      if (!r.ok && backups.length) io.out(`\`kiln state restore --state-dir ${dir}\` puts back the newest intact backup\n`);
      return r.ok ? 0 : 1;
    }
    const r = restoreState(dir, flagString(args, 'from'));
    io.out(`restored ${live} from ${r.restored}${r.keptAside ? `; the replaced file is kept as ${r.keptAside}` : ''}\n`);
    return 0;
  },
};
