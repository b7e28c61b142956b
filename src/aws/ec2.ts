// The EC2 API as kiln uses it: one narrow interface, `call(operation, input)`, with the SDK's own
// request and response shapes. The builder receives it (never a module global), so tests pass an
// emulator-backed client, a scripted one, or a counting wrapper. Implementations:
//   - `sdkEc2(client)`: any `EC2Client` of `@aws-sdk/client-ec2` (real, or aws-sdk-client-mock'ed);
//   - `openEc2(settings)`: the default: DescribeImages through a small signed Query request (the
//     cache-hit path must not load the SDK, which costs more than the whole lookup), everything
//     else through the SDK client, loaded on first use;
//   - wrappers: `withRetry` (throttling and 5xx, with backoff on an injectable clock), `counting`.
import type * as T from '@aws-sdk/client-ec2';
import { systemClock, type Clock } from '../core/clock.js';
import { KilnError, errorMessage } from '../core/errors.js';
import type { AwsSettings } from './settings.js';
import { scrubbed, sdkClientConfig, sdkApi, type OpApi, type OpInput, type OpOutput } from './sdk.js';

type Ec2Ops = {
  DescribeImages: [T.DescribeImagesCommandInput, T.DescribeImagesCommandOutput];
  DescribeVpcs: [T.DescribeVpcsCommandInput, T.DescribeVpcsCommandOutput];
  DescribeSubnets: [T.DescribeSubnetsCommandInput, T.DescribeSubnetsCommandOutput];
  CreateKeyPair: [T.CreateKeyPairCommandInput, T.CreateKeyPairCommandOutput];
  DeleteKeyPair: [T.DeleteKeyPairCommandInput, T.DeleteKeyPairCommandOutput];
  DescribeKeyPairs: [T.DescribeKeyPairsCommandInput, T.DescribeKeyPairsCommandOutput];
  CreateSecurityGroup: [T.CreateSecurityGroupCommandInput, T.CreateSecurityGroupCommandOutput];
  AuthorizeSecurityGroupIngress: [T.AuthorizeSecurityGroupIngressCommandInput, T.AuthorizeSecurityGroupIngressCommandOutput];
  DeleteSecurityGroup: [T.DeleteSecurityGroupCommandInput, T.DeleteSecurityGroupCommandOutput];
  DescribeSecurityGroups: [T.DescribeSecurityGroupsCommandInput, T.DescribeSecurityGroupsCommandOutput];
  RunInstances: [T.RunInstancesCommandInput, T.RunInstancesCommandOutput];
  DescribeInstances: [T.DescribeInstancesCommandInput, T.DescribeInstancesCommandOutput];
  StopInstances: [T.StopInstancesCommandInput, T.StopInstancesCommandOutput];
  ModifyInstanceAttribute: [T.ModifyInstanceAttributeCommandInput, T.ModifyInstanceAttributeCommandOutput];
  TerminateInstances: [T.TerminateInstancesCommandInput, T.TerminateInstancesCommandOutput];
  CreateImage: [T.CreateImageCommandInput, T.CreateImageCommandOutput];
  DeregisterImage: [T.DeregisterImageCommandInput, T.DeregisterImageCommandOutput];
  DescribeSnapshots: [T.DescribeSnapshotsCommandInput, T.DescribeSnapshotsCommandOutput];
  DeleteSnapshot: [T.DeleteSnapshotCommandInput, T.DeleteSnapshotCommandOutput];
  CopyImage: [T.CopyImageCommandInput, T.CopyImageCommandOutput];
  ModifyImageAttribute: [T.ModifyImageAttributeCommandInput, T.ModifyImageAttributeCommandOutput];
  ModifySnapshotAttribute: [T.ModifySnapshotAttributeCommandInput, T.ModifySnapshotAttributeCommandOutput];
  CreateTags: [T.CreateTagsCommandInput, T.CreateTagsCommandOutput];
  DescribeVolumes: [T.DescribeVolumesCommandInput, T.DescribeVolumesCommandOutput];
  DeleteVolume: [T.DeleteVolumeCommandInput, T.DeleteVolumeCommandOutput];
};

export type Ec2Op = keyof Ec2Ops & string;
export type Ec2Input<K extends Ec2Op> = OpInput<Ec2Ops, K>;
export type Ec2Output<K extends Ec2Op> = OpOutput<Ec2Ops, K>;
export type Ec2Api = OpApi<Ec2Ops>;

/** An AWS error's code (`InvalidAMIID.NotFound`, `RequestLimitExceeded`, …). */
export function awsErrorCode(e: unknown): string {
  if (e && typeof e === 'object') {
    const o = e as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [o.Code, o.code, o.name]) if (typeof v === 'string' && v && v !== 'Error') return v;
  }
  return '';
}

function httpStatus(e: unknown): number {
  const m = (e as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata;
  return typeof m?.httpStatusCode === 'number' ? m.httpStatusCode : 0;
}

const THROTTLING = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'SlowDown',
  'EC2ThrottledException',
]);
const TRANSIENT = new Set([
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'TimeoutError',
]);

export function isRetryable(e: unknown): boolean {
  const code = awsErrorCode(e) || ((e as { code?: string } | undefined)?.code ?? '');
  if (THROTTLING.has(code) || TRANSIENT.has(code)) return true;
  const status = httpStatus(e);
  return status === 429 || status >= 500;
}

function isThrottling(e: unknown): boolean {
  return THROTTLING.has(awsErrorCode(e)) || httpStatus(e) === 429;
}

interface RetryOptions {
  clock?: Clock;
  /** Attempts in all (default 8). */
  maxAttempts?: number;
  /** First backoff (default 500 ms), doubled each time up to 20 s. */
  baseDelayMs?: number;
  /** Told about each retry (the builder says "throttled, retrying in …"). */
  onRetry?: (op: string, attempt: number, delayMs: number, error: unknown) => void;
}

/** Any of kiln's AWS interfaces (EC2, CloudFormation): one `call(operation, input)`. */
interface AwsCaller {
  readonly region: string;
  call(op: string, input: any, signal?: AbortSignal): Promise<any>;
}

/** Retries throttling and transient failures with exponential backoff; other errors pass through. */
export function withRetry<A extends AwsCaller>(api: A, o: RetryOptions = {}): A {
  const clock = o.clock ?? systemClock;
  const max = o.maxAttempts ?? 8;
  const base = o.baseDelayMs ?? 500;
  const wrapped: AwsCaller = {
    region: api.region,
    async call(op, input, signal) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await api.call(op, input, signal);
        } catch (e) {
          if (signal?.aborted || attempt >= max || !isRetryable(e)) throw e;
          const delay = Math.min(20_000, base * 2 ** (attempt - 1));
          o.onRetry?.(op, attempt, delay, e);
          await clock.sleep(delay, signal);
        }
      }
    },
  };
  return wrapped as A;
}

/** Counts calls (tests and the benchmark's "API calls" column). */
export function counting(api: Ec2Api, log: string[] = []): Ec2Api & { log: string[] } {
  return {
    region: api.region,
    log,
    call(op, input, signal) {
      log.push(op);
      return api.call(op, input, signal);
    },
  };
}

/** An EC2Client (the real SDK, or one aws-sdk-client-mock scripts) behind kiln's interface. */
export async function sdkEc2(client: T.EC2Client, region?: string): Promise<Ec2Api> {
  return sdkApi<Ec2Ops>(await import('@aws-sdk/client-ec2'), client, region);
}

/** The SDK client for these settings (its own retries off: `withRetry` does them, once). */
async function sdkClient(settings: AwsSettings): Promise<T.EC2Client> {
  const { EC2Client } = await import('@aws-sdk/client-ec2');
  return new EC2Client(sdkClientConfig(settings));
}

/**
 * kiln's default EC2 client: DescribeImages answered by a signed Query request (no SDK load),
 * every other operation by the SDK client, opened on first use. Errors carry AWS's code and never
 * a credential. No retries here: callers wrap it (or an injected client) in `withRetry`.
 */
export function openEc2(settings: AwsSettings): Ec2Api {
  let full: Promise<Ec2Api> | undefined;
  return {
    region: settings.region,
    call: (op, input, signal) =>
      scrubbed(settings, async () => {
        if (op === 'DescribeImages') {
          const { describeImagesQuery } = await import('./query.js');
          return (await describeImagesQuery(settings, input as Ec2Input<'DescribeImages'>, signal)) as never;
        }
        full ??= sdkClient(settings).then((c) => sdkEc2(c, settings.region));
        return await (await full).call(op, input, signal);
      }),
  };
}

/** A readable one-line account of an AWS failure: `DescribeImages: InvalidAMIID.NotFound: …`. */
export function describeAwsError(op: string, e: unknown, service = 'EC2'): string {
  if (KilnError.is(e)) return e.message;
  const code = awsErrorCode(e);
  const msg = errorMessage(e).split('\n')[0] ?? '';
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(msg) || /ECONNREFUSED|ENOTFOUND/.test(code)) return `${op}: cannot reach the ${service} endpoint (${msg})`;
  if (isForeignAnswer(e)) return `${op}: the ${service} endpoint answered HTTP ${httpStatus(e)} with no AWS error in it (a proxy, or an emulator without ${op}?)`;
  return code && !msg.startsWith(code) ? `${op}: ${code}: ${msg}` : `${op}: ${msg}`;
}

/** An answer the SDK could not read as AWS's (an HTML error page): what a retry notice says about it. */
function isForeignAnswer(e: unknown): boolean {
  const msg = errorMessage(e);
  return httpStatus(e) >= 300 && /Deserialization error|XML parse error|Unexpected token|char '<'/.test(msg);
}

/** A short account of a failure that is retried: throttling, AWS's code, or the HTTP status. */
export function retryReason(e: unknown): string {
  if (isThrottling(e)) return 'throttled';
  if (isForeignAnswer(e)) return `failed (HTTP ${httpStatus(e)}, no AWS answer)`;
  const code = awsErrorCode(e);
  const status = httpStatus(e);
  return `failed (${[code, status ? `HTTP ${status}` : ''].filter(Boolean).join(', ') || 'no answer'})`;
}
