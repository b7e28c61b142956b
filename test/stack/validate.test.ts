// Template validation, check by check, on inline templates. Each row: a template and the
// diagnostics (code and logical path) it must produce — every problem at once.
import { describe, expect, it } from 'vitest';
import { loadTemplate } from '../../src/stack/load.js';
import { validateTemplate, validateValue } from '../../src/stack/validate.js';
import { formatPath } from '../../src/core/source.js';

type T = Record<string, unknown>;
const topic = { Type: 'AWS::SNS::Topic' };
const base = (extra: T = {}): T => ({ AWSTemplateFormatVersion: '2010-09-09', Resources: { Topic: topic }, ...extra });
const problems = (t: unknown, opts = {}) =>
  validateValue(t, opts)
    .filter((d) => d.severity === 'error')
    .map((d) => [d.code, formatPath(d.segments ?? [])]);

describe('a valid template has no diagnostics', () => {
  it.each<[string, unknown]>([
    ['minimal', { Resources: { Topic: topic } }],
    [
      'every section',
      {
        AWSTemplateFormatVersion: '2010-09-09',
        Description: 'd',
        Metadata: { 'AWS::CloudFormation::Interface': {} },
        Parameters: { Name: { Type: 'String', Default: 'x' } },
        Rules: { R: { Assertions: [{ Assert: { 'Fn::Equals': [{ Ref: 'Name' }, 'x'] } }] } },
        Mappings: { M: { 'us-east-1': { Ami: 'ami-1' } } },
        Conditions: { C: { 'Fn::Equals': [{ Ref: 'Name' }, 'x'] }, D: { 'Fn::Not': [{ Condition: 'C' }] } },
        Resources: {
          Topic: { Type: 'AWS::SNS::Topic', Condition: 'C', Properties: { TopicName: { 'Fn::Sub': '${Name}-${AWS::Region}' } } },
          Queue: { Type: 'AWS::SQS::Queue', DependsOn: 'Topic', DeletionPolicy: 'Retain', Properties: { QueueName: { 'Fn::If': ['C', { Ref: 'Name' }, { Ref: 'AWS::NoValue' }] } } },
        },
        Outputs: { Arn: { Value: { 'Fn::GetAtt': ['Queue', 'Arn'] }, Export: { Name: 'x' }, Condition: 'D' } },
      },
    ],
    [
      'custom resources take any property and attribute',
      {
        Resources: {
          C: { Type: 'Custom::Thing', Properties: { ServiceToken: 'arn', Anything: 1 } },
          U: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::GetAtt': ['C', 'Whatever.Deep'] } } },
        },
      },
    ],
    [
      'dotted GetAtt attributes',
      {
        Resources: { Cache: { Type: 'AWS::ElastiCache::CacheCluster', Properties: { CacheNodeType: 'cache.t3.micro', Engine: 'redis', NumCacheNodes: 1 } } },
        Outputs: { A: { Value: { 'Fn::GetAtt': 'Cache.RedisEndpoint.Address' } }, B: { Value: { 'Fn::Sub': '${Cache.RedisEndpoint.Port}' } } },
      },
    ],
    ['numbers and booleans as strings', { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { DelaySeconds: '5', FifoQueue: 'true' } } } }],
    ['Sub ${!Literal} and its own variables', { Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Sub': ['${!NotAName}-${Own}', { Own: 'x' }] } } } } }],
    [
      'nested stack outputs',
      { Resources: { S: { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: 'https://x' } } }, Outputs: { O: { Value: { 'Fn::GetAtt': ['S', 'Outputs.VpcId'] } } } },
    ],
    [
      'Properties given by Fn::If',
      { Conditions: { C: { 'Fn::Equals': ['a', 'a'] } }, Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { 'Fn::If': ['C', { TopicName: 'a' }, { DisplayName: 'b' }] } } } },
    ],
  ])('%s', (_name, t) => {
    expect(problems(t)).toEqual([]);
  });
});

describe('template structure', () => {
  it.each<[string, unknown, Array<[string, string]>]>([
    ['not an object', ['a'], [['E1001', '']]],
    ['empty', null, [['E1001', '']]],
    ['no Resources', { Description: 'x' }, [['E1001', '']]],
    ['unknown section', base({ Resource: {} }), [['E1001', 'Resource']]],
    [
      'section of the wrong type',
      base({ Parameters: [], Description: 5 }),
      [
        ['E1001', 'Parameters'],
        ['E1001', 'Description'],
        ['PARAM_DEFINITION', 'Parameters'],
      ],
    ],
    ['bad format version', base({ AWSTemplateFormatVersion: '2010-09-10' }), [['E1001', 'AWSTemplateFormatVersion']]],
    ['Description too long', base({ Description: 'x'.repeat(1025) }), [['E1003', 'Description']]],
    ['Transform of the wrong shape', base({ Transform: { key: 'x' } }), [['E1005', 'Transform']]],
    ['LanguageExtensions after Serverless', base({ Transform: ['AWS::Serverless-2016-10-31', 'AWS::LanguageExtensions'] }), [['E1005', 'Transform']]],
    ['Fn::ForEach without the LanguageExtensions transform', { Resources: { 'Fn::ForEach::X': ['i', ['a'], { T: topic }] } }, [['E1032', 'Resources.Fn::ForEach::X']]],
  ])('%s', (_name, t, expected) => {
    expect(problems(t)).toEqual(expected);
  });

  it('a template over the limits', () => {
    const resources: T = {};
    for (let i = 0; i < 501; i++) resources[`R${i}`] = topic;
    const outputs: T = {};
    for (let i = 0; i < 201; i++) outputs[`O${i}`] = { Value: 'x' };
    expect(problems({ Resources: resources, Outputs: outputs })).toEqual([
      ['E3010', 'Resources'],
      ['E6010', 'Outputs'],
    ]);
  });
});

describe('resources', () => {
  it.each<[string, T, Array<[string, string]>]>([
    ['logical id not alphanumeric', { 'my.Topic': topic }, [['E3001', 'Resources.my.Topic']]],
    ['logical id too long', { ['A'.repeat(256)]: topic }, [['E3001', `Resources.${'A'.repeat(256)}`]]],
    ['not an object', { T: 'x' }, [['E3001', 'Resources.T']]],
    ['no Type', { T: { Properties: {} } }, [['E3001', 'Resources.T']]],
    ['unknown resource attribute', { T: { Type: 'AWS::SNS::Topic', Propertes: {} } }, [['E3001', 'Resources.T.Propertes']]],
    ['unknown type', { T: { Type: 'AWS::SNS::Topik' } }, [['E3006', 'Resources.T.Type']]],
    ['Properties not an object', { T: { Type: 'AWS::SNS::Topic', Properties: [] } }, [['E3001', 'Resources.T.Properties']]],
    ['unknown property', { T: { Type: 'AWS::SNS::Topic', Properties: { TopicNme: 'x' } } }, [['E3002', 'Resources.T.Properties.TopicNme']]],
    [
      'unknown nested property',
      { I: { Type: 'AWS::EC2::Instance', Properties: { BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebz: {} }] } } },
      [['E3002', 'Resources.I.Properties.BlockDeviceMappings[0].Ebz']],
    ],
    [
      'missing required properties',
      { C: { Type: 'AWS::ElastiCache::CacheCluster', Properties: { Engine: 'redis' } } },
      [
        ['E3003', 'Resources.C.Properties'],
        ['E3003', 'Resources.C.Properties'],
      ],
    ],
    [
      'missing required properties, no Properties at all',
      { C: { Type: 'AWS::ElastiCache::CacheCluster' } },
      [
        ['E3003', 'Resources.C'],
        ['E3003', 'Resources.C'],
        ['E3003', 'Resources.C'],
      ],
    ],
    ['missing required nested property', { I: { Type: 'AWS::EC2::Instance', Properties: { BlockDeviceMappings: [{ Ebs: {} }] } } }, [['E3003', 'Resources.I.Properties.BlockDeviceMappings[0]']]],
    ['a list where an object is expected', { I: { Type: 'AWS::EC2::Instance', Properties: { CpuOptions: [] } } }, [['E3012', 'Resources.I.Properties.CpuOptions']]],
    ['an object where a list is expected', { I: { Type: 'AWS::EC2::Instance', Properties: { SecurityGroupIds: { a: 1 } } } }, [['E3012', 'Resources.I.Properties.SecurityGroupIds']]],
    ['an object where a string is expected', { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { a: 1 } } } }, [['E3012', 'Resources.T.Properties.TopicName']]],
    ['not a number', { Q: { Type: 'AWS::SQS::Queue', Properties: { DelaySeconds: 'five' } } }, [['E3012', 'Resources.Q.Properties.DelaySeconds']]],
    ['not a boolean', { Q: { Type: 'AWS::SQS::Queue', Properties: { FifoQueue: 'yes' } } }, [['E3012', 'Resources.Q.Properties.FifoQueue']]],
    [
      'a bad tag',
      { I: { Type: 'AWS::EC2::Instance', Properties: { Tags: [{ Value: 'x' }, 'y'] } } },
      [
        ['E3003', 'Resources.I.Properties.Tags[0]'],
        ['E3012', 'Resources.I.Properties.Tags[1]'],
      ],
    ],
    [
      'both branches of Fn::If are checked',
      { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::If': ['C', ['x'], 'y'] } } } },
      [
        ['E3012', 'Resources.T.Properties.TopicName.Fn::If[1]'],
        ['E8002', 'Resources.T.Properties.TopicName.Fn::If[0]'],
      ],
    ],
    ['DependsOn a missing resource', { T: { Type: 'AWS::SNS::Topic', DependsOn: ['Nope'] } }, [['E3005', 'Resources.T.DependsOn[0]']]],
    [
      'DependsOn itself',
      { T: { Type: 'AWS::SNS::Topic', DependsOn: 'T' } },
      [
        ['E3005', 'Resources.T.DependsOn'],
        ['E3004', 'Resources.T.DependsOn'],
      ],
    ],
    ['DependsOn of the wrong shape', { T: { Type: 'AWS::SNS::Topic', DependsOn: { a: 1 } } }, [['E3005', 'Resources.T.DependsOn']]],
    ['undefined Condition', { T: { Type: 'AWS::SNS::Topic', Condition: 'Nope' } }, [['E8002', 'Resources.T.Condition']]],
    ['bad DeletionPolicy', { T: { Type: 'AWS::SNS::Topic', DeletionPolicy: 'Keep' } }, [['E3035', 'Resources.T.DeletionPolicy']]],
    [
      'Snapshot on a type without snapshots',
      { T: { Type: 'AWS::SNS::Topic', DeletionPolicy: 'Snapshot', UpdateReplacePolicy: 'Snapshot' } },
      [
        ['E3035', 'Resources.T.DeletionPolicy'],
        ['E3036', 'Resources.T.UpdateReplacePolicy'],
      ],
    ],
    ['bad UpdateReplacePolicy', { T: { Type: 'AWS::SNS::Topic', UpdateReplacePolicy: 'RetainExceptOnCreate' } }, [['E3036', 'Resources.T.UpdateReplacePolicy']]],
  ])('%s', (_name, resources, expected) => {
    expect(problems({ Resources: resources })).toEqual(expected);
  });

  it('a resource with the name of a parameter', () => {
    expect(problems({ Parameters: { Name: { Type: 'String' } }, Resources: { Name: topic } })).toEqual([['E3007', 'Resources.Name']]);
  });

  it('a local path where aws cloudformation package puts an S3 location is a warning', () => {
    const diags = validateValue({ Resources: { F: { Type: 'AWS::Lambda::Function', Properties: { Code: './src', Role: 'arn', Runtime: 'nodejs20.x', Handler: 'i.h' } } } });
    expect(diags.map((d) => [d.severity, d.code])).toEqual([['warning', 'W3002']]);
  });
});

describe('suggestions', () => {
  it.each([
    [{ T: { Type: 'AWS::SNS::Topik' } }, "unknown resource type 'AWS::SNS::Topik' (did you mean 'AWS::SNS::Topic'?)"],
    [{ T: { Type: 'AWS::SNS::Topic', Properties: { topicname: 'x' } } }, "unknown property 'topicname' (did you mean 'TopicName'?)"],
    [{ T: { Type: 'AWS::SNS::Topic', Properties: { TopicNme: 'x' } } }, "unknown property 'TopicNme' (did you mean 'TopicName'?)"],
    [{ T: { Type: 'AWS::SNS::Topic', Properties: { Colour: 'x' } } }, "unknown property 'Colour'"],
  ])('%j', (resources, message) => {
    expect(validateValue({ Resources: resources }).map((d) => d.message)).toEqual([message]);
  });
});

describe('references', () => {
  const P = { Name: { Type: 'String' } };
  it.each<[string, T, Array<[string, string]>]>([
    ['Ref to an unknown name', { Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { Ref: 'Nope' } } } } }, [['E1020', 'Resources.T.Properties.TopicName.Ref']]],
    [
      'Ref to parameters, resources and pseudo parameters',
      { Parameters: P, Resources: { A: topic, T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Join': ['-', [{ Ref: 'Name' }, { Ref: 'A' }, { Ref: 'AWS::StackName' }]] } } } } },
      [],
    ],
    [
      'GetAtt to an unknown resource',
      { Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::GetAtt': ['Nope', 'Arn'] } } } } },
      [['E1010', 'Resources.T.Properties.TopicName.Fn::GetAtt[0]']],
    ],
    [
      'GetAtt to a parameter',
      { Parameters: P, Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::GetAtt': 'Name.Value' } } } } },
      [['E1010', 'Resources.T.Properties.TopicName.Fn::GetAtt']],
    ],
    [
      'GetAtt to an unknown attribute',
      { Resources: { Q: { Type: 'AWS::SQS::Queue' }, T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::GetAtt': ['Q', 'Nope'] } } } } },
      [['E1010', 'Resources.T.Properties.TopicName.Fn::GetAtt[1]']],
    ],
    [
      'Sub with unknown names and attributes',
      { Resources: { Q: { Type: 'AWS::SQS::Queue' }, T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::Sub': '${Nope}-${Q.Nope}-${Q.Arn}' } } } } },
      [
        ['E1019', 'Resources.T.Properties.TopicName.Fn::Sub'],
        ['E1019', 'Resources.T.Properties.TopicName.Fn::Sub'],
      ],
    ],
    [
      'Fn::If with an undefined condition',
      { Resources: { T: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::If': ['Nope', 'a', 'b'] } } } } },
      [['E8002', 'Resources.T.Properties.TopicName.Fn::If[0]']],
    ],
    [
      'output referring to unknown names',
      { Resources: { T: topic }, Outputs: { O: { Value: { Ref: 'Nope' }, Condition: 'Nope' } } },
      [
        ['E8002', 'Outputs.O.Condition'],
        ['E1020', 'Outputs.O.Value.Ref'],
      ],
    ],
  ])('%s', (_name, t, expected) => {
    expect(problems(t)).toEqual(expected);
  });

  it('a dependency cycle is reported with its path', () => {
    const diags = validateValue({
      Resources: {
        A: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { Ref: 'B' } } },
        B: { Type: 'AWS::SNS::Topic', Properties: { TopicName: { 'Fn::GetAtt': ['C', 'TopicName'] } } },
        C: { Type: 'AWS::SNS::Topic', DependsOn: 'A' },
      },
    });
    expect(diags.map((d) => [d.code, d.message, formatPath(d.segments ?? [])])).toEqual([['E3004', 'circular dependency between resources: A -> B -> C -> A', 'Resources.A.Properties.TopicName.Ref']]);
  });
});

describe('conditions, mappings and outputs', () => {
  it.each<[string, T, Array<[string, string]>]>([
    ['condition that is not a condition function', { Conditions: { C: 'yes' }, Resources: { T: topic } }, [['E8001', 'Conditions.C']]],
    ['condition naming an undefined condition', { Conditions: { C: { 'Fn::Not': [{ Condition: 'Nope' }] } }, Resources: { T: topic } }, [['E8002', 'Conditions.C.Fn::Not[0].Condition']]],
    ['condition referring to a resource', { Conditions: { C: { 'Fn::Equals': [{ Ref: 'T' }, 'x'] } }, Resources: { T: topic } }, [['E1020', 'Conditions.C.Fn::Equals[0].Ref']]],
    ['mapping name not alphanumeric', { Mappings: { 'Bad.Name': { a: { b: 'c' } } }, Resources: { T: topic } }, [['E7001', 'Mappings.Bad.Name']]],
    ['mapping with one level only', { Mappings: { M: { a: 'c' } }, Resources: { T: topic } }, [['E7001', 'Mappings.M.a']]],
    ['mapping value that is a function', { Mappings: { M: { a: { b: { Ref: 'AWS::Region' } } } }, Resources: { T: topic } }, [['E1001', 'Mappings.M.a.b.Ref']]],
    ['mapping value that is an object', { Mappings: { M: { a: { b: { c: 'd' } } } }, Resources: { T: topic } }, [['E7001', 'Mappings.M.a.b']]],
    ['output without Value', { Resources: { T: topic }, Outputs: { O: { Description: 'd' } } }, [['E6002', 'Outputs.O']]],
    [
      'output with unknown keys and a bad Export',
      { Resources: { T: topic }, Outputs: { O: { Value: 'v', Exports: {}, Export: 'x' } } },
      [
        ['E6001', 'Outputs.O.Exports'],
        ['E6001', 'Outputs.O.Export'],
      ],
    ],
    ['output name not alphanumeric', { Resources: { T: topic }, Outputs: { 'O-1': { Value: 'v' } } }, [['E6001', 'Outputs.O-1']]],
  ])('%s', (_name, t, expected) => {
    expect(problems(t)).toEqual(expected);
  });
});

describe('parameters (checks from src/stack/params.ts)', () => {
  const t = { Parameters: { Ami: { Type: 'AWS::EC2::Image::Id' }, Secret: { Type: 'String', NoEcho: true, AllowedPattern: '[a-z]+' } }, Resources: { T: topic } };
  it('a parameter with no Default and no value is not an error', () => {
    expect(problems(t)).toEqual([]);
  });
  it('checks given values and never shows a NoEcho value', () => {
    const diags = validateValue(t, { params: { Ami: 'not-an-ami', Secret: 'HUNTER2' } });
    expect(diags.map((d) => d.code)).toEqual(['PARAM_VALUE', 'PARAM_VALUE']);
    expect(JSON.stringify(diags)).not.toContain('HUNTER2');
  });
});

describe('every problem at once, with positions', () => {
  it('reports all problems of a YAML template, sorted, each at its line and column', () => {
    const text = [
      'AWSTemplateFormatVersion: "2010-09-09"',
      'Resources:',
      '  Web:',
      '    Type: AWS::EC2::Instance',
      '    DependsOn: Missing',
      '    Properties:',
      '      ImageId: !Ref AmiId',
      '      InstanceTyp: t2.micro',
      '  Cache:',
      '    Type: AWS::ElastiCache::CacheCluster',
      '    Properties:',
      '      CacheNodeType: cache.t3.micro',
      '      Engine: redis',
      '      NumCacheNodes: 1',
      'Outputs:',
      '  Addr:',
      '    Value: !GetAtt Cache.RedisEndpoint.Adress',
      '',
    ].join('\n');
    const diags = validateTemplate(loadTemplate(text, 'stack.yaml'));
    expect(diags.map((d) => `${d.range?.start.line}:${d.range?.start.col} ${d.code} ${d.path}`)).toEqual([
      '5:16 E3005 Resources.Web.DependsOn',
      '7:21 E1020 Resources.Web.Properties.ImageId.Ref',
      '8:7 E3002 Resources.Web.Properties.InstanceTyp',
      '17:26 E1010 Outputs.Addr.Value.Fn::GetAtt[1]',
    ]);
    expect(diags.every((d) => d.range?.file === 'stack.yaml')).toBe(true);
  });

  it('reports only the syntax error of malformed YAML, not follow-on guesses', () => {
    const diags = validateTemplate(loadTemplate('Resources:\n  T:\n    Type: AWS::SNS::Topic\n   Bad: [\n', 't.yaml'));
    expect(diags.length).toBeGreaterThan(0);
    expect(diags.every((d) => d.code === 'YAML_SYNTAX')).toBe(true);
  });

  it('keeps checking after problems that do not stop reading (duplicate keys, aliases)', () => {
    const diags = validateTemplate(loadTemplate('Resources:\n  T: {Type: AWS::SNS::Topic}\n  T: {Type: AWS::SNS::Topic}\n  Q: {Type: AWS::SQS::Quue}\n', 't.yaml'));
    expect(diags.map((d) => d.code)).toEqual(['DUPLICATE_KEY', 'E3006']);
  });

  it('includes the parse diagnostics and stops there when nothing could be read', () => {
    const diags = validateTemplate(loadTemplate('{"Resources": ', 'x.json'));
    expect(diags.map((d) => d.code)).toEqual(['JSON_SYNTAX']);
  });

  it('the seed stack validates with its AMI parameter', async () => {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(new URL('../../examples/seed/stack.json', import.meta.url), 'utf8');
    expect(validateTemplate(loadTemplate(text, 'stack.json'), { params: { AmiId: 'ami-0123456789abcdef0' } })).toEqual([]);
  });
});

describe('AWS::LanguageExtensions: loops are expanded before the checks', () => {
  const loop = (collection: unknown, prop: string) => ({
    Transform: 'AWS::LanguageExtensions',
    Parameters: { Names: { Type: 'CommaDelimitedList' } },
    Resources: { 'Fn::ForEach::Topics': ['N', collection, { 'Topic&{N}': { Type: 'AWS::SNS::Topic', Properties: { [prop]: { 'Fn::Sub': '${N}' } } } }] },
    Outputs: { First: { Value: { Ref: 'Topica' } } },
  });

  it('a valid loop validates', () => {
    expect(problems(loop(['a', 'b'], 'TopicName'))).toEqual([]);
  });

  it('problems in the expansion are reported under the expanded logical id', () => {
    const diags = validateValue(loop(['a'], 'TopicNme'));
    expect(diags.map((d) => [d.code, formatPath(d.segments ?? [])])).toEqual([['E3002', 'Resources.Topica.Properties.TopicNme']]);
  });

  it('and positioned at the loop that generated the resource', () => {
    const text = [
      'Transform: AWS::LanguageExtensions',
      'Resources:',
      '  Fn::ForEach::Topics:',
      '    - N',
      '    - [a]',
      '    - Topic${N}:',
      '        Type: AWS::SNS::Topic',
      '        Properties: {TopicNme: x}',
      '',
    ].join('\n');
    const diags = validateTemplate(loadTemplate(text, 't.yaml'));
    expect(diags.map((d) => `${d.range?.start.line}:${d.range?.start.col} ${d.code} ${d.path}`)).toEqual(['3:3 E3002 Resources.Topica.Properties.TopicNme']);
  });

  it('a loop over a parameter without a value stays unexpanded: a warning, and no false errors', () => {
    const t = loop({ Ref: 'Names' }, 'TopicName');
    t.Outputs = {} as never;
    const diags = validateValue(t);
    expect(diags.filter((d) => d.severity === 'error')).toEqual([]);
    expect(diags.map((d) => d.code)).toEqual(['FOREACH_UNRESOLVED']);
    expect(problems(t, { params: { Names: 'x,y' } })).toEqual([]);
  });
});

describe('required properties removed by Fn::If + AWS::NoValue', () => {
  const fn = (role: unknown, condition?: string) => ({
    Conditions: { Primary: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] } },
    Resources: {
      R: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: {} } },
      F: { Type: 'AWS::Lambda::Function', ...(condition ? { Condition: condition } : {}), Properties: { Code: { ZipFile: 'x' }, Role: role } },
    },
  });
  it('is an error when the condition can remove it', () => {
    expect(problems(fn({ 'Fn::If': ['Primary', { 'Fn::GetAtt': ['R', 'Arn'] }, { Ref: 'AWS::NoValue' }] }))).toEqual([['E3003', 'Resources.F.Properties.Role.Fn::If']]);
    expect(problems(fn({ 'Fn::If': ['Primary', { Ref: 'AWS::NoValue' }, { 'Fn::GetAtt': ['R', 'Arn'] }] }))).toEqual([['E3003', 'Resources.F.Properties.Role.Fn::If']]);
  });
  it('is fine when the resource exists only under that condition', () => {
    expect(problems(fn({ 'Fn::If': ['Primary', { 'Fn::GetAtt': ['R', 'Arn'] }, { Ref: 'AWS::NoValue' }] }, 'Primary'))).toEqual([]);
  });
});

describe('Fn::Sub diagnostics point at the variable', () => {
  it.each([
    [
      'YAML block scalar',
      ['Resources:', '  T:', '    Type: AWS::SNS::Topic', '    Properties:', '      TopicName: !Sub |', '        line one', '        ${AWS::Region} and ${ Nope } here', ''].join('\n'),
      't.yaml',
      '7:28',
    ],
    ['JSON string', '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}, "T": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Fn::Sub": "a-${Q.Nope}"}}}}}', 't.json', '1:126'],
  ])('%s', (_name, text, file, at) => {
    const diags = validateTemplate(loadTemplate(text, file));
    expect(diags.map((d) => `${d.range?.start.line}:${d.range?.start.col} ${d.code}`)).toEqual([`${at} E1019`]);
  });
});
