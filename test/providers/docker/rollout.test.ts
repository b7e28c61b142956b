// The Auto Scaling update planner: policy defaults as AWS documents them, and start-first batches.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseToRemove, groupSize, parseIsoDuration, parseUpdatePolicy, planRolling, spreadSubnets, type RollingPolicy } from '../../../src/providers/docker/rollout.js';

const rolling = (p: Partial<RollingPolicy> = {}): RollingPolicy => ({
  kind: 'rolling',
  maxBatchSize: 1,
  minInstancesInService: 0,
  pauseTimeMs: 0,
  minSuccessfulInstancesPercent: 100,
  waitOnResourceSignals: false,
  ...p,
});

describe('UpdatePolicy', () => {
  it('has AWS defaults: MaxBatchSize 1, MinInstancesInService 0, PauseTime PT0S (PT5M with signals)', () => {
    expect(parseUpdatePolicy({ AutoScalingRollingUpdate: {} }, 4)).toEqual(rolling());
    expect(parseUpdatePolicy({ AutoScalingRollingUpdate: { WaitOnResourceSignals: true } }, 4)).toMatchObject({ pauseTimeMs: 300_000 });
    expect(parseUpdatePolicy({ AutoScalingRollingUpdate: { MaxBatchSize: '2', MinInstancesInService: '1', PauseTime: 'PT10S' } }, 4)).toMatchObject({
      maxBatchSize: 2,
      minInstancesInService: 1,
      pauseTimeMs: 10_000,
    });
  });
  it('lets WillReplace win over a rolling update, and treats no policy as none', () => {
    expect(parseUpdatePolicy({ AutoScalingRollingUpdate: {}, AutoScalingReplacingUpdate: { WillReplace: true } }, 2)).toEqual({ kind: 'replacing' });
    expect(parseUpdatePolicy({ AutoScalingReplacingUpdate: { WillReplace: false }, AutoScalingRollingUpdate: {} }, 2).kind).toBe('rolling');
    expect(parseUpdatePolicy(undefined, 2)).toEqual({ kind: 'none' });
  });
  it('refuses values AWS refuses', () => {
    expect(() => parseUpdatePolicy({ AutoScalingRollingUpdate: { MaxBatchSize: 0 } }, 4)).toThrow(/between 1 and 100/);
    expect(() => parseUpdatePolicy({ AutoScalingRollingUpdate: { MinInstancesInService: 4 } }, 4)).toThrow(/less than the group's MaxSize/);
    expect(() => parseUpdatePolicy({ AutoScalingRollingUpdate: { PauseTime: 'PT2H' } }, 4)).toThrow(/at most PT1H/);
    expect(() => parseUpdatePolicy({ AutoScalingRollingUpdate: { PauseTime: '5 minutes' } }, 4)).toThrow(/ISO 8601/);
  });
  it('reads ISO 8601 durations', () => {
    expect(parseIsoDuration('PT0S')).toBe(0);
    expect(parseIsoDuration('PT1H30M')).toBe(5_400_000);
    expect(parseIsoDuration('PT1.5S')).toBe(1500);
  });
});

describe('rolling batches (start-first)', () => {
  it('replaces one at a time by default: launch one, then retire one', () => {
    expect(planRolling({ outdated: ['i-a', 'i-b', 'i-c'], current: 0, desired: 3, policy: rolling({ pauseTimeMs: 5000 }) })).toEqual([
      { launch: 1, retire: ['i-a'], pauseAfterMs: 5000 },
      { launch: 1, retire: ['i-b'], pauseAfterMs: 5000 },
      { launch: 1, retire: ['i-c'], pauseAfterMs: 0 },
    ]);
  });
  it('uses MaxBatchSize and finishes a partial last batch', () => {
    expect(planRolling({ outdated: ['a', 'b', 'c'], current: 0, desired: 3, policy: rolling({ maxBatchSize: 2 }) }).map((b) => [b.launch, b.retire.length])).toEqual([
      [2, 2],
      [1, 1],
    ]);
  });
  it('has nothing to do when every instance is current', () => {
    expect(planRolling({ outdated: [], current: 3, desired: 3, policy: rolling() })).toEqual([]);
  });
  it('never drops below the capacity in service nor MinInstancesInService, and ends at the desired size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 0, max: 9 }),
        (nOld, cur, desired, B, min) => {
          fc.pre(min < Math.max(desired, 1) || min === 0);
          const outdated = Array.from({ length: nOld }, (_, i) => `i-${i}`);
          const batches = planRolling({ outdated, current: Math.min(cur, desired), desired, policy: rolling({ maxBatchSize: B, minInstancesInService: min }) });
          let inService = Math.min(cur, desired) + nOld;
          const start = inService;
          let launched = 0;
          const retired: string[] = [];
          for (const b of batches) {
            expect(b.launch).toBeLessThanOrEqual(B);
            expect(b.retire.length).toBeLessThanOrEqual(B);
            inService += b.launch; // new ones first…
            launched += b.launch;
            inService -= b.retire.length; // …old ones after
            retired.push(...b.retire);
            if (launched < Math.max(0, desired - Math.min(cur, desired))) expect(inService).toBeGreaterThanOrEqual(Math.min(start, Math.max(min, 0)));
          }
          expect(retired.sort()).toEqual([...outdated].sort());
          expect(inService).toBe(Math.max(desired, Math.min(cur, desired)));
        },
      ),
    );
  });
});

describe('group shape', () => {
  it('defaults DesiredCapacity to MinSize and checks the bounds', () => {
    expect(groupSize({ MinSize: '1', MaxSize: '3' })).toEqual({ min: 1, max: 3, desired: 1 });
    expect(() => groupSize({ MinSize: 1, MaxSize: 3, DesiredCapacity: 4 })).toThrow(/between MinSize \(1\) and MaxSize \(3\)/);
  });
  it('spreads instances over subnets, least used first', () => {
    expect(spreadSubnets(['subnet-a', 'subnet-b'], ['subnet-a'], 3)).toEqual(['subnet-b', 'subnet-a', 'subnet-b']);
  });
  it('removes instances of an old configuration first, oldest first', () => {
    expect(
      chooseToRemove(
        [
          { id: 'new1', current: true, launchedAt: 1 },
          { id: 'old2', current: false, launchedAt: 5 },
          { id: 'old1', current: false, launchedAt: 2 },
        ],
        2,
      ),
    ).toEqual(['old1', 'old2']);
  });
});
