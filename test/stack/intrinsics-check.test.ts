import { describe, expect, it } from 'vitest';
import { checkIntrinsics } from '../../src/stack/intrinsics-check.js';

/** Diagnostics for one property value `V` of resource `R`, as `CODE@path`. */
function prop(expr: unknown, extra: Record<string, unknown> = {}) {
  return checkIntrinsics({ ...extra, Resources: { B: { Type: 'AWS::S3::Bucket' }, R: { Type: 'AWS::S3::Bucket', Properties: { V: expr } } } }).map(
    (d) => `${d.code}@${d.segments!.slice(4).join('.')}`,
  );
}

describe('argument shapes', () => {
  it.each<[string, unknown]>([
    ['Ref', { Ref: 'B' }],
    ['GetAtt list', { 'Fn::GetAtt': ['B', 'Arn'] }],
    ['GetAtt dotted string', { 'Fn::GetAtt': 'B.Endpoint.Address' }],
    ['GetAtt with a Ref attribute', { 'Fn::GetAtt': ['B', { Ref: 'P' }] }],
    ['Join', { 'Fn::Join': [',', ['a', { Ref: 'B' }, { 'Fn::Sub': 'x' }]] }],
    ['Join of a Split', { 'Fn::Join': [',', { 'Fn::Split': ['|', 'a|b'] }] }],
    ['Sub string', { 'Fn::Sub': '${B}' }],
    ['Sub with variables', { 'Fn::Sub': ['${X}', { X: { 'Fn::GetAtt': ['B', 'Arn'] } }] }],
    ['Select', { 'Fn::Select': [0, { 'Fn::GetAZs': '' }] }],
    ['Select with a Ref index', { 'Fn::Select': [{ Ref: 'P' }, ['a', 'b']] }],
    ['Split', { 'Fn::Split': [',', { 'Fn::ImportValue': 'x' }] }],
    ['FindInMap', { 'Fn::FindInMap': ['M', { Ref: 'AWS::Region' }, 'k'] }],
    ['GetAZs', { 'Fn::GetAZs': { Ref: 'AWS::Region' } }],
    ['GetAZs of a region', { 'Fn::GetAZs': 'eu-west-1' }],
    ['Base64 of a Sub', { 'Fn::Base64': { 'Fn::Sub': 'x' } }],
    ['Cidr', { 'Fn::Cidr': ['10.0.0.0/16', 4, 8] }],
    ['Cidr IPv6 of a GetAtt', { 'Fn::Cidr': [{ 'Fn::Select': [0, { 'Fn::GetAtt': ['B', 'Ipv6'] }] }, 2, 64] }],
    ['If with NoValue', { 'Fn::If': ['C', 'a', { Ref: 'AWS::NoValue' }] }],
    ['Transform anywhere', { 'Fn::Sub': { 'Fn::Transform': { Name: 'M' } } }],
    ['ImportValue of a Sub', { 'Fn::ImportValue': { 'Fn::Sub': '${AWS::StackName}-x' } }],
    ['GetStackOutput', { 'Fn::GetStackOutput': { StackName: 'a', OutputName: 'b' } }],
  ])('%s is fine', (_w, e) => expect(prop(e)).toEqual([]));

  it.each<[string, unknown, string]>([
    ['Ref of a list', { Ref: ['B'] }, 'E1020@Ref'],
    ['GetAtt of one element', { 'Fn::GetAtt': ['B'] }, 'E1010@Fn::GetAtt'],
    ['GetAtt string without a dot', { 'Fn::GetAtt': 'B' }, 'E1010@Fn::GetAtt'],
    ['GetAtt with a Sub logical id', { 'Fn::GetAtt': [{ 'Fn::Sub': 'B' }, 'Arn'] }, 'E1010@Fn::GetAtt.0.Fn::Sub'],
    ['Join with three arguments', { 'Fn::Join': [',', ['a'], 'x'] }, 'E1022@Fn::Join'],
    ['Join delimiter from a Ref', { 'Fn::Join': [{ Ref: 'P' }, ['a']] }, 'E1022@Fn::Join.0.Ref'],
    ['Join of a string', { 'Fn::Join': [',', 'abc'] }, 'E1022@Fn::Join.1'],
    ['Join list holding a Split', { 'Fn::Join': [',', [{ 'Fn::Split': [',', 'a'] }]] }, 'E1022@Fn::Join.1.0.Fn::Split'],
    ['Sub with a one-element list', { 'Fn::Sub': ['x'] }, 'E1019@Fn::Sub'],
    ['Sub variables not an object', { 'Fn::Sub': ['x', ['a']] }, 'E1019@Fn::Sub.1'],
    ['Sub variable holding a Split', { 'Fn::Sub': ['${X}', { X: { 'Fn::Split': [',', 'a'] } }] }, 'E1019@Fn::Sub.1.X.Fn::Split'],
    ['Select index not an integer', { 'Fn::Select': ['a', ['x']] }, 'E1017@Fn::Select.0'],
    ['Select index from a GetAtt', { 'Fn::Select': [{ 'Fn::GetAtt': ['B', 'N'] }, ['x']] }, 'E1017@Fn::Select.0.Fn::GetAtt'],
    ['Select of a Join', { 'Fn::Select': [0, { 'Fn::Join': [',', ['a']] }] }, 'E1017@Fn::Select.1.Fn::Join'],
    ['Split delimiter from a Ref', { 'Fn::Split': [{ Ref: 'P' }, 'a'] }, 'E1018@Fn::Split.0.Ref'],
    ['FindInMap of two', { 'Fn::FindInMap': ['M', 'a'] }, 'E1011@Fn::FindInMap'],
    ['FindInMap key from a GetAtt', { 'Fn::FindInMap': ['M', { 'Fn::GetAtt': ['B', 'A'] }, 'k'] }, 'E1011@Fn::FindInMap.1.Fn::GetAtt'],
    ['FindInMap DefaultValue without the transform', { 'Fn::FindInMap': ['M', 'a', 'b', { DefaultValue: 'x' }] }, 'E1011@Fn::FindInMap.3'],
    ['GetAZs of a list', { 'Fn::GetAZs': ['a'] }, 'E1015@Fn::GetAZs'],
    ['GetAZs of an AZ name', { 'Fn::GetAZs': 'us-east-1a' }, 'E1015@Fn::GetAZs'],
    ['Base64 of a list', { 'Fn::Base64': ['a'] }, 'E1021@Fn::Base64'],
    ['Cidr of two', { 'Fn::Cidr': ['10.0.0.0/16', 4] }, 'E1024@Fn::Cidr'],
    ['Cidr count 0', { 'Fn::Cidr': ['10.0.0.0/16', 0, 8] }, 'E1024@Fn::Cidr.1'],
    ['Cidr count 300', { 'Fn::Cidr': ['10.0.0.0/16', 300, 8] }, 'E1024@Fn::Cidr.1'],
    ['Cidr bits 129', { 'Fn::Cidr': ['10.0.0.0/16', 1, 129] }, 'E1024@Fn::Cidr.2'],
    ['Cidr of a word', { 'Fn::Cidr': ['office', 1, 8] }, 'E1024@Fn::Cidr.0'],
    ['If of two', { 'Fn::If': ['C', 'a'] }, 'E1028@Fn::If'],
    ['If with a non-name condition', { 'Fn::If': [{ Condition: 'C' }, 'a', 'b'] }, 'E1028@Fn::If.0'],
    ['ImportValue of a GetAtt', { 'Fn::ImportValue': { 'Fn::GetAtt': ['B', 'A'] } }, 'E1016@Fn::ImportValue.Fn::GetAtt'],
    ['GetStackOutput without OutputName', { 'Fn::GetStackOutput': { StackName: 'a' } }, 'E1033@Fn::GetStackOutput'],
    ['Equals in a property', { 'Fn::Equals': ['a', 'b'] }, 'E8003@Fn::Equals'],
    ['Length without the transform', { 'Fn::Length': [1] }, 'E1030@Fn::Length'],
    ['ToJsonString without the transform', { 'Fn::ToJsonString': {} }, 'E1031@Fn::ToJsonString'],
    ['a rule function', { 'Fn::Contains': [['a'], 'a'] }, 'E1036@Fn::Contains'],
    ['an unknown function', { 'Fn::Frobnicate': 1 }, 'E1001@Fn::Frobnicate'],
    ['a bad branch of an If inside a Join list', { 'Fn::Join': [',', [{ 'Fn::If': ['C', { 'Fn::Split': [',', 'a'] }, 'b'] }]] }, 'E1028@Fn::Join.1.0.Fn::If.1.Fn::Split'],
  ])('%s is reported', (_w, e, expected) => expect(prop(e)).toEqual([expected]));

  it('knows the LanguageExtensions forms when the transform is listed', () => {
    const le = { Transform: 'AWS::LanguageExtensions' };
    expect(prop({ 'Fn::Length': { Ref: 'L' } }, le)).toEqual([]);
    expect(prop({ 'Fn::ToJsonString': { a: { Ref: 'B' } } }, le)).toEqual([]);
    expect(prop({ 'Fn::FindInMap': ['M', 'a', 'b', { DefaultValue: 'x' }] }, le)).toEqual([]);
    expect(prop({ 'Fn::FindInMap': ['M', 'a', 'b', { Default: 'x' }] }, le)).toEqual(['E1011@Fn::FindInMap.3']);
    expect(prop({ 'Fn::Select': [{ 'Fn::Length': [1] }, ['a']] }, le)).toEqual([]);
    expect(prop({ Ref: { 'Fn::Sub': 'B' } }, le)).toEqual([]);
  });
});

describe('placement', () => {
  const codes = (t: Record<string, unknown>) => checkIntrinsics({ Resources: { B: { Type: 'AWS::S3::Bucket' } }, ...t }).map((d) => `${d.code}@${d.segments!.join('.')}`);

  it('no functions in Parameters, Mappings or Description', () => {
    expect(codes({ Parameters: { P: { Type: 'String', Default: { Ref: 'AWS::Region' } } }, Mappings: { M: { a: { b: { 'Fn::Sub': 'x' } } } }, Description: { Ref: 'x' } })).toEqual([
      'E1001@Parameters.P.Default.Ref',
      'E1001@Mappings.M.a.b.Fn::Sub',
      'E1001@Description.Ref',
    ]);
  });
  it('no functions in Type, Condition or DependsOn of a resource, nor in an output Description', () => {
    expect(
      codes({
        Resources: { B: { Type: { Ref: 'T' }, DependsOn: [{ Ref: 'X' }], Condition: { Ref: 'C' } } },
        Outputs: { O: { Value: { Ref: 'B' }, Description: { 'Fn::Sub': 'x' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-o' } } } },
      }),
    ).toEqual(['E1001@Resources.B.Type.Ref', 'E1001@Resources.B.DependsOn.0.Ref', 'E1001@Resources.B.Condition.Ref', 'E1001@Outputs.O.Description.Fn::Sub']);
  });
  it('Fn::ForEach needs the transform', () => {
    expect(codes({ Resources: { 'Fn::ForEach::X': ['I', ['a'], {}] } })).toEqual(['E1032@Resources.Fn::ForEach::X']);
  });
});

describe('conditions', () => {
  const codes = (Conditions: Record<string, unknown>) => checkIntrinsics({ Conditions, Resources: {} }).map((d) => `${d.code}@${d.segments!.join('.')}`);
  it.each<[string, unknown, string[]]>([
    ['Equals of two', { 'Fn::Equals': [{ Ref: 'P' }, 'a'] }, []],
    ['Equals of one', { 'Fn::Equals': ['a'] }, ['E8003@Conditions.C.Fn::Equals']],
    ['Equals with a GetAtt', { 'Fn::Equals': [{ 'Fn::GetAtt': ['B', 'A'] }, 'a'] }, ['E8003@Conditions.C.Fn::Equals.0.Fn::GetAtt']],
    ['And of one', { 'Fn::And': [{ Condition: 'X' }] }, ['E8004@Conditions.C.Fn::And']],
    ['And of eleven', { 'Fn::And': Array(11).fill({ Condition: 'X' }) }, ['E8004@Conditions.C.Fn::And']],
    ['Or of ten', { 'Fn::Or': Array(10).fill({ Condition: 'X' }) }, []],
    ['Not of two', { 'Fn::Not': [{ Condition: 'X' }, { Condition: 'Y' }] }, ['E8005@Conditions.C.Fn::Not']],
    ['Not of a string', { 'Fn::Not': ['x'] }, ['E8001@Conditions.C.Fn::Not.0']],
    ['a Ref as a condition', { Ref: 'P' }, ['E8001@Conditions.C.Ref']],
    ['an If as a condition', { 'Fn::If': ['X', 'a', 'b'] }, ['E8001@Conditions.C.Fn::If']],
  ])('%s', (_w, c, expected) => expect(codes({ C: c })).toEqual(expected));

  it('Rules may use rule functions', () => {
    const d = checkIntrinsics({
      Rules: { R: { RuleCondition: { 'Fn::Equals': [{ Ref: 'E' }, 'prod'] }, Assertions: [{ Assert: { 'Fn::Contains': [['a'], { Ref: 'P' }] } }, { Assert: { 'Fn::Nope': 1 } }] } },
      Resources: {},
    });
    expect(d.map((x) => `${x.code}@${x.segments!.join('.')}`)).toEqual(['E1036@Rules.R.Assertions.1.Assert.Fn::Nope']);
  });

  it('never throws on junk', () => {
    for (const junk of [null, 1, 'x', [], { Resources: [] }, { Resources: { R: 1 } }, { Conditions: { C: null } }, { Outputs: { O: { Value: { Ref: null } } } }])
      expect(() => checkIntrinsics(junk)).not.toThrow();
  });
});

describe('dynamic references', () => {
  const codes = (v: unknown) => checkIntrinsics({ Resources: { R: { Type: 'AWS::S3::Bucket', Properties: { V: v } } } }).map((d) => `${d.code}@${d.segments!.join('.')}`);
  it.each([
    '{{resolve:ssm:/app/ami}}',
    '{{resolve:ssm:name:3}}',
    'pw={{resolve:ssm-secure:db-pass:1}}',
    '{{resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbC:SecretString:password}}',
  ])('%s is fine', (v) => expect(codes(v)).toEqual([]));
  it.each(['{{resolve:ssm:bad name}}', '{{resolve:ssm:a:b}}', '{{resolve:vault:x}}', '{{resolve:secretsmanager:}}'])('%s is reported', (v) =>
    expect(codes({ 'Fn::Sub': v })).toEqual(['DYNAMIC_REFERENCE@Resources.R.Properties.V.Fn::Sub']),
  );
  it('allows at most 60 per template', () => {
    const many = Array.from({ length: 61 }, (_, i) => `{{resolve:ssm:p${i}}}`);
    expect(codes(many)).toEqual(['DYNAMIC_REFERENCE@']);
  });
});

describe('a forgotten Fn::Sub', () => {
  const t = (v: unknown) =>
    checkIntrinsics({ Parameters: { Ami: { Type: 'String' } }, Resources: { B: { Type: 'AWS::S3::Bucket', Properties: { V: v } } } }).map((d) => `${d.severity}:${d.code}@${d.segments!.join('.')}`);
  it.each<[string, unknown]>([
    ['a parameter', '${Ami}'],
    ['a pseudo parameter', 'arn:aws:iam::${AWS::AccountId}:root'],
    ['a resource attribute', ['x', '${B.Arn}']],
  ])('naming %s is a warning', (_w, v) => expect(t(v)).toHaveLength(1));
  it.each<[string, unknown]>([
    ['inside Fn::Sub', { 'Fn::Sub': '${Ami}' }],
    ['an IAM policy variable', 'arn:aws:iam::*:user/${aws:username}'],
    ['a literal ${!X}', '${!Ami}'],
    ['another tool’s variable', '${self:custom.bucket}'],
  ])('%s is fine', (_w, v) => expect(t(v)).toEqual([]));
  it('points at the string', () => expect(t({ K: ['${Ami}'] })).toEqual(['warning:W1029@Resources.B.Properties.V.K.0']));
});
