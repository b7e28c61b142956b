// Parsing Packer JSON templates: one test per parse rule of reference §1, with the position of the
// problem (file:line:col) and Packer's wording.
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { goJsonSyntaxError, parseGoDuration, parsePackerTemplate, weakBool } from '../../src/image/template.js';

const parse = (text: string) => parsePackerTemplate(text, 't.json', '/tpl');
const errors = (text: string) => parse(text).diagnostics.map((d) => formatDiagnostic(d));

describe('JSON syntax errors read like Packer, with the position', () => {
  const cases: Array<[string, string, string, string]> = [
    ['*"builders": [ { "type":"test", }]}', "invalid character '*' looking for beginning of value", 'line 1, column 1 (offset 1)', 't.json:1:1'],
    ['{\n  "builders": [\n    {\n      "type":"test",\n    }\n  ]\n}\n', "invalid character '}' looking for beginning of object key string", 'line 5, column 6 (offset 50)', 't.json:5:5'],
    ['{"builders":[{"type":"test"}]*', "invalid character '*' after object key:value pair", 'line 1, column 30 (offset 30)', 't.json:1:30'],
    ['', 'unexpected end of JSON input', 'line 1, column 0 (offset 0)', 't.json:1:1'],
    ['{"builders": [', 'unexpected end of JSON input', 'line 1, column 14 (offset 14)', 't.json:1:15'],
    ['{"builders": "x\n"}', "invalid character '\\n' in string literal", 'line 2, column 1 (offset 16)', 't.json:1:16'],
    ['{"a": tru}', "invalid character '}' in literal true (expecting 'e')", 'line 1, column 10 (offset 10)', 't.json:1:10'],
    ['{"a": 1.}', "invalid character '}' after decimal point in numeric literal", 'line 1, column 9 (offset 9)', 't.json:1:9'],
    ['{"a" 1}', "invalid character '1' after object key", 'line 1, column 6 (offset 6)', 't.json:1:6'],
    ['[1 2]', "invalid character '2' after array element", 'line 1, column 4 (offset 4)', 't.json:1:4'],
    ['{"a": "\\x"}', "invalid character 'x' in string escape code", 'line 1, column 9 (offset 9)', 't.json:1:9'],
  ];
  it.each(cases)('%j', (text, msg, packerPos, ours) => {
    const [d] = parse(text).diagnostics;
    expect(d!.code).toBe('PACKER_SYNTAX');
    expect(d!.message).toBe(`Failed to parse template: Error parsing JSON: ${msg} at ${packerPos}`);
    expect(formatDiagnostic(d!)).toMatch(new RegExp(`^${ours.replace(/\./g, '\\.')}: `));
    expect(d!.detail).toContain(`At ${packerPos.replace(/^l/, 'l')}`);
  });
  it('counts bytes, not characters, in offsets (as Go does)', () => {
    const e = goJsonSyntaxError('{\n  "description": "café €",\n  "builders": [}\n');
    expect(e).toEqual({ message: "invalid character '}' looking for beginning of value", offset: 48, eof: false });
  });
  it('accepts what Go accepts', () => {
    for (const ok of ['{}', ' [1, -0.5e+3, "\\u00e9", true, false, null] ', '"x"']) expect(goJsonSyntaxError(ok)).toBeUndefined();
  });
});

describe('parse rules', () => {
  it('reports duplicate fields at any depth, where they are', () => {
    expect(errors('{"variables": {}, "variables": {}}')).toEqual(['t.json:1:19: error[PACKER_PARSE]: Failed to parse template: template has duplicate field: variables (at variables)']);
    expect(errors('{"builders": [{"foo": 1,\n "foo": 2}]}')[0]).toContain('t.json:2:2: error[PACKER_PARSE]: Failed to parse template: template has duplicate field: foo (at builders[0].foo)');
  });
  it('rejects unknown root keys at the key, accepts _comments (strings only) and push', () => {
    expect(errors('{"bogus": 1, "builders": []}')).toEqual(["t.json:1:2: error[PACKER_PARSE]: Failed to parse template: Unknown root level key in template: 'bogus' (at bogus)"]);
    expect(errors('{"_c": 1}')[0]).toContain('Failed to cast root level comment value in comment "_c" to string.');
    const t = parse('{"_c": "hi", "push": {"name": "x"}, "description": "d", "min_packer_version": "1.2"}').template!;
    expect(t.comments).toEqual({ _c: 'hi' });
    expect(t.push).toEqual({ name: 'x' });
    expect(t.description).toBe('d');
    expect(t.minPackerVersion).toBe('1.2');
  });
  it('checks the Go types of root keys', () => {
    expect(errors('{"provisioners": "x"}')[0]).toContain("'Provisioners': source data must be an array or slice, got string");
    expect(errors('{"description": 5}')[0]).toContain("'description' expected type 'string', got unconvertible type 'float64'");
    expect(errors('[]')[0]).toContain("expected a map, got 'slice'");
  });
  it('variables: strings are defaults, null is required, anything else is an error', () => {
    const t = parse('{"variables": {"a": "x", "b": null}, "sensitive-variables": ["a"]}').template!;
    expect(t.variables).toEqual({ a: { default: 'x', required: false, path: ['variables', 'a'] }, b: { default: null, required: true, path: ['variables', 'b'] } });
    expect(t.sensitiveVariables).toEqual(['a']);
    expect(errors('{"variables": {"n": 5}}')).toEqual([
      "t.json:1:21: error[PACKER_PARSE]: Failed to parse template: variable n: '' expected type 'string', got unconvertible type 'float64', value: '5' (at variables.n)",
    ]);
  });
  it('builders: type required, name defaults to type, names unique', () => {
    expect(errors('{"builders": [{"foo": "x"}]}')[0]).toContain("builder 1: missing 'type' (at builders[0])");
    expect(errors('{"builders": [{"type": "a"}, {"type": "a"}]}')[0]).toContain("t.json:1:30: error[PACKER_PARSE]: Failed to parse template: builder 2: builder with name 'a' already exists");
    const t = parse('{"builders": [{"type": "docker", "image": "x"}, {"type": "docker", "name": "two"}]}').template!;
    expect(t.builders.map((b) => [b.name, b.type, b.config])).toEqual([
      ['docker', 'docker', { image: 'x' }],
      ['two', 'docker', {}],
    ]);
  });
  it('provisioners: type required; meta keys split off; durations checked', () => {
    expect(errors('{"provisioners": [{"foo": 1}]}')[0]).toContain("provisioner 1: Provisioner missing 'type'");
    const p = parse('{"provisioners": [{"type": "shell", "inline": ["a"], "only": ["x"], "override": {"x": {"inline": ["b"]}}, "pause_before": "1s", "max_retries": 3, "timeout": "5m"}]}').template!
      .provisioners[0]!;
    expect(p).toEqual({ type: 'shell', config: { inline: ['a'] }, only: ['x'], override: { x: { inline: ['b'] } }, pauseBefore: '1s', maxRetries: 3, timeout: '5m', path: ['provisioners', 0] });
    expect(errors('{"provisioners": [{"type": "shell", "pause_before": "zz", "timeout": "1q"}]}')[0]).toContain(
      `provisioner 1: Error decoding provisioner: error decoding 'pause_before': time: invalid duration "zz"; error decoding 'timeout': time: unknown unit "q" in duration "1q"`,
    );
  });
  it('post-processors: string, object and sequence chains; nested sequences rejected', () => {
    const t = parse('{"post-processors": ["a", {"type": "b", "name": "bee", "keep_input_artifact": true, "only": "x"}, [{"type": "c"}, "d"]]}').template!;
    expect(t.postProcessors.map((ch) => ch.map((p) => `${p.name}:${p.type}`))).toEqual([['a:a'], ['bee:b'], ['c:c', 'd:d']]);
    expect(t.postProcessors[1]![0]).toMatchObject({ keepInputArtifact: true, only: ['x'], config: {} });
    expect(errors('{"post-processors": [[["a"]]]}')[0]).toContain('post-processor 1.1: sequence not allowed to be nested in a sequence (at post-processors[0][0])');
    expect(errors('{"post-processors": [{"keep_input_artifact": true}]}')[0]).toContain('post-processor 1.1: type is required');
    // keep_input_artifact is decoded strictly (no weak typing), as the binary does
    expect(errors('{"post-processors": [{"type": "manifest", "keep_input_artifact": "true"}]}')[0]).toContain(
      "post-processor 1.1: 'keep_input_artifact' expected type 'bool', got unconvertible type 'string', value: 'true'",
    );
  });
  it('keeps error-cleanup-provisioner', () => {
    expect(parse('{"error-cleanup-provisioner": {"type": "shell-local", "inline": ["x"]}}').template!.errorCleanupProvisioner).toEqual({
      type: 'shell-local',
      config: { inline: ['x'] },
      path: ['error-cleanup-provisioner'],
    });
  });
});

describe('helpers', () => {
  it('parses Go durations', () => {
    expect(parseGoDuration('1h2m3.5s')).toBe(3723500);
    expect(parseGoDuration('300ms')).toBe(300);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('-1.5m')).toBe(-90000);
    expect(parseGoDuration('5')).toBe('time: missing unit in duration "5"');
    expect(parseGoDuration('')).toBe('time: invalid duration ""');
  });
  it('decodes booleans weakly, like mapstructure', () => {
    expect([true, 'true', '1', 'T', 1].map(weakBool)).toEqual([true, true, true, true, true]);
    expect([false, 'false', '0', '', 0].map(weakBool)).toEqual([false, false, false, false, false]);
    expect(weakBool('maybe')).toBeUndefined();
  });
});
