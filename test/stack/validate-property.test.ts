// Property tests: whatever the input, loading and validating returns diagnostics and never throws.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { loadTemplate } from '../../src/stack/load.js';
import { validateTemplate, validateValue } from '../../src/stack/validate.js';

const names = fc.constantFrom('A', 'B', 'C', 'Web', 'Cache', 'P', 'Cond', 'Nope', 'AWS::Region', 'AWS::NoValue', 'a.b', '');
const types = fc.constantFrom('AWS::SNS::Topic', 'AWS::EC2::Instance', 'AWS::ElastiCache::CacheCluster', 'AWS::SQS::Queue', 'Custom::X', 'AWS::Nope::Nope', 'AWS::CloudFormation::Stack');
const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), names);
const intrinsic = (inner: fc.Arbitrary<unknown>) =>
  fc.oneof(
    names.map((n) => ({ Ref: n })),
    fc.tuple(names, names).map(([a, b]) => ({ 'Fn::GetAtt': [a, b] })),
    fc.tuple(names, names).map(([a, b]) => ({ 'Fn::GetAtt': `${a}.${b}` })),
    fc.tuple(names, names).map(([a, b]) => ({ 'Fn::Sub': `\${${a}}-\${!${b}}-\${${a}.${b}}` })),
    fc.tuple(names, inner, inner).map(([c, a, b]) => ({ 'Fn::If': [c, a, b] })),
    fc.tuple(inner, inner).map(([a, b]) => ({ 'Fn::Join': ['', [a, b]] })),
    names.map((n) => ({ Condition: n })),
  );
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small' }, leaf, intrinsic(tie('v')), fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.oneof(names, fc.string({ maxLength: 8 })), tie('v'), { maxKeys: 4 })),
})).v;
const resource = fc.record(
  {
    Type: fc.oneof(types, leaf),
    Properties: fc.oneof(fc.dictionary(fc.oneof(names, fc.constantFrom('ImageId', 'Engine', 'Tags', 'TopicName', 'BlockDeviceMappings')), value, { maxKeys: 4 }), value),
    DependsOn: fc.oneof(names, fc.array(names, { maxLength: 3 })),
    Condition: names,
  },
  { requiredKeys: ['Type'] },
);
const template = fc.record(
  {
    AWSTemplateFormatVersion: fc.oneof(fc.constant('2010-09-09'), leaf),
    Parameters: fc.dictionary(names, fc.record({ Type: fc.constantFrom('String', 'Number', 'CommaDelimitedList', 'Bogus'), Default: leaf, NoEcho: fc.boolean() }, { requiredKeys: ['Type'] }), {
      maxKeys: 3,
    }),
    Conditions: fc.dictionary(names, value, { maxKeys: 3 }),
    Resources: fc.oneof(fc.dictionary(names, resource, { maxKeys: 6 }), value),
    Outputs: fc.dictionary(names, fc.record({ Value: value, Condition: names }, { requiredKeys: [] }), { maxKeys: 3 }),
    Transform: fc.oneof(fc.constantFrom('AWS::LanguageExtensions', 'AWS::Serverless-2016-10-31'), value),
  },
  { requiredKeys: [] },
);

describe('load + validate never throw', () => {
  it('on generated templates (as data, as JSON text and as YAML text)', () => {
    fc.assert(
      fc.property(template, (t) => {
        expect(Array.isArray(validateValue(t))).toBe(true);
        const json = validateTemplate(loadTemplate(JSON.stringify(t, null, 1), 't.json'));
        for (const d of json) expect(d.range).toBeDefined();
        const yaml = validateTemplate(loadTemplate(stringify(t), 't.yaml'));
        for (const d of yaml) expect(d.range).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it('on arbitrary values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(Array.isArray(validateValue(v))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('on arbitrary text, JSON-looking or YAML-looking', () => {
    const yamlish = fc
      .array(fc.constantFrom('a', ':', ' ', '\n', '-', '[', ']', '{', '}', '!Ref ', '!GetAtt ', '&x ', '*x', '<<', '"', "'", '#', '? ', '|', '>', '!!binary ', '\t', 'Resources', ',', '---\n'), {
        maxLength: 60,
      })
      .map((a) => a.join(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          yamlish,
          yamlish.map((s) => `{${s}`),
        ),
        (text) => {
          const doc = loadTemplate(text, 't');
          const diags = validateTemplate(doc);
          for (const d of diags) {
            expect(d.range?.start.line).toBeGreaterThanOrEqual(1);
            expect(typeof d.message).toBe('string');
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
