// kiln validate agrees with real Packer 1.6.6's verdict on every template of the Packer corpus
// (../shared/corpus/packer/fixtures) and on kiln's own templates (fixtures/templates: config errors,
// functions, variables, syntax errors; ids prefixed `kiln:`). Packer's verdicts were recorded by scripts/packer-verdicts.sh
// into fixtures/packer-verdicts.json, so this test does not need the packer binary.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { runImageValidate } from '../../src/cli/commands/validate-image.js';
import { KilnError } from '../../src/core/errors.js';
import { shared } from '../shared.js';

const here = dirname(fileURLToPath(import.meta.url));
const corpus = shared('corpus/packer/fixtures');

interface Case {
  id: string;
  root: 'corpus' | 'kiln';
  file: string;
  args: string[];
  env: Record<string, string>;
  exitCode: number;
  stdout: string;
  stderr: string;
}
const verdicts = JSON.parse(readFileSync(join(here, 'fixtures/packer-verdicts.json'), 'utf8')) as { packer: string; cases: Case[] };
const listed = JSON.parse(readFileSync(join(here, 'fixtures/corpus-differences.json'), 'utf8')) as { differences: Record<string, string>; messageDifferences: Record<string, string> };
const differences = listed.differences;

const HEADER = [
  /error(\(s\)|s)? (occurred|decoding):$/,
  /^Error:?$/,
  /^(\d+ )?errors? occurred:?$/,
  /^\d+ error\(s\) (occurred|decoding):?$/,
  /^Failed to (prepare|initialize) build:? "[^"]*"$/,
  /^At line \d+/,
  /^\d+: /,
  /^\^$/,
  /^Warning/,
];

/** Packer's first specific reason (headers dropped, word-wrapped lines joined). */
function packerReason(c: Case): string {
  const text = (c.stdout + c.stderr).replace(/\n(?=[^\n*\t ])/g, '\n');
  const lines = text
    .split('\n')
    .map((l) =>
      l
        .replace(/^\s*\*\s*/, '')
        .trim()
        .replace(/^Error: /, '')
        .replace(/^Failed to parse template: /, ''),
    )
    .filter((l) => l && !HEADER.some((h) => h.test(l)));
  return lines[0] ?? '';
}

async function kiln(c: Case): Promise<{ code: number; out: string }> {
  const cwd = c.root === 'kiln' ? join(here, 'fixtures/templates') : join(corpus, dirname(c.file));
  const io = memoryIO({ cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...c.env } });
  let code: number;
  try {
    code = await runImageValidate([...c.args, c.file.split('/').pop()!], io);
  } catch (e) {
    if (!KilnError.is(e)) throw e;
    io.err(e.message + '\n');
    code = e.exitCode;
  }
  return { code, out: io.stdout + io.stderr };
}

describe(`kiln validate agrees with ${verdicts.packer} on the corpus and on kiln's own templates`, () => {
  it('has recorded verdicts for the whole corpus', () => {
    expect(verdicts.cases.length).toBeGreaterThan(100);
  });
  for (const c of verdicts.cases) {
    const diff = differences[c.id];
    it(`${c.id} → ${c.exitCode === 0 ? 'valid' : 'invalid'}${diff ? ' (deliberate difference)' : ''}`, async () => {
      const k = await kiln(c);
      const agree = (k.code === 0) === (c.exitCode === 0);
      if (diff) {
        expect(agree, `listed as a deliberate difference but kiln agrees now: ${diff}`).toBe(false);
        return;
      }
      expect(k.code === 0 ? 'valid' : 'invalid', k.out).toBe(c.exitCode === 0 ? 'valid' : 'invalid');
      if (c.exitCode !== 0 && !listed.messageDifferences[c.id]) {
        // Packer's first specific reason is in kiln's output too (kiln adds positions around it).
        const flat = (s: string) => s.replace(/\s+/g, ' ');
        const reason = flat(packerReason(c)).replace(/ in:$/, '');
        expect(flat(k.out), `Packer said: ${reason}`).toContain(reason.length > 120 ? reason.slice(0, 120) : reason);
        const pos = /line \d+, column \d+ \(offset \d+\)/.exec(c.stdout + c.stderr);
        if (pos) expect(k.out).toContain(pos[0]);
      }
    });
  }
});
