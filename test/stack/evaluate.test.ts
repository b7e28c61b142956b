import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateTemplate, renderedTemplate } from '../../src/stack/evaluate.js';

const seed = JSON.parse(readFileSync(new URL('../../examples/seed/stack.json', import.meta.url), 'utf8'));

describe('the seed stack', () => {
  // GIVEN the seed stack and the image id from the bake
  const r = evaluateTemplate(seed, { parameters: { AmiId: 'ami-0123456789abcdef0' }, pseudo: { stackName: 'seed', region: 'eu-west-1' } });
  const res = r.template.Resources;

  it('evaluates without diagnostics', () => expect(r.diagnostics).toEqual([]));
  it('substitutes parameters, defaults and Number parameters as strings', () => {
    expect(res.ec2Instance!.Properties.ImageId).toBe('ami-0123456789abcdef0');
    expect(res.ec2Instance!.Properties.InstanceType).toBe('t2.micro');
    expect(res.ecRedis!.Properties.Port).toBe('6379');
    expect(res.MainVpc!.Properties.CidrBlock).toBe('10.42.0.0/16');
  });
  it('computes Sub, Join and FindInMap', () => {
    expect(res.MainVpc!.Properties.Tags).toEqual([{ Key: 'Name', Value: 'connect-dev' }]);
    expect(res.ecSubnetGroup!.Properties.CacheSubnetGroupName).toBe('connect-dev-elasticache-subnet');
    expect(res.SubnetA!.Properties.AvailabilityZone).toBe('eu-west-1a');
    expect(res.ec2Instance!.Properties.Tags).toEqual([{ Key: 'Name', Value: 'seed-web' }]);
  });
  it('removes KeyName through Fn::If + AWS::NoValue when no key pair is given', () => {
    expect(r.template.conditions).toEqual({ HasKeyPair: false });
    expect(res.ec2Instance!.Properties).not.toHaveProperty('KeyName');
  });
  it('keeps resource references as canonical intrinsics', () => {
    expect(res.SubnetA!.Properties.VpcId).toEqual({ Ref: 'MainVpc' });
    expect(res.ecRedis!.Properties.PreferredAvailabilityZone).toEqual({ 'Fn::GetAtt': ['SubnetA', 'AvailabilityZone'] });
    expect(res.ec2Instance!.Properties.UserData).toEqual({
      'Fn::Base64': {
        'Fn::Sub': [
          "#!/bin/sh\nprintf 'REDIS_HOST=%s\\nREDIS_PORT=%s\\n' '${Host}' '${Port}' > /etc/app.env\n",
          { Host: { 'Fn::GetAtt': ['ecRedis', 'RedisEndpoint.Address'] }, Port: { 'Fn::GetAtt': ['ecRedis', 'RedisEndpoint.Port'] } },
        ],
      },
    });
    expect(r.template.Outputs.Url!.Value).toEqual({ 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': ['Elb', 'DNSName'] }, '/cgi-bin/index']] });
  });
  it('uses the key pair when one is given', () => {
    const k = evaluateTemplate(seed, { parameters: { AmiId: 'ami-0123456789abcdef0', KeyPair: 'mine' } });
    expect(k.template.Resources.ec2Instance!.Properties.KeyName).toBe('mine');
  });
  it('keeps every resource in template order and normalises DependsOn', () => {
    expect(Object.keys(res)).toEqual(Object.keys(seed.Resources));
    for (const x of Object.values(res)) expect(x.DependsOn).toEqual([]);
  });
  it('prints as a template with no Parameters, Conditions or Mappings', () => {
    const out = renderedTemplate(r.template);
    expect(Object.keys(out)).toEqual(['AWSTemplateFormatVersion', 'Description', 'Resources', 'Outputs']);
  });
  it('rejects a malformed AMI id and a missing one', () => {
    expect(evaluateTemplate(seed, { parameters: { AmiId: 'ami-xyz' } }).diagnostics.map((d) => d.code)).toEqual(['PARAM_VALUE']);
    const missing = evaluateTemplate(seed, {}).diagnostics;
    expect(missing.map((d) => d.code)).toEqual(['PARAM_MISSING']);
    expect(missing[0]!.message).toContain("'AmiId'");
  });
});

describe('conditions remove resources and outputs', () => {
  const t = {
    Parameters: { Env: { Type: 'String', Default: 'dev' } },
    Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] } },
    Resources: {
      Always: { Type: 'AWS::S3::Bucket', DependsOn: 'Base' },
      Base: { Type: 'AWS::S3::Bucket' },
      ProdOnly: { Type: 'AWS::S3::Bucket', Condition: 'IsProd' },
      Guarded: { Type: 'AWS::S3::Bucket', Properties: { BucketName: { 'Fn::If': ['IsProd', { Ref: 'ProdOnly' }, { Ref: 'AWS::NoValue' }] } } },
    },
    Outputs: {
      A: { Value: { Ref: 'Always' } },
      P: { Condition: 'IsProd', Value: { Ref: 'ProdOnly' } },
    },
  };
  it('drops what is false and resolves guarded references', () => {
    const r = evaluateTemplate(t);
    expect(r.diagnostics).toEqual([]);
    expect(Object.keys(r.template.Resources)).toEqual(['Always', 'Base', 'Guarded']);
    expect(Object.keys(r.template.Outputs)).toEqual(['A']);
    expect(r.template.Resources.Always!.DependsOn).toEqual(['Base']);
    expect(r.template.Resources.Guarded!.Properties).toEqual({});
  });
  it('keeps them when true', () => {
    const r = evaluateTemplate(t, { parameters: { Env: 'prod' } });
    expect(Object.keys(r.template.Resources)).toEqual(['Always', 'Base', 'ProdOnly', 'Guarded']);
    expect(r.template.Resources.Guarded!.Properties).toEqual({ BucketName: { Ref: 'ProdOnly' } });
    expect(r.template.Outputs.P!.Value).toEqual({ Ref: 'ProdOnly' });
  });
  it('an unguarded reference to a resource that is not created is an error', () => {
    const bad = { ...t, Resources: { ...t.Resources, X: { Type: 'AWS::S3::Bucket', Properties: { B: { Ref: 'ProdOnly' } } } } };
    const d = evaluateTemplate(bad).diagnostics;
    expect(d.map((x) => [x.code, x.segments!.join('.')])).toEqual([['REF_CONDITION_FALSE', 'Resources.X.Properties.B.Ref']]);
  });
  it('DependsOn a resource that is not created is an error', () => {
    const bad = { ...t, Resources: { ...t.Resources, X: { Type: 'AWS::S3::Bucket', DependsOn: ['Base', 'ProdOnly'] } } };
    expect(evaluateTemplate(bad).diagnostics.map((x) => [x.code, x.segments!.join('.')])).toEqual([['DEPENDSON_CONDITION_FALSE', 'Resources.X.DependsOn.1']]);
  });
});

describe('NoEcho', () => {
  const t = {
    Parameters: { Pass: { Type: 'String', NoEcho: true }, Users: { Type: 'CommaDelimitedList', NoEcho: 'true' }, Mode: { Type: 'String', Default: 'a' } },
    Mappings: { M: { 'hunter2-secret': { v: 'from-map' } } },
    Conditions: { IsLong: { 'Fn::Equals': [{ Ref: 'Pass' }, 'hunter2-secret'] } },
    Resources: {
      Db: {
        Type: 'AWS::RDS::DBInstance',
        Properties: {
          MasterUserPassword: { Ref: 'Pass' },
          Url: { 'Fn::Sub': 'db://admin:${Pass}@host' },
          Encoded: { 'Fn::Base64': { Ref: 'Pass' } },
          Users: { Ref: 'Users' },
          Joined: { 'Fn::Join': [',', { Ref: 'Users' }] },
          Looked: { 'Fn::FindInMap': ['M', { Ref: 'Pass' }, 'v'] },
          Flag: { 'Fn::If': ['IsLong', 'yes', 'no'] },
        },
      },
    },
    Outputs: { P: { Value: { 'Fn::Join': ['-', ['x', { Ref: 'Pass' }]] } } },
  };
  const given = { Pass: 'hunter2-secret', Users: 'alice-the-admin,bob' };

  it('is masked everywhere in the printed form', () => {
    const r = evaluateTemplate(t, { parameters: given, maskNoEcho: true });
    expect(r.diagnostics).toEqual([]);
    const printed = JSON.stringify({ t: renderedTemplate(r.template), p: r.template.parameters });
    expect(printed).not.toContain('hunter2');
    expect(printed).not.toContain(Buffer.from('hunter2-secret').toString('base64'));
    expect(printed).not.toContain('alice');
    const p = r.template.Resources.Db!.Properties;
    expect(p.MasterUserPassword).toBe('****');
    expect(p.Url).toBe('db://admin:****@host');
    expect(p.Users).toEqual(['****', '****']);
    expect(r.template.Outputs.P!.Value).toBe('x-****');
    // ...while the real value still drives mapping lookups and conditions.
    expect(p.Looked).toBe('from-map');
    expect(p.Flag).toBe('yes');
  });

  it('gives the executor the real values, flagged as NoEcho', () => {
    const r = evaluateTemplate(t, { parameters: given });
    expect(r.template.Resources.Db!.Properties.MasterUserPassword).toBe('hunter2-secret');
    expect(r.template.parameters.Pass).toMatchObject({ value: 'hunter2-secret', noEcho: true });
    expect(r.template.masked).toBe(false);
  });

  it('masks a value that reached an evaluation message', () => {
    const r = evaluateTemplate(
      { Parameters: { Net: { Type: 'String', NoEcho: true } }, Resources: { B: { Type: 'AWS::S3::Bucket', Properties: { C: { 'Fn::Cidr': [{ Ref: 'Net' }, 1, 8] } } } } },
      { parameters: { Net: 'private-range' } },
    );
    expect(r.diagnostics.map((d) => d.message)).toEqual(["Fn::Cidr ipBlock '****' is not in CIDR notation (address/prefix)"]);
  });

  it('never shows the value in a diagnostic', () => {
    const bad = { ...t, Mappings: {} };
    const r = evaluateTemplate(bad, { parameters: given, maskNoEcho: true });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['FINDINMAP_MISSING']);
    expect(JSON.stringify(r.diagnostics)).not.toContain('hunter2');
  });
});

describe('resource attributes', () => {
  it('evaluates Metadata and UpdatePolicy, keeps policies', () => {
    const r = evaluateTemplate({
      Parameters: { N: { Type: 'Number', Default: 2 } },
      Resources: {
        G: {
          Type: 'AWS::AutoScaling::AutoScalingGroup',
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Snapshot',
          Metadata: { Note: { 'Fn::Sub': 'v${N}' } },
          UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: { Ref: 'N' } } },
          CreationPolicy: { ResourceSignal: { Count: { Ref: 'N' } } },
          Properties: { MinSize: '1', MaxSize: '3' },
        },
      },
    });
    expect(r.diagnostics).toEqual([]);
    expect(r.template.Resources.G).toEqual({
      Type: 'AWS::AutoScaling::AutoScalingGroup',
      Properties: { MinSize: '1', MaxSize: '3' },
      DependsOn: [],
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Snapshot',
      Metadata: { Note: 'v2' },
      UpdatePolicy: { AutoScalingRollingUpdate: { MaxBatchSize: '2' } },
      CreationPolicy: { ResourceSignal: { Count: '2' } },
    });
  });

  it('Export names cannot depend on resources', () => {
    const r = evaluateTemplate({ Resources: { B: { Type: 'AWS::S3::Bucket' } }, Outputs: { O: { Value: 'x', Export: { Name: { 'Fn::Sub': '${B}-name' } } } } });
    expect(r.diagnostics.map((d) => d.code)).toEqual(['RESOURCE_IN_EXPORT_NAMES']);
  });

  it('evaluated twice gives the same result (render is a fixed point)', () => {
    const once = renderedTemplate(evaluateTemplate(seed, { parameters: { AmiId: 'ami-0123456789abcdef0' } }).template);
    const twice = renderedTemplate(evaluateTemplate(once).template);
    expect(twice).toEqual(once);
  });
});

describe('Rules', () => {
  const t = {
    Parameters: { Env: { Type: 'String', Default: 'dev' }, Size: { Type: 'String', Default: 'small' }, Zones: { Type: 'CommaDelimitedList', Default: 'a,b' } },
    Rules: {
      ProdIsBig: {
        RuleCondition: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
        Assertions: [{ Assert: { 'Fn::Contains': [['large', 'xlarge'], { Ref: 'Size' }] }, AssertDescription: 'prod needs a large size' }],
      },
      ZonesKnown: { Assertions: [{ Assert: { 'Fn::EachMemberIn': [{ Ref: 'Zones' }, ['a', 'b', 'c']] } }] },
      Vpc: { Assertions: [{ Assert: { 'Fn::EachMemberEquals': [{ 'Fn::ValueOfAll': ['AWS::EC2::Subnet::Id', 'VpcId'] }, 'vpc-1'] } }] },
    },
    Resources: { B: { Type: 'AWS::S3::Bucket' } },
  };
  const codes = (parameters: Record<string, string>) => evaluateTemplate(t, { parameters }).diagnostics.map((d) => `${d.severity}:${d.code}`);

  it('a rule whose condition is false does not assert', () => expect(codes({})).toEqual(['warning:RULE_NOT_CHECKED']));
  it('a failing assertion is an error with its description', () => {
    const d = evaluateTemplate(t, { parameters: { Env: 'prod' } }).diagnostics.find((x) => x.code === 'RULE_ASSERTION_FAILED')!;
    expect(d.message).toBe("Rule 'ProdIsBig' failed: prod needs a large size");
    expect(d.segments).toEqual(['Rules', 'ProdIsBig', 'Assertions', 0]);
  });
  it('a passing assertion says nothing', () => expect(codes({ Env: 'prod', Size: 'large' })).toEqual(['warning:RULE_NOT_CHECKED']));
  it('EachMemberIn checks every member', () => expect(codes({ Zones: 'a,d' })).toContain('error:RULE_ASSERTION_FAILED'));
});

describe('odd keys', () => {
  it('keeps a __proto__ property as data', () => {
    const t = JSON.parse('{"Resources":{"B":{"Type":"AWS::S3::Bucket","Properties":{"Tags":{"__proto__":{"polluted":{"Ref":"AWS::Region"}}}}}}}');
    const r = evaluateTemplate(t);
    const tags = r.template.Resources.B!.Properties.Tags as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(tags, '__proto__')).toBe(true);
    expect(JSON.stringify(tags)).toBe('{"__proto__":{"polluted":"us-east-1"}}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
