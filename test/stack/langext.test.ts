import { describe, expect, it } from 'vitest';
import { expandLanguageExtensions } from '../../src/stack/langext.js';
import { evaluateTemplate } from '../../src/stack/evaluate.js';
import { resolveParameters } from '../../src/stack/params.js';

const LE = 'AWS::LanguageExtensions';

describe('Fn::ForEach', () => {
  it('expands resources from a literal list with ${id} and &{id}', () => {
    const t = {
      Transform: LE,
      Resources: {
        'Fn::ForEach::Topics': [
          'Name',
          ['Success', 'Fail-over'],
          { 'Topic&{Name}': { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Sub': '${Name}-topic' }, Tag: { Ref: 'Name' }, Literal: 'x-${Name}' } } },
        ],
        Other: { Type: 'AWS::S3::Bucket' },
      },
    };
    const r = expandLanguageExtensions(t);
    expect(r.diagnostics).toEqual([]);
    expect(r.template).toEqual({
      Transform: LE,
      Resources: {
        TopicSuccess: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'Success-topic', Tag: 'Success', Literal: 'x-${Name}' } },
        TopicFailover: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'Fail-over-topic', Tag: 'Fail-over', Literal: 'x-${Name}' } },
        Other: { Type: 'AWS::S3::Bucket' },
      },
    });
    expect(t.Resources).toHaveProperty('Fn::ForEach::Topics'); // input untouched
  });

  it('takes the collection from a CommaDelimitedList parameter', () => {
    const t = {
      Transform: [LE],
      Parameters: { Names: { Type: 'CommaDelimitedList', Default: 'a, b' } },
      Resources: { 'Fn::ForEach::B': ['N', { Ref: 'Names' }, { 'Bucket${N}': { Type: 'AWS::S3::Bucket' } }] },
    };
    const p = resolveParameters(t, { Names: 'x,y,z' }).values;
    expect(Object.keys((expandLanguageExtensions(t, p).template as { Resources: object }).Resources)).toEqual(['Bucketx', 'Buckety', 'Bucketz']);
    expect(Object.keys((expandLanguageExtensions(t, resolveParameters(t, {}).values).template as { Resources: object }).Resources)).toEqual(['Bucketa', 'Bucketb']);
  });

  it('nests, and an inner collection may use the outer identifier', () => {
    const t = {
      Transform: LE,
      Mappings: { Sizes: { dev: { List: ['s'] }, prod: { List: ['m', 'l'] } } },
      Resources: {
        'Fn::ForEach::Env': ['E', ['dev', 'prod'], { 'Fn::ForEach::Size': ['S', { 'Fn::FindInMap': ['Sizes', { Ref: 'E' }, 'List'] }, { '${E}${S}': { Type: 'AWS::S3::Bucket' } }] }],
      },
    };
    const r = expandLanguageExtensions(t);
    expect(r.diagnostics).toEqual([]);
    expect(Object.keys((r.template as { Resources: object }).Resources)).toEqual(['devs', 'prodm', 'prodl']);
  });

  it('resolves a DependsOn written as an Fn::Sub of the identifier', () => {
    const t = { Transform: LE, Resources: { Xa: { Type: 'AWS::SQS::Queue' }, 'Fn::ForEach::L': ['N', ['a'], { 'Q${N}': { Type: 'AWS::SQS::Queue', DependsOn: { 'Fn::Sub': 'X${N}' } } }] } };
    const r = evaluateTemplate(t);
    expect(r.diagnostics).toEqual([]);
    expect(r.template.Resources.Qa!.DependsOn).toEqual(['Xa']);
  });

  it('works in Conditions, Outputs and inside a resource', () => {
    const t = {
      Transform: LE,
      Conditions: { 'Fn::ForEach::C': ['X', ['a', 'b'], { 'Is${X}': { 'Fn::Equals': [{ Ref: 'X' }, 'a'] } }] },
      Resources: { R: { Type: 'AWS::S3::Bucket', Properties: { 'Fn::ForEach::P': ['K', ['One', 'Two'], { 'Prop${K}': { Ref: 'K' } }] } } },
      Outputs: { 'Fn::ForEach::O': ['X', ['a'], { 'Out${X}': { Value: { 'Fn::Sub': '${X}-${AWS::Region}' } } }] },
    };
    const r = expandLanguageExtensions(t);
    expect(r.diagnostics).toEqual([]);
    expect(r.template).toMatchObject({
      Conditions: { Isa: { 'Fn::Equals': ['a', 'a'] }, Isb: { 'Fn::Equals': ['b', 'a'] } },
      Resources: { R: { Properties: { PropOne: 'One', PropTwo: 'Two' } } },
      Outputs: { Outa: { Value: { 'Fn::Sub': 'a-${AWS::Region}' } } },
    });
  });

  it.each<[string, unknown, string]>([
    ['a malformed loop', { 'Fn::ForEach::X': ['I', ['a']] }, 'FOREACH_ARGUMENT'],
    ['a non-list collection', { 'Fn::ForEach::X': ['I', 'a,b', { 'R${I}': { Type: 'AWS::S3::Bucket' } }] }, 'FOREACH_COLLECTION'],
    ['keys that do not use the identifier', { 'Fn::ForEach::X': ['I', ['a', 'b'], { R: { Type: 'AWS::S3::Bucket' } }] }, 'FOREACH_KEY'],
    [
      'a collection from a resource',
      { 'Fn::ForEach::X': ['I', { 'Fn::GetAtt': ['B', 'L'] }, { 'R${I}': { Type: 'AWS::S3::Bucket' } }], B: { Type: 'AWS::S3::Bucket' } },
      'RESOURCE_IN_FN_FOREACH_COLLECTIONS',
    ],
  ])('reports %s', (_w, Resources, code) => {
    expect(expandLanguageExtensions({ Transform: LE, Resources }).diagnostics.map((d) => d.code)).toContain(code);
  });

  it('is not allowed in Parameters or Mappings', () => {
    const r = expandLanguageExtensions({ Transform: LE, Mappings: { 'Fn::ForEach::M': ['I', ['a'], { '${I}': { k: { v: 1 } } }] }, Resources: {} });
    expect(r.diagnostics.map((d) => [d.code, d.segments!.join('.')])).toEqual([['FOREACH_PLACEMENT', 'Mappings']]);
  });

  it('stops a runaway expansion with a diagnostic', () => {
    const many = Array.from({ length: 200 }, (_, i) => `v${i}`);
    const t = { Transform: LE, Resources: { 'Fn::ForEach::A': ['I', many, { 'Fn::ForEach::B': ['J', many, { 'R${I}${J}': {} }] }] } };
    expect(expandLanguageExtensions(t).diagnostics.map((d) => d.code)).toEqual(['FOREACH_TOO_LARGE']);
  });

  it('leaves templates without the transform alone', () => {
    const t = { Resources: { 'Fn::ForEach::X': ['I', ['a'], { 'R${I}': {} }] } };
    expect(expandLanguageExtensions(t).template).toBe(t);
  });
});

describe('the transform at evaluation', () => {
  it('expands, then evaluates Length, ToJsonString, FindInMap defaults and policies', () => {
    const t = {
      Transform: LE,
      Parameters: { Names: { Type: 'CommaDelimitedList', Default: 'a,b,c' }, Keep: { Type: 'String', Default: 'yes' } },
      Conditions: { KeepIt: { 'Fn::Equals': [{ Ref: 'Keep' }, 'yes'] } },
      Mappings: { M: { k: { v: 'x' } } },
      Resources: {
        'Fn::ForEach::Q': [
          'N',
          { Ref: 'Names' },
          {
            'Queue${N}': {
              Type: 'AWS::SQS::Queue',
              DeletionPolicy: { 'Fn::If': ['KeepIt', 'Retain', 'Delete'] },
              UpdateReplacePolicy: { 'Fn::FindInMap': ['M', { Ref: 'N' }, 'policy', { DefaultValue: 'Delete' }] },
              Properties: {
                Count: { 'Fn::Length': { Ref: 'Names' } },
                Json: { 'Fn::ToJsonString': { name: { Ref: 'N' }, all: { Ref: 'Names' } } },
              },
            },
          },
        ],
      },
    };
    const r = evaluateTemplate(t);
    expect(r.diagnostics).toEqual([]);
    expect(Object.keys(r.template.Resources)).toEqual(['Queuea', 'Queueb', 'Queuec']);
    expect(r.template.Resources.Queueb).toEqual({
      Type: 'AWS::SQS::Queue',
      Properties: { Count: 3, Json: '{"name":"b","all":["a","b","c"]}' },
      DependsOn: [],
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Delete',
    });
    expect(r.template.Transform).toBeUndefined();
  });
});
