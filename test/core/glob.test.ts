// File name patterns as `kiln validate` expands them (src/core/glob.ts), on a real directory tree.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandBraces, expandGlob, hasGlob } from '../../src/core/glob.js';

const root = mkdtempSync(join(tmpdir(), 'kiln-glob-'));
for (const f of ['a.yaml', 'b.yml', 'c.json', '.hidden.yaml', 'x/d.yaml', 'x/y/e.yaml', 'x/y/f.json', '.git/g.yaml', 'z[1]/h.yaml']) {
  mkdirSync(join(root, f, '..'), { recursive: true });
  writeFileSync(join(root, f), '');
}
mkdirSync(join(root, 'dir.yaml'));
symlinkSync(join(root, 'x'), join(root, 'x', 'y', 'loop'));

describe('glob patterns', () => {
  it.each([
    ['*.yaml', ['a.yaml']],
    ['*.{yaml,yml}', ['a.yaml', 'b.yml']],
    ['?.json', ['c.json']],
    ['[ab].*', ['a.yaml', 'b.yml']],
    ['[!a].*', ['b.yml', 'c.json']],
    ['**/*.yaml', ['a.yaml', 'x/d.yaml', 'x/y/e.yaml', 'z[1]/h.yaml']],
    ['x/**/*.json', ['x/y/f.json']],
    ['x/**', ['x/d.yaml', 'x/y/e.yaml', 'x/y/f.json']],
    ['.*.yaml', ['.hidden.yaml']],
    ['./x/*.yaml', ['./x/d.yaml']],
    ['z\\[1\\]/*.yaml', ['z[1]/h.yaml']],
    ['nothing/*.yaml', []],
  ])('%s matches %j (files only, sorted, no dot entries unless asked, no symlink loops)', (pattern, expected) => {
    expect(expandGlob(pattern, root)).toEqual(expected);
  });

  it('keeps an absolute pattern absolute', () => {
    expect(expandGlob(`${root}/x/*.yaml`, '/')).toEqual([`${root}/x/d.yaml`]);
  });

  it('expands nested braces and leaves a lone or unbalanced brace as written', () => {
    expect(expandBraces('a{b,c{d,e}}f')).toEqual(['abf', 'acdf', 'acef']);
    expect(expandBraces('a{b}c')).toEqual(['a{b}c']);
    expect(expandBraces('a{b,c')).toEqual(['a{b,c']);
  });

  it('tells a pattern from a plain name', () => {
    expect(hasGlob('templates/**/*.yaml')).toBe(true);
    expect(hasGlob('templates/vpc.yaml')).toBe(false);
  });
});
