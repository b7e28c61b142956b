// What the pages of `kiln ui` show for a stack on the AWS target: what CloudFormation reports, asked
// through the `CfnApi` the server is given (tests hand in the emulator's or a scripted one). Read-only
// calls only: DescribeStacks (status, outputs, parameters — CloudFormation answers `****` for a NoEcho
// one; the template's NoEcho masks it too), GetTemplate (NoEcho, and the dependency edges the graph
// draws), DescribeStackResources (physical ids, types, statuses,
// and the drift CloudFormation found the last time it looked), DescribeStackEvents (the timeline of
// the last operation). Nothing here starts an operation, not even a drift detection.
//
// A page must answer whatever AWS does: every call is bounded in time, and a failure (no
// credentials, an endpoint that does not answer, an error) becomes a message for that stack.
import type { CfnApi } from '../aws/cfn.js';
import { awsErrorCode, describeAwsError } from '../aws/ec2.js';
import { firstFailure, toOutputs, toStackEvent, type StackOutput } from '../deploy/aws/changeset.js';
import { errorMessage } from '../core/errors.js';
import type { StackEvent, StackRecord } from '../state/store.js';
import { edgesOfText, type ParameterView, type ResourceView, type StackDetail } from './model.js';
import type { EdgeSpec } from './graph.js';

const STACK_TYPE = 'AWS::CloudFormation::Stack';
const CANCELLED = /cancelled/i;
/** The stack's own statuses that begin an operation (the timeline shows the newest one). */
const OPERATION_START = new Set(['CREATE_IN_PROGRESS', 'UPDATE_IN_PROGRESS', 'DELETE_IN_PROGRESS', 'IMPORT_IN_PROGRESS']);
/** At most this many pages of events (100 each) are read looking for the last operation's start. */
const EVENT_PAGES = 5;

export interface AwsStackRef {
  stack: string;
  region: string;
}

/** The AWS side of `kiln ui`: which stacks to show, and how to ask CloudFormation about them. */
export interface UiAws {
  /** The AWS stacks this state directory knows (deployed with `--target aws`). */
  stacks(): AwsStackRef[];
  /** The CloudFormation API of a region; a missing credential or a dead endpoint fails its calls. */
  cfn(region: string): CfnApi;
  /** How long a page waits for CloudFormation before it says it did not answer (default 10 s). */
  timeoutMs?: number;
}

/** What CloudFormation said about one stack, or why it could not be asked. */
export type AwsStackView = { ref: AwsStackRef; kind: 'found'; detail: StackDetail } | { ref: AwsStackRef; kind: 'missing' } | { ref: AwsStackRef; kind: 'error'; message: string };

export interface AwsSummary {
  ref: AwsStackRef;
  status?: string;
  reason?: string;
  updatedAt?: string;
  outputs: Record<string, StackOutput>;
  missing?: boolean;
  error?: string;
}

class Timeout extends Error {}

/** Runs `fn` with a signal that aborts after `ms`; gives up waiting then, whatever `fn` does (credential look-ups ignore the signal). */
async function bounded<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ctl.abort(new Timeout());
      reject(new Timeout());
    }, ms);
    timer.unref();
  });
  const work = fn(ctl.signal);
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function problem(ref: AwsStackRef, ms: number, op: string, e: unknown): string {
  if (e instanceof Timeout || (e instanceof Error && e.name === 'AbortError'))
    return `CloudFormation (${ref.region}) did not answer ${op} within ${Math.round(ms / 1000)} s: check the network and AWS_ENDPOINT_URL, then reload`;
  return describeAwsError(op, e, `CloudFormation (${ref.region})`);
}

const missingStack = (e: unknown) => awsErrorCode(e) === 'ValidationError' && /does not exist/.test(errorMessage(e));

const iso = (d: Date | string | undefined): string | undefined => (d === undefined ? undefined : d instanceof Date ? d.toISOString() : new Date(d).toISOString());

/** The events of the stack's newest operation, oldest first (at most EVENT_PAGES pages are read). */
async function lastOperation(cfn: CfnApi, stackId: string, stack: string, signal: AbortSignal): Promise<StackEvent[]> {
  const newestFirst: StackEvent[] = [];
  let token: string | undefined;
  for (let page = 0; page < EVENT_PAGES; page++) {
    const r = await cfn.call('DescribeStackEvents', { StackName: stackId, ...(token ? { NextToken: token } : {}) }, signal);
    for (const e of r.StackEvents ?? []) {
      const ev = toStackEvent(e, 0);
      newestFirst.push(ev);
      if (ev.type === STACK_TYPE && ev.logicalId === stack && OPERATION_START.has(ev.status)) return newestFirst.reverse().map((x, i) => ({ ...x, id: i + 1 }));
    }
    token = r.NextToken;
    if (!token) break;
  }
  return newestFirst.reverse().map((x, i) => ({ ...x, id: i + 1 }));
}

/** What the page takes from the stack's template: its NoEcho parameters, its dependency edges. */
async function templateFacts(text: string | undefined): Promise<{ noEcho: Set<string>; edges: EdgeSpec[] } | undefined> {
  if (!text) return undefined;
  const { loadTemplate } = await import('../stack/load.js');
  const doc = loadTemplate(text, 'template');
  const root = doc.value as { Parameters?: Record<string, { NoEcho?: unknown }> } | undefined;
  if (!root || typeof root !== 'object') return undefined;
  const noEcho = new Set(
    Object.entries(root.Parameters && typeof root.Parameters === 'object' ? root.Parameters : {})
      .filter(([, p]) => p && typeof p === 'object' && (p.NoEcho === true || String(p.NoEcho).toLowerCase() === 'true'))
      .map(([k]) => k),
  );
  return { noEcho, edges: await edgesOfText(text) };
}

/** One stack as CloudFormation reports it, in the shape the stack page draws. */
export async function awsStackView(aws: UiAws, ref: AwsStackRef): Promise<AwsStackView> {
  const ms = aws.timeoutMs ?? 10_000;
  let op = 'DescribeStacks';
  try {
    return await bounded(ms, async (signal) => {
      const cfn = aws.cfn(ref.region);
      let s;
      try {
        s = (await cfn.call('DescribeStacks', { StackName: ref.stack }, signal)).Stacks?.[0];
      } catch (e) {
        if (missingStack(e)) return { ref, kind: 'missing' as const };
        throw e;
      }
      if (!s || s.StackStatus === 'DELETE_COMPLETE') return { ref, kind: 'missing' as const };
      const id = s.StackId ?? ref.stack;
      op = 'DescribeStackResources and DescribeStackEvents';
      const [rs, events, facts] = await Promise.all([
        cfn.call('DescribeStackResources', { StackName: id }, signal),
        lastOperation(cfn, id, ref.stack, signal),
        cfn
          .call('GetTemplate', { StackName: id }, signal)
          .then((t) => templateFacts(t.TemplateBody))
          .catch(() => undefined),
      ]);
      const failed = new Map<string, string>();
      for (const e of events) if (e.type !== STACK_TYPE && e.status.endsWith('_FAILED') && e.reason && !CANCELLED.test(e.reason) && !failed.has(e.logicalId)) failed.set(e.logicalId, e.reason);
      const lastEvent = new Map<string, StackEvent>();
      for (const e of events) if (e.type !== STACK_TYPE) lastEvent.set(e.logicalId, e);
      const resources: ResourceView[] = (rs.StackResources ?? []).map((r) => {
        const logicalId = r.LogicalResourceId ?? '';
        const status = r.ResourceStatus ?? 'UNKNOWN';
        const reason = failed.get(logicalId) ?? (status.endsWith('_FAILED') && r.ResourceStatusReason ? r.ResourceStatusReason : undefined);
        const drift = r.DriftInformation?.StackResourceDriftStatus;
        return {
          logicalId,
          type: r.ResourceType ?? '?',
          physicalId: r.PhysicalResourceId || null,
          status,
          eventId: lastEvent.get(logicalId)?.id ?? 0,
          row: status === 'DELETE_COMPLETE' ? 'gone' : 'live',
          noLocalEffect: false,
          ...(reason ? { failed: reason } : {}),
          drift: { status: drift ?? 'NOT_CHECKED', ...(r.DriftInformation?.LastCheckTimestamp ? { checkedAt: iso(r.DriftInformation.LastCheckTimestamp)! } : {}) },
        };
      });
      // Resources the last operation touched that CloudFormation no longer lists (a rolled-back create).
      for (const [logicalId, e] of lastEvent)
        if (!resources.some((r) => r.logicalId === logicalId))
          resources.push({
            logicalId,
            type: e.type || '?',
            physicalId: e.physicalId,
            status: e.status,
            eventId: e.id,
            row: 'gone',
            noLocalEffect: false,
            ...(failed.has(logicalId) ? { failed: failed.get(logicalId)! } : {}),
          });
      // CloudFormation answers `****` for a NoEcho parameter; not every endpoint does (the emulator
      // answers the value for a stack made through a change set), so the template's NoEcho decides
      // too, and a parameter is shown only when the template says it may be.
      const parameters: ParameterView[] = (s.Parameters ?? [])
        .filter((p) => p.ParameterKey)
        .map((p) =>
          p.ParameterValue === '****' || facts?.noEcho.has(p.ParameterKey!)
            ? { name: p.ParameterKey! }
            : !facts
              ? { name: p.ParameterKey!, unknown: true }
              : { name: p.ParameterKey!, value: p.ParameterValue ?? '' },
        );
      const created = iso(s.CreationTime) ?? '';
      const stack: StackRecord = {
        name: ref.stack,
        stackId: id,
        status: (s.StackStatus ?? 'UNKNOWN') as StackRecord['status'],
        reason: s.StackStatusReason ?? null,
        deployment: null,
        createdAt: created,
        updatedAt: iso(s.LastUpdatedTime) ?? created,
      };
      const failure = firstFailure(events);
      const detail: StackDetail = {
        stack,
        resources,
        edges: (facts?.edges ?? []).filter((e) => resources.some((r) => r.logicalId === e.from) && resources.some((r) => r.logicalId === e.to)),
        outputs: toOutputs(s.Outputs),
        parameters,
        latestEvents: events,
        aws: {
          region: ref.region,
          ...(s.DriftInformation?.StackDriftStatus ? { drift: s.DriftInformation.StackDriftStatus } : {}),
          ...(failure && /FAILED|ROLLBACK/.test(stack.status) ? { failure } : {}),
        },
      };
      return { ref, kind: 'found' as const, detail };
    });
  } catch (e) {
    return { ref, kind: 'error', message: problem(ref, ms, op, e) };
  }
}

/** The cards of the index: one DescribeStacks per stack, all at once, each bounded in time. */
export async function awsSummaries(aws: UiAws): Promise<AwsSummary[]> {
  const ms = aws.timeoutMs ?? 10_000;
  return Promise.all(
    aws.stacks().map(async (ref): Promise<AwsSummary> => {
      try {
        return await bounded(ms, async (signal) => {
          let s;
          try {
            s = (await aws.cfn(ref.region).call('DescribeStacks', { StackName: ref.stack }, signal)).Stacks?.[0];
          } catch (e) {
            if (missingStack(e)) return { ref, outputs: {}, missing: true };
            throw e;
          }
          if (!s || s.StackStatus === 'DELETE_COMPLETE') return { ref, outputs: {}, missing: true };
          const updatedAt = iso(s.LastUpdatedTime) ?? iso(s.CreationTime);
          return {
            ref,
            status: s.StackStatus ?? 'UNKNOWN',
            ...(s.StackStatusReason ? { reason: s.StackStatusReason } : {}),
            ...(updatedAt ? { updatedAt } : {}),
            outputs: toOutputs(s.Outputs),
          };
        });
      } catch (e) {
        return { ref, outputs: {}, error: problem(ref, ms, 'DescribeStacks', e) };
      }
    }),
  );
}
