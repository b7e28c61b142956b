import { describe, expect, it } from 'vitest';
import { evaluateRules } from '../../src/stack/rules.js';
import { evaluateTemplate } from '../../src/stack/evaluate.js';
import type { Json } from '../../src/stack/model.js';

// Operands as the evaluator would give them: Ref to a parameter from a fixed table.
const values: Record<string, Json> = { Env: 'prod', Size: 'large', Zones: ['a', 'b'], Empty: '' };
const operand = (node: unknown): Json | undefined => {
  if (typeof node !== 'object' || node === null) return node as Json;
  if (Array.isArray(node)) return node.map((x) => operand(x)!) as Json;
  const ref = (node as { Ref?: string }).Ref;
  return ref !== undefined ? values[ref] : undefined;
};
const run = (Rules: unknown) => evaluateRules({ Rules }, (n) => operand(n)).map((d) => `${d.severity}:${d.code}@${d.segments!.join('.')}`);
const assert = (a: unknown, extra: Record<string, unknown> = {}) => run({ R: { Assertions: [{ Assert: a, AssertDescription: 'nope' }], ...extra } });

describe('Rules', () => {
  it.each<[string, unknown, boolean]>([
    ['Equals true', { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] }, true],
    ['Equals false', { 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] }, false],
    ['Not', { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'Empty' }, ''] }] }, false],
    ['And', { 'Fn::And': [{ 'Fn::Equals': ['a', 'a'] }, { 'Fn::Equals': [{ Ref: 'Size' }, 'large'] }] }, true],
    ['Or', { 'Fn::Or': [{ 'Fn::Equals': ['a', 'b'] }, { 'Fn::Equals': ['a', 'c'] }] }, false],
    ['Contains hit', { 'Fn::Contains': [['small', 'large'], { Ref: 'Size' }] }, true],
    ['Contains miss', { 'Fn::Contains': [['small'], { Ref: 'Size' }] }, false],
    ['EachMemberEquals', { 'Fn::EachMemberEquals': [{ Ref: 'Zones' }, 'a'] }, false],
    ['EachMemberIn', { 'Fn::EachMemberIn': [{ Ref: 'Zones' }, ['a', 'b', 'c']] }, true],
    ['EachMemberIn miss', { 'Fn::EachMemberIn': [{ Ref: 'Zones' }, ['a']] }, false],
  ])('%s', (_w, a, ok) => expect(assert(a)).toEqual(ok ? [] : ['error:RULE_ASSERTION_FAILED@Rules.R.Assertions.0']));

  it('a false RuleCondition skips the assertions', () => expect(assert({ 'Fn::Equals': ['a', 'b'] }, { RuleCondition: { 'Fn::Equals': [{ Ref: 'Env' }, 'dev'] } })).toEqual([]));
  it('an unknown value (a parameter without one) decides nothing', () => expect(assert({ 'Fn::Equals': [{ Ref: 'Missing' }, 'x'] })).toEqual([]));
  it.each(['Fn::RefAll', 'Fn::ValueOf', 'Fn::ValueOfAll'])('%s cannot be answered locally: a warning', (fn) =>
    expect(assert({ 'Fn::EachMemberEquals': [{ [fn]: ['AWS::EC2::Subnet::Id', 'VpcId'] }, 'vpc-1'] })).toEqual(['warning:RULE_NOT_CHECKED@Rules.R.Assertions.0.Assert']),
  );
  it.each<[string, unknown, string]>([
    ['a rule that is not an object', { R: 'x' }, 'error:RULES_INVALID@Rules.R'],
    ['no Assertions', { R: {} }, 'error:RULES_INVALID@Rules.R.Assertions'],
    ['an unknown rule key', { R: { Assertions: [], Other: 1 } }, 'error:RULES_INVALID@Rules.R.Other'],
    ['an assertion without Assert', { R: { Assertions: [{}] } }, 'error:RULES_INVALID@Rules.R.Assertions.0'],
    ['a non-function Assert', { R: { Assertions: [{ Assert: 'yes' }] } }, 'error:RULE_INVALID@Rules.R.Assertions.0.Assert'],
    ['Equals of one', { R: { Assertions: [{ Assert: { 'Fn::Equals': ['a'] } }] } }, 'error:RULE_INVALID@Rules.R.Assertions.0.Assert.Fn::Equals'],
  ])('reports %s', (_w, rules, expected) => expect(run(rules)).toEqual([expected]));

  it('the description is the message, through evaluateTemplate with real parameters', () => {
    const r = evaluateTemplate({
      Parameters: { Instance: { Type: 'String', Default: 't2.micro' } },
      Rules: { Big: { Assertions: [{ Assert: { 'Fn::Contains': [['m5.large'], { Ref: 'Instance' }] }, AssertDescription: 'use m5.large' }] } },
      Resources: { B: { Type: 'AWS::S3::Bucket' } },
    });
    expect(r.diagnostics.map((d) => d.message)).toEqual(["Rule 'Big' failed: use m5.large"]);
  });
});
