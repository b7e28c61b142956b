// `kiln up --target aws` on the emulator: bakes the AMI through the build cache (a Debian sshd
// container as the instance), wires ${images.web} to the AMI id, creates the stack (the seed's,
// without its ElastiCache node) through a change set; a second run with nothing changed bakes
// nothing (one DescribeImages), executes no change set, and says so in one line.
import { knownAwsStacks } from '../../src/aws/known-stacks.js';
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { S3Client, CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CloudFormationClient, DescribeStacksCommand, DescribeStackEventsCommand } from '@aws-sdk/client-cloudformation';
import { loadConfig } from '../../src/pipeline/load.js';
import { up } from '../../src/pipeline/up.js';
import { reportUp } from '../../src/cli/commands/up.js';
import { memoryIO } from '../../src/cli/io.js';
import { counting, openEc2 } from '../../src/aws/ec2.js';
import { startMoto, type Moto } from './moto.js';
import { startStandIn, instanceAgent, type StandIn, type InstanceAgent } from './standin.js';
import { census, ebsRoots, registerSource, tmpWorkspace, NOTHING_LEFT, REGION } from './helpers.js';

let moto: Moto;
let box: StandIn;
let agent: InstanceAgent;
let ws: ReturnType<typeof tmpWorkspace>;
const stack = `upaws-${Date.now().toString(36)}`;
const bucket = `kiln-up-${Date.now().toString(36)}`;
// Credentials the emulator accepts and no other text contains, and a NoEcho value: the audit looks for them.
const KEYS = { AWS_ACCESS_KEY_ID: 'AKIAKILNUPAWS0000001', AWS_SECRET_ACCESS_KEY: 'kiln/up+aws/secret/key/fedcba9876543210' };
const NOECHO = 'up-aws-noecho-hunter2';
/** Everything the runs emitted and printed, for the audit. */
const seen: string[] = [];
beforeAll(async () => {
  ws = tmpWorkspace('up-aws');
  moto = await startMoto();
  box = await startStandIn(ws.testId);
  agent = instanceAgent(moto.url, REGION, box, ['kiln.test', ws.testId]);
  const source = await registerSource(moto);
  ws.write(
    'image.json',
    JSON.stringify({
      variables: { version: '1' },
      builders: [{ type: 'amazon-ebs', name: 'aws', region: REGION, source_ami: source, instance_type: 't3.micro', ssh_username: 'admin', ami_name: 'web-{{user `version`}}-{{timestamp}}' }],
      provisioners: [{ type: 'shell', inline: ['echo "web {{user `version`}}" > /tmp/kiln-up-aws-version'] }],
    }),
  );
  const seed = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../examples/seed/stack.json'), 'utf8'));
  delete seed.Resources.ecSubnetGroup;
  delete seed.Resources.ecRedis;
  delete seed.Outputs.RedisAddress;
  // A NoEcho parameter, and padding that takes the template over the 51,200 bytes CloudFormation
  // takes inline: it goes through the bucket kiln.yaml names (s3_bucket).
  seed.Parameters.DbPassword = { Type: 'String', NoEcho: true, Description: 'never shown' };
  seed.Metadata = { Padding: 'p'.repeat(60_000) };
  await new S3Client({ region: REGION, endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }).send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
  ws.write('stack.json', JSON.stringify(seed, null, 2).replace(/\{\s*"Fn::GetAtt":\s*\[\s*"ecRedis",\s*"RedisEndpoint\.(Address|Port)"\s*\]\s*\}/g, '"127.0.0.1"'));
  ws.write(
    'kiln.yaml',
    `stack: ${stack}\nimages:\n  web:\n    template: image.json\n    builds:\n      aws: aws\nstack_template: stack.json\ns3_bucket: ${bucket}\nparameters:\n  AmiId: \${images.web}\n  Environment: dev\n  DbPassword: ${NOECHO}\n`,
  );
});
afterAll(async () => {
  agent?.stop();
  await box?.stop();
  await moto?.stop();
  ws?.cleanup();
});

async function run(calls: string[], extra: { dryRun?: boolean; document?: boolean } = {}) {
  const config = await loadConfig(ws.dir, ws.dir);
  return up({
    ...extra,
    config,
    target: 'aws',
    stateDir: `${ws.dir}/.state`,
    labels: { 'kiln.test': ws.testId },
    env: { ...process.env, ...moto.env, ...KEYS, AWS_REGION: REGION },
    capabilities: ['CAPABILITY_IAM'],
    events: { emit: (e) => seen.push(JSON.stringify(e)) },
    aws: { sshAddress: () => ({ host: box.host, port: box.port }), ec2: (s) => counting(ebsRoots(openEc2(s)), calls) },
  });
}

const cfn = () => new CloudFormationClient({ region: REGION, endpoint: moto.url, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

describe('kiln up --target aws', () => {
  it('bakes the AMI, wires it into the stack parameters, and creates the stack through a change set', async () => {
    const calls: string[] = [];
    const r = await run(calls);
    expect(r.outcome, r.reason).toBe('complete');
    expect(r.built).toEqual(['web']);
    const ami = r.images['web']!.artifact;
    expect(ami).toMatch(/^ami-[0-9a-f]+$/);
    expect(r.parameters['AmiId']).toBe(ami);
    expect(r.aws?.finalStatus).toBe('CREATE_COMPLETE');
    const s = (await cfn().send(new DescribeStacksCommand({ StackName: stack }))).Stacks![0]!;
    expect(s.StackStatus).toBe('CREATE_COMPLETE');
    expect(s.Parameters?.find((p) => p.ParameterKey === 'AmiId')?.ParameterValue).toBe(ami);
    // Noted in the state directory, where `kiln ui` finds the AWS stacks.
    expect(knownAwsStacks(`${ws.dir}/.state`).map((k) => `${k.stack} ${k.region}`)).toEqual([`${stack} ${REGION}`]);
    expect(calls).toContain('RunInstances');
    const s3 = new S3Client({ region: REGION, endpoint: moto.url, forcePathStyle: true, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    expect(((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key)).toEqual([expect.stringMatching(new RegExp(`^kiln/${stack}/[0-9a-f]{32}\\.json$`))]);
    expect(await box.sh('cat /tmp/kiln-up-aws-version')).toBe('web 1\n');
    expect(await census(moto, ws.testId)).toMatchObject(NOTHING_LEFT);
  }, 180_000);

  it('a second run with nothing changed builds nothing, executes no change set, and says so in one line', async () => {
    const before = (await cfn().send(new DescribeStackEventsCommand({ StackName: stack }))).StackEvents!.length;
    const calls: string[] = [];
    const r = await run(calls);
    expect(r.outcome, r.reason).toBe('up-to-date');
    expect(r.built).toEqual([]);
    expect(calls).toEqual(['DescribeImages']);
    expect((await cfn().send(new DescribeStackEventsCommand({ StackName: stack }))).StackEvents!.length).toBe(before);
    const io = memoryIO({ cwd: ws.dir, env: {} });
    expect(await reportUp(io, r)).toBe(0);
    seen.push(io.stdout, io.stderr);
    expect(io.stdout).toMatch(new RegExp(`^${stack}: up to date \\(1 image cached, 0 changes\\) in \\d+\\.\\ds\\n$`));
  }, 60_000);

  it('refuses a stack that needs CAPABILITY_IAM without it, before baking anything', async () => {
    const config = await loadConfig(ws.dir, ws.dir);
    const calls: string[] = [];
    await expect(
      up({ config, target: 'aws', stateDir: `${ws.dir}/.state`, env: { ...process.env, ...moto.env, AWS_REGION: REGION }, aws: { ec2: (s) => counting(openEc2(s), calls) } }),
    ).rejects.toThrow(/needs CAPABILITY_IAM/);
    expect(calls).toEqual([]);
  });

  it('--plan-only --out with nothing changed saves an AWS plan that keeps no change set and holds no NoEcho value', async () => {
    const calls: string[] = [];
    const r = await run(calls, { dryRun: true, document: true });
    expect(r.outcome, r.reason).toBe('planned');
    expect(r.built).toEqual([]);
    expect(r.document?.target).toBe('aws');
    expect(r.document?.aws, JSON.stringify(r.document?.aws)).toMatchObject({ region: REGION, changeSet: null });
    expect(r.document?.basis.status).toBe('CREATE_COMPLETE');
    expect(r.document?.parameters['DbPassword']).toBe('****');
    seen.push(JSON.stringify(r.document));
  }, 60_000);

  it('a template over 51,200 bytes without s3_bucket or --s3-bucket is refused before baking anything', async () => {
    const { s3Bucket: _b, ...config } = await loadConfig(ws.dir, ws.dir);
    const calls: string[] = [];
    await expect(
      up({
        config,
        target: 'aws',
        stateDir: `${ws.dir}/.state`,
        env: { ...process.env, ...moto.env, AWS_REGION: REGION },
        capabilities: ['CAPABILITY_IAM'],
        aws: { ec2: (s) => counting(openEc2(s), calls) },
      }),
    ).rejects.toThrow(/over the 51200 bytes CloudFormation takes inline: give --s3-bucket BUCKET \(or s3_bucket in kiln\.yaml/);
    expect(calls).toEqual([]);
  });

  it('the NoEcho value and the credentials appear in no event, output or state file', async () => {
    const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    const state = files(`${ws.dir}/.state`);
    expect(state.length).toBeGreaterThan(0);
    expect(seen.some((x) => x.includes('"kind":"stack"'))).toBe(true);
    const history = state.map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(history).toContain('DbPassword');
    for (const secret of [NOECHO, KEYS.AWS_ACCESS_KEY_ID, KEYS.AWS_SECRET_ACCESS_KEY]) {
      expect(seen.join('\n')).not.toContain(secret);
      for (const f of state) expect(readFileSync(f, 'utf8'), f).not.toContain(secret);
    }
  });
});
