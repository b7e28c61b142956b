// Saved plans on AWS against the emulator's CloudFormation: `kiln plan --target aws --out PLAN`
// keeps the change set CloudFormation made, `kiln deploy PLAN` executes exactly that one, and a plan
// the stack has moved away from is refused as stale, changing nothing. Templates over 51,200 bytes
// go through the user's S3 bucket (the emulator has S3), and without a bucket are refused first.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand, ListChangeSetsCommand, DeleteStackCommand } from '@aws-sdk/client-cloudformation';
import { S3Client, CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { startMoto, type Moto } from './moto.js';
import { tmpWorkspace, REGION } from './helpers.js';

let moto: Moto;
let ws: ReturnType<typeof tmpWorkspace>;
let cfn: CloudFormationClient;
const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
// Credentials the emulator accepts and no other text contains: the audit below looks for them.
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIAKILNSAVEDPLAN0001', AWS_SECRET_ACCESS_KEY: 'kiln/saved+plan/secret/key/0123456789abcdef' };
/** Everything kiln printed in this file, for the secrets audit. */
const printed: string[] = [];

const small = (extra: Record<string, unknown> = {}) =>
  JSON.stringify(
    {
      Parameters: { Cidr: { Type: 'String', Default: '10.0.0.0/16' }, Secret: { Type: 'String', NoEcho: true } },
      Resources: { MainVpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: { Ref: 'Cidr' }, Tags: [{ Key: 'Note', Value: 'kiln' }] } }, ...extra },
    },
    null,
    2,
  );

beforeAll(async () => {
  ws = tmpWorkspace('saved-plan-moto');
  moto = await startMoto();
  cfn = new CloudFormationClient({ region: REGION, endpoint: moto.url, credentials });
});
afterAll(async () => {
  await moto?.stop();
  ws?.cleanup();
});

async function kiln(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  const io = memoryIO({ cwd: ws.dir, env: { ...process.env, ...moto.env, ...KEYS, AWS_REGION: REGION, KILN_HOME: `${ws.dir}/.kiln`, ...env } });
  const code = await main(args, io);
  printed.push(io.stdout, io.stderr);
  return { code, out: io.stdout, err: io.stderr };
}

async function stackStatus(name: string): Promise<string | undefined> {
  try {
    return (await cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus;
  } catch {
    return undefined;
  }
}

async function changeSets(name: string): Promise<string[]> {
  try {
    return ((await cfn.send(new ListChangeSetsCommand({ StackName: name }))).Summaries ?? []).map((s) => s.ChangeSetName ?? '');
  } catch {
    return [];
  }
}

async function deadEndpoint(): Promise<string> {
  const port = await new Promise<number>((r) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  return `http://127.0.0.1:${port}`;
}

describe('a saved plan on AWS is a change set', () => {
  const stack = `saved-${Date.now().toString(36)}`;

  it('kiln plan --target aws --out keeps the change set and records it; the stack is not created', async () => {
    const t = ws.write('small.json', small());
    const r = await kiln(['plan', t, '--stack', stack, '--target', 'aws', '--param', 'Secret=hunter2-noecho', '--out', 'create.plan']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^\+\s+MainVpc\s+AWS::EC2::VPC\s+create$/m);
    expect(r.out).toMatch(/Plan saved to create\.plan: change set kiln-\S+ is kept in CloudFormation for review; deploy exactly it with: kiln deploy create\.plan/);
    const doc = JSON.parse(readFileSync(`${ws.dir}/create.plan`, 'utf8'));
    expect(doc.target).toBe('aws');
    expect(doc.aws.region).toBe(REGION);
    expect(doc.aws.changeSet.name).toMatch(/^kiln-/);
    expect(await changeSets(stack)).toEqual([doc.aws.changeSet.name]);
    expect(await stackStatus(stack)).toBe('REVIEW_IN_PROGRESS');
    expect(readFileSync(`${ws.dir}/create.plan`, 'utf8')).not.toContain('hunter2-noecho');
  });

  it('kiln deploy PLAN executes exactly that change set and follows it to CREATE_COMPLETE', async () => {
    const doc = JSON.parse(readFileSync(`${ws.dir}/create.plan`, 'utf8'));
    const r = await kiln(['deploy', 'create.plan']); // the plan says it is for AWS: no --target needed
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^\+\s+MainVpc\s+AWS::EC2::VPC\s+create$/m);
    expect(r.out).toContain(`Stack ${stack}: CREATE_COMPLETE`);
    expect(r.err).toMatch(new RegExp(`${stack}\\s+CREATE_COMPLETE`));
    expect(r.err + r.out).not.toContain('hunter2-noecho');
    const s = (await cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks![0]!;
    expect(s.StackId).toBe(doc.aws.changeSet.stackId);
    // The change set was the one executed: deploying the plan again finds it gone.
    const again = await kiln(['deploy', 'create.plan', '--target', 'aws']);
    expect(again.code).toBe(1);
    expect(again.err).toContain(`the saved plan for stack ${stack} is stale, so nothing was changed`);
    expect(again.err).toContain('Plan again');
  });

  it('a plan whose stack changed since is refused as stale, and nothing is executed', async () => {
    const v2 = ws.write('small-v2.json', small({ Extra: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.1.0.0/16' } } }));
    const r = await kiln(['plan', v2, '--stack', stack, '--target', 'aws', '--param', 'Secret=hunter2-noecho', '--out', 'update.plan']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^\+\s+Extra\s+AWS::EC2::VPC\s+create$/m);
    // Someone deletes the stack after the plan was made.
    await cfn.send(new DeleteStackCommand({ StackName: stack }));
    const d = await kiln(['deploy', 'update.plan']); // the plan says it is for AWS: no --target needed
    expect(d.code).toBe(1);
    expect(d.err).toContain(`the saved plan for stack ${stack} is stale, so nothing was changed`);
    expect(d.err).toMatch(/Plan again \(kiln plan … --target aws --out FILE\)/);
    expect(d.out).not.toMatch(/Extra/);
    expect(await stackStatus(stack)).toBeUndefined();
  });

  it('a plan file whose steps were edited is refused: the change set is not what the file says', async () => {
    const name = `${stack}-edit`;
    const t = ws.write('small-edit.json', small());
    const r = await kiln(['plan', t, '--stack', name, '--target', 'aws', '--param', 'Secret=hunter3-noecho', '--out', 'edit.plan']);
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(readFileSync(`${ws.dir}/edit.plan`, 'utf8'));
    doc.steps = doc.steps.filter((s: { id: string }) => s.id !== 'MainVpc');
    expect(doc.steps).toEqual([]);
    writeFileSync(`${ws.dir}/edit.plan`, JSON.stringify(doc, null, 2));
    const d = await kiln(['deploy', 'edit.plan', '--target', 'aws']);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/is not what the plan file says .*the file was altered/);
    expect(await stackStatus(name)).toBe('REVIEW_IN_PROGRESS');
  });

  it('a plan made for another region is refused before anything is executed', async () => {
    const name = `${stack}-region`;
    const t = ws.write('small-region.json', small());
    expect((await kiln(['plan', t, '--stack', name, '--target', 'aws', '--param', 'Secret=hunter3-noecho', '--out', 'region.plan'])).code).toBe(0);
    const d = await kiln(['deploy', 'region.plan', '--target', 'aws', '--region', 'us-east-1']);
    expect(d.code).toBe(2);
    expect(d.err).toContain(`the plan was made for stack ${name} in ${REGION}; this run talks to us-east-1`);
    expect(await stackStatus(name)).toBe('REVIEW_IN_PROGRESS');
  });
});

describe('templates over 51,200 bytes go through the S3 bucket the user names', () => {
  const stack = `big-${Date.now().toString(36)}`;
  // 60 tagged security groups with long descriptions: about 70 KB of template.
  const big = (): string => {
    const extra: Record<string, unknown> = {};
    for (let i = 0; i < 60; i++) extra[`sg${i}`] = { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: `group ${i} ${'x'.repeat(1000)}`, VpcId: { Ref: 'MainVpc' } } };
    return small(extra);
  };

  it('without a bucket: a clear error naming --s3-bucket, before any AWS call', async () => {
    const t = ws.write('big.json', big());
    expect(Buffer.byteLength(readFileSync(t))).toBeGreaterThan(51_200);
    const r = await kiln(['plan', t, '--stack', stack, '--target', 'aws', '--param', 'Secret=hunter3-noecho'], { AWS_ENDPOINT_URL: await deadEndpoint() });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the template is \d+ bytes, over the 51200 bytes CloudFormation takes inline: give --s3-bucket BUCKET/);
    expect(r.err).toContain('nothing was sent to AWS');
    expect(r.err).not.toMatch(/ECONNREFUSED|cannot reach/);
  });

  it('with --s3-bucket: the template is put in the bucket and the stack is created from it', async () => {
    const s3 = new S3Client({ region: REGION, endpoint: moto.url, forcePathStyle: true, credentials });
    const bucket = `kiln-templates-${Date.now().toString(36)}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    const t = `${ws.dir}/big.json`;
    const r = await kiln(['deploy', t, '--stack', stack, '--target', 'aws', '--param', 'Secret=hunter3-noecho', '--s3-bucket', bucket, '--yes']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(new RegExp(`CloudFormation reads it from s3://${bucket}/kiln/${stack}/[0-9a-f]{32}\\.json`));
    expect(r.out).toMatch(/^\+\s+sg59\s+AWS::EC2::SecurityGroup\s+create$/m);
    expect(r.out).toContain(`Stack ${stack}: CREATE_COMPLETE`);
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(new RegExp(`^kiln/${stack}/[0-9a-f]{32}\\.json$`));
    expect(await stackStatus(stack)).toBe('CREATE_COMPLETE');
  });
});

describe('secrets', () => {
  it('no NoEcho value and no credential appears in anything kiln printed or wrote (plan files included)', () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    const written = files(ws.dir).filter((f) => !/\.json$/.test(f) || /\.plan$/.test(f));
    expect(written.filter((f) => f.endsWith('.plan')).length).toBeGreaterThanOrEqual(4);
    expect(printed.join('').length).toBeGreaterThan(1000);
    for (const secret of ['hunter2-noecho', 'hunter3-noecho', KEYS.AWS_ACCESS_KEY_ID, KEYS.AWS_SECRET_ACCESS_KEY]) {
      expect(printed.join('\n')).not.toContain(secret);
      for (const f of written) expect(readFileSync(f, 'utf8'), f).not.toContain(secret);
    }
  });
});
