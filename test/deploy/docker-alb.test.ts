// An application load balancer stack deployed through the engine on the real Docker engine: load
// balancer, target group with two instances, listener. The load balancer's container publishes the
// port its listener will use when it starts, so the listener is added without a relaunch.
import { afterAll, expect, test } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { client, docker } from '../docker.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { EventLog } from '../../src/core/events.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { deployStack, destroyStack, type EngineEvent } from '../../src/deploy/index.js';
import { get, webImage } from '../providers/docker/elb.helpers.js';
import { cleanupDeployed } from '../providers/docker/ctx.js';

const stack = `kt-alb-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-alb-'));
const store = new StackStore(openState(dir));
const image = `kiln-test/alb-web:${stack}`;

afterAll(() => cleanupDeployed([stack], stack, dir), 60_000);

const web = (n: number) => ({ Type: 'AWS::EC2::Instance', Properties: { ImageId: image, SubnetId: { Ref: 'Subnet' }, SecurityGroupIds: [{ Ref: 'Sg' }], Tags: [{ Key: 'n', Value: `${n}` }] } });
const template = {
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.83.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.83.1.0/24' } },
    Sg: {
      Type: 'AWS::EC2::SecurityGroup',
      Properties: { GroupDescription: 'web', VpcId: { Ref: 'Vpc' }, SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] },
    },
    Web1: web(1),
    Web2: web(2),
    Alb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Subnets: [{ Ref: 'Subnet' }], SecurityGroups: [{ Ref: 'Sg' }] } },
    Tg: {
      Type: 'AWS::ElasticLoadBalancingV2::TargetGroup',
      Properties: {
        VpcId: { Ref: 'Vpc' },
        Port: 80,
        Protocol: 'HTTP',
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
        Targets: [{ Id: { Ref: 'Web1' } }, { Id: { Ref: 'Web2' } }],
      },
    },
    Listener: {
      Type: 'AWS::ElasticLoadBalancingV2::Listener',
      Properties: { LoadBalancerArn: { Ref: 'Alb' }, Port: 80, Protocol: 'HTTP', DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: 'Tg' } }] },
    },
  },
  Outputs: { Url: { Value: { 'Fn::Sub': 'http://${Alb.DNSName}/' } } },
};

test('an ALB, its target group and listener: traffic reaches both instances, and the listener needs no relaunch', async () => {
  await webImage(image, { 'kiln.test': stack });
  const log = new EventLog<EngineEvent>();
  const r = await deployStack({ stack, store, provider: localProvider({ docker: client }), events: log, file: 'alb.json', text: JSON.stringify(template) });
  expect(r.finalStatus, r.reason).toBe('CREATE_COMPLETE');
  const warnings = log.events.filter((e) => e.kind === 'provider' && e.event.kind === 'warning').map((e) => (e.kind === 'provider' ? e.event.message : ''));
  expect(warnings.filter((w) => /relaunch/.test(w))).toEqual([]);
  // one load balancer container, the one the load balancer resource started
  const lbs = await (await docker()).listContainers({ filters: JSON.stringify({ label: [`kiln.stack=${stack}`, 'kiln.kind=load-balancer'] }) });
  expect(lbs.map((c) => c.Id)).toEqual([(store.liveResources(stack).get('Alb')!.state.data!.containers as Array<{ id: string }>)[0]!.id]);
  // both targets answer through it
  const url = String(r.outputs.Url!.value);
  const seen = new Set<string>();
  for (let i = 0; i < 12 && seen.size < 2; i++) seen.add((await get(url)).body.trim());
  expect(seen.size).toBe(2);
  expect((await destroyStack({ stack, store, provider: localProvider({ docker: client }) })).outcome).toBe('complete');
}, 120_000);
