// Pieces of the communicator and builder that need no engine: the tar codec, run_command parsing,
// Packer's env var flattening, and the step runner's cleanup order.
import { describe, it, expect } from 'vitest';
import { packTar, unpackTar } from '../../src/image/builders/tar.js';
import { parseRunCommand } from '../../src/image/builders/run-command.js';
import { flattenEnvVars, goDuration } from '../../src/image/provisioners/context.js';
import { runSteps } from '../../src/image/runner.js';
import { LineSplitter } from '../../src/image/communicator.js';
import type { PreparedBuild } from '../../src/image/types.js';

describe('tar', () => {
  it('round-trips files, directories, symlinks and long names', () => {
    const long = 'd/' + 'x'.repeat(150) + '.txt';
    const entries = unpackTar(
      packTar([
        { name: 'd', type: 'dir', mode: 0o755 },
        { name: 'd/a.txt', type: 'file', mode: 0o640, data: Buffer.from('hello') },
        { name: 'd/link', type: 'symlink', mode: 0o777, linkname: 'a.txt' },
        { name: long, type: 'file', mode: 0o644, data: Buffer.alloc(1000, 1) },
      ]),
    );
    expect(entries.map((e) => [e.name, e.type, e.mode])).toEqual([
      ['d', 'dir', 0o755],
      ['d/a.txt', 'file', 0o640],
      ['d/link', 'symlink', 0o777],
      [long, 'file', 0o644],
    ]);
    expect(entries[1]!.data!.toString()).toBe('hello');
    expect(entries[2]!.linkname).toBe('a.txt');
    expect(entries[3]!.data!.length).toBe(1000);
  });
});

describe('run_command', () => {
  it("reads Packer's default", () => {
    const s = parseRunCommand(['-d', '-i', '-t', '--entrypoint=/bin/sh', '--', 'busybox:latest']);
    expect(s).toMatchObject({ image: 'busybox:latest', entrypoint: ['/bin/sh'], tty: true, openStdin: true, cmd: [] });
  });
  it('reads grouped flags, values and a command', () => {
    const s = parseRunCommand(['-dit', '-e', 'A=1', '--user=nobody', '-v', '/h:/c', '--privileged', 'img', 'sleep', '9']);
    expect(s).toMatchObject({ image: 'img', cmd: ['sleep', '9'], env: ['A=1'], user: 'nobody', binds: ['/h:/c'], privileged: true });
  });
  it('refuses flags it cannot honour, by name', () => {
    expect(() => parseRunCommand(['--gpus=all', 'img'])).toThrow(/the docker run flag --gpus=all is not supported/);
    expect(() => parseRunCommand(['-d'])).toThrow(/no image/);
  });
});

describe("Packer's env vars", () => {
  const b = { name: 'web', type: 'docker' } as PreparedBuild;
  it('are sorted, always carry the build name and type, and escape single quotes', () => {
    const { flat } = flattenEnvVars(b, ["Z=it's", 'A=1'], "%s='%s' ");
    expect(flat).toBe(`A='1' PACKER_BUILDER_TYPE='docker' PACKER_BUILD_NAME='web' Z='it'"'"'s' `);
  });
  it('print Go durations', () => {
    expect([goDuration(1000), goDuration(90_000), goDuration(250), goDuration(1500)]).toEqual(['1s', '1m30s', '250ms', '1.5s']);
  });
});

describe('the step runner', () => {
  it('cleans up every started step in reverse order, also on failure', async () => {
    const log: string[] = [];
    const step = (name: string, fail = false) => ({
      name,
      run: async () => {
        log.push(`run ${name}`);
        if (fail) throw new Error(`${name} failed`);
      },
      cleanup: async () => void log.push(`cleanup ${name}`),
    });
    await expect(runSteps([step('a'), step('b', true), step('c')], {}, { signal: new AbortController().signal, onError: 'cleanup' })).rejects.toThrow('b failed');
    expect(log).toEqual(['run a', 'run b', 'cleanup b', 'cleanup a']);
  });
  it('skips every cleanup with onError=abort and says which', async () => {
    const skipped: string[] = [];
    const cleaned: string[] = [];
    const steps = ['a', 'b'].map((n, i) => ({
      name: n,
      run: async () => {
        if (i === 1) throw new Error('x');
      },
      cleanup: async () => void cleaned.push(n),
    }));
    await expect(runSteps(steps, {}, { signal: new AbortController().signal, onError: 'abort', hooks: { onAbortSkip: (s) => skipped.push(s) } })).rejects.toThrow('x');
    expect(cleaned).toEqual([]);
    expect(skipped).toEqual(['b', 'a']);
  });
  it('stops before the next step when cancelled, and still cleans up', async () => {
    const ac = new AbortController();
    const log: string[] = [];
    const steps = [
      {
        name: 'a',
        run: async () => {
          log.push('a');
          ac.abort(new Error('ctrl-c'));
        },
        cleanup: async () => void log.push('cleanup a'),
      },
      { name: 'b', run: async () => void log.push('b') },
    ];
    await expect(runSteps(steps, {}, { signal: ac.signal, onError: 'cleanup' })).rejects.toThrow('ctrl-c');
    expect(log).toEqual(['a', 'cleanup a']);
  });
});

describe('line splitting', () => {
  it('joins chunks into lines and flushes the rest', () => {
    const lines: string[] = [];
    const s = new LineSplitter((l) => lines.push(l));
    s.push('ab');
    s.push('c\r\nde\nf');
    s.end();
    expect(lines).toEqual(['abc', 'de', 'f']);
  });
});
