// Each intrinsic function, table-driven, through evaluateTemplate on an inline template: the value
// of one property (`Resources.R.Properties.V`) for a given expression.
import { describe, expect, it } from 'vitest';
import { evaluateTemplate } from '../../src/stack/evaluate.js';
import { cidr, formatSub, intrinsicKey, parseSub, pseudoValues, splitGetAttString } from '../../src/stack/intrinsics.js';

const base = {
  Parameters: {
    Env: { Type: 'String', Default: 'prod' },
    Port: { Type: 'Number', Default: 8080 },
    Zones: { Type: 'CommaDelimitedList', Default: 'a, b ,c' },
    Nums: { Type: 'List<Number>', Default: '1,2' },
    Idx: { Type: 'Number', Default: 1 },
    Secret: { Type: 'String', NoEcho: true, Default: 'hunter2secret' },
    Vpc: { Type: 'String', Default: '10.0.0.0/16' },
  },
  Mappings: {
    Region: { 'us-east-1': { Ami: 'ami-11111111', Azs: ['x', 'y'] }, 'eu-west-1': { Ami: 'ami-22222222' } },
    Size: { prod: { Count: 3 } },
  },
  Conditions: {
    IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
    IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] },
  },
};

function evalProp(expr: unknown, opts: Parameters<typeof evaluateTemplate>[1] = {}) {
  const t = { ...base, Resources: { Other: { Type: 'AWS::S3::Bucket' }, R: { Type: 'AWS::S3::Bucket', Properties: { V: expr } } } };
  const r = evaluateTemplate(t, opts);
  return { value: r.template.Resources.R?.Properties.V, diagnostics: r.diagnostics, props: r.template.Resources.R?.Properties };
}
const value = (expr: unknown, opts?: Parameters<typeof evaluateTemplate>[1]) => {
  const r = evalProp(expr, opts);
  expect(r.diagnostics).toEqual([]);
  return r.value;
};
const errorCodes = (expr: unknown) => evalProp(expr).diagnostics.map((d) => d.code);

describe('Ref', () => {
  it.each<[string, unknown, unknown]>([
    ['a String parameter', { Ref: 'Env' }, 'prod'],
    ['a Number parameter (as a string)', { Ref: 'Port' }, '8080'],
    ['a CommaDelimitedList (trimmed members)', { Ref: 'Zones' }, ['a', 'b', 'c']],
    ['a List<Number> (strings)', { Ref: 'Nums' }, ['1', '2']],
    ['AWS::Region', { Ref: 'AWS::Region' }, 'us-east-1'],
    ['AWS::AccountId', { Ref: 'AWS::AccountId' }, '123456789012'],
    ['AWS::Partition', { Ref: 'AWS::Partition' }, 'aws'],
    ['AWS::URLSuffix', { Ref: 'AWS::URLSuffix' }, 'amazonaws.com'],
    ['AWS::StackName', { Ref: 'AWS::StackName' }, 'kiln-stack'],
    ['AWS::NotificationARNs', { Ref: 'AWS::NotificationARNs' }, []],
    ['a resource (kept)', { Ref: 'Other' }, { Ref: 'Other' }],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));

  it('AWS::NoValue removes the property', () => {
    const r = evalProp({ Ref: 'AWS::NoValue' });
    expect(r.props).toEqual({});
  });
  it('AWS::NoValue removes a list element', () => {
    expect(value(['a', { 'Fn::If': ['IsDev', 'b', { Ref: 'AWS::NoValue' }] }, 'c'])).toEqual(['a', 'c']);
  });
  it('an unknown name is an error with the path', () => {
    const r = evalProp({ Ref: 'Nope' });
    expect(r.diagnostics.map((d) => [d.code, d.segments!.join('.')])).toEqual([['REF_UNKNOWN', 'Resources.R.Properties.V.Ref']]);
  });
  it('an unknown pseudo parameter is an error', () => expect(errorCodes({ Ref: 'AWS::Nope' })).toEqual(['REF_UNKNOWN']));
});

describe('pseudo parameters follow the region', () => {
  it.each<[string, string, string]>([
    ['us-west-2', 'aws', 'amazonaws.com'],
    ['cn-north-1', 'aws-cn', 'amazonaws.com.cn'],
    ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com'],
  ])('%s', (region, partition, suffix) => {
    const p = pseudoValues({ region, stackName: 's', accountId: '111122223333' });
    expect([p.partition, p.urlSuffix]).toEqual([partition, suffix]);
    expect(p.stackId).toMatch(new RegExp(`^arn:${partition}:cloudformation:${region}:111122223333:stack/s/[0-9a-f-]{36}$`));
  });
  it('the stack id is stable for the same stack', () => expect(pseudoValues({ stackName: 'a' }).stackId).toBe(pseudoValues({ stackName: 'a' }).stackId));
  it('and differs between stacks', () => expect(pseudoValues({ stackName: 'a' }).stackId).not.toBe(pseudoValues({ stackName: 'b' }).stackId));
});

describe('Fn::GetAtt', () => {
  it.each<[string, unknown, unknown]>([
    ['list form', { 'Fn::GetAtt': ['Other', 'Arn'] }, { 'Fn::GetAtt': ['Other', 'Arn'] }],
    ['string form splits at the first dot', { 'Fn::GetAtt': 'Other.Endpoint.Address' }, { 'Fn::GetAtt': ['Other', 'Endpoint.Address'] }],
    ['dotted attribute in list form', { 'Fn::GetAtt': ['Other', 'RedisEndpoint.Port'] }, { 'Fn::GetAtt': ['Other', 'RedisEndpoint.Port'] }],
    ['attribute from a Ref', { 'Fn::GetAtt': ['Other', { Ref: 'Env' }] }, { 'Fn::GetAtt': ['Other', 'prod'] }],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));
  it('an unknown resource is an error', () => expect(errorCodes({ 'Fn::GetAtt': ['Nope', 'Arn'] })).toEqual(['GETATT_UNKNOWN']));
  it('a malformed argument is an error', () => expect(errorCodes({ 'Fn::GetAtt': ['Other'] })).toEqual(['GETATT_ARGUMENT']));
  it('splitGetAttString', () => {
    expect(splitGetAttString('A.B.C')).toEqual(['A', 'B.C']);
    expect(splitGetAttString('A')).toEqual(['A']);
  });
});

describe('Fn::Join', () => {
  it.each<[string, unknown, unknown]>([
    ['with a delimiter', { 'Fn::Join': ['-', ['a', { Ref: 'Env' }, 'c']] }, 'a-prod-c'],
    ['empty delimiter concatenates', { 'Fn::Join': ['', ['a', 'b']] }, 'ab'],
    ['one element has no delimiter', { 'Fn::Join': [',', ['a']] }, 'a'],
    ['empty list', { 'Fn::Join': [',', []] }, ''],
    ['a list parameter', { 'Fn::Join': ['|', { Ref: 'Zones' }] }, 'a|b|c'],
    ['NoValue elements are dropped', { 'Fn::Join': [',', ['a', { Ref: 'AWS::NoValue' }, 'b']] }, 'a,b'],
    ['numbers are written as text', { 'Fn::Join': [':', ['a', 1]] }, 'a:1'],
    [
      'with a resource reference stays a Join',
      { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': ['Other', 'DomainName'] }, '/', { Ref: 'Env' }]] },
      { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': ['Other', 'DomainName'] }, '/', 'prod']] },
    ],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));
  it('a non-list is an error', () => expect(errorCodes({ 'Fn::Join': [',', 'abc'] })).toEqual(['JOIN_ARGUMENT']));
});

describe('Fn::Sub', () => {
  it.each<[string, unknown, unknown]>([
    [
      'an unused variable not known yet stays for deploy time',
      { 'Fn::Sub': ['${AWS::Region}', { V: { 'Fn::GetAtt': ['Other', 'Arn'] }, W: 'x' }] },
      { 'Fn::Sub': ['us-east-1', { V: { 'Fn::GetAtt': ['Other', 'Arn'] } }] },
    ],
    ['parameters and pseudo parameters', { 'Fn::Sub': '${Env}-${AWS::Region}-${Port}' }, 'prod-us-east-1-8080'],
    ['${!Literal} is literal text', { 'Fn::Sub': '${!Env} and ${Env}' }, '${Env} and prod'],
    ['map variables', { 'Fn::Sub': ['${A}-${B}', { A: 'x', B: { Ref: 'Env' } }] }, 'x-prod'],
    ['map variables shadow template names', { 'Fn::Sub': ['${Env}', { Env: 'shadowed' }] }, 'shadowed'],
    ['no variables', { 'Fn::Sub': 'plain' }, 'plain'],
    ['a resource stays, known parts substituted', { 'Fn::Sub': '${Env}/${Other}' }, { 'Fn::Sub': ['prod/${Other}', {}] }],
    ['a resource attribute stays', { 'Fn::Sub': '${Other.Arn}:${AWS::AccountId}' }, { 'Fn::Sub': ['${Other.Arn}:123456789012', {}] }],
    [
      'a map variable with a GetAtt stays in the map',
      { 'Fn::Sub': ['${H}:${Port}', { H: { 'Fn::GetAtt': ['Other', 'Endpoint.Address'] } }] },
      { 'Fn::Sub': ['${H}:8080', { H: { 'Fn::GetAtt': ['Other', 'Endpoint.Address'] } }] },
    ],
    ['literal ${ next to a kept variable is escaped', { 'Fn::Sub': '${!X}${Other}' }, { 'Fn::Sub': ['${!X}${Other}', {}] }],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));
  it('an unknown variable is an error', () => expect(errorCodes({ 'Fn::Sub': '${Nope}' })).toEqual(['REF_UNKNOWN']));
  it('a list parameter is an error', () => expect(errorCodes({ 'Fn::Sub': '${Zones}' })).toEqual(['SUB_LIST']));
  // Read as text, it came back from deploy-time resolution as `${!` (the escaped form): an error instead.
  it('an unterminated ${ is an error', () => expect(errorCodes({ 'Fn::Sub': 'a ${b' })).toEqual(['SUB_UNCLOSED']));
  it('parseSub / formatSub round trip', () => {
    for (const s of ['a${B}c', '${!X}', 'x${A.B}y${!C}z', '$', '}{$', '${AWS::Region}']) expect(formatSub(parseSub(s))).toBe(s);
    expect(parseSub('a${B}${!C}')).toEqual([{ lit: 'a' }, { name: 'B', offset: 1 }, { lit: '${C}' }]);
    // spaces around a name do not count (CloudFormation accepts `${ AWS::Region }`)
    expect(parseSub('yum install ${ Package} in ${ AWS::Region }')).toEqual([{ lit: 'yum install ' }, { name: 'Package', offset: 12 }, { lit: ' in ' }, { name: 'AWS::Region', offset: 27 }]);
  });
});

describe('Fn::Select', () => {
  it.each<[string, unknown, unknown]>([
    ['first element', { 'Fn::Select': [0, ['a', 'b']] }, 'a'],
    ['index as a string', { 'Fn::Select': ['1', ['a', 'b']] }, 'b'],
    ['index from a Number parameter', { 'Fn::Select': [{ Ref: 'Idx' }, { Ref: 'Zones' }] }, 'b'],
    ['from GetAZs', { 'Fn::Select': [2, { 'Fn::GetAZs': '' }] }, 'us-east-1c'],
    ['an unknown list stays', { 'Fn::Select': [0, { 'Fn::GetAtt': ['Other', 'List'] }] }, { 'Fn::Select': [0, { 'Fn::GetAtt': ['Other', 'List'] }] }],
    ['the resource element of a list whose other members are known', { 'Fn::Select': [1, ['a', { Ref: 'Other' }]] }, { Ref: 'Other' }],
    ['a known element next to a resource one stays (the other is resolved at deploy time)', { 'Fn::Select': [0, ['a', { Ref: 'Other' }]] }, { 'Fn::Select': [0, ['a', { Ref: 'Other' }]] }],
    ['all known', { 'Fn::Select': [1, ['a', ['b'], { 'Fn::Join': ['', ['c']] }]] }, ['b']],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));
  it('out of range is an error at evaluation', () => expect(errorCodes({ 'Fn::Select': [2, ['a', 'b']] })).toEqual(['SELECT_OUT_OF_RANGE']));
  it('a negative index is an error', () => expect(errorCodes({ 'Fn::Select': [-1, ['a']] })).toEqual(['SELECT_ARGUMENT']));
  it('a null element is an error', () => expect(errorCodes({ 'Fn::Select': [0, [null]] })).toEqual(['SELECT_NULL']));
});

describe('Fn::Split', () => {
  it.each<[string, unknown, unknown]>([
    ['simple', { 'Fn::Split': [',', 'a,b'] }, ['a', 'b']],
    ['consecutive and trailing delimiters give empty strings', { 'Fn::Split': [',', 'a,,c,'] }, ['a', '', 'c', '']],
    ['no delimiter in the string', { 'Fn::Split': ['|', 'abc'] }, ['abc']],
    ['of a Join', { 'Fn::Split': ['-', { 'Fn::Join': ['-', ['x', 'y']] }] }, ['x', 'y']],
    ['unknown string stays', { 'Fn::Split': [',', { 'Fn::GetAtt': ['Other', 'L'] }] }, { 'Fn::Split': [',', { 'Fn::GetAtt': ['Other', 'L'] }] }],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));
});

describe('Fn::Base64', () => {
  it('encodes UTF-8', () => expect(value({ 'Fn::Base64': 'héllo ${x}' })).toBe(Buffer.from('héllo ${x}', 'utf8').toString('base64')));
  it('of a Sub', () => expect(value({ 'Fn::Base64': { 'Fn::Sub': '#!/bin/sh\necho ${Env}' } })).toBe(Buffer.from('#!/bin/sh\necho prod').toString('base64')));
  it('of a resource-dependent Sub stays', () => expect(value({ 'Fn::Base64': { 'Fn::Sub': '${Other}' } })).toEqual({ 'Fn::Base64': { 'Fn::Sub': ['${Other}', {}] } }));
});

describe('Fn::Cidr', () => {
  it.each<[string, unknown[], string[]]>([
    ['8 host bits are /24s', ['10.0.0.0/16', 3, 8], ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24']],
    ['5 host bits are /27s', ['192.168.0.0/24', 2, 5], ['192.168.0.0/27', '192.168.0.32/27']],
    ['from an unaligned address', ['10.0.3.7/16', 1, 8], ['10.0.0.0/24']],
    ['zero host bits', ['10.0.0.0/30', 4, 0], ['10.0.0.0/32', '10.0.0.1/32', '10.0.0.2/32', '10.0.0.3/32']],
    ['string count and bits', ['10.0.0.0/8', '2', '16'], ['10.0.0.0/16', '10.1.0.0/16']],
    ['IPv6 /64s from a /56', ['2001:db8:1234:5600::/56', 2, 64], ['2001:db8:1234:5600::/64', '2001:db8:1234:5601::/64']],
    ['IPv6 /120s', ['2001:db8::/64', 2, 8], ['2001:db8::/120', '2001:db8::100/120']],
  ])('%s', (_w, args, v) => expect(cidr(...(args as [string, number, number]))).toEqual(v));

  it('in a template, from a parameter', () => expect(value({ 'Fn::Select': [1, { 'Fn::Cidr': [{ Ref: 'Vpc' }, 2, 8] }] })).toBe('10.0.1.0/24'));
  it('of a resource attribute stays', () => expect(value({ 'Fn::Cidr': [{ 'Fn::GetAtt': ['Other', 'CidrBlock'] }, 2, 8] })).toEqual({ 'Fn::Cidr': [{ 'Fn::GetAtt': ['Other', 'CidrBlock'] }, 2, 8] }));
  it.each<[string, unknown[]]>([
    ['count 0', ['10.0.0.0/16', 0, 8]],
    ['count 257', ['10.0.0.0/8', 257, 8]],
    ['more host bits than the block has', ['10.0.0.0/24', 1, 9]],
    ['more blocks than fit', ['10.0.0.0/24', 5, 6]],
    ['not a CIDR', ['10.0.0.0', 1, 8]],
    ['a bad address', ['10.0.0.300/24', 1, 8]],
  ])('rejects %s', (_w, args) => expect(errorCodes({ 'Fn::Cidr': args })).toEqual(['CIDR_ARGUMENT']));
});

describe('Fn::GetAZs', () => {
  it('"" is the stack region, with the zones that region has', () => expect(value({ 'Fn::GetAZs': '' })).toEqual(['us-east-1a', 'us-east-1b', 'us-east-1c', 'us-east-1d', 'us-east-1e', 'us-east-1f']));
  it('Ref AWS::Region', () => expect(value({ 'Fn::GetAZs': { Ref: 'AWS::Region' } }, { pseudo: { region: 'eu-west-1' } })).toEqual(['eu-west-1a', 'eu-west-1b', 'eu-west-1c']));
  it('a named region', () => expect(value({ 'Fn::GetAZs': 'ap-south-1' })).toEqual(['ap-south-1a', 'ap-south-1b', 'ap-south-1c']));
});

describe('Fn::FindInMap', () => {
  it.each<[string, unknown, unknown, Partial<{ region: string }>?]>([
    ['with Refs as keys', { 'Fn::FindInMap': ['Region', { Ref: 'AWS::Region' }, 'Ami'] }, 'ami-11111111'],
    ['in another region', { 'Fn::FindInMap': ['Region', { Ref: 'AWS::Region' }, 'Ami'] }, 'ami-22222222', { region: 'eu-west-1' }],
    ['a list value', { 'Fn::FindInMap': ['Region', 'us-east-1', 'Azs'] }, ['x', 'y']],
    ['a number value', { 'Fn::FindInMap': ['Size', { Ref: 'Env' }, 'Count'] }, 3],
    ['DefaultValue when missing', { 'Fn::FindInMap': ['Region', 'nowhere', 'Ami', { DefaultValue: 'ami-00000000' }] }, 'ami-00000000'],
  ])('%s', (_w, e, v, pseudo) => expect(value(e, pseudo ? { pseudo } : {})).toEqual(v));
  it.each<[string, unknown]>([
    ['no such map', { 'Fn::FindInMap': ['Nope', 'a', 'b'] }],
    ['no such top key', { 'Fn::FindInMap': ['Region', 'nowhere', 'Ami'] }],
    ['no such second key', { 'Fn::FindInMap': ['Region', 'us-east-1', 'Nope'] }],
  ])('%s is an error', (_w, e) => expect(errorCodes(e)).toEqual(['FINDINMAP_MISSING']));
});

describe('conditions', () => {
  it.each<[string, unknown, unknown]>([
    ['Fn::If true', { 'Fn::If': ['IsProd', 'big', 'small'] }, 'big'],
    ['Fn::If false', { 'Fn::If': ['IsDev', 'big', 'small'] }, 'small'],
    ['nested Fn::If', { 'Fn::If': ['IsProd', { 'Fn::If': ['IsDev', 1, 2] }, 3] }, 2],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));

  const withConds = (Conditions: Record<string, unknown>, Resources: Record<string, unknown> = { R: { Type: 'AWS::S3::Bucket' } }) =>
    evaluateTemplate({ Parameters: { Env: { Type: 'String', Default: 'prod' }, N: { Type: 'Number', Default: '1' } }, Conditions, Resources });

  it.each<[string, unknown, boolean]>([
    ['Equals strings', { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] }, true],
    ['Equals a number with its text', { 'Fn::Equals': [{ Ref: 'N' }, 1] }, true],
    ['Not', { 'Fn::Not': [{ 'Fn::Equals': ['a', 'b'] }] }, true],
    ['And of two', { 'Fn::And': [{ 'Fn::Equals': ['a', 'a'] }, { 'Fn::Equals': ['a', 'b'] }] }, false],
    ['Or of three', { 'Fn::Or': [{ 'Fn::Equals': ['a', 'b'] }, { 'Fn::Equals': ['a', 'c'] }, { 'Fn::Equals': ['a', 'a'] }] }, true],
    ['Equals on a mapping value', { 'Fn::Equals': [{ 'Fn::FindInMap': ['M', 'k', 'v'] }, 'x'] }, false],
  ])('%s', (_w, c, v) => {
    const r = evaluateTemplate({
      Mappings: { M: { k: { v: 'y' } } },
      Parameters: { Env: { Type: 'String', Default: 'prod' }, N: { Type: 'Number', Default: '1' } },
      Conditions: { C: c },
      Resources: { R: { Type: 'AWS::S3::Bucket' } },
    });
    expect(r.diagnostics).toEqual([]);
    expect(r.template.conditions.C).toBe(v);
  });

  it('And/Or take 2 to 10 conditions', () => {
    const eq = { 'Fn::Equals': ['a', 'a'] };
    expect(withConds({ A: { 'Fn::And': [eq] } }).diagnostics.map((d) => d.code)).toEqual(['CONDITION_INVALID']);
    expect(withConds({ A: { 'Fn::Or': Array(11).fill(eq) } }).diagnostics.map((d) => d.code)).toEqual(['CONDITION_INVALID']);
    expect(withConds({ A: { 'Fn::Or': Array(10).fill(eq) } }).diagnostics).toEqual([]);
  });

  it('a condition cycle is reported with its path', () => {
    const r = withConds({ A: { Condition: 'B' }, B: { 'Fn::Not': [{ Condition: 'A' }] } });
    expect(r.diagnostics.find((d) => d.code === 'CONDITION_CYCLE')!.message).toContain('A -> B -> A');
  });
  it('an undefined condition is an error', () => {
    expect(withConds({}, { R: { Type: 'AWS::S3::Bucket', Condition: 'Nope' } }).diagnostics.map((d) => d.code)).toEqual(['CONDITION_UNKNOWN']);
  });
  it('conditions cannot refer to resources', () => {
    const r = withConds({ A: { 'Fn::Equals': [{ Ref: 'R' }, 'x'] } });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['RESOURCE_IN_CONDITIONS']);
  });
});

describe('LanguageExtensions functions', () => {
  it.each<[string, unknown, unknown]>([
    ['Fn::Length of a list', { 'Fn::Length': [1, 2, 3] }, 3],
    ['Fn::Length of a list parameter', { 'Fn::Length': { Ref: 'Zones' } }, 3],
    ['Fn::ToJsonString of an object', { 'Fn::ToJsonString': { a: [1, { Ref: 'Env' }] } }, '{"a":[1,"prod"]}'],
    ['Fn::ToJsonString with a resource stays', { 'Fn::ToJsonString': { a: { Ref: 'Other' } } }, { 'Fn::ToJsonString': { a: { Ref: 'Other' } } }],
  ])('%s', (_w, e, v) => expect(value(e)).toEqual(v));
});

describe('other functions', () => {
  it('Fn::ImportValue stays for deploy time, with its name resolved', () => expect(value({ 'Fn::ImportValue': { 'Fn::Sub': '${Env}-vpc' } })).toEqual({ 'Fn::ImportValue': 'prod-vpc' }));
  it('Fn::ImportValue of a resource-dependent name is an error', () => expect(errorCodes({ 'Fn::ImportValue': { 'Fn::Sub': '${Other}-vpc' } })).toEqual(['IMPORTVALUE_RESOURCE']));
  it('an unknown function is an error', () => expect(errorCodes({ 'Fn::Nope': 1 })).toEqual(['FN_UNKNOWN']));
  it('a rule function outside Rules is an error', () => expect(errorCodes({ 'Fn::Contains': [['a'], 'a'] })).toEqual(['RULE_FUNCTION_OUTSIDE_RULES']));
  it('intrinsicKey recognises only single-key function objects', () => {
    expect(intrinsicKey({ Ref: 'x' })).toBe('Ref');
    expect(intrinsicKey({ Ref: 'x', Other: 1 })).toBeUndefined();
    expect(intrinsicKey({ Condition: 'x' })).toBeUndefined();
    expect(intrinsicKey({ Condition: 'x' }, true)).toBe('Condition');
  });
});
