// The decisions of an Auto Scaling group update, as pure functions: which UpdatePolicy applies (with
// AWS's defaults), and how a rolling update proceeds batch by batch. asg.ts does the Docker work.
//
// kiln is stricter than AWS here, on purpose: AWS's rolling update terminates a batch of old
// instances and then launches their replacements (MinInstancesInService bounds the dip). kiln starts
// the new batch first, waits until every load balancer of the group reports it healthy, and only then
// drains and removes the old batch. Capacity never dips below what served before the batch, so
// MinInstancesInService always holds; the price is a surge of up to MaxBatchSize instances above
// the group's size (and above MaxSize) while a batch is in flight.
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../stack/model.js';

export interface RollingPolicy {
  kind: 'rolling';
  maxBatchSize: number;
  minInstancesInService: number;
  pauseTimeMs: number;
  minSuccessfulInstancesPercent: number;
  waitOnResourceSignals: boolean;
}

export type UpdatePolicyModel = RollingPolicy | { kind: 'replacing' } | { kind: 'none' };

/** ISO-8601 durations as CloudFormation writes them (`PT5M`, `PT1H30M`, `PT45S`, `P1D`). */
export function parseIsoDuration(text: string, where = 'PauseTime'): number {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(text.trim());
  if (!m || text.trim() === 'P' || text.trim().endsWith('T')) throw new KilnError('INVALID_DURATION', `${where} '${text}' is not an ISO 8601 duration such as PT5M or PT30S`, 'user');
  const [, d, h, mi, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 3600 + Number(mi ?? 0) * 60 + Number(s ?? 0)) * 1000;
}

function int(v: Json | undefined, where: string, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!Number.isInteger(n)) throw new KilnError('INVALID_UPDATE_POLICY', `${where} must be an integer, got ${JSON.stringify(v)}`, 'user');
  return n;
}

function bool(v: Json | undefined): boolean {
  return v === true || v === 'true';
}

function isObj(v: Json | undefined): v is JsonObject {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The effective update policy of a group (reference §6.2): `AutoScalingReplacingUpdate.WillReplace`
 * wins over `AutoScalingRollingUpdate`; defaults MaxBatchSize 1, MinInstancesInService 0,
 * MinSuccessfulInstancesPercent 100, PauseTime PT0S (PT5M with WaitOnResourceSignals).
 */
export function parseUpdatePolicy(updatePolicy: JsonObject | undefined, maxSize: number): UpdatePolicyModel {
  if (!updatePolicy) return { kind: 'none' };
  const replacing = updatePolicy.AutoScalingReplacingUpdate;
  if (isObj(replacing) && bool(replacing.WillReplace)) return { kind: 'replacing' };
  const rolling = updatePolicy.AutoScalingRollingUpdate;
  if (!isObj(rolling)) return { kind: 'none' };
  const where = 'UpdatePolicy.AutoScalingRollingUpdate';
  const maxBatchSize = int(rolling.MaxBatchSize, `${where}.MaxBatchSize`, 1);
  if (maxBatchSize < 1 || maxBatchSize > 100) throw new KilnError('INVALID_UPDATE_POLICY', `${where}.MaxBatchSize must be between 1 and 100, got ${maxBatchSize}`, 'user');
  const minInstancesInService = int(rolling.MinInstancesInService, `${where}.MinInstancesInService`, 0);
  if (minInstancesInService < 0 || minInstancesInService >= maxSize)
    throw new KilnError('INVALID_UPDATE_POLICY', `${where}.MinInstancesInService (${minInstancesInService}) must be less than the group's MaxSize (${maxSize})`, 'user');
  const pct = int(rolling.MinSuccessfulInstancesPercent, `${where}.MinSuccessfulInstancesPercent`, 100);
  if (pct < 0 || pct > 100) throw new KilnError('INVALID_UPDATE_POLICY', `${where}.MinSuccessfulInstancesPercent must be between 0 and 100`, 'user');
  const waitOnResourceSignals = bool(rolling.WaitOnResourceSignals);
  const pause = rolling.PauseTime === undefined ? (waitOnResourceSignals ? 'PT5M' : 'PT0S') : String(rolling.PauseTime);
  const pauseTimeMs = parseIsoDuration(pause, `${where}.PauseTime`);
  if (pauseTimeMs > 3_600_000) throw new KilnError('INVALID_UPDATE_POLICY', `${where}.PauseTime may be at most PT1H, got ${pause}`, 'user');
  return { kind: 'rolling', maxBatchSize, minInstancesInService, pauseTimeMs, minSuccessfulInstancesPercent: pct, waitOnResourceSignals };
}

export interface RolloutInput {
  /** Instances that do not match the group's configuration, in retirement order (oldest first). */
  outdated: string[];
  /** Instances that already match. */
  current: number;
  /** The group's desired capacity after the update. */
  desired: number;
  policy: RollingPolicy;
}

export interface Batch {
  /** New instances to start (and see healthy) first. */
  launch: number;
  /** Old instances to drain and remove once the batch's new instances are healthy. */
  retire: string[];
  /** Wait after this batch (PauseTime; none after the last). */
  pauseAfterMs: number;
}

/**
 * The batches of a rolling update, start-first: each launches up to MaxBatchSize new instances, then
 * retires up to MaxBatchSize old ones, never going below MinInstancesInService (nor below the number
 * in service before the batch, unless the group is shrinking).
 */
export function planRolling(input: RolloutInput): Batch[] {
  const { policy } = input;
  const B = policy.maxBatchSize;
  let toLaunch = Math.max(0, input.desired - input.current);
  const outdated = [...input.outdated];
  let inService = input.current + outdated.length;
  const floor = Math.min(policy.minInstancesInService, input.desired);
  const batches: Batch[] = [];
  while (toLaunch > 0 || outdated.length > 0) {
    const launch = Math.min(B, toLaunch);
    toLaunch -= launch;
    inService += launch;
    // Retire as many as were launched; when shrinking (nothing left to launch), retire the rest in
    // batches, keeping the floor.
    let retireCount = Math.min(B, outdated.length);
    if (toLaunch > 0) retireCount = Math.min(retireCount, launch);
    retireCount = Math.max(0, Math.min(retireCount, inService - floor));
    if (launch === 0 && retireCount === 0) {
      // The floor forbids further retirement with nothing left to launch: retire anyway down to the
      // desired size (the floor can never exceed it).
      retireCount = Math.min(B, outdated.length);
    }
    const retire = outdated.splice(0, retireCount);
    inService -= retire.length;
    batches.push({ launch, retire, pauseAfterMs: policy.pauseTimeMs });
  }
  if (batches.length) batches[batches.length - 1].pauseAfterMs = 0;
  return batches;
}

/** Which instances to remove when a group shrinks (AWS's default policy: oldest configuration first). */
export function chooseToRemove(instances: Array<{ id: string; current: boolean; launchedAt: number }>, count: number): string[] {
  return [...instances]
    .sort((a, b) => Number(a.current) - Number(b.current) || a.launchedAt - b.launchedAt)
    .slice(0, Math.max(0, count))
    .map((i) => i.id);
}

/** The subnet for each new instance: the least used first, ties in template order (AZ balance). */
export function spreadSubnets(subnets: string[], existing: string[], count: number): string[] {
  const used = new Map(subnets.map((s) => [s, 0]));
  for (const s of existing) if (used.has(s)) used.set(s, (used.get(s) ?? 0) + 1);
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let best = subnets[0];
    for (const s of subnets) if ((used.get(s) ?? 0) < (used.get(best) ?? 0)) best = s;
    used.set(best, (used.get(best) ?? 0) + 1);
    out.push(best);
  }
  return out;
}

/** DesiredCapacity within MinSize..MaxSize (AWS: default desired = MinSize). */
export function groupSize(props: JsonObject): { min: number; max: number; desired: number } {
  const min = int(props.MinSize, 'MinSize', NaN);
  const max = int(props.MaxSize, 'MaxSize', NaN);
  if (!Number.isInteger(min) || !Number.isInteger(max)) throw new KilnError('INVALID_GROUP_SIZE', 'MinSize and MaxSize are required', 'user');
  if (min < 0 || max < min) throw new KilnError('INVALID_GROUP_SIZE', `MinSize (${min}) must be between 0 and MaxSize (${max})`, 'user');
  const desired = int(props.DesiredCapacity, 'DesiredCapacity', min);
  if (desired < min || desired > max) throw new KilnError('INVALID_GROUP_SIZE', `DesiredCapacity (${desired}) must be between MinSize (${min}) and MaxSize (${max})`, 'user');
  return { min, max, desired };
}
