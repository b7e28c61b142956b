// The instance's view of AWS, part 3: signals. `CreationPolicy: ResourceSignal` (instances, Auto
// Scaling groups), `AWS::CloudFormation::WaitConditionHandle` (a presigned-like URL on the metadata
// address: a PUT of `{"Status","Reason","UniqueId","Data"}` to it is a signal) and
// `AWS::CloudFormation::WaitCondition`. Signals land in the VPC's metadata container (imds.ts) and
// are read from here until enough success signals came (one per UniqueId, the last one counts), a
// failure signal came (the resource fails at once, with the signal's reason), or the timeout passed.
import { randomBytes } from 'node:crypto';
import { KilnError } from '../../core/errors.js';
import { retryUntil, systemClock } from '../../core/clock.js';
import type { Json } from '../../stack/model.js';
import type { DockerClient } from '../../docker/client.js';
import type { DockerContext, DockerHandler } from './context.js';
import { unpackTar } from '../../image/builders/tar.js';
import { IMDS_ADDRESS, readSignals, type Signal } from './imds.js';
import { LOCAL_ACCOUNT_ID } from './noop.js';
import { defaultRegion } from './network.js';
import { parseIsoDuration } from './rollout.js';

function signalKey(stack: string, logicalId: string): string {
  return `r.${stack}.${logicalId}`;
}

/** The last signal of each UniqueId. */
function latestByUniqueId(signals: Signal[]): Signal[] {
  const by = new Map<string, Signal>();
  for (const s of signals) by.set(s.uniqueId, s);
  return [...by.values()];
}

export interface SignalWait {
  key: string;
  count: number;
  timeoutMs: number;
  /** What the events and errors call the wait (`ResourceSignal`, `WaitCondition`). */
  what: string;
  /** Failure signals tolerated (an Auto Scaling group's MinSuccessfulInstancesPercent below 100); default 0. */
  maxFailures?: number;
}

/** Waits for `count` success signals under `key`; throws at the first failure signal or at the timeout. */
export async function awaitSignals(ctx: DockerContext, w: SignalWait): Promise<Signal[]> {
  ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `waiting for ${w.count} success signal(s) within ${Math.round(w.timeoutMs / 1000)} s` });
  let seen = 0;
  return retryUntil(
    async () => {
      const all = latestByUniqueId(await readSignals(ctx.docker, w.key));
      const failures = all.filter((s) => s.status === 'FAILURE');
      const failed = failures.length > (w.maxFailures ?? 0) ? failures[failures.length - 1] : undefined;
      if (failed) {
        const log = await initErrors(ctx.docker, failed.uniqueId);
        throw new KilnError('SIGNAL_FAILURE', `Received FAILURE signal with UniqueId ${failed.uniqueId}${failed.reason ? `: ${failed.reason}` : ''}${log ? ` (${log})` : ''}`, 'user');
      }
      const ok = all.filter((s) => s.status === 'SUCCESS');
      for (const s of ok.slice(seen)) ctx.events.emit({ kind: 'progress', logicalId: ctx.logicalId, message: `Received SUCCESS signal with UniqueId ${s.uniqueId}` });
      seen = Math.max(seen, ok.length);
      return ok.length >= w.count ? ok : undefined;
    },
    {
      timeoutMs: w.timeoutMs,
      intervalMs: 500,
      clock: systemClock,
      signal: ctx.signal,
      onTimeout: () => new KilnError('SIGNAL_TIMEOUT', `Failed to receive ${w.count} resource signal(s) within the specified duration (${w.what})`, 'user'),
    },
  );
}

/**
 * What cfn-init said went wrong in the instance `instanceId` (the UniqueId cfn-signal sends by
 * default), read from its /var/log/cfn-init.log — where a user of AWS would look, but the instance
 * is about to go with the rollback, so the failure carries it. Empty when there is no such instance
 * or log (a signal sent with -i, or without cfn-init).
 */
async function initErrors(docker: DockerClient, instanceId: string): Promise<string> {
  if (!/^i-[0-9a-f]+$/.test(instanceId)) return '';
  const [c] = await docker.listContainers({ all: true, labels: [`kiln.instance-id=${instanceId}`] }).catch(() => []);
  if (!c) return '';
  let tar: Buffer;
  try {
    tar = await docker.getArchive(c.Id, '/var/log/cfn-init.log');
  } catch {
    return '';
  }
  const text =
    unpackTar(tar)
      .find((e) => e.type === 'file' && e.data)
      ?.data?.toString('utf8') ?? '';
  const errors = text
    .split('\n')
    .filter((l) => /\[ERROR\]/.test(l))
    .map((l) => l.replace(/^[\d-]+ [\d:]+ \[ERROR\] /, '').trim())
    .slice(-2);
  return errors.length ? `cfn-init.log of ${instanceId}: ${errors.join('; ').slice(0, 600)}` : '';
}

/** `CreationPolicy.ResourceSignal` of the resource being created, when it has one. */
export function resourceSignalPolicy(ctx: DockerContext, defaultCount = 1): { count: number; timeoutMs: number } | undefined {
  const rs = ctx.policies?.CreationPolicy?.ResourceSignal;
  if (typeof rs !== 'object' || rs === null || Array.isArray(rs)) return undefined;
  const count = rs.Count === undefined ? defaultCount : Number(rs.Count);
  if (!Number.isInteger(count) || count < 0) throw new KilnError('INVALID_PROPERTY', `CreationPolicy.ResourceSignal.Count must be a whole number (got ${JSON.stringify(rs.Count)})`, 'user');
  const timeoutMs = rs.Timeout === undefined ? 5 * 60_000 : parseIsoDuration(String(rs.Timeout), 'CreationPolicy.ResourceSignal.Timeout');
  return { count, timeoutMs };
}

/** Waits on the resource's own signals (`cfn-signal --stack S --resource R`). */
export async function awaitResourceSignals(ctx: DockerContext, policy: { count: number; timeoutMs: number; maxFailures?: number }): Promise<void> {
  if (policy.count === 0) return;
  await awaitSignals(ctx, { key: signalKey(ctx.stack, ctx.logicalId), count: policy.count, timeoutMs: policy.timeoutMs, what: 'CreationPolicy ResourceSignal', maxFailures: policy.maxFailures ?? 0 });
}

/** Forgets the signals of a resource (a new copy of it starts counting from zero). */
export async function clearSignals(docker: DockerClient, key: string): Promise<void> {
  for (const c of await docker.listContainers({ labels: ['kiln.kind=imds'] })) await docker.exec(c.Id, ['rm', '-rf', `/imds/s/${key}`]).catch(() => undefined);
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The token at the end of a handle URL made by kiln. */
function handleToken(url: string): string | undefined {
  const m = /^http:\/\/169\.254\.169\.254\/kiln\/wait\/[A-Za-z0-9-]+\/[A-Za-z0-9]+\/([a-f0-9]{16,64})$/.exec(url);
  return m?.[1];
}

export const waitConditionHandleHandler: DockerHandler = {
  type: 'AWS::CloudFormation::WaitConditionHandle',
  effect: 'real',
  async create(ctx) {
    const url = `http://${IMDS_ADDRESS}/kiln/wait/${ctx.stack}/${ctx.logicalId}/${randomBytes(16).toString('hex')}`;
    return { physicalId: url, attributes: {}, data: {} };
  },
  async update(_ctx, _props, previous) {
    return previous.state;
  },
  async delete(ctx, state) {
    const token = handleToken(state.physicalId);
    if (token) await clearSignals(ctx.docker, `h.${token}`);
  },
  async read(_ctx, state) {
    return { state, drift: [] };
  },
};

export const waitConditionHandler: DockerHandler = {
  type: 'AWS::CloudFormation::WaitCondition',
  effect: 'real',
  async create(ctx, props) {
    const physicalId = `arn:aws:cloudformation:${defaultRegion()}:${LOCAL_ACCOUNT_ID}:stack/${ctx.stack}/${ctx.logicalId}`;
    const handle = str(props.Handle);
    // Without a Handle, a WaitCondition is the CreationPolicy form: signals go to the condition itself.
    const policy = resourceSignalPolicy(ctx);
    let key: string;
    let count: number;
    let timeoutMs: number;
    if (handle) {
      const token = handleToken(handle);
      if (!token) throw new KilnError('INVALID_PROPERTY', `AWS::CloudFormation::WaitCondition Handle '${handle}' is not the URL of a WaitConditionHandle of the local target`, 'user');
      key = `h.${token}`;
      count = props.Count === undefined ? 1 : Number(props.Count);
      const seconds = Number(props.Timeout);
      if (!Number.isFinite(seconds) || seconds < 1 || seconds > 43200)
        throw new KilnError('INVALID_PROPERTY', `AWS::CloudFormation::WaitCondition Timeout must be a number of seconds from 1 to 43200 (got ${JSON.stringify(props.Timeout)})`, 'user');
      timeoutMs = seconds * 1000;
    } else if (policy) {
      key = signalKey(ctx.stack, ctx.logicalId);
      ({ count, timeoutMs } = policy);
    } else throw new KilnError('INVALID_PROPERTY', 'AWS::CloudFormation::WaitCondition needs a Handle (or a CreationPolicy)', 'user');
    if (!Number.isInteger(count) || count < 1)
      throw new KilnError('INVALID_PROPERTY', `AWS::CloudFormation::WaitCondition Count must be a whole number of at least 1 (got ${JSON.stringify(props.Count)})`, 'user');
    const ok = await awaitSignals(ctx, { key, count, timeoutMs, what: 'WaitCondition' });
    const data: Record<string, string> = {};
    for (const s of ok) data[s.uniqueId] = s.data;
    return { physicalId, attributes: { Data: JSON.stringify(data) }, data: { key } };
  },
  async update(_ctx, _props, previous) {
    // As on AWS, a WaitCondition is not waited on again after its creation.
    return previous.state;
  },
  async delete() {},
  async read(_ctx, state) {
    return { state, drift: [] };
  },
};
