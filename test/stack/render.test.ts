// The `kiln render` and `kiln graph` commands, run in-process with a memory IO.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';

const seed = new URL('../../examples/seed/stack.json', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'kiln-render-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}
async function run(...argv: string[]) {
  const io = memoryIO({ cwd: dir });
  const code = await main(argv, io);
  return { code, out: io.stdout, err: io.stderr };
}

describe('kiln render', () => {
  it('renders the seed stack', async () => {
    const r = await run('render', seed, '--param', 'AmiId=ami-0123456789abcdef0', '--stack', 'demo', '--region', 'eu-west-1');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(t.Resources.ec2Instance.Properties.ImageId).toBe('ami-0123456789abcdef0');
    expect(t.Resources.ec2Instance.Properties.Tags).toEqual([{ Key: 'Name', Value: 'demo-web' }]);
    expect(t.Resources.ec2Instance.Properties).not.toHaveProperty('KeyName');
    expect(t.Resources.SubnetA.Properties.AvailabilityZone).toBe('eu-west-1a');
    expect(t.Resources.ecRedis.Properties.Port).toBe('6379');
    expect(t.Resources.SubnetA.Properties.VpcId).toEqual({ Ref: 'MainVpc' });
    expect(t).not.toHaveProperty('Parameters');
    expect(t).not.toHaveProperty('Conditions');
  });

  it('names every missing parameter, with the position of its definition', async () => {
    const p = file('two.yaml', 'Parameters:\n  A:\n    Type: String\n  B:\n    Type: Number\nResources:\n  R:\n    Type: AWS::S3::Bucket\n');
    const r = await run('render', p);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`${p}:2:3: error[PARAM_MISSING]: No value for parameters 'A', 'B' (no Default): pass --param A=VALUE --param B=VALUE (at Parameters)\n`);
  });

  it('reports a bad value with FILE:LINE:COL and the path', async () => {
    const r = await run('render', seed, '--param', 'AmiId=ami-nothex0');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/stack\.json:28:\d+: error\[PARAM_VALUE\]: Parameter 'AmiId' of type AWS::EC2::Image::Id must be an AMI id.* \(at Parameters\.AmiId\)\n$/);
  });

  it('masks NoEcho values and fails evaluation errors at their position', async () => {
    const p = file(
      'secret.yaml',
      [
        'Parameters:',
        '  Pass:',
        '    Type: String',
        '    NoEcho: true',
        'Resources:',
        '  Db:',
        '    Type: AWS::RDS::DBInstance',
        '    Properties:',
        '      MasterUserPassword: !Ref Pass',
        '      MasterUsername: !Sub "u-${Pass}-x"',
        '      DBInstanceClass: db.t3.micro',
        '      Engine: mysql',
        '',
      ].join('\n'),
    );
    const ok = await run('render', p, '--param', 'Pass=sup3r-s3cret');
    expect(ok.code).toBe(0);
    expect(ok.out).not.toContain('sup3r');
    expect(JSON.parse(ok.out).Resources.Db.Properties).toMatchObject({ MasterUserPassword: '****', MasterUsername: 'u-****-x' });

    const q = file('select.yaml', 'Resources:\n  B:\n    Type: AWS::S3::Bucket\n    Properties:\n      BucketName: !Select [3, [a, b]]\n');
    const bad = await run('render', q);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(`${q}:5:27: error[SELECT_OUT_OF_RANGE]: Fn::Select index 3 is out of range for a list of 2 (at Resources.B.Properties.BucketName.Fn::Select)\n`);
  });

  it('rejects a malformed template without rendering', async () => {
    const p = file('broken.json', '{ "Resources": { "A": { "Type": "AWS::S3::Bucket" }, }');
    const r = await run('render', p);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/broken\.json:1:\d+: error\[JSON_SYNTAX\]/);
  });

  it('has help and usage errors', async () => {
    expect((await run('render', '--help')).out).toContain('Usage: kiln render TEMPLATE');
    expect((await run('render')).code).toBe(2);
    expect((await run('render', seed, '--stack', '9bad')).code).toBe(2);
    expect((await run('render', seed, '--region', 'mars')).code).toBe(2);
  });
});

describe('kiln graph', () => {
  it('prints the waves of the seed stack', async () => {
    const r = await run('graph', seed);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out.split('\n').filter((l) => l.startsWith('wave'))).toEqual(['wave 1', 'wave 2', 'wave 3', 'wave 4', 'wave 5', 'wave 6']);
  });
  it('prints dot and mermaid', async () => {
    expect((await run('graph', seed, '--format', 'dot')).out).toContain('digraph stack {');
    expect((await run('graph', seed, '--format=mermaid')).out).toContain('flowchart LR');
    expect((await run('graph', seed, '--format', 'png')).code).toBe(2);
    expect((await run('graph', seed, '--format', 'svg')).out).toContain('<svg xmlns="http://www.w3.org/2000/svg"');
  });
  it('fails on a cycle and prints its path with a position', async () => {
    const p = file('cycle.yaml', 'Resources:\n  A:\n    Type: AWS::S3::Bucket\n    DependsOn: B\n  B:\n    Type: AWS::S3::Bucket\n    DependsOn: A\n');
    const r = await run('graph', p);
    expect(r.code).toBe(1);
    expect(r.out).toContain('cycle: A -> B -> A');
    expect(r.err).toContain(`${p}:3:5: error[E3004]: Circular dependency between resources: A -> B -> A (at Resources.A)`);
  });
  it('applies conditions when their parameters have values, and says so when not', async () => {
    const p = file(
      'cond.yaml',
      [
        'Parameters:',
        '  Big: {Type: String, AllowedValues: ["yes", "no"]}',
        '  Name: {Type: String}',
        'Conditions:',
        '  IsBig: !Equals [!Ref Big, "yes"]',
        'Resources:',
        '  Cache:',
        '    Type: AWS::SQS::Queue',
        '    Condition: IsBig',
        '  App:',
        '    Type: AWS::SQS::Queue',
        '    Properties:',
        '      QueueName: !If [IsBig, !GetAtt Cache.QueueName, !Ref Name]',
        '',
      ].join('\n'),
    );
    const unknown = await run('graph', p);
    expect(unknown.code).toBe(0);
    expect(unknown.err).toBe(`${p}: note: conditions not applied (no value for Big); showing every resource\n`);
    expect(unknown.out).toContain('App    AWS::SQS::Queue  <- Cache (GetAtt)');
    const small = await run('graph', p, '--param', 'Big=no');
    expect(small.err).toBe('');
    expect(small.out).toBe('wave 1\n  App  AWS::SQS::Queue\n1 resource, 0 dependencies, 1 wave\n');
    const bad = await run('graph', p, '--param', 'Big=maybe');
    expect(bad.err).toBe(`${p}: note: conditions not applied (Parameter 'Big' must be one of AllowedValues (yes, no), got 'maybe'); showing every resource\n`);
  });

  it('has help', async () => expect((await run('graph', '-h')).out).toContain('Usage: kiln graph TEMPLATE'));
});

describe('kiln render, YAML with the LanguageExtensions transform and Rules', () => {
  const yaml = [
    'Transform: AWS::LanguageExtensions',
    'Parameters:',
    '  Names:',
    '    Type: CommaDelimitedList',
    '    Default: "web, api"',
    '  Env:',
    '    Type: String',
    '    Default: dev',
    '    AllowedValues: [dev, prod]',
    'Rules:',
    '  ProdHasTwo:',
    '    RuleCondition: !Equals [!Ref Env, prod]',
    '    Assertions:',
    '      - Assert: !Contains [!Ref Names, api]',
    '        AssertDescription: prod needs the api queue',
    'Resources:',
    '  Fn::ForEach::Queues:',
    '    - Name',
    '    - !Ref Names',
    '    - Queue&{Name}:',
    '        Type: AWS::SQS::Queue',
    '        Properties:',
    '          QueueName: !Sub "${AWS::StackName}-${Name}"',
    '          DelaySeconds:',
    '            Fn::Length: !Ref Names',
    'Outputs:',
    '  Count:',
    '    Value:',
    '      Fn::ToJsonString: { names: !Ref Names }',
    '',
  ].join('\n');

  it('expands the loop and computes the transform functions', async () => {
    const p = file('le.yaml', yaml);
    const r = await run('render', p, '--stack', 'shop');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const t = JSON.parse(r.out);
    expect(Object.keys(t.Resources)).toEqual(['Queueweb', 'Queueapi']);
    expect(t.Resources.Queueapi.Properties).toEqual({ QueueName: 'shop-api', DelaySeconds: 2 });
    expect(t.Outputs.Count.Value).toBe('{"names":["web","api"]}');
    expect(t).not.toHaveProperty('Transform');
  });

  it('points a problem in a generated resource at its loop', async () => {
    const p = file('le3.yaml', yaml.replace('Fn::Length: !Ref Names', 'Fn::Select: [5, !Ref Names]'));
    const r = await run('render', p);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `${p}:17:3: error[SELECT_OUT_OF_RANGE]: Fn::Select index 5 is out of range for a list of 2 (at Resources.Queueweb.Properties.DelaySeconds.Fn::Select)\n` +
        `${p}:17:3: error[SELECT_OUT_OF_RANGE]: Fn::Select index 5 is out of range for a list of 2 (at Resources.Queueapi.Properties.DelaySeconds.Fn::Select)\n`,
    );
  });

  it('fails a Rule assertion with its description at its position', async () => {
    const p = file('le2.yaml', yaml);
    const r = await run('render', p, '--param', 'Env=prod', '--param', 'Names=web');
    expect(r.code).toBe(1);
    expect(r.err).toBe(`${p}:14:9: error[RULE_ASSERTION_FAILED]: Rule 'ProdHasTwo' failed: prod needs the api queue (at Rules.ProdHasTwo.Assertions[0])\n`);
  });
});
