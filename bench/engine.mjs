#!/usr/bin/env node
// Benchmark: the stack engine in-process (no process start) on a generated 500-resource template:
// load (JSON parse with positions) + validate, render (evaluate), graph (build + waves + text).
// Reports the median of each step and of the whole, over N runs after a warm-up.
//
//   npm run build && node bench/engine.mjs [--runs N] [--json OUT]
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('--runs', '30'));
const jsonOut = opt('--json', '');

const { loadTemplate } = await import(join(repo, 'dist/stack/load.js'));
const { validateTemplate } = await import(join(repo, 'dist/stack/validate.js'));
const { evaluateTemplate, renderedTemplate } = await import(join(repo, 'dist/stack/evaluate.js'));
const { buildStackGraph, renderGraph } = await import(join(repo, 'dist/stack/graph.js'));

/** 500 resources: a VPC, subnets from Fn::Cidr, groups, queues, topics, buckets and roles, wired by Ref/GetAtt/Sub/DependsOn. */
export function generateTemplate(n = 500) {
  const t = {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `generated template with ${n} resources`,
    Parameters: {
      Env: { Type: 'String', Default: 'dev', AllowedValues: ['dev', 'prod'] },
      Cidr: { Type: 'String', Default: '10.0.0.0/16', AllowedPattern: '\\d+\\.\\d+\\.\\d+\\.\\d+/\\d+' },
      Retention: { Type: 'Number', Default: 345600, MinValue: 60, MaxValue: 1209600 },
      Secret: { Type: 'String', NoEcho: true, Default: 'not-so-secret' },
    },
    Mappings: { Sizes: { dev: { Delay: '0' }, prod: { Delay: '5' } } },
    Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] }, IsDev: { 'Fn::Not': [{ Condition: 'IsProd' }] } },
    Resources: { Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: { Ref: 'Cidr' }, Tags: [{ Key: 'Name', Value: { 'Fn::Sub': '${AWS::StackName}-vpc' } }] } } },
    Outputs: {},
  };
  const R = t.Resources;
  for (let i = 1; i < n; i++) {
    const kind = i % 6;
    const prev = `Res${Math.max(1, i - 6)}`;
    if (kind === 0)
      R[`Res${i}`] = {
        Type: 'AWS::EC2::Subnet',
        Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: { 'Fn::Select': [i % 200, { 'Fn::Cidr': [{ Ref: 'Cidr' }, 256, 8] }] }, AvailabilityZone: { 'Fn::Select': [i % 3, { 'Fn::GetAZs': '' }] } },
      };
    else if (kind === 1)
      R[`Res${i}`] = {
        Type: 'AWS::EC2::SecurityGroup',
        Properties: {
          GroupDescription: { 'Fn::Join': [' ', ['group', String(i), 'for', { Ref: 'Env' }]] },
          VpcId: { Ref: 'Vpc' },
          SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, CidrIp: { 'Fn::GetAtt': ['Vpc', 'CidrBlock'] } }],
        },
      };
    else if (kind === 2)
      R[`Res${i}`] = {
        Type: 'AWS::SQS::Queue',
        Properties: {
          MessageRetentionPeriod: { Ref: 'Retention' },
          DelaySeconds: { 'Fn::FindInMap': ['Sizes', { Ref: 'Env' }, 'Delay'] },
          QueueName: { 'Fn::Sub': '${AWS::StackName}-q' + i },
        },
        DependsOn: i > 6 ? [prev] : [],
      };
    else if (kind === 3)
      R[`Res${i}`] = {
        Type: 'AWS::SNS::Topic',
        Properties: { DisplayName: { 'Fn::If': ['IsProd', 'prod topic', { Ref: 'AWS::NoValue' }] }, TopicName: { 'Fn::Sub': ['t-${Q}', { Q: { 'Fn::GetAtt': [`Res${i - 1}`, 'QueueName'] } }] } },
      };
    else if (kind === 4)
      R[`Res${i}`] = {
        Type: 'AWS::S3::Bucket',
        Condition: i % 12 === 4 ? 'IsDev' : undefined,
        Properties: { BucketName: { 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'b', String(i), { Ref: 'AWS::Region' }]] }, Tags: [{ Key: 'topic', Value: { Ref: `Res${i - 1}` } }] },
      };
    else
      R[`Res${i}`] = {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
          Description: { 'Fn::Base64': { 'Fn::Sub': 'role ${AWS::AccountId} ${Secret}' } },
        },
      };
    if (R[`Res${i}`].Condition === undefined) delete R[`Res${i}`].Condition;
    if (i % 25 === 0) t.Outputs[`Out${i}`] = { Value: { 'Fn::GetAtt': [`Res${i}`, ['SubnetId', 'GroupId', 'Arn', 'TopicArn', 'Arn', 'Arn'][kind]] } };
  }
  return t;
}

const text = JSON.stringify(generateTemplate(), null, 2);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function once() {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const doc = loadTemplate(text, 'generated.json');
  const diags = validateTemplate(doc);
  const t1 = performance.now();
  const r = evaluateTemplate(doc.value, { pseudo: { stackName: 'bench' }, maskNoEcho: true });
  const out = JSON.stringify(renderedTemplate(r.template));
  const t2 = performance.now();
  const g = buildStackGraph(r.template);
  const waves = g.graph.waves();
  renderGraph(g, 'text');
  const t3 = performance.now();
  const c = process.cpuUsage(c0);
  return {
    cpu: (c.user + c.system) / 1000,
    validate: t1 - t0,
    render: t2 - t1,
    graph: t3 - t2,
    total: t3 - t0,
    errors: diags.filter((d) => d.severity === 'error').length + r.diagnostics.filter((d) => d.severity === 'error').length,
    bytes: out.length,
    waves: waves.length,
    resources: g.graph.size,
  };
}

const first = once();
if (first.errors) {
  const doc = loadTemplate(text, 'generated.json');
  console.error(validateTemplate(doc).slice(0, 5));
  console.error('the generated template has errors; fix the generator');
  process.exit(1);
}
for (let i = 0; i < 5; i++) once(); // warm-up
const samples = Array.from({ length: runs }, once);
const result = {
  template: { bytes: text.length, resources: first.resources, waves: first.waves },
  runs,
  coldFirstRunMs: +first.total.toFixed(1),
  medianMs: Object.fromEntries(['validate', 'render', 'graph', 'total'].map((k) => [k, +median(samples.map((s) => s[k])).toFixed(2)])),
  /** CPU time of the whole (user + system), less sensitive to other load on the machine. */
  medianCpuMs: +median(samples.map((s) => s.cpu)).toFixed(2),
  loadAverage: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)),
  node: process.version,
};
console.log(JSON.stringify(result, null, 2));
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2) + '\n');
