// Where the shared material (../shared: the public corpora and the seed's original) is for the tests:
// $KILN_SHARED when set; else `shared/` beside the clone or beside any folder above it; else the
// machine's /work/shared, so a clone made anywhere (a worktree, a temporary folder) finds it too.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..');

function findShared(): string {
  if (process.env.KILN_SHARED) return resolve(process.env.KILN_SHARED);
  for (let dir = dirname(REPO); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'shared', 'corpus'))) return join(dir, 'shared');
    if (dirname(dir) === dir) break;
  }
  return '/work/shared';
}

export const SHARED = findShared();

/** A path inside the shared folder: `shared('corpus', 'cloudformation', 'widdix')`. */
export function shared(...parts: string[]): string {
  return join(SHARED, ...parts);
}
