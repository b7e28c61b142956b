// The deploy engine on the real Docker provider: a small VPC + subnet + security group + instance
// stack deployed, updated in place, broken (rollback), destroyed — and nothing left with its label.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { client, docker, removeByLabels } from '../docker.js';
import { findOrphans, localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { EventLog } from '../../src/core/events.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack, driftStack, type EngineEvent } from '../../src/deploy/index.js';

const stack = `kt-deploy-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-docker-deploy-'));
const store = new StackStore(openState(dir));
const provider = localProvider({ docker: client });
// An image whose command keeps running (busybox's own `sh` exits at once).
const image = `kiln-test/deploy:${stack}`;
const built = spawnSync('docker', ['build', '-q', '-t', image, '--label', `kiln.test=${stack}`, '-'], { input: 'FROM busybox:latest\nCMD ["httpd", "-f", "-p", "80"]\n', encoding: 'utf8' });
if (built.status !== 0) throw new Error(built.stderr);

afterAll(async () => {
  await removeOrphans(client, stack, new Set()).catch(() => undefined);
  await removeByLabels({ 'kiln.stack': stack }).catch(() => undefined);
  spawnSync('docker', ['rmi', '-f', image]);
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

const template = (instanceType: string, extra: Record<string, unknown> = {}) => ({
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.77.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.77.1.0/24', MapPublicIpOnLaunch: true } },
    Sg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] },
    },
    Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, InstanceType: instanceType, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }] } },
    ...extra,
  },
  Outputs: { Ip: { Value: { 'Fn::GetAtt': ['Web', 'PrivateIp'] } } },
});

const deploy = (t: object, log = new EventLog<EngineEvent>()) => deployStack({ stack, store, provider, events: log, file: 'stack.json', text: JSON.stringify(t) });

async function labelled(): Promise<{ containers: number; networks: number }> {
  const d = await docker();
  const filters = JSON.stringify({ label: [`kiln.stack=${stack}`] });
  return { containers: (await d.listContainers({ all: true, filters })).length, networks: (await d.listNetworks({ filters })).length };
}

describe.sequential('a stack on the real Docker engine', () => {
  test('deploys VPC, subnet, security group and instance; outputs resolve', async () => {
    const r = await deploy(template('t2.micro'));
    expect(r.finalStatus, r.reason).toBe('CREATE_COMPLETE');
    expect(r.outputs.Ip!.value).toMatch(/^10\.77\.1\.\d+$/);
    expect(store.liveResources(stack).get('Web')!.physicalId).toMatch(/^i-[0-9a-f]{17}$/);
    expect((await labelled()).containers).toBeGreaterThan(0);
    expect(store.deployments(stack)[0]!.images).toEqual({ Web: image });
  }, 120_000);

  test('changing InstanceType updates the instance in place (same physical id)', async () => {
    const before = store.liveResources(stack).get('Web')!.physicalId;
    const r = await deploy(template('t2.small'));
    expect(r.plan.steps.find((s) => s.id === 'Web')).toMatchObject({ kind: 'update', changed: ['InstanceType'] });
    expect(r.finalStatus, r.reason).toBe('UPDATE_COMPLETE');
    expect(store.liveResources(stack).get('Web')!.physicalId).toBe(before);
  }, 120_000);

  test('a failing new resource rolls the update back and leaves only what was there', async () => {
    const before = await labelled();
    // An address another instance holds: only the run can tell (a missing image is refused at plan).
    const taken = String(store.liveResources(stack).get('Web')!.state.attributes.PrivateIp);
    const r = await deploy(template('t2.small', { Bad: { Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, PrivateIpAddress: taken } } }));
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toMatch(/^Bad: /);
    expect(await labelled()).toEqual(before);
    expect(store.liveResources(stack).has('Bad')).toBe(false);
  }, 120_000);

  test('a file changed inside the instance is drift; --replace-drifted replaces the instance', async () => {
    const d = await docker();
    const [c] = await d.listContainers({ filters: JSON.stringify({ label: [`kiln.stack=${stack}`, 'kiln.resource=Web'] }) });
    const exec = await d.getContainer(c!.Id).exec({ Cmd: ['sh', '-c', 'echo hacked > /etc/motd'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({});
    await new Promise((r) => stream.on('end', r).resume());
    const report = await driftStack({ stack, store, provider });
    expect(report.status).toBe('DRIFTED');
    const web = report.resources.find((r) => r.logicalId === 'Web')!;
    expect(web.status).toBe('MODIFIED');
    expect(web.mutations.map((m) => m.path)).toContain('/etc/motd');
    const before = store.liveResources(stack).get('Web')!.physicalId;
    const r = await deployStack({ stack, store, provider, file: 'stack.json', text: JSON.stringify(template('t2.small')), replaceDrifted: true });
    expect(r.plan.steps.find((s) => s.id === 'Web')).toMatchObject({ kind: 'replace' });
    expect(r.finalStatus, r.reason).toBe('UPDATE_COMPLETE');
    expect(store.liveResources(stack).get('Web')!.physicalId).not.toBe(before);
    expect((await driftStack({ stack, store, provider })).status).toBe('IN_SYNC');
  }, 120_000);

  test('destroy leaves no container, network or namespace with the stack label', async () => {
    const r = await destroyStack({ stack, store, provider });
    expect(r.status).toBe('DELETE_COMPLETE');
    expect(await labelled()).toEqual({ containers: 0, networks: 0 });
    expect(await findOrphans(client, stack, new Set())).toEqual([]);
  }, 120_000);
});
