// Both StackStore implementations pass the one conformance suite, and the engine runs on either.
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stackStoreConformance } from './conformance.js';
import { SqliteStackStore } from '../../src/state/stacks.js';
import { MemoryStackStore } from '../../src/state/memory.js';
import { openState } from '../../src/state/db.js';
import { harness, fake } from '../deploy/harness.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function sqliteDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-store-'));
  dirs.push(dir);
  return dir;
}

stackStoreConformance('SqliteStackStore', () => new SqliteStackStore(openState(sqliteDir())));
stackStoreConformance('MemoryStackStore', () => new MemoryStackStore());

test('the SQLite store keeps the plan key in the state directory, readable by its owner only', () => {
  const dir = sqliteDir();
  const k = new SqliteStackStore(openState(dir)).planKey();
  expect(statSync(join(dir, 'plan.key')).mode & 0o777).toBe(0o600);
  expect(new SqliteStackStore(openState(dir)).planKey().equals(k)).toBe(true);
});

test('the engine deploys, updates, rolls back and destroys on the in-memory store', async () => {
  const h = harness({ store: new MemoryStackStore() });
  try {
    expect((await h.deploy({ Resources: { A: fake({ Value: 'a' }), B: fake({ Value: { Ref: 'A' } }) } })).finalStatus).toBe('CREATE_COMPLETE');
    expect((await h.deploy({ Resources: { A: fake({ Name: 'n' }), B: fake({ Value: { Ref: 'A' } }) } })).finalStatus).toBe('UPDATE_COMPLETE');
    const failed = await h.deploy({ Resources: { A: fake({ Name: 'n' }), B: fake({ Value: { Ref: 'A' } }), C: fake({ Fail: 'create' }) } });
    expect(failed.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect((await h.destroy()).status).toBe('DELETE_COMPLETE');
    expect(h.provider.all()).toEqual([]);
  } finally {
    h.cleanup();
  }
});
