// Packer's own parse fixtures (packer-plugin-sdk/template/test-fixtures, expectations from
// parse_test.go as summarised in the corpus README): which parse, which fail, what they hold, and
// that every successful parse round-trips through templateToJson.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePackerTemplate, templateToJson } from '../../src/image/template.js';
import type { ParsedTemplate } from '../../src/image/types.js';
import { shared } from '../shared.js';

const dir = shared('corpus/packer/fixtures/packer-plugin-sdk/template/test-fixtures');
const parse = (name: string) => parsePackerTemplate(readFileSync(join(dir, `${name}.json`), 'utf8'), `${name}.json`, dir);

const OK = [
  'parse-basic',
  'parse-basic-config',
  'parse-provisioner-basic',
  'parse-provisioner-config',
  'parse-provisioner-pause-before',
  'parse-provisioner-retry',
  'parse-provisioner-timeout',
  'parse-provisioner-only',
  'parse-provisioner-except',
  'parse-provisioner-override',
  'parse-variable-default',
  'parse-variable-required',
  'parse-pp-basic',
  'parse-pp-keep',
  'parse-pp-only',
  'parse-pp-except',
  'parse-pp-string',
  'parse-pp-map',
  'parse-pp-slice',
  'parse-pp-multi',
  'parse-description',
  'parse-min-version',
  'parse-comment',
  'parse-monolithic',
  'parse-contents',
];
const FAIL: Record<string, string> = {
  'parse-builder-no-type': "builder 1: missing 'type'",
  'parse-builder-repeat': "builder 2: builder with name 'something' already exists",
  'parse-provisioner-no-type': "provisioner 1: Provisioner missing 'type'",
  'parse-pp-no-type': 'post-processor 1.1: type is required',
  'error-beginning': 'line 1, column 1 (offset 1)',
  'error-middle': 'line 5, column 6 (offset 50)',
  'error-end': 'line 1, column 30 (offset 30)',
  malformed: 'line 16, column 3 (offset 433)',
  'error-duplicate-variables': 'template has duplicate field: variables',
  'error-duplicate-config': 'template has duplicate field: foo',
};

/** The parts of a parsed template that round-trip (positions and the source document aside). */
const shape = (t: ParsedTemplate) => ({
  ...t,
  doc: undefined,
  file: undefined,
  variables: Object.fromEntries(Object.entries(t.variables).map(([k, v]) => [k, { default: v.default, required: v.required }])),
  builders: t.builders.map(({ path: _p, ...b }) => b),
  provisioners: t.provisioners.map(({ path: _p, ...p }) => p),
  postProcessors: t.postProcessors.map((ch) => ch.map(({ path: _p, ...p }) => p)),
  errorCleanupProvisioner: undefined,
});

describe("Packer's parse fixtures", () => {
  it.each(OK)('%s parses and round-trips', (name) => {
    const r = parse(name);
    expect(r.diagnostics).toEqual([]);
    const again = parsePackerTemplate(templateToJson(r.template!), `${name}.json`, dir);
    expect(again.diagnostics).toEqual([]);
    expect(shape(again.template!)).toEqual(shape(r.template!));
  });
  it.each(Object.entries(FAIL))('%s fails: %s', (name, msg) => {
    const r = parse(name);
    expect(r.template).toBeUndefined();
    expect(r.diagnostics.map((d) => d.message).join('\n')).toContain(msg);
    expect(r.diagnostics[0]!.range).toBeDefined();
  });
  it('holds what parse_test.go expects', () => {
    expect(parse('parse-provisioner-retry').template!.provisioners[0]!.maxRetries).toBe(5);
    expect(parse('parse-provisioner-timeout').template!.provisioners[0]!.timeout).toBe('5m');
    expect(parse('parse-provisioner-pause-before').template!.provisioners[0]!.pauseBefore).toBe('1s');
    expect(parse('parse-variable-required').template!.variables['foo']).toMatchObject({ required: true, default: null });
    expect(parse('parse-pp-keep').template!.postProcessors[0]![0]!.keepInputArtifact).toBe(true);
    expect(parse('parse-pp-multi').template!.postProcessors.map((ch) => ch.map((p) => p.type))).toEqual([['foo', 'bar']]);
    expect(parse('parse-pp-slice').template!.postProcessors.map((ch) => ch.map((p) => p.type))).toEqual([['foo'], ['bar']]);
    expect(parse('parse-comment').template!.comments).toEqual({ _info: 'foo' });
    const m = parse('parse-monolithic').template!;
    expect([m.description, m.minPackerVersion, m.sensitiveVariables, m.builders.map((b) => b.name), m.push]).toEqual([
      'Description Test',
      '1.3.0',
      ['one'],
      ['amazon-ebs', 'docker'],
      { name: 'push test' },
    ]);
  });
});
