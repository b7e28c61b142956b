// kill -9 of the real CLI deploying on the real Docker engine (instances behind a load balancer whose
// HAProxy starts ahead of them), at random moments; the next run
// recovers and ends clean: nothing labelled for the stack that state does not know, and after
// destroy nothing at all.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bundleCli } from './cli-bundle.js';
import { client, docker } from '../docker.js';
import { findOrphans } from '../../src/providers/docker/index.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState, closeAllStates } from '../../src/state/db.js';
import { webImage } from '../providers/docker/elb.helpers.js';
import { cleanupDeployed } from '../providers/docker/ctx.js';

const stack = `kt-crash-${randomBytes(3).toString('hex')}`;
let dir: string;
let cli: { entry: string; env: NodeJS.ProcessEnv };
const image = `kiln-test/crash-web:${stack}`;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-docker-crash-'));
  cli = await bundleCli('docker-crash');
  await webImage(image, { 'kiln.test': stack });
}, 60_000);
afterAll(() => cleanupDeployed([stack], stack, dir), 60_000);

function template(v: number): string {
  const f = join(dir, `v${v}.json`);
  const instance = (n: number) => ({
    Type: 'AWS::EC2::Instance',
    Properties: { ImageId: image, InstanceType: v % 2 ? 't2.micro' : 't2.small', SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }], Tags: [{ Key: 'n', Value: `${n}` }] },
  });
  writeFileSync(
    f,
    JSON.stringify({
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.78.0.0/16' } },
        Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: v === 3 ? '10.78.2.0/24' : '10.78.1.0/24' } },
        Sg: {
          Type: 'AWS::EC2::SecurityGroup',
          Properties: { GroupDescription: 'g', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '10.78.0.0/16' }] },
        },
        A: instance(1),
        B: instance(2),
        // Its HAProxy starts ahead, while A and B are created (a head start): kills land there too.
        Lb: {
          Type: 'AWS::ElasticLoadBalancing::LoadBalancer',
          Properties: {
            Subnets: [{ Ref: 'Subnet' }],
            SecurityGroups: [{ Ref: 'Sg' }],
            Instances: [{ Ref: 'A' }, { Ref: 'B' }],
            Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'TCP' }],
            HealthCheck: { Target: 'TCP:80', HealthyThreshold: '2', UnhealthyThreshold: '2', Interval: '5', Timeout: '2' },
          },
        },
      },
    }),
  );
  return f;
}

function run(args: string[], killAfterMs?: number): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli.entry, ...args, '--state-dir', join(dir, 'state')], { env: { ...process.env, ...cli.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    // The kill comes `killAfterMs` after the run has begun (its first *_IN_PROGRESS line), so it
    // lands in the middle of the work rather than during Node's start-up.
    let t: NodeJS.Timeout | undefined;
    const arm = (d: Buffer) => {
      if (killAfterMs !== undefined && !t && /_IN_PROGRESS/.test(String(d))) t = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    };
    child.stderr.on('data', arm);
    child.on('exit', (code) => {
      if (t) clearTimeout(t);
      resolve({ code, err });
    });
  });
}

async function knownIds(): Promise<Set<string>> {
  closeAllStates();
  const store = new StackStore(openState(join(dir, 'state')));
  const ids = new Set(store.resources(stack).map((r) => r.physicalId));
  expect(store.pendingOps(stack)).toEqual([]);
  expect(store.stack(stack)!.status).toMatch(/_COMPLETE$/);
  closeAllStates();
  return ids;
}

test('killed deploys on the real engine recover cleanly; destroy leaves nothing', async () => {
  // The first kill comes right at the first *_IN_PROGRESS line, so it always lands mid-run (a
  // small deploy can finish within a few hundred ms on a quiet machine); the others are random.
  const kills: Array<[number, number]> = [
    [1, 0],
    [3, Math.floor(Math.random() * 800)],
    [2, Math.floor(Math.random() * 800)],
  ];
  let landed = 0;
  for (const [v, ms] of kills) {
    await run(['deploy', template(v), '--stack', stack], ms);
    closeAllStates();
    const store = new StackStore(openState(join(dir, 'state')));
    if (store.lockHolder(stack)) landed++;
    closeAllStates();
  }
  // at least one kill hit a run in the middle (the others may land before or after)
  expect(landed).toBeGreaterThan(0);
  const r = await run(['deploy', template(2), '--stack', stack]);
  expect(r.code, r.err).toBe(0);
  expect(await findOrphans(client, stack, await knownIds())).toEqual([]);
  const d = await run(['destroy', '--stack', stack]);
  expect(d.code, d.err).toBe(0);
  const filters = JSON.stringify({ label: [`kiln.stack=${stack}`] });
  expect(await (await docker()).listContainers({ all: true, filters })).toEqual([]);
  expect(await (await docker()).listNetworks({ filters })).toEqual([]);
  expect(await findOrphans(client, stack, new Set())).toEqual([]);
}, 240_000);
