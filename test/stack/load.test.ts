// Loading templates: JSON and YAML into plain data with a position for every node; every problem a
// diagnostic with a position, never an exception.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectFormat, loadTemplate, loadTemplateFile } from '../../src/stack/load.js';

const codes = (text: string, file = 't.yaml') => loadTemplate(text, file).diagnostics.map((d) => d.code);

describe('format detection', () => {
  it.each([
    ['{"Resources":{}}', 'json'],
    ['\n  \t{ "Resources": {} }', 'json'],
    ['\ufeff{"a":1}', 'json'],
    ['Resources: {}', 'yaml'],
    ['# comment\n{a: 1}', 'yaml'],
    ['', 'yaml'],
  ])('%j is %s', (text, fmt) => {
    expect(detectFormat(text)).toBe(fmt);
  });

  it('reads by content, not by the file name', () => {
    const doc = loadTemplate('{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}', 'template.yaml');
    expect(doc.format).toBe('json');
    expect(doc.value).toEqual({ Resources: { A: { Type: 'AWS::SNS::Topic' } } });
    const y = loadTemplate('Resources:\n  A:\n    Type: AWS::SNS::Topic\n', 'template.json');
    expect(y.format).toBe('yaml');
    expect(y.value).toEqual({ Resources: { A: { Type: 'AWS::SNS::Topic' } } });
  });
});

describe('JSON templates', () => {
  it('reports syntax errors with a position and no value', () => {
    const doc = loadTemplate('{\n  "Resources": {\n    "A": }\n}', 't.json');
    expect(doc.value).toBeUndefined();
    expect(doc.diagnostics).toHaveLength(1);
    expect(doc.diagnostics[0]!.code).toBe('JSON_SYNTAX');
    expect(doc.diagnostics[0]!.range?.start).toMatchObject({ line: 3, col: 10 });
  });

  it('reports duplicate keys', () => {
    const doc = loadTemplate('{"Resources": {"A": {"Type": "x"}, "A": {"Type": "y"}}}', 't.json');
    expect(doc.diagnostics.map((d) => d.code)).toEqual(['DUPLICATE_KEY']);
  });

  it('records positions of members and their keys', () => {
    const doc = loadTemplate('{\n  "Resources": {\n    "Web": {"Type": "AWS::EC2::Instance"}\n  }\n}', 't.json');
    expect(doc.positions.range(['Resources', 'Web', 'Type'])?.start).toMatchObject({ line: 3, col: 21 });
    expect(doc.positions.range(['Resources', 'Web'], { key: true })?.start).toMatchObject({ line: 3, col: 5 });
  });
});

describe('YAML short forms', () => {
  const value = (text: string) => {
    const doc = loadTemplate(text, 't.yaml');
    expect(doc.diagnostics).toEqual([]);
    return doc.value;
  };

  it.each([
    ['!Ref X', { Ref: 'X' }],
    ['!Condition C', { Condition: 'C' }],
    ['!Sub "${AWS::Region}-x"', { 'Fn::Sub': '${AWS::Region}-x' }],
    ['!Sub ["${A}", {A: b}]', { 'Fn::Sub': ['${A}', { A: 'b' }] }],
    ['!GetAtt Res.Attr', { 'Fn::GetAtt': ['Res', 'Attr'] }],
    ['!GetAtt Cache.RedisEndpoint.Address', { 'Fn::GetAtt': ['Cache', 'RedisEndpoint.Address'] }],
    ['!GetAtt [Res, Attr]', { 'Fn::GetAtt': ['Res', 'Attr'] }],
    ['!GetAtt NoDot', { 'Fn::GetAtt': ['NoDot'] }],
    ['!Join [",", [!Ref X, b]]', { 'Fn::Join': [',', [{ Ref: 'X' }, 'b']] }],
    ['!Select [0, !GetAZs ""]', { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] }],
    ['!Split [",", "a,b"]', { 'Fn::Split': [',', 'a,b'] }],
    ['!FindInMap [M, K1, K2]', { 'Fn::FindInMap': ['M', 'K1', 'K2'] }],
    ['!Base64 text', { 'Fn::Base64': 'text' }],
    ['!Cidr [10.0.0.0/16, 4, 8]', { 'Fn::Cidr': ['10.0.0.0/16', 4, 8] }],
    ['!GetAZs us-east-1', { 'Fn::GetAZs': 'us-east-1' }],
    ['!ImportValue Shared', { 'Fn::ImportValue': 'Shared' }],
    ['!If [C, a, !Ref "AWS::NoValue"]', { 'Fn::If': ['C', 'a', { Ref: 'AWS::NoValue' }] }],
    ['!Equals [a, b]', { 'Fn::Equals': ['a', 'b'] }],
    ['!And [!Condition A, !Condition B]', { 'Fn::And': [{ Condition: 'A' }, { Condition: 'B' }] }],
    ['!Or [!Condition A, !Condition B]', { 'Fn::Or': [{ Condition: 'A' }, { Condition: 'B' }] }],
    ['!Not [!Condition A]', { 'Fn::Not': [{ Condition: 'A' }] }],
    ['!Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}', { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://b/k' } } }],
    ['!GetStackOutput {StackName: net, OutputName: VpcId}', { 'Fn::GetStackOutput': { StackName: 'net', OutputName: 'VpcId' } }],
    ['!Contains [[a, b], a]', { 'Fn::Contains': [['a', 'b'], 'a'] }],
    ['!Ref\n  - a', { Ref: ['a'] }],
  ])('v: %s', (src, expected) => {
    expect(value(`v: ${src}\n`)).toEqual({ v: expected });
  });

  it('points a GetAtt diagnostic position at the tag and splits the dotted form into positioned parts', () => {
    const doc = loadTemplate('Resources:\n  A:\n    P: !GetAtt Res.Attr.X\n', 't.yaml');
    expect(doc.positions.range(['Resources', 'A', 'P'])?.start).toMatchObject({ line: 3, col: 8 });
    expect(doc.positions.range(['Resources', 'A', 'P', 'Fn::GetAtt', 0])?.start).toMatchObject({ line: 3, col: 16 });
    expect(doc.positions.range(['Resources', 'A', 'P', 'Fn::GetAtt', 1])?.start).toMatchObject({ line: 3, col: 20 });
    expect(doc.positions.range(['Resources', 'A', 'P'], { key: true })?.start).toMatchObject({ line: 3, col: 5 });
  });

  it('rejects two short forms stacked on one node', () => {
    expect(codes('v: !GetAZs !Ref R\n')).toContain('YAML_SYNTAX');
  });

  it('rejects unknown tags (yaml only warns) with their position', () => {
    const doc = loadTemplate('a: 1\nv: !Foo x\n', 't.yaml');
    expect(doc.diagnostics.map((d) => [d.code, d.range?.start.line])).toEqual([['YAML_UNKNOWN_TAG', 2]]);
  });

  it.each(['!!binary aGVsbG8=', '!!timestamp 2001-12-14', '!!set {a: null}', '!!omap [{a: 1}]'])('rejects the %s tag CloudFormation does not support', (src) => {
    expect(codes(`v: ${src}\n`)).toContain('YAML_UNKNOWN_TAG');
  });
});

describe('YAML features CloudFormation does not have', () => {
  it('rejects anchors, aliases and merge keys with positions, and does not expand them', () => {
    const doc = loadTemplate('a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n', 't.yaml');
    expect(doc.diagnostics.map((d) => [d.code, d.range?.start.line])).toEqual([
      ['YAML_ANCHOR', 1],
      ['YAML_ALIAS', 2],
      ['YAML_MERGE_KEY', 4],
    ]);
    expect((doc.value as Record<string, unknown>).b).toBeNull();
  });

  it('does not blow up on an alias bomb', () => {
    let text = 'a0: &a0 [x, x, x, x, x, x, x, x, x]\n';
    for (let i = 1; i < 30; i++)
      text += `a${i}: &a${i} [${Array(9)
        .fill(`*a${i - 1}`)
        .join(', ')}]\n`;
    const start = Date.now();
    const doc = loadTemplate(text, 't.yaml');
    expect(Date.now() - start).toBeLessThan(2000);
    expect(doc.diagnostics.some((d) => d.code === 'YAML_ALIAS')).toBe(true);
  });

  it('reports duplicate keys with the key and its path', () => {
    const doc = loadTemplate('Resources:\n  A: {Type: x}\n  A: {Type: y}\n', 't.yaml');
    expect(doc.diagnostics).toHaveLength(1);
    expect(doc.diagnostics[0]).toMatchObject({ code: 'DUPLICATE_KEY', path: 'Resources.A', message: 'duplicate key "A"' });
    expect(doc.diagnostics[0]!.range?.start.line).toBe(3);
  });

  it('rejects sequence, mapping and null keys; takes scalar keys as written', () => {
    expect(codes('? [a]\n: 1\n')).toEqual(['YAML_KEY']);
    expect(codes('? {a: 1}\n: 1\n')).toEqual(['YAML_KEY']);
    expect(codes('~: 1\n')).toEqual(['YAML_KEY']);
    expect(loadTemplate('1: x\n010: y\nyes: z\n', 't.yaml').value).toEqual({ '1': 'x', '010': 'y', yes: 'z' });
  });

  it('keeps a __proto__ key as data, in JSON and YAML alike', () => {
    for (const [text, file] of [
      ['__proto__: {a: 1}\n', 't.yaml'],
      ['{"__proto__": {"a": 1}}', 't.json'],
    ] as const) {
      const v = loadTemplate(text, file).value as Record<string, unknown>;
      expect(Object.keys(v)).toEqual(['__proto__']);
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    }
  });

  it('rejects more than one document', () => {
    expect(codes('a: 1\n---\nb: 2\n')).toContain('YAML_SYNTAX');
  });
});

describe('YAML 1.1 scalars, as PyYAML (cfn-lint) and CloudFormation read them', () => {
  it.each([
    ['yes', true],
    ['No', false],
    ['on', true],
    ['OFF', false],
    ['True', true],
    ['y', 'y'],
    ['n', 'n'],
    ['010', 8],
    ['0x1F', 31],
    ['0b101', 5],
    ['1:30', 90],
    ['1_000', 1000],
    ['0123456789', '0123456789'],
    ['080', '080'],
    ['1e3', '1e3'],
    ['1.5e+3', 1500],
    ['1.5', 1.5],
    ['.5', 0.5],
    ['2010-09-09', '2010-09-09'],
    ['~', null],
    ['null', null],
    ['', null],
    ['"yes"', 'yes'],
    ['!!str 010', '010'],
    ['.inf', '.inf'],
  ])('%s reads as %j', (src, expected) => {
    const doc = loadTemplate(`v: ${src}\n`, 't.yaml');
    expect(doc.diagnostics).toEqual([]);
    expect((doc.value as Record<string, unknown>).v).toEqual(expected);
  });
});

describe('malformed and hostile input', () => {
  it('gives a diagnostic for deeply nested flow YAML, not a stack overflow', () => {
    const doc = loadTemplate('['.repeat(100_000), 't.yaml');
    expect(doc.value).toBeUndefined();
    expect(doc.diagnostics.length).toBeGreaterThan(0);
    expect(doc.diagnostics.length).toBeLessThanOrEqual(20);
  });

  it('gives a diagnostic for deeply nested block YAML', () => {
    let text = '';
    for (let i = 0; i < 400; i++) text += ' '.repeat(i) + 'a:\n';
    const doc = loadTemplate(text, 't.yaml');
    expect(doc.diagnostics.map((d) => d.code)).toContain('YAML_TOO_DEEP');
  });

  it('gives a diagnostic for deeply nested JSON', () => {
    const doc = loadTemplate('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000), 't.json');
    expect(doc.value).toBeUndefined();
    expect(doc.diagnostics.length).toBe(1);
  });

  it('refuses a huge template with one diagnostic', () => {
    const doc = loadTemplate('a: ' + 'x'.repeat(17 * 1024 * 1024), 't.yaml');
    expect(doc.diagnostics.map((d) => d.code)).toEqual(['E1002']);
  });

  it('an empty YAML document is null, not an error (validation says what is missing)', () => {
    const doc = loadTemplate('', 't.yaml');
    expect(doc.diagnostics).toEqual([]);
    expect(doc.value).toBeNull();
  });
});

describe('loadTemplateFile', () => {
  it('reads a file and names it as asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-load-'));
    const p = join(dir, 'stack.yaml');
    writeFileSync(p, 'Resources:\n  A: !Ref B\n');
    const doc = await loadTemplateFile(p, 'stack.yaml');
    expect(doc.file).toBe('stack.yaml');
    expect(doc.value).toEqual({ Resources: { A: { Ref: 'B' } } });
  });

  it('turns a missing file into a diagnostic', async () => {
    const doc = await loadTemplateFile('/nonexistent/kiln/stack.yaml', 'stack.yaml');
    expect(doc.value).toBeUndefined();
    expect(doc.diagnostics[0]).toMatchObject({ code: 'E0000', message: 'cannot read template: no such file' });
  });
});
