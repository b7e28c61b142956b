// kiln's state lives in one SQLite file under the state directory (`--state-dir`, $KILN_HOME, or
// ~/.kiln). Each module owns its tables and creates them with `CREATE TABLE IF NOT EXISTS` through
// `ensureSchema`, so no central migration list has to know every module.
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';

export type Db = BetterSqlite3.Database;

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
  mkdirSync(dir, { recursive: true });
  // better-sqlite3 is CommonJS and native; load it only when state is actually needed.
  const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.pragma('synchronous = NORMAL');
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
