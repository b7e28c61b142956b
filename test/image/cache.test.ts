// The build cache table in kiln's state.
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BuildCache } from '../../src/image/cache.js';
import { openState } from '../../src/state/db.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-cache-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('BuildCache', () => {
  it('stores, replaces and deletes entries by key, in the state database', () => {
    const c = BuildCache.open(dir);
    expect(c.get('k1')).toBeUndefined();
    c.put({ key: 'k1', kind: 'artifact', imageId: 'sha256:1', template: '/t.json', build: 'docker', step: -1, createdAt: 5 });
    expect(c.get('k1')).toEqual({ key: 'k1', kind: 'artifact', imageId: 'sha256:1', template: '/t.json', build: 'docker', step: -1, createdAt: 5 });
    c.put({ key: 'k1', kind: 'artifact', imageId: 'sha256:2', template: '/t.json', build: 'docker', step: -1 });
    expect(c.get('k1')?.imageId).toBe('sha256:2');
    c.put({ key: 'k2', kind: 'intermediate', imageId: 'sha256:3', template: '/t.json', build: 'docker', step: 0 });
    expect(
      c
        .all()
        .map((e) => e.key)
        .sort(),
    ).toEqual(['k1', 'k2']);
    c.delete('k1');
    expect(c.get('k1')).toBeUndefined();
    // the same file, opened again, has the rows
    expect(new BuildCache(openState(dir)).get('k2')?.imageId).toBe('sha256:3');
  });
});
