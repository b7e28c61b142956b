#!/usr/bin/env node
// `kiln deploy` of a stack with 20 instances and a classic load balancer, from nothing, against
// `docker-compose up -d` (Debian's docker-compose 1.29) of 20 equivalent services on the same image,
// pair by pair; then the no-change redeploy against compose's no-change `up -d`. Whole-process wall
// time, kiln and compose alternating so that load affects both alike. `npm run build` first.
//
//   node bench/deploy-vs-compose.mjs [pairs=3] [instances=20] [elb|noelb] [concurrency=10]
//
// `noelb` leaves the load balancer out (compose has none either); its create waits for the
// instances to pass the health check (HealthyThreshold × Interval ≥ 10 s by AWS's limits).
//
// The image: busybox running `httpd -f -p 80` (built here, labelled, removed at the end). kiln's
// stack: VPC, subnet, security group (tcp/80), N instances, one ELB with a health check over them.
// Compose: N services on the same image, the default project network. Prints a JSON line per pair
// and a summary with the median ratios.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pairs = Number(process.argv[2] ?? 3);
const n = Number(process.argv[3] ?? 20);
const withElb = (process.argv[4] ?? 'elb') !== 'noelb';
const concurrency = process.argv[5];
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-compose-'));
const image = `kiln-bench/dvc:${id}`;
const label = `kiln.test=bench-dvc-${id}`;

function sh(cmd, args, opts = {}) {
  const t = Date.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t };
}

const b = sh('docker', ['build', '-q', '-t', image, '--label', label, '-'], { input: 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n' });
if (b.code !== 0) throw new Error(b.err);

const resources = {
  Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.91.0.0/16' } },
  Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.91.1.0/24' } },
  Sg: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] } },
};
for (let i = 0; i < n; i++)
  resources[`Web${i}`] = { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, InstanceType: 't2.micro', SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }] } };
if (withElb)
  resources.Elb = {
    Type: 'AWS::ElasticLoadBalancing::LoadBalancer',
    Properties: {
      Subnets: [{ Ref: 'Subnet' }],
      SecurityGroups: [{ Ref: 'Sg' }],
      Instances: Array.from({ length: n }, (_, i) => ({ Ref: `Web${i}` })),
      Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }],
      HealthCheck: { Target: 'TCP:80', HealthyThreshold: '2', UnhealthyThreshold: '2', Interval: '5', Timeout: '2' },
    },
  };
const stackFile = join(dir, 'stack.json');
writeFileSync(stackFile, JSON.stringify({ Resources: resources, ...(withElb ? { Outputs: { Url: { Value: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': ['Elb', 'DNSName'] }, '/']] } } } } : {}) }));
const composeFile = join(dir, 'docker-compose.yml');
let yml = "version: '2.4'\nservices:\n";
for (let i = 0; i < n; i++) yml += `  web${i}:\n    image: ${image}\n    labels: ['${label}']\n`;
writeFileSync(composeFile, yml);

const state = join(dir, 'state');
const kiln = (...args) => sh(process.execPath, [join(root, 'bin', 'kiln.js'), ...args, '--state-dir', state], { env: { ...process.env, KILN_LABELS: label } });
const compose = (...args) => sh('docker-compose', ['-f', composeFile, '-p', `kilnbench${id}`, ...args], { env: { ...process.env, COMPOSE_HTTP_TIMEOUT: '300' } });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
try {
  for (let p = 0; p < pairs; p++) {
    const stack = `bench-dvc-${id}-${p}`;
    const kFirst = p % 2 === 0;
    const runKiln = () => {
      const c = kiln('deploy', stackFile, '--stack', stack, '--yes', ...(concurrency ? ['--concurrency', concurrency] : []));
      if (c.code !== 0) throw new Error(`kiln deploy failed: ${c.err.slice(-2000)}`);
      const again = kiln('deploy', stackFile, '--stack', stack, '--yes');
      if (again.code !== 0 || !/no changes/.test(again.out)) throw new Error(`kiln redeploy changed something: ${again.out}${again.err}`);
      return { create: c.ms, noop: again.ms };
    };
    const runCompose = () => {
      const c = compose('up', '-d');
      if (c.code !== 0) throw new Error(`compose up failed: ${c.err}`);
      const again = compose('up', '-d');
      return { create: c.ms, noop: again.ms };
    };
    const k = kFirst ? runKiln() : undefined;
    const c = runCompose();
    const k2 = k ?? runKiln();
    const row = {
      pair: p,
      kilnCreateMs: k2.create,
      composeCreateMs: c.create,
      createRatio: +(k2.create / c.create).toFixed(2),
      kilnNoopMs: k2.noop,
      composeNoopMs: c.noop,
      noopRatio: +(k2.noop / c.noop).toFixed(2),
    };
    rows.push(row);
    process.stdout.write(JSON.stringify(row) + '\n');
    kiln('destroy', '--stack', stack, '--yes');
    compose('down', '--remove-orphans');
  }
  process.stdout.write(
    JSON.stringify({
      summary: true,
      pairs,
      instances: n,
      elb: withElb,
      concurrency: concurrency ?? 'default (10)',
      createRatioMedian: median(rows.map((r) => r.createRatio)),
      noopRatioMedian: median(rows.map((r) => r.noopRatio)),
      kilnCreateMedianMs: median(rows.map((r) => r.kilnCreateMs)),
      composeCreateMedianMs: median(rows.map((r) => r.composeCreateMs)),
      kilnNoopMedianMs: median(rows.map((r) => r.kilnNoopMs)),
      composeNoopMedianMs: median(rows.map((r) => r.composeNoopMs)),
    }) + '\n',
  );
} finally {
  compose('down', '--remove-orphans');
  for (let p = 0; p < pairs; p++) kiln('destroy', '--stack', `bench-dvc-${id}-${p}`, '--yes');
  sh('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}
