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
import { evaluateTemplate } from '../../src/stack/evaluate.js';
import { shared } from '../shared.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus = shared('corpus', 'cloudformation', 'cfn-lint');
const verdicts = JSON.parse(readFileSync(join(repo, 'test', 'stack', 'fixtures', 'corpus-verdicts.json'), 'utf8')) as {
  goodExceptions: Record<string, { codes: string[]; why: string }>;
  evaluateExceptions: Record<string, { codes: string[]; why: string }>;
  badNotTemplateLevel: Record<string, string>;
};

const files = (dir: string): string[] =>
  readdirSync(dir)
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    })
    .sort();

/** The day the corpus is judged as of: date-dependent rules (Lambda runtimes, retired services) read it. */
const CORPUS_DAY = new Date('2026-11-25T12:00:00Z');
/** Codes that only a date makes errors; a good template with only these still evaluates. */
const DATED = new Set(['E2531', 'E2533', 'E3710']);

function errorsOf(file: string, base = corpus) {
  const rel = relative(base, file);
  const doc = loadTemplate(readFileSync(file, 'utf8'), rel);
  return validateTemplate(doc, { now: CORPUS_DAY }).filter((d) => d.severity === 'error');
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

/**
 * A value for each parameter without a Default that its constraints accept, or undefined when the
 * template has one this cannot make up (an AllowedPattern without AllowedValues).
 */
function sampleParams(value: unknown): Record<string, string> | undefined {
  const params = (value as { Parameters?: Record<string, Record<string, unknown>> }).Parameters ?? {};
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries(params)) {
    if (p.Default !== undefined) continue;
    const type = String(p.Type ?? 'String');
    if (Array.isArray(p.AllowedValues) && p.AllowedValues.length) out[name] = String(p.AllowedValues[0]);
    else if (p.AllowedPattern !== undefined) return undefined;
    else if (type === 'Number' || type === 'List<Number>') out[name] = String(p.MinValue ?? 1);
    else if (type.startsWith('AWS::SSM::')) return undefined;
    else if (/VPC::Id/.test(type)) out[name] = 'vpc-0123456789abcdef0';
    else if (/Subnet::Id/.test(type)) out[name] = 'subnet-0123456789abcdef0';
    else if (/SecurityGroup::Id/.test(type)) out[name] = 'sg-0123456789abcdef0';
    else if (/Image::Id/.test(type)) out[name] = 'ami-0123456789abcdef0';
    else out[name] = 'x'.repeat(Math.max(1, Number(p.MinLength ?? 1)));
  }
  return out;
}

describe('cfn-lint corpus: good templates evaluate as they validate', () => {
  // What validate accepts, render/plan/deploy must be able to evaluate: the two read intrinsics
  // separately, and a difference between them (say `${ Name }` with spaces) is a bug.
  const clean = good.filter((f) => (verdicts.goodExceptions[relative(corpus, f)]?.codes ?? []).every((c) => DATED.has(c)));
  it.each(clean.map((f) => [relative(corpus, f), f]))('%s', (rel, file) => {
    const doc = loadTemplate(readFileSync(file, 'utf8'), rel);
    const params = sampleParams(doc.value);
    if (!params) return;
    const { diagnostics } = evaluateTemplate(doc.value, { parameters: params, pseudo: { stackName: 'corpus' }, maskNoEcho: true });
    const errors = diagnostics.filter((d) => d.severity === 'error');
    const exception = verdicts.evaluateExceptions[rel];
    if (!exception) {
      expect(errors.map((d) => `${d.code} ${d.message} (at ${d.segments?.join('.') ?? ''})`)).toEqual([]);
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

describe('widdix production templates', () => {
  // Templates nobody here wrote, as users have them (../shared/corpus/cloudformation/widdix): all of
  // them are valid CloudFormation, so kiln validate must find no error in any.
  const widdix = shared('corpus', 'cloudformation', 'widdix', 'templates');
  const templates = files(widdix).filter((f) => /\.ya?ml$/.test(f));
  it('has the 65 templates its README counts', () => {
    expect(templates.length).toBe(65);
  });
  it.each(templates.map((f) => [relative(widdix, f), f]))('%s validates with no error', (_rel, file) => {
    expect(errorsOf(file, widdix).map((d) => formatDiagnostic(d))).toEqual([]);
  });
});
