// Create-before-delete on the real engine: an instance behind a classic ELB gets a new image; the
// new instance is created and put behind the load balancer before the old one is deleted, and the
// load balancer answers every request during the deploy.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { client, removeByLabels } from '../docker.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack } from '../../src/deploy/index.js';

const stack = `kt-replace-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-docker-replace-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
const images = { v1: `kiln-test/replace:${stack}-v1`, v2: `kiln-test/replace:${stack}-v2` };

beforeAll(() => {
  for (const [v, tag] of Object.entries(images)) {
    const b = spawnSync('docker', ['build', '-q', '-t', tag, '--label', `kiln.test=${stack}`, '-'], {
      input: `FROM busybox:latest\nRUN mkdir /www && echo ${v} > /www/index.html\nCMD ["httpd", "-f", "-p", "80", "-h", "/www"]\n`,
      encoding: 'utf8',
    });
    if (b.status !== 0) throw new Error(b.stderr);
  }
}, 60_000);
afterAll(async () => {
  await destroyStack({ stack, store, provider }).catch(() => undefined);
  await removeOrphans(client, stack, new Set()).catch(() => undefined);
  await removeByLabels({ 'kiln.stack': stack }).catch(() => undefined);
  spawnSync('docker', ['rmi', '-f', images.v1, images.v2]);
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

const template = (image: string) => ({
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.83.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.83.1.0/24' } },
    Sg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'http', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] },
    },
    Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }] } },
    Elb: {
      Type: 'AWS::ElasticLoadBalancing::LoadBalancer',
      Properties: {
        Subnets: [{ Ref: 'Subnet' }],
        SecurityGroups: [{ Ref: 'Sg' }],
        Instances: [{ Ref: 'Web' }],
        Listeners: [{ LoadBalancerPort: '80', InstancePort: '80', Protocol: 'HTTP' }],
        HealthCheck: { Target: 'HTTP:80/index.html', HealthyThreshold: '2', UnhealthyThreshold: '2', Interval: '5', Timeout: '2' },
      },
    },
  },
  Outputs: { Url: { Value: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': ['Elb', 'DNSName'] }, '/index.html']] } } },
});

async function get(url: string): Promise<string> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return r.ok ? (await r.text()).trim() : `HTTP ${r.status}`;
  } catch (e) {
    return `ERR ${(e as Error).message}`;
  }
}

test('a new ImageId replaces the instance create-before-delete, with no failed request', async () => {
  const first = await deployStack({ stack, store, provider, file: 'stack.json', text: JSON.stringify(template(images.v1)) });
  expect(first.finalStatus, first.reason).toBe('CREATE_COMPLETE');
  const url = String(first.outputs.Url!.value);
  expect(await get(url)).toBe('v1');
  const oldId = store.liveResources(stack).get('Web')!.physicalId;

  let polling = true;
  const answers: string[] = [];
  const poller = (async () => {
    while (polling) {
      answers.push(await get(url));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const second = await deployStack({ stack, store, provider, file: 'stack.json', text: JSON.stringify(template(images.v2)) });
  polling = false;
  await poller;
  expect(second.finalStatus, second.reason).toBe('UPDATE_COMPLETE');
  expect(second.plan.steps.find((s) => s.id === 'Web')).toMatchObject({ kind: 'replace', because: ['ImageId'] });
  expect(store.liveResources(stack).get('Web')!.physicalId).not.toBe(oldId);
  // every request answered, first by the old instance, then by the new one
  expect(answers.filter((a) => a !== 'v1' && a !== 'v2')).toEqual([]);
  expect(answers[0]).toBe('v1');
  expect(await get(url)).toBe('v2');
  // the old instance was deleted only in the cleanup phase, after the load balancer moved
  const ev = store.events(stack, { deployment: second.deployment! }).map((e) => `${e.logicalId} ${e.status} ${e.physicalId ?? ''}`);
  const elbDone = ev.indexOf(ev.find((e) => e.startsWith('Elb UPDATE_COMPLETE'))!);
  const cleanup = ev.findIndex((e) => e.includes('UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'));
  const oldDeleted = ev.indexOf(`Web DELETE_COMPLETE ${oldId}`);
  expect(elbDone).toBeGreaterThan(-1);
  expect(cleanup).toBeGreaterThan(elbDone);
  expect(oldDeleted).toBeGreaterThan(cleanup);
}, 180_000);
