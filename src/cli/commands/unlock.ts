// `kiln unlock --stack NAME`: breaks a stack's lock held by a run that is gone where kiln cannot see
// (another host: a dead CI machine), saying whose it was — as `terraform force-unlock` does.
import { hostname } from 'node:os';
import { KilnError } from '../../core/errors.js';
import { flagString } from '../args.js';
import { openStackStore, stackCommand } from './stack-common.js';

export const command = stackCommand({
  name: 'unlock',
  summary: "break a stack's lock left by a run that is gone",
  usage: 'kiln unlock --stack NAME [--state-dir DIR]',
  about: `Removes the lock of a stack whose holder is gone but cannot be proven gone from here (a run on
another machine that died). A lock held by a live process on this host is not broken: stop that
run instead. A lock whose process is gone on this host needs no unlock: the next run takes it over.
The next deploy recovers whatever the interrupted run left.`,
  async run(p, io) {
    const stack = flagString(p, 'stack');
    if (!stack) throw new KilnError('USAGE', 'unlock: --stack NAME is required', 'user', { exitCode: 2 });
    const store = await openStackStore(p);
    const { describeHolder, ownerGone, pidAlive } = await import('../../state/locks.js');
    const held = store.lockHolder(stack);
    if (!held) {
      io.err(`kiln unlock: stack ${stack} is not locked\n`);
      return 1;
    }
    const here = hostname();
    if (held.host === here && !ownerGone(held, here) && pidAlive(held.pid))
      throw new KilnError('STACK_LOCKED', `stack ${stack} is locked by ${describeHolder(held)}, a live process on this host: stop it instead of breaking its lock`, 'user');
    const broken = store.breakLock(stack);
    io.out(`stack ${stack}: broke the lock held by ${describeHolder(broken ?? held)}; the next deploy recovers what that run left\n`);
    return 0;
  },
});
