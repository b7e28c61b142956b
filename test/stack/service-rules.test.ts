// The service rules validate applies to literal values (src/stack/service-rules.ts), and the YAML
// reading of unquoted yes/no/on/off: one table per rule, each row a template fragment and what
// `kiln validate` must say about it.
import { describe, expect, it } from 'vitest';
import { checkServiceRules, parseCidrBlock, runtimeVerdict } from '../../src/stack/service-rules.js';
import { loadTemplate } from '../../src/stack/load.js';
import { validateTemplate } from '../../src/stack/validate.js';
import { formatDiagnostic } from '../../src/core/diagnostics.js';

const day = (s: string) => new Date(`${s}T12:00:00Z`);
const codes = (template: object, now?: Date) => checkServiceRules(template, now ? { now } : {}).map((d) => `${d.code} ${d.segments!.join('.')}`);
const one = (type: string, props: object) => ({ Resources: { R: { Type: type, Properties: props } } });

describe('Lambda runtimes are judged by the date of the check', () => {
  it.each([
    // runtime, day, verdict
    ['nodejs20.x', '2026-04-29', undefined],
    ['nodejs20.x', '2026-04-30', 'W2531'],
    ['nodejs20.x', '2026-06-01', 'E2531'],
    ['nodejs20.x', '2026-07-01', 'E2533'],
    ['python3.12', '2026-12-05', undefined],
    ['nodejs24.x', '2030-01-01', 'E2533'],
    ['provided.al2023', '2026-12-05', undefined],
    ['not-a-runtime', '2026-12-05', undefined],
  ])('%s on %s: %s', (runtime, when, verdict) => {
    expect(runtimeVerdict(runtime, day(when))?.code).toBe(verdict);
  });

  it('names the dates and the successor', () => {
    expect(runtimeVerdict('nodejs16.x', day('2026-12-05'))?.message).toBe(
      "Lambda runtime 'nodejs16.x' was deprecated on 2024-06-12; functions using it can no longer be created (since 2026-06-01) nor updated (since 2026-07-01); use nodejs24.x",
    );
  });

  it.each([
    ['an AWS::Lambda::Function', one('AWS::Lambda::Function', { Runtime: 'python2.7' }), ['E2533 Resources.R.Properties.Runtime']],
    ['an AWS::Serverless::Function', { Transform: 'AWS::Serverless-2016-10-31', ...one('AWS::Serverless::Function', { Runtime: 'python2.7' }) }, ['E2533 Resources.R.Properties.Runtime']],
    ['SAM Globals', { Globals: { Function: { Runtime: 'nodejs12.x' } }, Resources: {} }, ['E2533 Globals.Function.Runtime']],
    ['a runtime from a parameter (not known here)', one('AWS::Lambda::Function', { Runtime: { Ref: 'R' } }), []],
  ])('are checked in %s', (_what, template, expected) => {
    expect(codes(template, day('2026-12-05'))).toEqual(expected);
  });

  it('are not judged without a date (the pure core has no clock)', () => {
    expect(codes(one('AWS::Lambda::Function', { Runtime: 'python2.7' }))).toEqual([]);
  });
});

describe('resource types of retired services', () => {
  it.each([
    ['AWS::OpsWorks::Stack', '2026-12-05', 'E3710'],
    ['AWS::IoTEvents::Input', '2026-05-19', 'E3710'],
    ['AWS::AppMesh::Mesh', '2026-09-29', 'W3696'],
    ['AWS::AppMesh::Mesh', '2026-09-30', 'E3710'],
    ['AWS::WAF::WebACL', '2030-01-01', 'W3696'],
    ['AWS::WAFv2::WebACL', '2030-01-01', undefined],
    ['AWS::AutoScaling::LaunchConfiguration', '2026-12-05', 'W3697'],
    ['AWS::Timestream::InfluxDBInstance', '2026-12-05', undefined],
    ['AWS::CodeStarConnections::Connection', '2026-12-05', undefined],
    ['AWS::EC2::Instance', '2026-12-05', undefined],
  ])('%s on %s: %s', (type, when, verdict) => {
    const found = checkServiceRules({ Resources: { R: { Type: type } } }, { now: day(when) });
    expect(found.map((d) => d.code)).toEqual(verdict ? [verdict] : []);
    if (verdict) expect(found[0]!.segments).toEqual(['Resources', 'R', 'Type']);
  });
});

describe('CIDR blocks', () => {
  it.each([
    ['10.0.0.0/16', 'v4', undefined],
    ['0.0.0.0/0', 'v4', undefined],
    ['10.0.0.1/16', 'v4', 'it has host bits set (the block starting there is 10.0.0.0/16)'],
    ['10.0.0.0/33', 'v4', 'the prefix length must be 0 to 32'],
    ['10.0.0.0', 'v4', 'it has no /prefix length'],
    ['256.0.0.0/8', 'v4', "'256.0.0.0' is not an IPv4 address"],
    ['010.0.0.0/8', 'v4', "'010.0.0.0' is not an IPv4 address"],
    ['10.0.0/8', 'v4', "'10.0.0' is not an IPv4 address"],
    ['::/0', 'v6', undefined],
    ['2001:db8::/32', 'v6', undefined],
    ['2001:db8::1/32', 'v6', 'it has host bits set (the block starting there is 2001:db8::/32)'],
    ['fd00:0:0:1::1/64', 'v6', 'it has host bits set (the block starting there is fd00:0:0:1::/64)'],
    ['2001:db8:::/32', 'v6', "'2001:db8:::' is not an IPv6 address"],
    ['2001:db8::/129', 'v6', 'the prefix length must be 0 to 128'],
    ['::ffff:10.0.0.0/104', 'v6', undefined],
    ['10.0.0.0/8', 'v6', 'it is an IPv4 block where an IPv6 one is expected'],
    ['2001:db8::/32', 'v4', 'it is an IPv6 block where an IPv4 one is expected'],
  ] as const)('%s as %s: %s', (text, family, problem) => {
    const r = parseCidrBlock(text, family);
    expect('problem' in r ? r.problem : undefined).toBe(problem);
  });

  it.each([
    ['a VPC', one('AWS::EC2::VPC', { CidrBlock: '10.0.0.1/16' }), ['E3031 Resources.R.Properties.CidrBlock']],
    ['a VPC of /8 (EC2 refuses it: a warning)', one('AWS::EC2::VPC', { CidrBlock: '10.0.0.0/8' }), ['CIDR_SIZE Resources.R.Properties.CidrBlock']],
    [
      'a group rule',
      one('AWS::EC2::SecurityGroup', { GroupDescription: 'x', SecurityGroupIngress: [{ CidrIp: '0.0.0.0/0' }, { CidrIpv6: '::/0' }, { CidrIp: '1.2.3.4' }] }),
      ['E3031 Resources.R.Properties.SecurityGroupIngress.2.CidrIp'],
    ],
    ['both branches of Fn::If', one('AWS::EC2::SecurityGroupIngress', { CidrIp: { 'Fn::If': ['C', '10.0.0.0/8', '10.0.0.5/8'] } }), ['E3031 Resources.R.Properties.CidrIp.Fn::If.2']],
    ['a network ACL entry', one('AWS::EC2::NetworkAclEntry', { CidrBlock: '10.0.0.0/8', Ipv6CidrBlock: '10.0.0.0/8' }), ['E3031 Resources.R.Properties.Ipv6CidrBlock']],
    ['a route', one('AWS::EC2::Route', { DestinationCidrBlock: '0.0.0.0/0' }), []],
    ['a value known only later (Fn::Select of Fn::Cidr)', one('AWS::EC2::Subnet', { CidrBlock: { 'Fn::Select': [0, { 'Fn::Cidr': ['10.0.0.0/16', 4, 8] }] } }), []],
    ['a property that is no CIDR', one('AWS::EC2::Instance', { ImageId: '10.0.0.1/16' }), []],
  ])('are checked in %s', (_what, template, expected) => {
    expect(codes(template)).toEqual(expected);
  });

  it('find a subnet outside the block of its VPC', () => {
    const template = {
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
        In: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.0.1.0/24' } },
        Out: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.1.0.0/24' } },
      },
    };
    expect(codes(template)).toEqual(['E3059 Resources.Out.Properties.CidrBlock']);
    // A VPC with a second block may hold it.
    const more = { Resources: { ...template.Resources, Extra: { Type: 'AWS::EC2::VPCCidrBlock', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.1.0.0/16' } } } };
    expect(codes(more)).toEqual([]);
  });
});

describe('KMS key references', () => {
  const key = '1234abcd-12ab-34cd-56ef-1234567890ab';
  it.each([
    ['a key id', one('AWS::SQS::Queue', { KmsMasterKeyId: key }), []],
    ['a multi-Region key id', one('AWS::SQS::Queue', { KmsMasterKeyId: `mrk-${'a'.repeat(32)}` }), []],
    ['an alias', one('AWS::SQS::Queue', { KmsMasterKeyId: 'alias/aws/sqs' }), []],
    ['a key ARN', one('AWS::SQS::Queue', { KmsMasterKeyId: `arn:aws:kms:us-east-1:123456789012:key/${key}` }), []],
    ['something else', one('AWS::SQS::Queue', { KmsMasterKeyId: 'my-key' }), ['E1162 Resources.R.Properties.KmsMasterKeyId']],
    ['an id where an ARN is required', one('AWS::Lambda::Function', { KmsKeyArn: key }), ['E1157 Resources.R.Properties.KmsKeyArn']],
    [
      'a nested property (S3 default encryption)',
      one('AWS::S3::Bucket', { BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: 'nope' } }] } }),
      ['E1162 Resources.R.Properties.BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.KMSMasterKeyID'],
    ],
    ['a key from a parameter (not known here)', one('AWS::SQS::Queue', { KmsMasterKeyId: { Ref: 'Key' } }), []],
    ["a nested stack parameter of that name (the user's key, not a property)", one('AWS::CloudFormation::Stack', { TemplateURL: 'https://x/t.yaml', Parameters: { KmsKeyId: 'anything' } }), []],
  ])('%s', (_what, template, expected) => {
    expect(codes(template)).toEqual(expected);
  });
});

describe('YAML 1.1 booleans, as CloudFormation reads them', () => {
  const check = (yaml: string) => {
    const doc = loadTemplate(yaml, 't.yaml');
    return validateTemplate(doc).map((d) => formatDiagnostic(d));
  };
  const params = (lines: string[]) => ['Parameters:', ...lines, 'Resources:', '  T:', '    Type: AWS::SNS::Topic', ''].join('\n');

  it('unquoted Yes/No in AllowedValues are the values true and false, said where they are written', () => {
    const out = check(params(['  Enable:', '    Type: String', '    Default: "true"', '    AllowedValues: [Yes, No]']));
    expect(out).toEqual([
      "t.yaml:5:21: warning[YAML_BOOLEAN]: unquoted Yes is the boolean true in YAML 1.1, as CloudFormation reads it: the value is 'true' (so a value given as 'Yes' is refused); write 'Yes' to keep the word (at Parameters.Enable.AllowedValues[0])",
      "t.yaml:5:26: warning[YAML_BOOLEAN]: unquoted No is the boolean false in YAML 1.1, as CloudFormation reads it: the value is 'false' (so a value given as 'No' is refused); write 'No' to keep the word (at Parameters.Enable.AllowedValues[1])",
    ]);
  });

  it('a value given as Yes is refused by AllowedValues written [Yes, No], as on CloudFormation', () => {
    const doc = loadTemplate(params(['  Enable:', '    Type: String', '    AllowedValues: [Yes, No]']), 't.yaml');
    const errors = validateTemplate(doc, { params: { Enable: 'Yes' } }).filter((d) => d.severity === 'error');
    expect(errors.map((d) => d.message)).toEqual(["Parameter 'Enable' must be one of AllowedValues (true, false), got 'Yes'"]);
    expect(validateTemplate(doc, { params: { Enable: 'true' } }).filter((d) => d.severity === 'error')).toEqual([]);
  });

  it('an unquoted Off Default against quoted AllowedValues is refused (the Default is "false")', () => {
    const out = check(params(['  Mode:', '    Type: String', '    Default: Off', '    AllowedValues: ["On", "Off"]']));
    expect(out.filter((l) => l.includes('error'))).toEqual([
      "t.yaml:4:14: error[PARAM_DEFAULT]: Default does not pass its own constraints: Parameter 'Mode' must be one of AllowedValues (On, Off), got 'false' (at Parameters.Mode.Default)",
    ]);
  });

  it.each([
    ['quoted', '"Yes"', 0],
    ['true/false (meant as booleans)', 'true', 0],
    ['y and n (strings in PyYAML and CloudFormation)', 'y', 0],
    ['on in a property', 'on', 1],
    ['OFF in a tag value', 'OFF', 1],
  ])('%s: %s gives %i warning', (_what, scalar, n) => {
    const yaml = ['Resources:', '  B:', '    Type: AWS::S3::Bucket', '    Properties:', '      Tags:', '        - Key: k', `          Value: ${scalar}`, ''].join('\n');
    expect(check(yaml).filter((l) => l.includes('YAML_BOOLEAN'))).toHaveLength(n);
  });
});

describe('the SAM transform', () => {
  it('is said not to be expanded locally (a warning on Transform), instead of passing silently', () => {
    const doc = loadTemplate(
      [
        'Transform: AWS::Serverless-2016-10-31',
        'Resources:',
        '  F:',
        '    Type: AWS::Serverless::Function',
        '    Properties:',
        '      Runtime: python3.12',
        '      Handler: a.b',
        '      CodeUri: s3://b/k',
        '',
      ].join('\n'),
      'sam.yaml',
    );
    const out = validateTemplate(doc).map((d) => formatDiagnostic(d));
    expect(out).toEqual([
      "sam.yaml:1:12: warning[SAM_NOT_EXPANDED]: the SAM transform (AWS::Serverless-2016-10-31) is not expanded locally: its AWS::Serverless::* resources and Globals are checked only as written, and `kiln deploy` refuses the template; deploy SAM's processed template instead (at Transform)",
    ]);
  });
});
