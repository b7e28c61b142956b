// The local Parameter Store (src/state/ssm.ts): one behaviour suite that both implementations pass,
// then what only the SQLite one has to show (versions survive a reopen; SecureString values are
// encrypted at rest with a key beside the state file).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryParameterStore, SqliteParameterStore, nameProblem, type ParameterStore } from '../../src/state/ssm.js';
import { openState } from '../../src/state/db.js';
import { KilnError } from '../../src/core/errors.js';

const stores: Array<[string, () => ParameterStore]> = [
  ['memory', () => new MemoryParameterStore()],
  ['sqlite', () => new SqliteParameterStore(openState(mkdtempSync(join(tmpdir(), 'kiln-ssm-'))))],
];

describe.each(stores)('a %s parameter store', (_kind, make) => {
  it('keeps a value under its name, version 1 first', () => {
    const s = make();
    const p = s.put({ name: '/app/db/host', value: 'db.internal', type: 'String' });
    expect(p.version).toBe(1);
    expect(s.get('/app/db/host')).toMatchObject({ name: '/app/db/host', value: 'db.internal', type: 'String', version: 1 });
    expect(s.get('/app/db/port')).toBeUndefined();
  });

  it('refuses to replace a parameter without overwrite, and makes a new version with it', () => {
    const s = make();
    s.put({ name: 'colour', value: 'red', type: 'String' });
    expect(() => s.put({ name: 'colour', value: 'blue', type: 'String' })).toThrow(/ParameterAlreadyExists: parameter colour already exists/);
    const v2 = s.put({ name: 'colour', value: 'blue', type: 'String', overwrite: true });
    expect(v2.version).toBe(2);
    expect(s.get('colour')!.value).toBe('blue');
    expect(s.get('colour', 1)!.value).toBe('red');
    expect(s.get('colour', 3)).toBeUndefined();
  });

  it('lists the latest versions by name, or those under a path', () => {
    const s = make();
    for (const n of ['/app/b', '/app/a/x', '/other', '/apple']) s.put({ name: n, value: 'v', type: 'String' });
    s.put({ name: '/app/b', value: 'w', type: 'String', overwrite: true });
    expect(s.list().map((p) => `${p.name}@${p.version}`)).toEqual(['/app/a/x@1', '/app/b@2', '/apple@1', '/other@1']);
    expect(s.list('/app').map((p) => p.name)).toEqual(['/app/a/x', '/app/b']);
  });

  it('deletes every version of a name, which may then start again at 1', () => {
    const s = make();
    s.put({ name: 'x', value: '1', type: 'String' });
    s.put({ name: 'x', value: '2', type: 'String', overwrite: true });
    expect(s.delete('x')).toBe(true);
    expect(s.get('x')).toBeUndefined();
    expect(s.delete('x')).toBe(false);
    expect(s.put({ name: 'x', value: '3', type: 'String' }).version).toBe(1);
  });

  it('gives a SecureString a salt (for the hash that stands for it in state) and its value back', () => {
    const s = make();
    const p = s.put({ name: '/db/password', value: 'hunter2', type: 'SecureString' });
    expect(p.salt).toMatch(/^[0-9a-f]{32}$/);
    expect(s.get('/db/password')).toMatchObject({ value: 'hunter2', type: 'SecureString', salt: p.salt });
    expect(s.get('/db/password')!.salt).toBe(p.salt);
  });

  it.each([
    ['', 'cannot be empty'],
    ['a b', 'may hold only letters, digits'],
    ['app/x', 'a parameter hierarchy starts with /'],
    ['/app//x', 'has an empty level'],
    ['/aws/custom', 'reserved'],
    ['ssm-thing', 'reserved'],
    [`/${Array.from({ length: 16 }, () => 'a').join('/')}`, 'more than 15 levels'],
  ])('refuses the name %j (%s)', (name, why) => {
    const s = make();
    let err: unknown;
    try {
      s.put({ name, value: 'v', type: 'String' });
    } catch (e) {
      err = e;
    }
    expect(KilnError.is(err) && err.message).toMatch(why);
  });

  it('accepts /aws/service/… names, to change the mapping of the public parameters', () => {
    expect(nameProblem('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64')).toBeUndefined();
    const s = make();
    s.put({ name: '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id', value: 'my/ubuntu:22.04', type: 'String' });
    expect(s.get('/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id')!.value).toBe('my/ubuntu:22.04');
  });

  it('refuses empty values, values over 4 KB and unknown types', () => {
    const s = make();
    expect(() => s.put({ name: 'x', value: '', type: 'String' })).toThrow(/cannot be empty/);
    expect(() => s.put({ name: 'x', value: 'v'.repeat(4097), type: 'String' })).toThrow(/at most 4096 bytes/);
    expect(() => s.put({ name: 'x', value: 'v', type: 'Secret' as never })).toThrow(/String, StringList or SecureString/);
  });
});

describe('the SQLite parameter store', () => {
  it('keeps parameters across processes (a reopened state file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-ssm-'));
    new SqliteParameterStore(openState(dir)).put({ name: '/a', value: '1', type: 'StringList' });
    const again = new SqliteParameterStore(openState(dir));
    expect(again.get('/a')).toMatchObject({ value: '1', type: 'StringList' });
  });

  it('never writes a SecureString value in the clear: the state file holds it encrypted with a 0600 key beside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-ssm-'));
    const db = openState(dir);
    const s = new SqliteParameterStore(db);
    s.put({ name: '/db/password', value: 'correct-horse-battery-staple', type: 'SecureString' });
    db.pragma('wal_checkpoint(TRUNCATE)');
    expect(readFileSync(join(dir, 'state.db')).includes('correct-horse-battery-staple')).toBe(false);
    const row = db.prepare("SELECT value FROM ssm_parameters WHERE name = '/db/password'").get() as { value: string };
    expect(row.value).toMatch(/^aes256gcm:/);
    expect(statSync(join(dir, 'ssm.key')).mode & 0o777).toBe(0o600);
    expect(s.get('/db/password')!.value).toBe('correct-horse-battery-staple');
  });

  it('says the key is missing rather than returning garbage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-ssm-'));
    const db = openState(dir);
    new SqliteParameterStore(db).put({ name: '/s', value: 'x', type: 'SecureString' });
    const other = new SqliteParameterStore(db, { keyFile: join(dir, 'no-such.key') });
    expect(() => other.get('/s')).toThrow(/the key file .*no-such\.key is missing/);
  });
});
