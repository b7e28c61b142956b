// Files that ship with kiln beside its code (images/service.json, images/instance/…): found by walking
// up from this module, so the same lookup works from src/ (tests) and from dist/ (the installed CLI).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KilnError } from '../../core/errors.js';

/** Absolute path of `rel` (e.g. `images/service.json`) in the kiln installation; `code` names the error when it is missing. */
export function shippedPath(rel: string, code: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = resolve(dir, rel);
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new KilnError(code, `${rel} is missing from the kiln installation`, 'internal');
}
