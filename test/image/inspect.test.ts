// `kiln inspect` prints what `packer inspect` (1.6.6) prints — outputs recorded from the real binary
// in fixtures/inspect/*.packer*.txt — plus kiln's post-processor section.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { command as inspect } from '../../src/cli/commands/inspect.js';
import { memoryIO } from '../../src/cli/io.js';
import { inspectMachine, inspectText } from '../../src/image/inspect.js';
import { parsePackerTemplate } from '../../src/image/template.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/inspect');
const load = (name: string) => {
  const r = parsePackerTemplate(readFileSync(join(dir, `${name}.json`), 'utf8'), `${name}.json`, dir);
  expect(r.diagnostics).toEqual([]);
  return r.template!;
};
/** kiln's addition removed, to compare with Packer byte for byte. */
const withoutPostProcessors = (s: string) => s.replace(/\nPost-processors:\n\n(  .*\n)+/, '');

describe('kiln inspect', () => {
  for (const name of ['seed', 'monolithic', 'unset_var']) {
    it(`${name}: text output equals packer inspect (apart from the post-processor section)`, () => {
      const t = load(name);
      expect(withoutPostProcessors(inspectText(t))).toBe(readFileSync(join(dir, `${name}.packer.txt`), 'utf8'));
    });
    it(`${name}: machine-readable records equal packer's (timestamps aside)`, () => {
      const ours = inspectMachine(load(name), 1)
        .split('\n')
        .filter((l) => l && !l.includes('template-post-processor'))
        .map((l) => l.slice(l.indexOf(',') + 1));
      const theirs = readFileSync(join(dir, `${name}.packer-machine.txt`), 'utf8')
        .split('\n')
        .filter(Boolean);
      // drop kiln's post-processor say lines
      const ppStart = ours.findIndex((l) => l === ',ui,say,Post-processors:\\n');
      const trimmed = ppStart < 0 ? ours : [...ours.slice(0, ppStart - 1), ...ours.slice(ours.findIndex((l) => l.startsWith(',ui,say,\\nNote:')))];
      expect(trimmed).toEqual(theirs);
    });
  }

  it('masks sensitive defaults and lists post-processor chains', async () => {
    const io = memoryIO({ cwd: dir });
    expect(await inspect.run(['seed.json'], io)).toBe(0);
    expect(io.stdout).toContain('aws_secret_key = <sensitive>');
    expect(io.stdout).toContain('Post-processors:\n\n  1: docker-tag -> manifest\n');
    const mr = memoryIO({ cwd: dir });
    expect(await inspect.run(['-machine-readable', 'monolithic.json'], mr)).toBe(0);
    expect(mr.stdout).toMatch(/^\d+,,template-variable,one,<sensitive>,0$/m);
    expect(mr.stdout).toMatch(/^\d+,,template-variable,three,,1$/m);
    expect(mr.stdout).not.toMatch(/template-variable,one,1,/);
  });

  it('reports a broken template with its position and exits 1', async () => {
    const io = memoryIO({ cwd: join(dir, '../templates') });
    expect(await inspect.run(['syntax-trail.json'], io)).toBe(1);
    expect(io.stderr).toContain('syntax-trail.json:1:31: error[PACKER_SYNTAX]');
    expect(io.stderr).toContain('line 1, column 31 (offset 31)');
  });
});
