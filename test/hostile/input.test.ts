// Issue 12, hole 3: input is read once, bounded, as a stream — a file, a pipe, `-`, a FIFO; more than
// the limit stops at the limit with a clear error; binary input is refused at its first chunk.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readInput } from '../../src/core/input.js';
import { crashed, kiln } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-hostile-input-'));
const stack = JSON.stringify({ Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Select': [7, ['a', 'b']] } } } } });
const packer = JSON.stringify({ builders: [{ type: 'docker', image: 'busybox', commit: true }] });
writeFileSync(join(dir, 'stack.json'), stack);
writeFileSync(join(dir, 'packer.json'), packer);
writeFileSync(join(dir, 'big.json'), '{"Resources": {}, "Description": "' + 'x'.repeat(6 * 1024 * 1024) + '"}');
writeFileSync(join(dir, 'big14.json'), '{"Resources": {}, "Description": "' + 'x'.repeat(14 * 1024 * 1024) + '"}'); // the 14 MB template
writeFileSync(join(dir, 'latin1.yaml'), Buffer.from('Resources:\n  T:\n    Type: AWS::SNS::Topic # caf\xe9\n', 'latin1'));
writeFileSync(join(dir, 'nul.json'), Buffer.concat([Buffer.from('{"Resources": {'), Buffer.from([0]), Buffer.from('}}')]));
const STACK_ERROR = /:1:\d+: error\[SELECT_OUT_OF_RANGE\]/;

describe('a template read once from wherever it comes', () => {
  it.each<[string, string[], RegExp, { stdin?: string }?]>([
    ['a process substitution <(cat …)', ['validate', `<(cat ${join(dir, 'stack.json')})`], STACK_ERROR],
    ['/dev/stdin', ['validate', '/dev/stdin', `< ${join(dir, 'stack.json')}`], STACK_ERROR],
    ['- for standard input', ['validate', '-'], STACK_ERROR, { stdin: stack }],
    ['render from a pipe', ['render', `<(cat ${join(dir, 'stack.json')})`], STACK_ERROR],
    ['render from -', ['render', '-'], STACK_ERROR, { stdin: stack }],
    ['a Packer template from a pipe', ['validate', `<(cat ${join(dir, 'packer.json')})`], /Template validated successfully/],
    ['a Packer template on -', ['validate', '-'], /Template validated successfully/, { stdin: packer }],
    ['inspect of a Packer template from a pipe', ['inspect', `<(cat ${join(dir, 'packer.json')})`], /docker/],
  ])('%s', async (_what, argv, expected, o) => {
    const r = await kiln(argv, { shell: true, cwd: dir, timeoutMs: 20_000, ...(o?.stdin !== undefined ? { stdin: o.stdin } : {}) });
    expect(r.timedOut).toBe(false);
    expect(r.stderr + r.stdout).toMatch(expected);
    expect(crashed(r)).toBe(false);
  });

  it('a FIFO is read once, when its writer writes', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('bash', ['-c', `cat ${join(dir, 'stack.json')} > ${fifo}`]);
    const r = await kiln(['validate', fifo], { timeoutMs: 20_000 });
    writer.kill();
    expect(r.timedOut).toBe(false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(STACK_ERROR);
  });

  it('a FIFO nobody writes to is an error after the wait, and a second reader gets it at once', async () => {
    const fifo = join(dir, 'fifo-alone');
    execFileSync('mkfifo', [fifo]);
    const o = { maxBytes: 1024, what: 'template', fifoWaitMs: 300 };
    await expect(readInput(fifo, o)).rejects.toThrow(/it is a FIFO and nothing was written to it/);
    const again = Promise.race([
      readInput(fifo, o).then(
        () => 'read',
        () => 'refused',
      ),
      new Promise((res) => setTimeout(() => res('waited'), 200)),
    ]);
    expect(await again).toBe('refused');
  });

  it('a FIFO whose writer sends too much is refused once, at the limit', async () => {
    const fifo = join(dir, 'fifo-big');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('bash', ['-c', `head -c 200000 /dev/zero | tr '\\0' x > ${fifo}`]);
    const o = { maxBytes: 64 * 1024, what: 'template', fifoWaitMs: 10_000 };
    await expect(readInput(fifo, o)).rejects.toThrow(/larger than 65,536 bytes/);
    await expect(readInput(fifo, o)).rejects.toThrow(/larger than 65,536 bytes/);
    writer.kill();
  });
});

describe('input that is too big or not text stops early', () => {
  it.each<[string, string[], RegExp]>([
    ['/dev/zero', ['validate', '/dev/zero'], /cannot read template: it is binary \(a NUL byte at offset 0\)/],
    ['/dev/urandom', ['validate', '/dev/urandom'], /cannot read template: it is (binary \(a NUL byte at offset \d+\)|not UTF-8 text)/],
    ['/dev/zero to render', ['render', '/dev/zero'], /cannot read template: it is binary/],
    ['/dev/zero to plan', ['plan', '/dev/zero', '--stack', 'hostile-input'], /cannot read template: it is binary/],
    ['/dev/zero as a Packer template to build', ['build', '/dev/zero'], /it is binary/],
    ['/dev/zero as a var file', ['validate', '-var-file', '/dev/zero', join(dir, 'packer.json')], /it is binary/],
    ['a 6 MiB template', ['validate', join(dir, 'big.json')], /it is larger than 4 MiB, the most kiln reads for a template; reading stopped there/],
    ['a 14 MiB template (once 55 s and 3 GB)', ['validate', join(dir, 'big14.json')], /it is larger than 4 MiB, the most kiln reads for a template; reading stopped there/],
    ['a 14 MiB template to plan', ['plan', join(dir, 'big14.json'), '--stack', 'hostile-input'], /it is larger than 4 MiB/],
    ['an endless stream of text', ['validate', '<(yes "# comment")'], /it is larger than 4 MiB/],
    ['a template that is not UTF-8', ['validate', join(dir, 'latin1.yaml')], /it is not UTF-8 text/],
    ['a template with a NUL byte', ['validate', join(dir, 'nul.json')], /it is binary \(a NUL byte at offset 15\)/],
    ['a missing template', ['validate', join(dir, 'nope.json')], /no such file/],
  ])('%s: a clear error, exit 1, within the read limit', async (_what, argv, expected) => {
    const r = await kiln(argv, { shell: true, cwd: dir, timeoutMs: 20_000, maxOldSpaceMb: 256, env: { KILN_PROVIDER: 'fake', KILN_HOME: dir } });
    expect(r.timedOut).toBe(false);
    expect(r.signal).toBe(null);
    expect(r.stderr).toMatch(expected);
    expect(r.code).toBe(1);
    expect(crashed(r)).toBe(false);
  });

  it('a kiln.yaml that is binary is refused with its name', async () => {
    const p = join(dir, 'pipe');
    mkdirSync(p, { recursive: true });
    writeFileSync(join(p, 'kiln.yaml'), Buffer.alloc(4096));
    const r = await kiln(['up', p], { timeoutMs: 20_000, env: { KILN_PROVIDER: 'fake', KILN_HOME: dir } });
    expect(r.stderr).toMatch(/kiln\.yaml: it is binary/);
    expect(r.code).toBe(2);
    expect(crashed(r)).toBe(false);
  });
});
