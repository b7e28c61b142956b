// Who holds a stack's lock, told precisely enough to know when that holder is gone: host, PID and the
// process's start time (a PID can be reused; a start time with the boot it belongs to cannot).
//
//   processStart(pid) -> string | undefined      `<boot id>:<start ticks>` from /proc (Linux)
//   ownerGone(owner, host) -> boolean             provably gone: same host, and no such process or
//                                                 another process under that PID
//   ensureLockSchema(db)                          the `started` column on stack_locks
//   breakLock(db, stack) -> LockHolder | undefined  `kiln unlock`: removes the lock, says whose it was
import { readFileSync } from 'node:fs';
import type { Db } from './db.js';
import type { LockHolder } from './store.js';

/** True when a process with this pid exists on this host. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `<boot id>:<start time in clock ticks since boot>` of a process on this host, if /proc tells. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = fields[19]; // field 22 of the whole line
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    return ticks ? `${boot}:${ticks}` : undefined;
  } catch {
    return undefined;
  }
}

/** A process as recorded by whoever started it: host, PID, start time (null where /proc did not tell). */
export interface ProcessOwner {
  host: string;
  pid: number;
  started?: string | null;
}

/** True when the holder's process is provably gone (it can only be proven on the holder's host). */
export function ownerGone(holder: ProcessOwner, host: string): boolean {
  if (holder.host !== host) return false;
  if (!pidAlive(holder.pid)) return true;
  if (!holder.started) return false; // an old record without a start time: the PID's word only
  const now = processStart(holder.pid);
  return now !== undefined && now !== holder.started;
}

/** Adds the `started` column to locks written before it existed. */
export function ensureLockSchema(db: Db): void {
  const cols = db.prepare('PRAGMA table_info(stack_locks)').all() as Array<{ name: string }>;
  if (cols.length && !cols.some((c) => c.name === 'started')) db.exec('ALTER TABLE stack_locks ADD COLUMN started TEXT');
}

/** Removes a stack's lock whoever holds it; returns the holder it had (undefined: it was not locked). */
export function breakLock(db: Db, stack: string): LockHolder | undefined {
  return db
    .transaction(() => {
      const r = db.prepare('SELECT * FROM stack_locks WHERE stack = ?').get(stack) as Record<string, unknown> | undefined;
      if (!r) return undefined;
      db.prepare('DELETE FROM stack_locks WHERE stack = ?').run(stack);
      return { pid: r.pid as number, host: r.host as string, since: r.since as string, token: r.token as string, command: r.command as string, started: (r.started as string | null) ?? null };
    })
    .immediate();
}

/** How a holder reads in messages: `kiln deploy` (pid 123 on host, since …). */
export function describeHolder(h: LockHolder): string {
  return `\`kiln ${h.command}\` (pid ${h.pid} on ${h.host}, since ${h.since})`;
}
