// What the emulator's CloudFormation cannot produce, with scripted SDK answers (aws-sdk-client-mock
// on a real CloudFormationClient): a replacement preview, a failed update rolled back
// (UPDATE_ROLLBACK_COMPLETE), a rollback that fails (UPDATE_ROLLBACK_FAILED, then
// --continue-rollback), a failed create (ROLLBACK_COMPLETE), a change set with no changes,
// throttling, a waiter timeout, Ctrl-C during an update, NoEcho values in events, drift.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import * as C from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { EventLog } from '../../src/core/events.js';
import type { EngineEvent } from '../../src/exec/events.js';
import { sdkCfn } from '../../src/aws/cfn.js';
import { withRetry } from '../../src/aws/ec2.js';
import { loadAwsTemplate, type AwsTemplate } from '../../src/deploy/aws/template.js';
import { awsStackDrift, continueRollback, deployAwsStack, deploySavedAwsPlan, planAwsStack, type AwsStackEnv } from '../../src/deploy/aws/engine.js';
import { awsPlanDocument, savedAwsPlan } from '../../src/deploy/aws/planfile.js';
import { renderPlan } from '../../src/cli/views/plan.js';
import { renderDrift } from '../../src/cli/views/stack.js';
import { fakeClock } from './scripted.js';
import { tmpWorkspace } from './helpers.js';

const STACK = 'web';
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/web/11111111-2222-3333-4444-555555555555';
let ws: ReturnType<typeof tmpWorkspace>;
let template: AwsTemplate;
beforeAll(async () => {
  ws = tmpWorkspace('stack-scripted');
  const file = ws.write(
    'web.json',
    JSON.stringify({
      Parameters: { AmiId: { Type: 'AWS::EC2::Image::Id' }, DbPassword: { Type: 'String', NoEcho: true, Default: 'x' } },
      Resources: {
        MainVpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
        sgWeb: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web', VpcId: { Ref: 'MainVpc' } } },
        ec2Instance: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'AmiId' }, InstanceType: 't3.micro' } },
      },
    }),
  );
  template = await loadAwsTemplate(file, 'web.json', {});
});
afterAll(() => ws?.cleanup());

type Handler = (input: any) => any;

/** A CloudFormationClient whose answers the test scripts, command by command (in order sent). */
function scriptedCfn(handlers: Partial<Record<string, Handler>>) {
  const client = new C.CloudFormationClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const stub = mockClient(client);
  const sent: Array<{ op: string; input: any }> = [];
  const commands = [
    C.CreateChangeSetCommand,
    C.DescribeChangeSetCommand,
    C.ExecuteChangeSetCommand,
    C.DeleteChangeSetCommand,
    C.DescribeStacksCommand,
    C.DescribeStackEventsCommand,
    C.DescribeStackResourcesCommand,
    C.DeleteStackCommand,
    C.ContinueUpdateRollbackCommand,
    C.CancelUpdateStackCommand,
    C.DetectStackDriftCommand,
    C.DescribeStackDriftDetectionStatusCommand,
    C.DescribeStackResourceDriftsCommand,
  ];
  for (const Cmd of commands) {
    const op = Cmd.name.replace(/Command$/, '');
    stub.on(Cmd as never).callsFake(async (input: any) => {
      sent.push({ op, input });
      const h = handlers[op];
      if (!h) throw Object.assign(new Error(`unscripted ${op}`), { name: 'Unscripted' });
      return h(input);
    });
  }
  return { client, sent, ops: () => sent.map((s) => s.op) };
}

const exists =
  (status: string, extra: Partial<C.Stack> = {}) =>
  () => ({
    Stacks: [{ StackName: STACK, StackId: STACK_ID, StackStatus: status, CreationTime: new Date(), Parameters: [{ ParameterKey: 'AmiId', ParameterValue: 'ami-old' }], ...extra }],
  });
const missing = () => {
  throw Object.assign(new Error(`Stack with id ${STACK} does not exist`), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } });
};
const resources = () => ({
  StackResources: [
    { LogicalResourceId: 'MainVpc', ResourceType: 'AWS::EC2::VPC', PhysicalResourceId: 'vpc-1', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
    { LogicalResourceId: 'sgWeb', ResourceType: 'AWS::EC2::SecurityGroup', PhysicalResourceId: 'sg-1', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
    { LogicalResourceId: 'ec2Instance', ResourceType: 'AWS::EC2::Instance', PhysicalResourceId: 'i-old', ResourceStatus: 'CREATE_COMPLETE', Timestamp: new Date() },
  ],
});
const created = () => ({ Id: 'arn:aws:cloudformation:eu-west-1:123456789012:changeSet/kiln-1/abc', StackId: STACK_ID });
const ready = (changes: C.Change[]) => () => ({ Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: changes });
const imageChange: C.Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'ec2Instance',
    PhysicalResourceId: 'i-old',
    ResourceType: 'AWS::EC2::Instance',
    Replacement: 'True',
    Scope: ['Properties'],
    Details: [{ Target: { Attribute: 'Properties', Name: 'ImageId', RequiresRecreation: 'Always' }, Evaluation: 'Static', ChangeSource: 'ParameterReference', CausingEntity: 'AmiId' }],
  },
};

/** DescribeStackEvents answering with one more batch of events on each call (newest first, as AWS). */
function eventFeed(clock: { now(): number }, batches: Array<Array<[logicalId: string, type: string, status: string, reason?: string]>>): Handler {
  const shown: C.StackEvent[] = [];
  let n = 0;
  return () => {
    const next = batches.shift() ?? [];
    for (const [logicalId, type, status, reason] of next)
      shown.unshift({
        StackId: STACK_ID,
        StackName: STACK,
        EventId: `e${++n}`,
        LogicalResourceId: logicalId,
        ResourceType: type,
        ResourceStatus: status as C.ResourceStatus,
        Timestamp: new Date(clock.now() + n),
        ...(reason ? { ResourceStatusReason: reason } : {}),
      });
    return { StackEvents: [...shown] };
  };
}

function env(client: C.CloudFormationClient, extra: Partial<AwsStackEnv> = {}) {
  const clock = fakeClock();
  const log = new EventLog<EngineEvent>();
  return {
    clock,
    log,
    make: async (): Promise<AwsStackEnv> => ({ cfn: withRetry(await sdkCfn(client, 'eu-west-1'), { clock }), clock, events: log, ...extra }),
  };
}

const S = 'AWS::CloudFormation::Stack';
const I = 'AWS::EC2::Instance';

describe('kiln on CloudFormation, scripted', () => {
  it('shows a replacement preview: the property that forces it, updates, deletes and unchanged resources; plan executes nothing', async () => {
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: ready([
        imageChange,
        {
          Type: 'Resource',
          ResourceChange: {
            Action: 'Modify',
            LogicalResourceId: 'sgWeb',
            ResourceType: 'AWS::EC2::SecurityGroup',
            Replacement: 'Conditional',
            Details: [{ Target: { Attribute: 'Properties', Name: 'GroupDescription', RequiresRecreation: 'Conditionally' } }],
          },
        },
        { Type: 'Resource', ResourceChange: { Action: 'Remove', LogicalResourceId: 'oldQueue', ResourceType: 'AWS::SQS::Queue', PhysicalResourceId: 'q-1' } },
      ]),
      DescribeStackResources: resources,
      DeleteChangeSet: () => ({}),
    });
    const e = env(cfn.client);
    const r = await planAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [] });
    const text = renderPlan(r.plan, { color: false, stack: STACK });
    expect(text).toMatch(/^\+\/- ec2Instance\s+AWS::EC2::Instance\s+replace \(because ImageId; create first, then delete the old one\)$/m);
    expect(text).toMatch(/^\+\/- sgWeb\s+AWS::EC2::SecurityGroup\s+replace \(because GroupDescription \(may replace: Conditional\)/m);
    expect(text).toMatch(/^-\s+oldQueue\s+AWS::SQS::Queue\s+delete$/m);
    expect(text).toMatch(/^=\s+MainVpc\s+AWS::EC2::VPC\s+no change$/m);
    expect(text).toContain('Plan for stack web: 0 to create, 0 to update, 2 to replace, 1 to delete, 1 unchanged.');
    expect(cfn.ops()).toContain('DeleteChangeSet');
    expect(cfn.ops()).not.toContain('ExecuteChangeSet');
    // Parameters not given keep their previous value.
    expect(cfn.sent.find((s) => s.op === 'CreateChangeSet')!.input).toMatchObject({ ChangeSetType: 'UPDATE', Parameters: [{ ParameterKey: 'AmiId', ParameterValue: 'ami-new' }] });
  });

  it('a failed update rolls back to UPDATE_ROLLBACK_COMPLETE and reports the first failing resource', async () => {
    const cfnHolder: { clock?: { now(): number } } = {};
    const feedClock = { now: () => cfnHolder.clock!.now() };
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: ready([imageChange]),
      DescribeStackResources: resources,
      ExecuteChangeSet: () => ({}),
      DescribeStackEvents: eventFeed(feedClock, [
        [[STACK, S, 'UPDATE_IN_PROGRESS', 'User Initiated']],
        [
          ['ec2Instance', I, 'UPDATE_IN_PROGRESS', 'Requested update requires the creation of a new physical resource'],
          ['ec2Instance', I, 'UPDATE_FAILED', 'Instance i-new failed to stabilize: health check timed out'],
        ],
        [[STACK, S, 'UPDATE_ROLLBACK_IN_PROGRESS', 'The following resource(s) failed to update: [ec2Instance].']],
        [
          ['ec2Instance', I, 'DELETE_COMPLETE'],
          [STACK, S, 'UPDATE_ROLLBACK_COMPLETE'],
        ],
      ]),
    });
    const e = env(cfn.client);
    cfnHolder.clock = e.clock;
    const r = await deployAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [] });
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(r.reason).toBe('ec2Instance (AWS::EC2::Instance): Instance i-new failed to stabilize: health check timed out');
    const statuses = e.log.events.filter((x) => x.kind === 'stack-event').map((x) => (x.kind === 'stack-event' ? `${x.event.logicalId} ${x.event.status}` : ''));
    expect(statuses).toEqual([
      'web UPDATE_IN_PROGRESS',
      'ec2Instance UPDATE_IN_PROGRESS',
      'ec2Instance UPDATE_FAILED',
      'web UPDATE_ROLLBACK_IN_PROGRESS',
      'ec2Instance DELETE_COMPLETE',
      'web UPDATE_ROLLBACK_COMPLETE',
    ]);
    // Polled once a second: kiln is done within a poll of the final event.
    expect(e.clock.slept.every((ms) => ms === 1000)).toBe(true);
  });

  it('UPDATE_ROLLBACK_FAILED offers --continue-rollback, refuses a new deploy, and continue-rollback finishes it', async () => {
    const clockRef: { now(): number } = { now: () => 0 };
    const failing = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: ready([imageChange]),
      DescribeStackResources: resources,
      ExecuteChangeSet: () => ({}),
      DescribeStackEvents: eventFeed(clockRef, [
        [
          [STACK, S, 'UPDATE_IN_PROGRESS'],
          ['ec2Instance', I, 'UPDATE_FAILED', 'Instance failed to stabilize'],
          [STACK, S, 'UPDATE_ROLLBACK_IN_PROGRESS'],
          ['sgWeb', 'AWS::EC2::SecurityGroup', 'UPDATE_FAILED', 'resource sg-1 has a dependent object'],
          [STACK, S, 'UPDATE_ROLLBACK_FAILED'],
        ],
      ]),
    });
    const e1 = env(failing.client);
    clockRef.now = () => e1.clock.now();
    const r = await deployAwsStack(await e1.make(), { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [] });
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_FAILED');
    expect(r.reason).toContain('--continue-rollback');

    const stuck = scriptedCfn({ DescribeStacks: exists('UPDATE_ROLLBACK_FAILED') });
    await expect(deployAwsStack(await env(stuck.client).make(), { stack: STACK, template, params: {}, capabilities: [] })).rejects.toThrow(
      /UPDATE_ROLLBACK_FAILED: a rollback could not finish.*--continue-rollback/,
    );
    expect(stuck.ops()).toEqual(['DescribeStacks']);

    const clock2: { now(): number } = { now: () => 0 };
    const resume = scriptedCfn({
      DescribeStacks: exists('UPDATE_ROLLBACK_FAILED'),
      ContinueUpdateRollback: () => ({}),
      DescribeStackEvents: eventFeed(clock2, [[[STACK, S, 'UPDATE_ROLLBACK_IN_PROGRESS']], [[STACK, S, 'UPDATE_ROLLBACK_COMPLETE']]]),
    });
    const e3 = env(resume.client);
    clock2.now = () => e3.clock.now();
    const c = await continueRollback(await e3.make(), STACK);
    expect(c).toEqual({ outcome: 'complete', finalStatus: 'UPDATE_ROLLBACK_COMPLETE' });
    expect(resume.ops()).toContain('ContinueUpdateRollback');
  });

  it('a failed create ends ROLLBACK_COMPLETE, says the stack must be deleted, and the next deploy is refused before any change set', async () => {
    const clockRef: { now(): number } = { now: () => 0 };
    const cfn = scriptedCfn({
      DescribeStacks: missing,
      CreateChangeSet: created,
      DescribeChangeSet: ready([{ Type: 'Resource', ResourceChange: { Action: 'Add', LogicalResourceId: 'ec2Instance', ResourceType: I } }]),
      ExecuteChangeSet: () => ({}),
      DescribeStackEvents: eventFeed(clockRef, [
        [
          [STACK, S, 'CREATE_IN_PROGRESS'],
          ['ec2Instance', I, 'CREATE_FAILED', "The image id '[ami-nope]' does not exist"],
          ['sgWeb', 'AWS::EC2::SecurityGroup', 'CREATE_FAILED', 'Resource creation cancelled'],
          [STACK, S, 'ROLLBACK_IN_PROGRESS'],
          [STACK, S, 'ROLLBACK_COMPLETE'],
        ],
      ]),
    });
    const e = env(cfn.client);
    clockRef.now = () => e.clock.now();
    const r = await deployAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-nope' }, capabilities: [] });
    expect(r.outcome).toBe('failed');
    expect(r.finalStatus).toBe('ROLLBACK_COMPLETE');
    expect(r.reason).toBe(
      "ec2Instance (AWS::EC2::Instance): The image id '[ami-nope]' does not exist; the stack must be deleted before it can be deployed again (kiln destroy --target aws --stack web)",
    );
    expect(cfn.sent.find((s) => s.op === 'CreateChangeSet')!.input.ChangeSetType).toBe('CREATE');

    const after = scriptedCfn({ DescribeStacks: exists('ROLLBACK_COMPLETE') });
    await expect(deployAwsStack(await env(after.client).make(), { stack: STACK, template, params: { AmiId: 'ami-1' }, capabilities: [] })).rejects.toThrow(
      /stack web is ROLLBACK_COMPLETE.*Delete it \(kiln destroy --target aws --stack web\)/,
    );
    expect(after.ops()).toEqual(['DescribeStacks']);
  });

  it('a change set with no changes is "no changes": deleted, never executed', async () => {
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE', { Outputs: [{ OutputKey: 'Url', OutputValue: 'http://web.example/' }] }),
      CreateChangeSet: created,
      DescribeChangeSet: () => ({
        Status: 'FAILED',
        StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
        ExecutionStatus: 'UNAVAILABLE',
      }),
      DescribeStackResources: resources,
      DeleteChangeSet: () => ({}),
    });
    const r = await deployAwsStack(await env(cfn.client).make(), { stack: STACK, template, params: {}, capabilities: [] });
    expect(r.outcome).toBe('no-changes');
    expect(r.outputs).toEqual({ Url: { value: 'http://web.example/' } });
    expect(cfn.ops()).toContain('DeleteChangeSet');
    expect(cfn.ops()).not.toContain('ExecuteChangeSet');
  });

  it('throttling is retried with backoff, and the deploy goes on', async () => {
    const clockRef: { now(): number } = { now: () => 0 };
    let throttled = 0;
    const feed = eventFeed(clockRef, [[[STACK, S, 'UPDATE_IN_PROGRESS']], [[STACK, S, 'UPDATE_COMPLETE']]]);
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: ready([imageChange]),
      DescribeStackResources: resources,
      ExecuteChangeSet: () => ({}),
      DescribeStackEvents: (input) => {
        if (throttled < 2) {
          throttled++;
          throw Object.assign(new Error('Rate exceeded'), { name: 'Throttling', $metadata: { httpStatusCode: 400 } });
        }
        return feed(input);
      },
    });
    const e = env(cfn.client);
    clockRef.now = () => e.clock.now();
    const r = await deployAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [] });
    expect(r.outcome).toBe('complete');
    expect(r.finalStatus).toBe('UPDATE_COMPLETE');
    expect(e.clock.slept.slice(0, 2)).toEqual([500, 1000]);
    expect(cfn.ops().filter((o) => o === 'DescribeStackEvents').length).toBeGreaterThanOrEqual(4);
  });

  it('a change set that never becomes ready times out with its state', async () => {
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: () => ({ Status: 'CREATE_PENDING' }),
    });
    const e = env(cfn.client, { timeoutMs: 60_000 });
    await expect(deployAwsStack(await e.make(), { stack: STACK, template, params: {}, capabilities: [] })).rejects.toThrow(/timed out waiting for change set kiln-\S+ \(still CREATE_PENDING\)/);
    expect(cfn.ops()).not.toContain('ExecuteChangeSet');
  });

  it('Ctrl-C during an update cancels it and follows the rollback', async () => {
    const clockRef: { now(): number } = { now: () => 0 };
    const ac = new AbortController();
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: ready([imageChange]),
      DescribeStackResources: resources,
      ExecuteChangeSet: () => ({}),
      CancelUpdateStack: () => ({}),
      DescribeStackEvents: eventFeed(clockRef, [
        [[STACK, S, 'UPDATE_IN_PROGRESS']],
        [['ec2Instance', I, 'UPDATE_IN_PROGRESS']],
        [
          ['ec2Instance', I, 'UPDATE_FAILED', 'Resource update cancelled'],
          [STACK, S, 'UPDATE_ROLLBACK_IN_PROGRESS'],
        ],
        [[STACK, S, 'UPDATE_ROLLBACK_COMPLETE']],
      ]),
    });
    const e = env(cfn.client, { signal: ac.signal });
    clockRef.now = () => e.clock.now();
    e.log.emit = ((orig) => (ev: EngineEvent) => {
      orig.call(e.log, ev);
      if (ev.kind === 'stack-event' && ev.event.logicalId === 'ec2Instance' && ev.event.status === 'UPDATE_IN_PROGRESS') ac.abort(new Error('interrupted'));
    })(e.log.emit);
    const r = await deployAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [] });
    expect(r.outcome).toBe('cancelled');
    expect(r.finalStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
    expect(cfn.ops()).toContain('CancelUpdateStack');
    expect(e.log.events.some((x) => x.kind === 'notice' && x.message.includes('cancelling the update of stack web'))).toBe(true);
  });

  it('NoEcho values never leave the engine, even when CloudFormation echoes them', async () => {
    const clockRef: { now(): number } = { now: () => 0 };
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      CreateChangeSet: created,
      DescribeChangeSet: ready([imageChange]),
      DescribeStackResources: resources,
      ExecuteChangeSet: () => ({}),
      DescribeStackEvents: eventFeed(clockRef, [
        [
          [STACK, S, 'UPDATE_IN_PROGRESS'],
          ['ec2Instance', I, 'UPDATE_FAILED', 'password hunter2-secret is not allowed here'],
          [STACK, S, 'UPDATE_ROLLBACK_COMPLETE'],
        ],
      ]),
    });
    const e = env(cfn.client);
    clockRef.now = () => e.clock.now();
    const r = await deployAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-new', DbPassword: 'hunter2-secret' }, capabilities: [] });
    expect(JSON.stringify(e.log.events)).not.toContain('hunter2-secret');
    expect(r.reason).toContain('password <sensitive> is not allowed here');
    expect(JSON.stringify(r)).not.toContain('hunter2-secret');
    // It was sent to CloudFormation, which needs it.
    expect(cfn.sent.find((s) => s.op === 'CreateChangeSet')!.input.Parameters).toContainEqual({ ParameterKey: 'DbPassword', ParameterValue: 'hunter2-secret' });
  });

  it('drift is DetectStackDrift, waited for, as kiln reports drift', async () => {
    let looks = 0;
    const cfn = scriptedCfn({
      DescribeStackResources: resources,
      DetectStackDrift: () => ({ StackDriftDetectionId: 'd-1' }),
      DescribeStackDriftDetectionStatus: () => ({
        StackId: STACK_ID,
        StackDriftDetectionId: 'd-1',
        DetectionStatus: ++looks < 3 ? 'DETECTION_IN_PROGRESS' : 'DETECTION_COMPLETE',
        Timestamp: new Date(),
      }),
      DescribeStackResourceDrifts: () => ({
        StackResourceDrifts: [
          { StackId: STACK_ID, LogicalResourceId: 'MainVpc', ResourceType: 'AWS::EC2::VPC', StackResourceDriftStatus: 'IN_SYNC', Timestamp: new Date() },
          {
            StackId: STACK_ID,
            LogicalResourceId: 'ec2Instance',
            PhysicalResourceId: 'i-old',
            ResourceType: I,
            StackResourceDriftStatus: 'MODIFIED',
            Timestamp: new Date(),
            PropertyDifferences: [{ PropertyPath: '/InstanceType', ExpectedValue: 't3.micro', ActualValue: 't3.large', DifferenceType: 'NOT_EQUAL' }],
          },
        ],
      }),
    });
    const r = await awsStackDrift(await env(cfn.client).make(), STACK);
    expect(r.status).toBe('DRIFTED');
    expect(r.resources.find((x) => x.logicalId === 'ec2Instance')).toMatchObject({
      status: 'MODIFIED',
      differences: [{ property: 'InstanceType', expected: 't3.micro', actual: 't3.large', kind: 'NOT_EQUAL' }],
    });
    expect(looks).toBe(3);
  });

  it('the drift table of an AWS stack has the local one’s layout: every resource, the same columns and words, dotted property paths', async () => {
    const cfn = scriptedCfn({
      DescribeStackResources: resources,
      DetectStackDrift: () => ({ StackDriftDetectionId: 'd-2' }),
      DescribeStackDriftDetectionStatus: () => ({ StackId: STACK_ID, StackDriftDetectionId: 'd-2', DetectionStatus: 'DETECTION_COMPLETE', Timestamp: new Date() }),
      // sgWeb is not in CloudFormation's answer (a type it cannot check); MainVpc's answer has no physical id.
      DescribeStackResourceDrifts: () => ({
        StackResourceDrifts: [
          { StackId: STACK_ID, LogicalResourceId: 'MainVpc', ResourceType: 'AWS::EC2::VPC', StackResourceDriftStatus: 'IN_SYNC', Timestamp: new Date() },
          {
            StackId: STACK_ID,
            LogicalResourceId: 'ec2Instance',
            PhysicalResourceId: 'i-old',
            ResourceType: I,
            StackResourceDriftStatus: 'MODIFIED',
            Timestamp: new Date(),
            PropertyDifferences: [
              { PropertyPath: '/Tags/0/Value', ExpectedValue: 'web', ActualValue: 'tampered', DifferenceType: 'NOT_EQUAL' },
              { PropertyPath: '/InstanceType', ExpectedValue: 't3.micro', ActualValue: 't3.large', DifferenceType: 'NOT_EQUAL' },
            ],
          },
        ],
      }),
    });
    const aws = renderDrift(await awsStackDrift(await env(cfn.client).make(), STACK));
    // The local target's table, from the same renderer `kiln drift` uses, on a report of the local engine's shape.
    const local = renderDrift({
      stack: STACK,
      status: 'DRIFTED',
      resources: [
        { logicalId: 'MainVpc', type: 'AWS::EC2::VPC', physicalId: 'kiln-web-MainVpc', status: 'IN_SYNC', differences: [], mutations: [] },
        { logicalId: 'sgWeb', type: 'AWS::EC2::SecurityGroup', physicalId: 'sg-0a1b', status: 'NOT_CHECKED', differences: [], mutations: [] },
        {
          logicalId: 'ec2Instance',
          type: I,
          physicalId: 'kiln-web-ec2Instance',
          status: 'MODIFIED',
          differences: [{ property: 'InstanceType', expected: 't3.micro', actual: 't3.large', kind: 'NOT_EQUAL' }],
          mutations: [],
        },
      ],
      extra: [],
    });
    const shape = (text: string) =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => (l.startsWith('  ') ? l.replace(/^ {2}\S+?\.[A-Za-z0-9.]+: /, '  ID.PATH: ').replace(/"[^"]*"/g, 'V') : l.split(/\s{2,}/).length))
        .slice(0, 2);
    expect(aws.split('\n')[1]).toMatch(/^LOGICAL ID\s+TYPE\s+PHYSICAL ID\s+DRIFT$/);
    expect(shape(aws)).toEqual(shape(local));
    expect(aws).toContain(`Stack ${STACK}: DRIFTED`);
    // Every resource of the stack, in its order; what CloudFormation did not check is NOT_CHECKED, as locally.
    expect(aws).toMatch(/\nMainVpc\s+AWS::EC2::VPC\s+vpc-1\s+IN_SYNC\n/);
    expect(aws).toMatch(/\nsgWeb\s+AWS::EC2::SecurityGroup\s+sg-1\s+NOT_CHECKED\n/);
    expect(aws).toMatch(/\nec2Instance\s+AWS::EC2::Instance\s+i-old\s+MODIFIED\n/);
    // The difference lines read the same on both targets.
    expect(local).toContain('  ec2Instance.InstanceType: NOT_EQUAL expected "t3.micro", actual "t3.large"\n');
    expect(aws).toContain('  ec2Instance.InstanceType: NOT_EQUAL expected "t3.micro", actual "t3.large"\n');
    expect(aws).toContain('  ec2Instance.Tags.0.Value: NOT_EQUAL expected "web", actual "tampered"\n');
    expect(aws).not.toContain('/InstanceType');
  });

  it('a saved plan executes exactly its change set, and is refused as stale once the stack had another operation', async () => {
    const plannedEvents = () => ({ StackEvents: [{ StackId: STACK_ID, EventId: 'e-old', LogicalResourceId: STACK, ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date(0) }] });
    let events: Handler = plannedEvents;
    const cfn = scriptedCfn({
      DescribeStacks: exists('UPDATE_COMPLETE'),
      DescribeStackResources: resources,
      CreateChangeSet: created,
      DescribeChangeSet: ready([imageChange]),
      DescribeStackEvents: (i) => events(i),
      ExecuteChangeSet: () => ({}),
    });
    const e = env(cfn.client);
    const p = await planAwsStack(await e.make(), { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [] }, { keep: true });
    expect(cfn.ops()).not.toContain('DeleteChangeSet');
    const doc = JSON.parse(JSON.stringify(awsPlanDocument(p, { stack: STACK, template, params: { AmiId: 'ami-new' }, capabilities: [], region: 'eu-west-1' })));
    expect(doc.aws.changeSet).toEqual({ id: created().Id, name: expect.stringMatching(/^kiln-/), stackId: STACK_ID });

    // Someone updated the stack after the plan was made: its newest event is another one.
    events = () => ({ StackEvents: [{ StackId: STACK_ID, EventId: 'e-new', LogicalResourceId: STACK, ResourceStatus: 'UPDATE_COMPLETE', Timestamp: new Date(1) }, ...plannedEvents().StackEvents] });
    await expect(deploySavedAwsPlan(await e.make(), savedAwsPlan(doc, 'web.plan'))).rejects.toThrow(
      /the saved plan for stack web is stale, so nothing was changed: CloudFormation worked on stack web after the plan was made .*Plan again/,
    );
    expect(cfn.ops()).not.toContain('ExecuteChangeSet');

    // As planned: exactly the kept change set is executed.
    // (the staleness check reads the newest event as planned; the follow then sees the update end)
    const fresh = eventFeed(e.clock, [[[STACK, S, 'UPDATE_IN_PROGRESS']], [[STACK, S, 'UPDATE_COMPLETE']]]);
    let first = true;
    events = (i) => (first ? ((first = false), plannedEvents()) : fresh(i));
    const r = await deploySavedAwsPlan(await e.make(), savedAwsPlan(doc, 'web.plan'));
    expect(cfn.sent.filter((x) => x.op === 'ExecuteChangeSet').map((x) => x.input)).toEqual([{ ChangeSetName: created().Id, StackName: STACK_ID }]);
    expect(cfn.ops().filter((o) => o === 'CreateChangeSet')).toHaveLength(1);
    expect(r.finalStatus).toBe('UPDATE_COMPLETE');
  });
});
