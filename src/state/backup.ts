// Checked backups of the state database, taken before and after each deploy and destroy; `kiln state check`
// and `kiln state restore` read them.
//
//   backupState(db)          -> the backup's path (or undefined for a database without a file)
//   checkStateFile(file)     -> { ok, problems }        SQLite's integrity_check, read-only
//   listBackups(dir)         -> newest first
//   restoreState(dir, from?) -> what was restored and where the replaced file was kept
//
// A backup is a consistent copy (VACUUM INTO, which reads one snapshot), checked before it is kept;
// the last BACKUPS_KEPT are kept. Restoring never deletes: the file it replaces is renamed beside it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { closeAllStates, stateFault, StateError, type Db } from './db.js';

const BACKUPS_KEPT = 6;
const STATE_FILE = 'state.db';

function backupsDir(dir: string): string {
  return join(dir, 'backups');
}

function openFile(file: string, readonly: boolean): Db {
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  return new Database(file, { readonly, fileMustExist: true });
}

/** SQLite's own integrity check of a database file, opened read-only. */
export function checkStateFile(file: string): { ok: boolean; problems: string[] } {
  let db: Db | undefined;
  try {
    db = openFile(file, true);
    const rows = db.prepare('PRAGMA integrity_check').all() as Array<{ integrity_check: string }>;
    const problems = rows.map((r) => r.integrity_check).filter((x) => x !== 'ok');
    return { ok: problems.length === 0, problems };
  } catch (e) {
    return { ok: false, problems: [e instanceof Error ? e.message : String(e)] };
  } finally {
    if (db?.open) db.close();
  }
}

/** A name that sorts by time: state-2026-11-25T10-11-12-345Z.db */
const stamp = (d: Date) => d.toISOString().replace(/:/g, '-').replace('.', '-');

/**
 * Copies the open state database to `backups/`, checks the copy and keeps it with the last few.
 * A damaged database is not backed up: that is a StateError (the deploy stops before changing it).
 */
export function backupState(db: Db, now: Date = new Date()): string | undefined {
  const file = db.name;
  if (!file || file === ':memory:' || !existsSync(file)) return undefined;
  const dir = backupsDir(dirname(file));
  const target = join(dir, `state-${stamp(now)}.db`);
  const tmp = `${target}.partial`;
  try {
    mkdirSync(dir, { recursive: true });
    rmSync(tmp, { force: true });
    db.prepare('VACUUM INTO ?').run(tmp);
    // A copy restored later must not carry this run's lock of the stack.
    const copy = openFile(tmp, false);
    try {
      const locks = copy.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'stack_locks'").get();
      if (locks) copy.prepare('DELETE FROM stack_locks').run();
    } finally {
      copy.close();
    }
  } catch (e) {
    rmSync(tmp, { force: true });
    throw stateFault(file, e);
  }
  const check = checkStateFile(tmp);
  if (!check.ok) {
    rmSync(tmp, { force: true });
    throw stateFault(file, Object.assign(new Error(check.problems.slice(0, 3).join('; ')), { code: 'SQLITE_CORRUPT' }));
  }
  renameSync(tmp, target);
  for (const old of listBackups(dirname(file)).slice(BACKUPS_KEPT)) rmSync(old.file, { force: true });
  return target;
}

interface BackupInfo {
  file: string;
  bytes: number;
  taken: Date;
}

/** The backups of a state directory, newest first. */
export function listBackups(dir: string): BackupInfo[] {
  const bdir = backupsDir(dir);
  if (!existsSync(bdir)) return [];
  return readdirSync(bdir)
    .filter((n) => /^state-.*\.db$/.test(n))
    .sort()
    .reverse()
    .map((n) => {
      const file = join(bdir, n);
      const st = statSync(file);
      return { file, bytes: st.size, taken: st.mtime };
    });
}

/**
 * Puts a backup (the newest intact one, or `from`) in place of `dir/state.db`. The file it replaces
 * (with its WAL files) is renamed `state.db.replaced-<time>` beside it, never deleted.
 */
export function restoreState(dir: string, from?: string, now: Date = new Date()): { restored: string; keptAside?: string } {
  const live = join(dir, STATE_FILE);
  let source: string | undefined = from;
  if (source === undefined) source = listBackups(dir).find((b) => checkStateFile(b.file).ok)?.file;
  if (source === undefined) throw new StateError(live, `state: no intact backup in ${backupsDir(dir)} to restore (backups are taken before each deploy)`);
  const check = checkStateFile(source);
  if (!check.ok) throw new StateError(source, `state: ${source} is not an intact state database (${check.problems.slice(0, 3).join('; ')}); nothing was restored`);
  closeAllStates();
  let keptAside: string | undefined;
  if (existsSync(live)) {
    keptAside = `${live}.replaced-${stamp(now)}`;
    renameSync(live, keptAside);
    for (const ext of ['-wal', '-shm']) if (existsSync(live + ext)) renameSync(live + ext, keptAside + ext);
  }
  try {
    copyFileSync(source, live);
  } catch (e) {
    throw stateFault(live, e);
  }
  return { restored: source, ...(keptAside ? { keptAside } : {}) };
}
