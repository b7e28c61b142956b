// The rest of the resource spec on the local target, through the CLI dispatcher: S3, SQS, SNS,
// Lambda, DynamoDB, KMS, Route 53… are recorded without local effect, with Ref / GetAtt values
// shaped as AWS's, and marked so in plan, deploy and status; servers of other services and kiln's own
// types without a local handler are refused at plan with the reason; unknown types stay refused.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';

const region = process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-cli-spec-'));
  env = { ...process.env };
  delete env.KILN_PROVIDER;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', join(dir, 'state')], io);
  return { code, out: io.stdout, err: io.stderr };
}

function template(t: object): string {
  writeFileSync(join(dir, 't.json'), JSON.stringify(t, null, 2));
  return 't.json';
}

const APP = {
  Resources: {
    Bucket: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'kiln-assets' } },
    Queue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 30 } },
    Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicName: 'alerts' } },
    Fn: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'resize', Role: 'arn:aws:iam::123456789012:role/x', Code: { ZipFile: 'x' }, Handler: 'index.h', Runtime: 'nodejs22.x' } },
    Table: {
      Type: 'AWS::DynamoDB::Table',
      Properties: { KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }], StreamSpecification: { StreamViewType: 'NEW_IMAGE' } },
    },
    Key: { Type: 'AWS::KMS::Key', Properties: {} },
    Zone: { Type: 'AWS::Route53::HostedZone', Properties: { Name: 'example.org' } },
    Record: {
      Type: 'AWS::Route53::RecordSet',
      Properties: { HostedZoneId: { Ref: 'Zone' }, Name: 'www.example.org.', Type: 'CNAME', TTL: '60', ResourceRecords: [{ 'Fn::GetAtt': ['Bucket', 'DomainName'] }] },
    },
    Stream: { Type: 'AWS::Kinesis::Stream', Properties: { ShardCount: 1 } },
  },
  Outputs: {
    BucketRef: { Value: { Ref: 'Bucket' } },
    BucketArn: { Value: { 'Fn::GetAtt': ['Bucket', 'Arn'] } },
    BucketDomain: { Value: { 'Fn::GetAtt': ['Bucket', 'DomainName'] } },
    BucketWebsite: { Value: { 'Fn::GetAtt': ['Bucket', 'WebsiteURL'] } },
    QueueRef: { Value: { Ref: 'Queue' } },
    QueueArn: { Value: { 'Fn::GetAtt': ['Queue', 'Arn'] } },
    QueueName: { Value: { 'Fn::GetAtt': ['Queue', 'QueueName'] } },
    TopicRef: { Value: { Ref: 'Topic' } },
    FnRef: { Value: { Ref: 'Fn' } },
    FnArn: { Value: { 'Fn::GetAtt': ['Fn', 'Arn'] } },
    TableArn: { Value: { 'Fn::GetAtt': ['Table', 'Arn'] } },
    TableStream: { Value: { 'Fn::GetAtt': ['Table', 'StreamArn'] } },
    KeyRef: { Value: { Ref: 'Key' } },
    KeyArn: { Value: { 'Fn::GetAtt': ['Key', 'Arn'] } },
    RecordRef: { Value: { Ref: 'Record' } },
    StreamArn: { Value: { 'Fn::GetAtt': ['Stream', 'Arn'] } },
  },
};

describe('the rest of the resource spec on the local target', () => {
  test('is planned, deployed and shown as recorded without local effect, with Ref and GetAtt shaped as on AWS', async () => {
    const f = template(APP);
    const stack = `s${randomBytes(3).toString('hex')}`;
    const plan = await kiln('plan', f, '--stack', stack);
    expect(plan.err).toBe('');
    expect(plan.code).toBe(0);
    for (const id of Object.keys(APP.Resources)) expect(plan.out).toMatch(new RegExp(`^\\+\\s+${id}\\s+\\S+\\s+create\\s+\\[no local effect\\]$`, 'm'));
    const deploy = await kiln('deploy', f, '--stack', stack);
    expect(deploy.err).not.toMatch(/error|FAILED/i);
    expect(deploy.code).toBe(0);
    const out = JSON.parse((await kiln('outputs', '--stack', stack, '--json')).out) as Record<string, string>;
    const a = '123456789012';
    expect(out).toMatchObject({
      BucketRef: 'kiln-assets',
      BucketArn: 'arn:aws:s3:::kiln-assets',
      BucketDomain: 'kiln-assets.s3.amazonaws.com',
      BucketWebsite: `http://kiln-assets.s3-website-${region}.amazonaws.com`,
      TopicRef: `arn:aws:sns:${region}:${a}:alerts`,
      FnRef: 'resize',
      FnArn: `arn:aws:lambda:${region}:${a}:function:resize`,
      RecordRef: 'www.example.org',
    });
    expect(out.QueueRef).toBe(`https://sqs.${region}.amazonaws.com/${a}/${out.QueueName}`);
    expect(out.QueueName).toMatch(new RegExp(`^${stack}-Queue-[A-Z0-9]{12}$`));
    expect(out.QueueArn).toBe(`arn:aws:sqs:${region}:${a}:${out.QueueName}`);
    expect(out.TableArn).toMatch(new RegExp(`^arn:aws:dynamodb:${region}:${a}:table/${stack}-Table-[A-Z0-9]{12}$`));
    expect(out.TableStream.startsWith(`${out.TableArn}/stream/`)).toBe(true);
    expect(out.KeyRef).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(out.KeyArn).toBe(`arn:aws:kms:${region}:${a}:key/${out.KeyRef}`);
    // Not in kiln's table: an ARN of the service, derived from the spec's attribute list.
    expect(out.StreamArn).toMatch(new RegExp(`^arn:aws:kinesis:${region}:${a}:stream/${stack}-Stream-[A-Z0-9]{12}$`));
    const status = await kiln('status', '--stack', stack);
    expect(status.out).toMatch(/^\s*Bucket\s+AWS::S3::Bucket\s+kiln-assets\s+live \(no local effect\)\s*$/m);
    expect((await kiln('destroy', '--stack', stack, '--yes')).code).toBe(0);
  });

  test('checks their properties against the spec before anything is recorded', async () => {
    const f = template({ Resources: { Topic: { Type: 'AWS::SNS::Topic', Properties: { TopicNam: 'x' } } } });
    const r = await kiln('plan', f, '--stack', 'typo');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/t\.json:\d+:\d+.*TopicNam/);
  });

  test('refuses servers of other services and kiln types without a local handler at plan, saying why, and unknown types as before', async () => {
    const f = template({
      Resources: {
        Db: { Type: 'AWS::RDS::DBInstance', Properties: { DBInstanceClass: 'db.t3.micro', Engine: 'postgres' } },
        Tgw: { Type: 'AWS::EC2::TransitGateway', Properties: {} },
        Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
      },
    });
    const r = await kiln('plan', f, '--stack', 'refused');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/t\.json:4:15: .*AWS::RDS::DBInstance has no local realisation \(AWS::RDS::DBInstance is a database server that the local target does not run.*\(at Resources\.Db\.Type\)/);
    expect(r.err).toMatch(/AWS::EC2::TransitGateway is not realised by the local target yet.*\(at Resources\.Tgw\.Type\)/);
    expect(r.err).not.toMatch(/Topic/);
    const unknown = await kiln('plan', template({ Resources: { X: { Type: 'AWS::Nope::Thing', Properties: {} } } }), '--stack', 'unknown');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/unknown resource type 'AWS::Nope::Thing'/);
  });
});
