// widdix's state/elasticache-redis.yaml, unchanged, on the local target through the CLI: a parent VPC
// stack exporting what widdix's vpc templates export, widdix's state/client-sg.yaml, then the Redis
// stack: a real primary with its replica, the parameter group applied, the alarms' SNS-less
// conditions off, and on destroy the Snapshot deletion policy keeping the group (as kiln does for
// Snapshot: the local target takes no snapshots).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { client, removeByLabels } from '../docker.js';

const WIDDIX = join(import.meta.dirname, '..', '..', '..', 'shared', 'corpus', 'cloudformation', 'widdix', 'templates');
const id = randomBytes(3).toString('hex');
const [vpc, clients, redis] = ['vpc', 'client', 'redis'].map((s) => `w${id}${s}`);
let dir: string;

async function kiln(...args: string[]) {
  const env = { ...process.env };
  delete env.KILN_PROVIDER;
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', join(dir, 'state')], io);
  return { code, out: io.stdout, err: io.stderr };
}

const VPC = `Resources:
  VPC: { Type: AWS::EC2::VPC, Properties: { CidrBlock: 10.96.0.0/16 } }
  SubnetA: { Type: AWS::EC2::Subnet, Properties: { VpcId: !Ref VPC, CidrBlock: 10.96.1.0/24, AvailabilityZone: !Select [0, !GetAZs ''] } }
  SubnetB: { Type: AWS::EC2::Subnet, Properties: { VpcId: !Ref VPC, CidrBlock: 10.96.2.0/24, AvailabilityZone: !Select [1, !GetAZs ''] } }
Outputs:
  VPC: { Value: !Ref VPC, Export: { Name: !Sub '\${AWS::StackName}-VPC' } }
  SubnetsPrivate: { Value: !Join [',', [!Ref SubnetA, !Ref SubnetB]], Export: { Name: !Sub '\${AWS::StackName}-SubnetsPrivate' } }
`;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-widdix-redis-'));
  writeFileSync(join(dir, 'vpc.yaml'), VPC);
});
afterAll(async () => {
  await removeByLabels({ 'kiln.stack': redis! });
  for (const s of [clients, vpc]) await kiln('destroy', '--stack', s!, '--yes');
  rmSync(dir, { recursive: true, force: true });
});

describe("widdix's state/elasticache-redis.yaml on the local target", () => {
  test('plans and deploys unchanged on a VPC and client group stack: a real primary with one replica', async () => {
    expect((await kiln('deploy', 'vpc.yaml', '--stack', vpc!)).code).toBe(0);
    expect((await kiln('deploy', join(WIDDIX, 'state/client-sg.yaml'), '--stack', clients!, '--param', `ParentVPCStack=${vpc}`)).code).toBe(0);
    const args = [join(WIDDIX, 'state/elasticache-redis.yaml'), '--stack', redis!, '--param', `ParentVPCStack=${vpc}`, '--param', `ParentClientStack=${clients}`, '--param', 'EngineVersion=7.0'];
    const plan = await kiln('plan', ...args);
    expect(plan.err).toBe('');
    expect(plan.out).toMatch(/^\+\s+ReplicationGroup\s+AWS::ElastiCache::ReplicationGroup\s+create$/m);
    expect(plan.out).toMatch(/^\+\s+CacheParameterGroup\s+AWS::ElastiCache::ParameterGroup\s+create$/m);
    const deploy = await kiln('deploy', ...args);
    expect(deploy.code).toBe(0);
    const out = JSON.parse((await kiln('outputs', '--stack', redis!, '--json')).out) as Record<string, string>;
    expect(out.PrimaryEndPointAddress).toMatch(/^10\.96\.[12]\.\d+$/);
    expect(out.PrimaryEndPointPort).toBe('6379');
    const nodes = await client.listContainers({ labels: [`kiln.stack=${redis}`, 'kiln.resource=ReplicationGroup'] });
    expect(nodes).toHaveLength(2);
    const replication = await Promise.all(nodes.map((n) => client.exec(n.Id, ['redis-cli', 'INFO', 'replication'], { timeoutMs: 10_000 })));
    expect(replication.map((r) => /role:(\w+)/.exec(r.stdout)?.[1]).sort()).toEqual(['master', 'slave']);
    expect(replication.find((r) => r.stdout.includes('role:master'))!.stdout).toContain('connected_slaves:1');

    // Destroyed in reverse; the group's DeletionPolicy Snapshot keeps it, as kiln keeps Snapshot resources.
    const destroy = await kiln('destroy', '--stack', redis!, '--yes');
    expect(destroy.code).toBe(0);
    expect((await kiln('events', '--stack', redis!)).out).toMatch(/ReplicationGroup\s+DELETE_SKIPPED/);
  }, 300_000);
});
