// What `kiln plan` says, on the local target, about resources realised in part: properties recorded
// without local effect are plan warnings at their resource, properties the target cannot realise are
// refused before anything is created (Auto Scaling launch configurations, policies, scheduled
// actions and lifecycle hooks). Plans only: nothing here touches the engine but to look images up.
import { afterAll, describe, expect, it } from 'vitest';
import { harness } from './harness.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { client } from '../docker.js';
import { DiagnosticsError, formatDiagnostic } from '../../src/core/diagnostics.js';
import { planStack } from '../../src/deploy/index.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';

const h = harness();
const provider = localProvider({ docker: client });
afterAll(() => h.cleanup());

const plan = (template: object) => planStack({ stack: 'notes', store: h.store, provider, parameters: new MemoryParameterStore(), file: 'template.json', text: JSON.stringify(template, null, 2) });
const warnings = (r: Awaited<ReturnType<typeof plan>>) => r.plan.diagnostics.filter((d) => d.severity === 'warning' && d.code === 'LOCAL_EFFECT').map((d) => d.message);
const refusal = async (template: object) => {
  const e = await plan(template).catch((x: unknown) => x);
  expect(e).toBeInstanceOf(DiagnosticsError);
  return (e as DiagnosticsError).diagnostics.map((d) => formatDiagnostic(d));
};

const LC = { Type: 'AWS::AutoScaling::LaunchConfiguration', Properties: { ImageId: 'busybox:latest', InstanceType: 't2.micro' } };

describe('AWS::AutoScaling::LaunchConfiguration at plan', () => {
  it('creates it as a real resource and names the properties recorded without local effect', async () => {
    const r = await plan({ Resources: { Lc: { ...LC, Properties: { ...LC.Properties, IamInstanceProfile: 'web', AssociatePublicIpAddress: true } } } });
    expect(r.plan.steps.map((s) => [s.kind, s.id, s.noLocalEffect])).toEqual([['create', 'Lc', false]]);
    expect(warnings(r)).toEqual([expect.stringMatching(/^Lc: IamInstanceProfile, AssociatePublicIpAddress recorded with no local effect/)]);
    expect(warnings(await plan({ Resources: { Lc: LC } }))).toEqual([]);
  });

  it('refuses EC2-Classic settings at plan, with the position', async () => {
    const lines = await refusal({ Resources: { Lc: { ...LC, Properties: { ...LC.Properties, ClassicLinkVPCId: 'vpc-12345678' } } } });
    expect(lines.join('\n')).toMatch(/UNSUPPORTED_ON_LOCAL.*ClassicLinkVPCId: EC2-Classic .*nothing was deployed.*Resources\.Lc\.Properties/);
  });
});

describe('scaling policies, scheduled actions and lifecycle hooks at plan', () => {
  const group = {
    Lc: LC,
    Asg: { Type: 'AWS::AutoScaling::AutoScalingGroup', Properties: { MinSize: '1', MaxSize: '4', AvailabilityZones: ['us-east-1a'], LaunchConfigurationName: { Ref: 'Lc' } } },
  };
  const on = (type: string, props: object) => ({ Resources: { ...group, It: { Type: type, Properties: { AutoScalingGroupName: { Ref: 'Asg' }, ...props } } } });

  it('are marked no local effect, each with what does not happen locally', async () => {
    const cases: Array<[string, object, RegExp]> = [
      ['AWS::AutoScaling::ScalingPolicy', { AdjustmentType: 'ChangeInCapacity', ScalingAdjustment: 1 }, /Ref: its ARN.*no CloudWatch alarm executes it/],
      [
        'AWS::AutoScaling::ScalingPolicy',
        { PolicyType: 'TargetTrackingScaling', TargetTrackingConfiguration: { TargetValue: 50, PredefinedMetricSpecification: { PredefinedMetricType: 'ASGAverageCPUUtilization' } } },
        /its target is never tracked/,
      ],
      ['AWS::AutoScaling::ScheduledAction', { DesiredCapacity: 3, Recurrence: '0 8 * * MON-FRI' }, /not scheduled: .*at '0 8 \* \* MON-FRI' the group keeps the size the template gives/],
      ['AWS::AutoScaling::LifecycleHook', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' }, /are removed without waiting in Terminating:Wait/],
    ];
    for (const [type, props, note] of cases) {
      const r = await plan(on(type, props));
      expect(r.plan.steps.find((s) => s.id === 'It')).toMatchObject({ kind: 'create', noLocalEffect: true });
      expect(warnings(r).filter((w) => w.startsWith('It: '))).toEqual([expect.stringMatching(note)]);
    }
  });

  it('refuses at plan what the Auto Scaling API would refuse, when the values are known', async () => {
    const cases: Array<[string, object, RegExp]> = [
      ['AWS::AutoScaling::ScalingPolicy', { AdjustmentType: 'ChangeInCapacity' }, /ScalingAdjustment \(a simple scaling policy\) is required/],
      [
        'AWS::AutoScaling::ScalingPolicy',
        { PolicyType: 'StepScaling', AdjustmentType: 'ChangeInCapacity', StepAdjustments: [{ ScalingAdjustment: 1, MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 10 }] },
        /leave a bound open/,
      ],
      ['AWS::AutoScaling::ScheduledAction', { Recurrence: '0 8 * *' }, /at least one of MinSize/],
      ['AWS::AutoScaling::ScheduledAction', { MinSize: 1, Recurrence: 'every day' }, /not a cron expression/],
      ['AWS::AutoScaling::LifecycleHook', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING', HeartbeatTimeout: 10 }, /HeartbeatTimeout 10 is outside 30-7200/],
    ];
    for (const [type, props, message] of cases) {
      const lines = await refusal(on(type, props));
      expect(lines.join('\n')).toMatch(message);
      expect(lines.join('\n')).toMatch(/Resources\.It\.Properties/);
    }
  });
});

describe('a network load balancer at plan', () => {
  it('has nothing to warn about without SecurityGroups: the local one filters nothing either, as on AWS', async () => {
    const nlb = (props: object) => ({ Resources: { Nlb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'network', Subnets: ['subnet-0123456789abcdef0'], ...props } } } });
    expect(warnings(await plan(nlb({})))).toEqual([]);
    expect(warnings(await plan(nlb({ SecurityGroups: ['sg-0123456789abcdef0'] })))).toEqual([]);
  });
});

describe('AWS::EC2::NetworkInterfaceAttachment at plan', () => {
  it('is refused before anything is created: a local instance has one interface', async () => {
    const lines = await refusal({
      Resources: {
        Eni: { Type: 'AWS::EC2::NetworkInterface', Properties: { SubnetId: 'subnet-0123456789abcdef0' } },
        Attach: { Type: 'AWS::EC2::NetworkInterfaceAttachment', Properties: { InstanceId: 'i-0123456789abcdef0', NetworkInterfaceId: { Ref: 'Eni' }, DeviceIndex: '1' } },
      },
    });
    expect(lines.join('\n')).toMatch(/NetworkInterfaceAttachment adds a second network interface.*a local instance has one interface.*nothing was deployed.*Resources\.Attach\.Type/);
  });
});
