// kiln validate on Packer 1.9.4's own HCL2 fixtures (../shared/corpus/packer-hcl2/fixtures, used as
// they are) agrees with real Packer 1.6.6's verdict, or the difference is listed with its reason in
// fixtures/hcl2-corpus-differences.json. Packer's verdicts were recorded by
// scripts/packer-hcl2-verdicts.sh into fixtures/packer-hcl2-verdicts.json (no packer binary needed).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { runImageValidate } from '../../src/cli/commands/validate-image.js';
import { KilnError } from '../../src/core/errors.js';
import { shared } from '../shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpus = shared('corpus/packer-hcl2/fixtures');

interface Case {
  id: string;
  file: string;
  args: string[];
  env: Record<string, string>;
  exitCode: number;
  stdout: string;
  stderr: string;
}
const verdicts = JSON.parse(readFileSync(join(here, 'fixtures/packer-hcl2-verdicts.json'), 'utf8')) as { packer: string; cases: Case[] };
const listed = JSON.parse(readFileSync(join(here, 'fixtures/hcl2-corpus-differences.json'), 'utf8')) as { differences: Record<string, string> };

export async function kilnValidate(c: Pick<Case, 'file' | 'args' | 'env'>): Promise<{ code: number; out: string }> {
  const dir = c.file.endsWith('/') ? join(corpus, c.file) : join(corpus, dirname(c.file));
  const target = c.file.endsWith('/') ? '.' : c.file.split('/').pop()!;
  const io = memoryIO({ cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...c.env } });
  let code: number;
  try {
    code = await runImageValidate([...c.args, target], io);
  } catch (e) {
    if (!KilnError.is(e)) throw e;
    io.err(e.message + '\n');
    code = e.exitCode;
  }
  return { code, out: io.stdout + io.stderr };
}

describe(`kiln validate agrees with ${verdicts.packer} on Packer's HCL2 fixtures, or the difference is listed`, () => {
  it('has recorded verdicts for every fixture file and folder', () => {
    expect(verdicts.cases.length).toBeGreaterThan(200);
  });
  for (const c of verdicts.cases) {
    const diff = listed.differences[c.id];
    it(`${c.id} → ${c.exitCode === 0 ? 'valid' : 'invalid'}${diff ? ' (listed difference)' : ''}`, async () => {
      const k = await kilnValidate(c);
      expect(k.out, 'never a stack trace').not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/);
      const agree = (k.code === 0) === (c.exitCode === 0);
      if (diff) {
        expect(agree, `listed as a difference but kiln agrees now: ${diff}\n${k.out}`).toBe(false);
        return;
      }
      expect(k.code === 0 ? 'valid' : 'invalid', k.out).toBe(c.exitCode === 0 ? 'valid' : 'invalid');
      // Every error kiln prints is located (file:line:col), except -var values given on the command line.
      for (const line of k.out.split('\n').filter((l) => l.includes(': error['))) expect(line, 'located').toMatch(/^[^:]+:\d+:\d+: error\[|^-var|^<input>: error\[HCL_VARIABLES\]/);
    });
  }
});
