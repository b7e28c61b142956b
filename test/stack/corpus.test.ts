// The real cfn-lint fixture corpus (../shared/corpus/cloudformation/cfn-lint, beside the repository):
// good templates validate with no error (exceptions listed and justified in
// fixtures/corpus-verdicts.json), bad templates that are bad for template-level reasons are
// rejected with a position.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadTemplate } from '../../src/stack/load.js';
import { validateTemplate } from '../../src/stack/validate.js';
import { formatDiagnostic } from '../../src/core/diagnostics.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = join(repo, '..', 'shared', 'corpus', 'cloudformation', 'cfn-lint');
const verdicts = JSON.parse(readFileSync(join(repo, 'test', 'stack', 'fixtures', 'corpus-verdicts.json'), 'utf8')) as {
  goodExceptions: Record<string, { codes: string[]; why: string }>;
  badNotTemplateLevel: Record<string, string>;
};

const files = (dir: string): string[] =>
  readdirSync(dir)
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    })
    .sort();

function errorsOf(file: string) {
  const rel = relative(corpus, file);
  const doc = loadTemplate(readFileSync(file, 'utf8'), rel);
  return validateTemplate(doc).filter((d) => d.severity === 'error');
}

const good = files(join(corpus, 'good'));
const bad = files(join(corpus, 'bad'));

describe('cfn-lint corpus: good templates', () => {
  it('has the 98 good templates the README counts', () => {
    expect(good.length).toBe(98);
  });

  it.each(good.map((f) => [relative(corpus, f), f]))('%s validates with no error (or only its listed, justified ones)', (rel, file) => {
    const errors = errorsOf(file);
    const exception = verdicts.goodExceptions[rel];
    if (!exception) {
      expect(errors.map((d) => formatDiagnostic(d))).toEqual([]);
      return;
    }
    expect(exception.why.length).toBeGreaterThan(20);
    expect([...new Set(errors.map((d) => d.code))].sort()).toEqual([...exception.codes].sort());
  });
});

describe('cfn-lint corpus: bad templates', () => {
  it('has the 100 bad templates the README counts, and every listed file exists', () => {
    expect(bad.length).toBe(100);
    const rels = new Set(bad.map((f) => relative(corpus, f)));
    for (const f of Object.keys(verdicts.badNotTemplateLevel)) expect(rels.has(f), f).toBe(true);
  });

  const templateLevel = bad.filter((f) => {
    const rel = relative(corpus, f);
    return !(rel in verdicts.badNotTemplateLevel);
  });

  it('52 of them are bad for template-level reasons', () => {
    expect(templateLevel.length).toBe(52);
  });

  it.each(templateLevel.map((f) => [relative(corpus, f), f]))('%s is rejected, with a position', (rel, file) => {
    const errors = errorsOf(file);
    expect(errors.length, rel).toBeGreaterThan(0);
    for (const d of errors) {
      expect(d.range?.file).toBe(rel);
      expect(d.range!.start.line).toBeGreaterThanOrEqual(1);
      expect(d.range!.start.col).toBeGreaterThanOrEqual(1);
    }
  });
});
