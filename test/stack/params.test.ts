import { describe, expect, it } from 'vitest';
import { PARAMETER_TYPES, checkParameterDefinitions, checkParameterValue, isParameterType, parameterValue, resolveParameters } from '../../src/stack/params.js';

const tpl = (Parameters: Record<string, unknown>) => ({ Parameters, Resources: {} });

describe('parameter types', () => {
  it.each([
    'String',
    'Number',
    'List<Number>',
    'CommaDelimitedList',
    'List<String>',
    'AWS::EC2::Image::Id',
    'List<AWS::EC2::Subnet::Id>',
    'AWS::Route53::HostedZone::Id',
    'AWS::SSM::Parameter::Name',
    'AWS::SSM::Parameter::Value<String>',
    'AWS::SSM::Parameter::Value<List<String>>',
    'AWS::SSM::Parameter::Value<CommaDelimitedList>',
    'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
    'AWS::SSM::Parameter::Value<List<AWS::EC2::VPC::Id>>',
  ])('%s is a legal type', (t) => expect(isParameterType(t)).toBe(true));

  it.each(['string', 'Integer', 'List<Strings>', 'AWS::EC2::Image::ID', 'List<List<Number>>', 'AWS::SSM::Parameter::Value<Number>'])('%s is not', (t) => expect(isParameterType(t)).toBe(false));

  it('knows all the AWS-specific types and their lists', () => {
    expect(PARAMETER_TYPES).toContain('AWS::EC2::KeyPair::KeyName');
    expect(PARAMETER_TYPES).toContain('List<AWS::EC2::AvailabilityZone::Name>');
  });
});

describe('definitions', () => {
  const codes = (p: Record<string, unknown>) => checkParameterDefinitions(tpl(p)).map((d) => `${d.severity}:${d.code}@${d.segments!.join('.')}`);

  it.each<[string, Record<string, unknown>, string[]]>([
    ['a missing Type', { P: { Default: 'x' } }, ['error:PARAM_TYPE@Parameters.P']],
    ['an unknown Type', { P: { Type: 'Strin' } }, ['error:PARAM_TYPE@Parameters.P.Type']],
    ['an unknown property', { P: { Type: 'String', Foo: 1 } }, ['error:PARAM_DEFINITION@Parameters.P.Foo']],
    ['MinLength above MaxLength', { P: { Type: 'String', MinLength: 5, MaxLength: '2' } }, ['error:PARAM_DEFINITION@Parameters.P.MinLength']],
    ['MinValue above MaxValue', { P: { Type: 'Number', MinValue: 10, MaxValue: 1 } }, ['error:PARAM_DEFINITION@Parameters.P.MinValue']],
    ['a bad regex', { P: { Type: 'String', AllowedPattern: '[a-' } }, ['error:PARAM_DEFINITION@Parameters.P.AllowedPattern']],
    ['empty AllowedValues', { P: { Type: 'String', AllowedValues: [] } }, ['error:PARAM_DEFINITION@Parameters.P.AllowedValues']],
    ['a Default outside AllowedValues', { P: { Type: 'String', Default: 'c', AllowedValues: ['a', 'b'] } }, ['error:PARAM_DEFAULT@Parameters.P.Default']],
    ['a Default not matching the whole pattern', { P: { Type: 'String', Default: 'ab1', AllowedPattern: '[a-z]+' } }, ['error:PARAM_DEFAULT@Parameters.P.Default']],
    ['a Default too long', { P: { Type: 'String', Default: 'abcdef', MaxLength: 3 } }, ['error:PARAM_DEFAULT@Parameters.P.Default']],
    ['a Number Default that is not a number', { P: { Type: 'Number', Default: '12a' } }, ['error:PARAM_DEFAULT@Parameters.P.Default']],
    ['a Number Default below MinValue', { P: { Type: 'Number', Default: 1, MinValue: 2 } }, ['error:PARAM_DEFAULT@Parameters.P.Default']],
    ['a List<Number> Default with a word', { P: { Type: 'List<Number>', Default: '1, x' } }, ['error:PARAM_DEFAULT@Parameters.P.Default']],
    ['MinValue on a String (no effect)', { P: { Type: 'String', MinValue: 1 } }, ['warning:PARAM_DEFINITION@Parameters.P.MinValue']],
    ['a badly shaped AMI Default', { P: { Type: 'AWS::EC2::Image::Id', Default: 'ami-123' } }, ['warning:PARAM_DEFAULT@Parameters.P.Default']],
    ['a non-alphanumeric name', { 'My-P': { Type: 'String' } }, ['error:PARAM_NAME@Parameters.My-P']],
    ['NoEcho that is not a boolean', { P: { Type: 'String', NoEcho: 'yes' } }, ['error:PARAM_DEFINITION@Parameters.P.NoEcho']],
    ['an allowed value the pattern refuses', { P: { Type: 'String', AllowedValues: ['ok', 'Bad'], AllowedPattern: '[a-z]+' } }, ['warning:PARAM_DEFINITION@Parameters.P.AllowedValues.1']],
    ['an allowed value above MaxValue', { P: { Type: 'Number', AllowedValues: [1, 200], MaxValue: 100 } }, ['warning:PARAM_DEFINITION@Parameters.P.AllowedValues.1']],
    ['an allowed Number that is not a number', { P: { Type: 'Number', AllowedValues: ['one'] } }, ['warning:PARAM_DEFINITION@Parameters.P.AllowedValues.0']],
  ])('reports %s', (_what, p, expected) => expect(codes(p)).toEqual(expected));

  it.each<[string, Record<string, unknown>]>([
    ['the seed parameters', { E: { Type: 'String', Default: 'dev', AllowedPattern: '[a-z][a-z0-9-]*' }, N: { Type: 'Number', Default: 6379 } }],
    ['a CommaDelimitedList with members allowed', { L: { Type: 'CommaDelimitedList', Default: 'a, b', AllowedValues: ['a', 'b', 'c'] } }],
    ['a numeric AllowedValues on a Number', { N: { Type: 'Number', Default: '1.0', AllowedValues: [1, 2] } }],
    ['NoEcho as a string', { S: { Type: 'String', NoEcho: 'true' } }],
    ['an empty KeyPair default is only a warning', { K: { Type: 'String', Default: '' } }],
  ])('accepts %s', (_what, p) => expect(codes(p).filter((c) => c.startsWith('error'))).toEqual([]));
});

describe('values', () => {
  const check = (def: Record<string, unknown>, v: string) => checkParameterValue('P', def, v);

  it.each<[string, Record<string, unknown>, string, boolean]>([
    ['AllowedValues hit', { Type: 'String', AllowedValues: ['a', 'b'] }, 'a', true],
    ['AllowedValues miss', { Type: 'String', AllowedValues: ['a', 'b'] }, 'A', false],
    ['pattern whole match', { Type: 'String', AllowedPattern: '[a-z]+' }, 'abc', true],
    ['pattern partial match fails', { Type: 'String', AllowedPattern: '[a-z]+' }, 'abc1', false],
    ['pattern with alternation matches whole', { Type: 'String', AllowedPattern: 'a|bc' }, 'bc', true],
    ['pattern with alternation, partial', { Type: 'String', AllowedPattern: 'a|bc' }, 'abc', false],
    ['MinLength', { Type: 'String', MinLength: 3 }, 'ab', false],
    ['MaxLength counts characters', { Type: 'String', MaxLength: 2 }, 'éé', true],
    ['Number valid float', { Type: 'Number' }, '-1.5e3', true],
    ['Java possessive quantifier read as greedy', { Type: 'String', AllowedPattern: '[a-z0-9]{6,16}+' }, 'abcdef', true],
    ['Java possessive quantifier still bounds', { Type: 'String', AllowedPattern: '[a-z0-9]{6,16}+' }, 'abc', false],
    ['possessive star', { Type: 'String', AllowedPattern: 'a*+b' }, 'aab', true],
    ['Number invalid', { Type: 'Number' }, '1,5', false],
    ['Number MinValue', { Type: 'Number', MinValue: 1 }, '0.5', false],
    ['Number MaxValue', { Type: 'Number', MaxValue: '10' }, '10', true],
    ['List<Number> all numbers', { Type: 'List<Number>' }, '80, 443', true],
    ['List<Number> with a word', { Type: 'List<Number>' }, '80,http', false],
    ['CDL members allowed', { Type: 'CommaDelimitedList', AllowedValues: ['a', 'b'] }, 'a, b', true],
    ['CDL member not allowed', { Type: 'CommaDelimitedList', AllowedValues: ['a', 'b'] }, 'a,c', false],
    ['CDL member pattern', { Type: 'CommaDelimitedList', AllowedPattern: '\\d+' }, '1, 2,x', false],
    ['AMI 8 hex', { Type: 'AWS::EC2::Image::Id' }, 'ami-0123abcd', true],
    ['AMI 17 hex', { Type: 'AWS::EC2::Image::Id' }, 'ami-0123456789abcdef0', true],
    ['AMI 10 hex', { Type: 'AWS::EC2::Image::Id' }, 'ami-0123456789', false],
    ['AMI upper case', { Type: 'AWS::EC2::Image::Id' }, 'ami-0123ABCD', false],
    ['security group id', { Type: 'AWS::EC2::SecurityGroup::Id' }, 'sg-0123abcd', true],
    ['subnet id with wrong prefix', { Type: 'AWS::EC2::Subnet::Id' }, 'sub-0123abcd', false],
    ['vpc id', { Type: 'AWS::EC2::VPC::Id' }, 'vpc-0123456789abcdef0', true],
    ['instance id', { Type: 'AWS::EC2::Instance::Id' }, 'i-0123abcd', true],
    ['volume id', { Type: 'AWS::EC2::Volume::Id' }, 'vol-0123abcd', true],
    ['key pair name', { Type: 'AWS::EC2::KeyPair::KeyName' }, 'my key', true],
    ['empty key pair name', { Type: 'AWS::EC2::KeyPair::KeyName' }, '', false],
    ['AZ name', { Type: 'AWS::EC2::AvailabilityZone::Name' }, 'eu-west-1a', true],
    ['AZ name (GovCloud)', { Type: 'AWS::EC2::AvailabilityZone::Name' }, 'us-gov-west-1b', true],
    ['AZ name without letter', { Type: 'AWS::EC2::AvailabilityZone::Name' }, 'eu-west-1', false],
    ['hosted zone id', { Type: 'AWS::Route53::HostedZone::Id' }, 'Z1R8UBAEXAMPLE', true],
    ['list of subnets', { Type: 'List<AWS::EC2::Subnet::Id>' }, 'subnet-0123abcd, subnet-4567abcd', true],
    ['list of subnets with a bad one', { Type: 'List<AWS::EC2::Subnet::Id>' }, 'subnet-0123abcd,vpc-0123abcd', false],
    ['SSM parameter name', { Type: 'AWS::SSM::Parameter::Value<String>' }, '/app/prod/ami', true],
    ['SSM parameter name with spaces', { Type: 'AWS::SSM::Parameter::Value<String>' }, 'a b', false],
  ])('%s', (_what, def, v, ok) => expect(check(def, v).length === 0).toBe(ok));

  it('uses ConstraintDescription as the message', () => {
    expect(check({ Type: 'String', AllowedPattern: '[a-z]+', ConstraintDescription: 'lower-case letters only' }, 'X')).toEqual(["Parameter 'P' failed to satisfy constraint: lower-case letters only"]);
  });

  it('masks NoEcho values in every message', () => {
    const msgs = [
      ...check({ Type: 'String', NoEcho: true, AllowedValues: ['secret1'] }, 'hunter22'),
      ...check({ Type: 'Number', NoEcho: 'true' }, 'hunter22'),
      ...check({ Type: 'AWS::EC2::Image::Id', NoEcho: true }, 'hunter22'),
    ];
    expect(msgs).toHaveLength(3);
    for (const m of msgs) {
      expect(m).not.toContain('hunter22');
      expect(m).toContain('****');
    }
  });

  it('gives what Ref yields: Number as string, lists as arrays', () => {
    expect(parameterValue('Number', '42')).toBe('42');
    expect(parameterValue('CommaDelimitedList', 'a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(parameterValue('List<Number>', '80,20')).toEqual(['80', '20']);
    expect(parameterValue('List<String>', 'x, y')).toEqual(['x', 'y']);
    expect(parameterValue('CommaDelimitedList', '')).toEqual([]);
  });
});

describe('resolution', () => {
  const defs = tpl({
    Env: { Type: 'String', Default: 'dev' },
    Ami: { Type: 'AWS::EC2::Image::Id' },
    Key: { Type: 'String' },
    Port: { Type: 'Number', Default: 6379 },
    Pass: { Type: 'String', NoEcho: true, MinLength: 8 },
  });

  it('names every missing parameter in one error when all are required', () => {
    const r = resolveParameters(defs, {}, { requireAll: true });
    const missing = r.diagnostics.filter((d) => d.code === 'PARAM_MISSING');
    expect(missing).toHaveLength(1);
    expect(missing[0]!.message).toContain("'Ami', 'Key', 'Pass'");
  });

  it('does not require values when validating', () => {
    expect(resolveParameters(defs, {}).diagnostics).toEqual([]);
  });

  it('rejects unknown --param names', () => {
    const r = resolveParameters(defs, { Nope: '1' });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['PARAM_UNKNOWN']);
    expect(r.diagnostics[0]!.message).toContain('Nope');
  });

  it('resolves given values and defaults', () => {
    const r = resolveParameters(defs, { Ami: 'ami-0123abcd', Key: 'k', Pass: 'longenough' }, { requireAll: true });
    expect(r.diagnostics).toEqual([]);
    expect(r.values.Port).toEqual({ type: 'Number', value: '6379', noEcho: false, fromDefault: true });
    expect(r.values.Pass).toMatchObject({ value: 'longenough', noEcho: true, fromDefault: false });
  });

  it('warns that SSM parameters cannot be read locally', () => {
    const t = tpl({ Ami: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' } });
    const r = resolveParameters(t, { Ami: '/images/web' }, { requireAll: true });
    expect(r.diagnostics.map((d) => `${d.severity}:${d.code}`)).toEqual(['warning:PARAM_SSM_LOCAL']);
    expect(r.values.Ami!.value).toBe('/images/web');
  });

  it('points value errors at the parameter and masks NoEcho', () => {
    const r = resolveParameters(defs, { Ami: 'ami-xyz', Pass: 'short' });
    expect(r.diagnostics.map((d) => [d.code, d.segments!.join('.')])).toEqual([
      ['PARAM_VALUE', 'Parameters.Ami'],
      ['PARAM_VALUE', 'Parameters.Pass'],
    ]);
    expect(JSON.stringify(r.diagnostics)).not.toContain('short');
  });
});
