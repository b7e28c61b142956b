// Issue 12, hole 5 (and the proof of item 9): a damaged, truncated, read-only or locked state is an
// error naming the file and how to recover — never "a bug in kiln" — and nothing is lost: `kiln state
// restore` brings back the last good state.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, mkdtempSync, openSync, readdirSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OBEY_PERMISSIONS, crashed, kiln } from './cli.js';

const template = JSON.stringify({
  Parameters: { Cidr: { Type: 'String', Default: '10.1.0.0/16' } },
  Resources: { Net: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: { Ref: 'Cidr' } } } },
  Outputs: { Cidr: { Value: { Ref: 'Cidr' } } },
});

/** A state directory with a stack deployed twice through the real CLI (fake provider). */
async function deployedState(): Promise<{ home: string; env: NodeJS.ProcessEnv; file: string; tpl: string }> {
  const home = mkdtempSync(join(tmpdir(), 'kiln-hostile-state-'));
  chmodSync(home, 0o755);
  const tpl = join(home, 'stack.json');
  writeFileSync(tpl, template);
  const env = { KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(home, 'fake.json'), KILN_HOME: home };
  for (const cidr of ['10.1.0.0/16', '10.2.0.0/16']) {
    const r = await kiln(['deploy', tpl, '--stack', 'kept', '--param', `Cidr=${cidr}`, '--yes'], { env });
    expect(r.code, r.stderr).toBe(0);
  }
  return { home, env, file: join(home, 'state.db'), tpl };
}

const damage: Array<[string, (file: string) => void]> = [
  [
    'its header overwritten with garbage',
    (f) => {
      const fd = openSync(f, 'r+');
      writeSync(fd, Buffer.from('this is not an SQLite database, whatever it was before'), 0, 54, 0);
      closeSync(fd);
    },
  ],
  ['truncated to a few pages', (f) => truncateSync(f, 8192)],
  ['truncated to nothing but a part of its header', (f) => truncateSync(f, 40)],
  [
    'a page in the middle zeroed',
    (f) => {
      const fd = openSync(f, 'r+');
      writeSync(fd, Buffer.alloc(4096), 0, 4096, 4096 * 3);
      closeSync(fd);
    },
  ],
];

describe('a damaged state database', () => {
  it.each(damage)('%s: a clear error naming the file, exit 1, and `kiln state restore` brings the state back', async (_what, hurt) => {
    const { env, file, tpl, home } = await deployedState();
    const before = await kiln(['outputs', '--stack', 'kept'], { env });
    expect(before.stdout).toContain('10.2.0.0/16');
    // What SQLite has not yet written back (the WAL) is the database's too: fold it in, then damage the file.
    execFileSync(process.execPath, ['-e', `const D=require('better-sqlite3'); const d=new D(${JSON.stringify(file)}); d.pragma('wal_checkpoint(TRUNCATE)'); d.close();`], { cwd: process.cwd() });
    hurt(file);
    // Reading may still find what it needs in the pages that are intact (and then answers right);
    // anything that would change the state refuses: the copy taken first fails its check.
    for (const argv of [['status'], ['outputs', '--stack', 'kept'], ['plan', tpl, '--stack', 'kept'], ['deploy', tpl, '--stack', 'kept', '--yes']]) {
      const r = await kiln(argv, { env });
      expect(crashed(r), r.stderr).toBe(false);
      if (argv[0] === 'outputs' && r.code === 0) expect(r.stdout).toBe(before.stdout);
      else if (argv[0] !== 'status' || r.code !== 0) {
        expect([argv[0], r.code]).toEqual([argv[0], 1]);
        expect(r.stderr).toContain(`state: the state database ${file} is damaged`);
        expect(r.stderr).toContain('kiln state restore');
      }
    }
    const check = await kiln(['state', 'check'], { env });
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/damaged or unreadable/);
    expect(check.stdout).toMatch(/backup .*: intact/);
    const restore = await kiln(['state', 'restore'], { env });
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.stdout).toMatch(/replaced file is kept as .*state\.db\.replaced-/);
    expect(readdirSync(home).some((n) => n.startsWith('state.db.replaced-'))).toBe(true);
    const after = await kiln(['outputs', '--stack', 'kept'], { env });
    expect(after.code).toBe(0);
    expect(after.stdout).toBe(before.stdout);
    expect((await kiln(['state', 'check'], { env })).code).toBe(0);
    // And the stack can be deployed again from there.
    expect((await kiln(['deploy', tpl, '--stack', 'kept', '--param', 'Cidr=10.3.0.0/16', '--yes'], { env })).code).toBe(0);
  });

  it('a backup is checked and the last six are kept', async () => {
    const { env, home, tpl } = await deployedState();
    for (let i = 0; i < 3; i++) await kiln(['deploy', tpl, '--stack', 'kept', '--param', `Cidr=10.${10 + i}.0.0/16`, '--yes'], { env });
    expect(readdirSync(join(home, 'backups')).filter((n) => n.endsWith('.db'))).toHaveLength(6);
  });
});

describe('a state directory kiln cannot use', () => {
  it('KILN_HOME pointing at a file', async () => {
    const home = mkdtempSync(join(tmpdir(), 'kiln-hostile-state-'));
    const notDir = join(home, 'a-file');
    writeFileSync(notDir, 'x');
    for (const argv of [['status'], ['outputs', '--stack', 'x'], ['gc', '--dry-run']]) {
      const r = await kiln(argv, { env: { KILN_PROVIDER: 'fake', KILN_HOME: notDir } });
      expect(crashed(r), r.stderr).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`state: the state directory ${notDir} is not a directory`);
    }
  });

  const obeysPermissions = (() => {
    try {
      execFileSync(OBEY_PERMISSIONS[0]!, [...OBEY_PERMISSIONS.slice(1), 'true']);
      return true;
    } catch {
      return false;
    }
  })();

  it.runIf(obeysPermissions)('a read-only state directory, as a process that cannot write it', async () => {
    const { home, tpl } = await deployedState();
    chmodSync(home, 0o555);
    for (const f of readdirSync(home)) if (statSync(join(home, f)).isFile()) chmodSync(join(home, f), 0o444);
    try {
      const r = await kiln(['deploy', tpl, '--stack', 'kept', '--yes'], { obeyPermissions: true, env: { KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(home, 'fake.json'), KILN_HOME: home } });
      expect(crashed(r), r.stderr).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`state: the state database ${join(home, 'state.db')} cannot be written`);
    } finally {
      chmodSync(home, 0o755);
    }
  });

  it('a state database another process holds locked: busy, named, not a bug', async () => {
    const { env, file, tpl } = await deployedState();
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const D=require('better-sqlite3'); const d=new D(${JSON.stringify(file)}); d.exec('BEGIN EXCLUSIVE'); d.exec("UPDATE stacks SET status = status"); console.log('held'); setTimeout(() => {}, 60000);`,
      ],
      { cwd: process.cwd() },
    );
    await new Promise<void>((res) => holder.stdout.on('data', () => res()));
    try {
      const r = await kiln(['deploy', tpl, '--stack', 'kept', '--yes'], { env, timeoutMs: 30_000 });
      expect(crashed(r), r.stderr).toBe(false);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`state: the state database ${file} is busy`);
    } finally {
      holder.kill();
    }
    expect((await kiln(['outputs', '--stack', 'kept'], { env })).stdout).toContain('10.2.0.0/16');
  });
});
