// The build cache: build key → image id, in kiln's state database. Every entry is checked against
// the engine before it is trusted (an image deleted from Docker means: build again).
//
// Two kinds of rows: `artifact` (the final image of a build, key = final key) and `intermediate`
// (the container state after a provisioner, key = step key). A failed build records no artifact;
// the intermediates of the steps that succeeded before the failure stay (they are correct states,
// and they let the next run start after the last good step); `kiln gc` removes them.
import type { Db } from '../state/db.js';
import { openState, ensureSchema, stateDir } from '../state/db.js';

export type CacheKind = 'artifact' | 'intermediate';

export interface CacheEntry {
  key: string;
  kind: CacheKind;
  imageId: string;
  template: string;
  build: string;
  /** Index of the provisioner whose result this is (intermediates), -1 for artifacts. */
  step: number;
  createdAt: number;
}

const DDL = `
CREATE TABLE IF NOT EXISTS image_build_cache (
  key        TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN ('artifact', 'intermediate')),
  image_id   TEXT NOT NULL,
  template   TEXT NOT NULL,
  build      TEXT NOT NULL,
  step       INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS image_build_cache_by_build ON image_build_cache (template, build, kind, created_at);
`;

interface Row {
  key: string;
  kind: CacheKind;
  image_id: string;
  template: string;
  build: string;
  step: number;
  created_at: number;
}

const fromRow = (r: Row): CacheEntry => ({ key: r.key, kind: r.kind, imageId: r.image_id, template: r.template, build: r.build, step: r.step, createdAt: r.created_at });

export class BuildCache {
  constructor(private readonly db: Db) {
    ensureSchema(db, 'image.build-cache', DDL);
  }

  static open(dir?: string): BuildCache {
    return new BuildCache(openState(stateDir(dir)));
  }

  get(key: string): CacheEntry | undefined {
    const r = this.db.prepare('SELECT * FROM image_build_cache WHERE key = ?').get(key) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  put(e: Omit<CacheEntry, 'createdAt'> & { createdAt?: number }): void {
    this.db
      .prepare(
        `INSERT INTO image_build_cache (key, kind, image_id, template, build, step, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET kind = excluded.kind, image_id = excluded.image_id, template = excluded.template,
           build = excluded.build, step = excluded.step, created_at = excluded.created_at`,
      )
      .run(e.key, e.kind, e.imageId, e.template, e.build, e.step, e.createdAt ?? Date.now());
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM image_build_cache WHERE key = ?').run(key);
  }

  all(): CacheEntry[] {
    return (this.db.prepare('SELECT * FROM image_build_cache ORDER BY created_at').all() as Row[]).map(fromRow);
  }
}
