// kiln's state lives in one SQLite file under the state directory (`--state-dir`, $KILN_HOME, or
// ~/.kiln). Each module owns its tables and creates them with `CREATE TABLE IF NOT EXISTS` through
// `ensureSchema`, so no central migration list has to know every module.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { KilnError } from '../core/errors.js';

export type Db = BetterSqlite3.Database;

/**
 * The state directory or its database cannot be used (damaged, read-only, not a directory, full):
 * an error of the environment, never "a bug in kiln", naming the file and how to recover.
 */
export class StateError extends KilnError {
  constructor(
    readonly file: string,
    message: string,
    cause?: unknown,
  ) {
    super('STATE', message, 'environment', { cause, exitCode: 1 });
  }
}

/** What to tell the user about a fault of the state in `file` (see StateError). */
export function stateFault(file: string, e: unknown): StateError {
  if (e instanceof StateError) return e;
  const code = String((e as { code?: unknown } | null)?.code ?? '');
  const dir = dirname(file);
  const why = e instanceof Error ? e.message : String(e);
  let message: string;
  if (code === 'SQLITE_CORRUPT' || code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB')
    message = `the state database ${file} is damaged (${why}); nothing was changed. \`kiln state restore --state-dir ${dir}\` puts back the last good backup (taken around each deploy; \`kiln state check\` lists them), keeping the damaged file beside it`;
  else if (code === 'ENOTDIR' || code === 'EEXIST') message = `the state directory ${dir} is not a directory (${why}); point KILN_HOME or --state-dir at a directory`;
  else if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT')
    message = `the disk holding the state database ${file} is full (${why}); free some space and run the command again (the state was not changed)`;
  else if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM' || code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    message = `the state database ${file} cannot be written (${why}); make ${dir} and the files in it writable for this user, or point KILN_HOME or --state-dir at a writable directory`;
  else if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    message = `the state database ${file} is busy (${why}): another kiln process holds it; run the command again when it is done`;
  else if (code.startsWith('SQLITE_IOERR')) message = `the state database ${file} could not be read or written (${why}); check the disk, then \`kiln state check --state-dir ${dir}\``;
  else message = `the state database ${file} failed (${code || 'error'}: ${why}); \`kiln state check --state-dir ${dir}\` tells whether it is intact`;
  return new StateError(file, `state: ${message}`, e);
}

/** Translates a fault of an open state database into a StateError naming its file; others pass. */
export function explainStateFault(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  if (e instanceof StateError || typeof code !== 'string' || !code.startsWith('SQLITE_')) return e;
  const files = [...opened.entries()].filter(([, db]) => db.open).map(([f]) => f);
  return stateFault(files.length === 1 ? files[0]! : files.length ? files.join(' or ') : 'state.db', e);
}

export function stateDir(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit) return resolve(explicit);
  if (env.KILN_HOME) return resolve(env.KILN_HOME);
  return join(homedir(), '.kiln');
}

const opened = new Map<string, Db>();

/** Opens (once per process) `<dir>/state.db` in WAL mode with a busy timeout for concurrent runs. */
export function openState(dir: string): Db {
  const file = join(dir, 'state.db');
  const existing = opened.get(file);
  if (existing?.open) return existing;
  // better-sqlite3 is CommonJS and native; load it only when state is actually needed.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  let db: Db | undefined;
  try {
    mkdirSync(dir, { recursive: true });
    db = new Database(file);
    db.pragma('busy_timeout = 5000');
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    // Reads the schema: a file that is not a database, or a damaged one, fails here and not later.
    db.prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'").get();
  } catch (e) {
    if (db?.open) db.close();
    throw stateFault(file, e);
  }
  opened.set(file, db);
  return db;
}

const applied = new WeakMap<Db, Set<string>>();

/** Runs a module's schema statements once per database handle. `name` identifies the module. */
export function ensureSchema(db: Db, name: string, ddl: string): void {
  let done = applied.get(db);
  if (!done) applied.set(db, (done = new Set()));
  if (done.has(name)) return;
  db.exec(ddl);
  done.add(name);
}

export function closeAllStates(): void {
  for (const db of opened.values()) if (db.open) db.close();
  opened.clear();
}
