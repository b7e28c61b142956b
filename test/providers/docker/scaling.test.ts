// Scaling policies, scheduled actions and lifecycle hooks on the local target: checked against a live
// Auto Scaling group, recorded with AWS's Ref / GetAtt shapes, without local effect. No container is
// involved (the group is a record of the test's world).
import { describe, expect, it } from 'vitest';
import { lifecycleHookHandler, scalingPolicyHandler, scheduledActionHandler } from '../../../src/providers/docker/scaling.js';
import { World } from './ctx.js';

const world = new World();
const stack = world.stack();
stack.live.set('Asg', { stack: stack.name, logicalId: 'Asg', type: 'AWS::AutoScaling::AutoScalingGroup', properties: {}, state: { physicalId: 'web-asg', attributes: {} } });

describe('AWS::AutoScaling::ScalingPolicy / ScheduledAction / LifecycleHook', () => {
  it('a policy is named by its ARN and names its group, as on AWS', async () => {
    const p = await stack.create(scalingPolicyHandler, 'Up', { AutoScalingGroupName: 'web-asg', AdjustmentType: 'ChangeInCapacity', ScalingAdjustment: 1, Cooldown: '60' });
    expect(p.physicalId).toMatch(new RegExp(`^arn:aws:autoscaling:[a-z0-9-]+:123456789012:scalingPolicy:[0-9a-f-]{36}:autoScalingGroupName/web-asg:policyName/${stack.name}-Up-[A-Z0-9]{12}$`));
    expect(p.attributes).toEqual({ Arn: p.physicalId, PolicyName: p.physicalId.split('policyName/')[1] });
    expect(p.data?.noLocalEffect).toBe(true);
    const step = await stack.create(scalingPolicyHandler, 'Steps', {
      AutoScalingGroupName: 'web-asg',
      PolicyType: 'StepScaling',
      AdjustmentType: 'PercentChangeInCapacity',
      MinAdjustmentMagnitude: 1,
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 10 },
        { MetricIntervalLowerBound: 20, ScalingAdjustment: 30 },
      ],
    });
    expect(step.attributes.Arn).toBe(step.physicalId);
    // An update keeps the ARN (only AutoScalingGroupName replaces); a bad one is refused.
    expect(await stack.update(scalingPolicyHandler, 'Up', { AutoScalingGroupName: 'web-asg', AdjustmentType: 'ExactCapacity', ScalingAdjustment: 2 })).toEqual(p);
    await expect(stack.update(scalingPolicyHandler, 'Up', { AutoScalingGroupName: 'web-asg', AdjustmentType: 'ExactCapacity', ScalingAdjustment: -1 })).rejects.toThrow(/0 or more/);
    await expect(stack.create(scalingPolicyHandler, 'Lost', { AutoScalingGroupName: 'other', AdjustmentType: 'ChangeInCapacity', ScalingAdjustment: 1 })).rejects.toThrow(
      /the group 'other' does not exist/,
    );
    await expect(
      stack.create(scalingPolicyHandler, 'Tt', {
        AutoScalingGroupName: 'web-asg',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingConfiguration: { TargetValue: 100, PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' } },
      }),
    ).rejects.toThrow(/ResourceLabel is required/);
  });

  it('a scheduled action and a hook are named as AWS names them', async () => {
    const a = await stack.create(scheduledActionHandler, 'Night', { AutoScalingGroupName: 'web-asg', MinSize: 0, MaxSize: 1, DesiredCapacity: 0, Recurrence: '0 22 * * *', TimeZone: 'Europe/Paris' });
    expect(a.physicalId).toMatch(new RegExp(`^${stack.name}-Night-[A-Z0-9]{12}$`));
    expect(a.attributes).toEqual({ ScheduledActionName: a.physicalId });
    await expect(stack.create(scheduledActionHandler, 'Bad', { AutoScalingGroupName: 'web-asg', DesiredCapacity: 5, MaxSize: 2, StartTime: '2027-01-01T00:00:00Z' })).rejects.toThrow(
      /within MinSize and MaxSize/,
    );
    await expect(stack.create(scheduledActionHandler, 'Bad2', { AutoScalingGroupName: 'web-asg', DesiredCapacity: 1, StartTime: 'tomorrow' })).rejects.toThrow(/not an ISO 8601 time/);
    const h = await stack.create(lifecycleHookHandler, 'Drain', {
      AutoScalingGroupName: 'web-asg',
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      LifecycleHookName: 'drain',
      HeartbeatTimeout: 300,
    });
    expect(h.physicalId).toBe('drain');
    await expect(
      stack.create(lifecycleHookHandler, 'Drain2', { AutoScalingGroupName: 'web-asg', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', LifecycleHookName: 'drain' }),
    ).rejects.toThrow(/AlreadyExists/);
    await expect(
      stack.create(lifecycleHookHandler, 'Bad3', { AutoScalingGroupName: 'web-asg', LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', NotificationTargetARN: 'arn:aws:sns:us-east-1:1:t' }),
    ).rejects.toThrow(/RoleARN is required/);
    for (const id of ['Night', 'Drain']) await stack.delete(id === 'Night' ? scheduledActionHandler : lifecycleHookHandler, id);
  });
});
