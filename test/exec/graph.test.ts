// The executor's graphs, one transform at a time: each test runs the transforms up to the one under
// test and compares the text dump of the graph (as Terraform's transform tests do).
import { describe, expect, test } from 'vitest';
import { addDeleteOrderEdges, addDependencyEdges, addHeadStarts, addPlannedSteps, addRestoreEdges, addRestores, addRowDeletes, buildGraph, dumpGraph } from '../../src/exec/graph.js';
import type { DesiredResource, DesiredStack, Plan, Step } from '../../src/stack/plan.js';
import type { ResourceRow } from '../../src/state/store.js';

const want = (id: string, dependsOn: string[] = [], extra: Partial<DesiredResource> = {}): DesiredResource => ({
  logicalId: id,
  type: 'Test::Fake::Resource',
  properties: {},
  dependsOn,
  deletionPolicy: 'Delete',
  updateReplacePolicy: 'Delete',
  ...extra,
});
const stack = (...rs: DesiredResource[]): DesiredStack => ({ resources: Object.fromEntries(rs.map((r) => [r.logicalId, r])), outputs: {} });
const planOf = (...steps: Step[]): Plan => ({ steps, diagnostics: [], changes: true });
const create = (id: string, type = 'Test::Fake::Resource'): Step => ({ kind: 'create', id, type, noLocalEffect: false });
const noop = (id: string): Step => ({ kind: 'noop', id, type: 'Test::Fake::Resource', physicalId: `${id.toLowerCase()}-1`, noLocalEffect: false });
const update = (id: string): Step => ({
  kind: 'update',
  id,
  type: 'Test::Fake::Resource',
  physicalId: `${id.toLowerCase()}-1`,
  changed: ['Value'],
  afterApply: ['Value'],
  conditional: { on: ['Value'], otherwise: 'noop' },
  noLocalEffect: false,
});
const row = (id: number, logicalId: string, dependsOn: string[] = [], extra: Partial<ResourceRow> = {}): ResourceRow => ({
  id,
  stack: 'demo',
  logicalId,
  type: 'Test::Fake::Resource',
  physicalId: `${logicalId.toLowerCase()}-${id}`,
  properties: {},
  state: { physicalId: `${logicalId.toLowerCase()}-${id}`, attributes: {} },
  status: 'live',
  deployment: 'd-1',
  dependsOn,
  deletionPolicy: 'Delete',
  updateReplacePolicy: 'Delete',
  noLocalEffect: false,
  ...extra,
});

describe('the deploy graph', () => {
  const desired = stack(
    want('Vpc'),
    want('Sg', ['Vpc']),
    want('Web', ['Sg']),
    want('Elb', ['Sg', 'Web'], { type: 'AWS::ElasticLoadBalancing::LoadBalancer', properties: { SecurityGroups: [{ Ref: 'Sg' }], Instances: [{ Ref: 'Web' }] }, explicitDependsOn: [] }),
  );
  const plan = planOf(
    create('Sg'),
    update('Web'),
    create('Elb', 'AWS::ElasticLoadBalancing::LoadBalancer'),
    { kind: 'delete', id: 'Old', type: 'Test::Fake::Resource', physicalId: 'old-1', policy: 'Delete', noLocalEffect: false },
    noop('Vpc'),
  );
  const prepares = (t: string) => (t === 'AWS::ElasticLoadBalancing::LoadBalancer' ? { without: ['Instances'] } : undefined);

  test('addPlannedSteps: a node per create, update (conditional shown), replace and noop; deletes belong to the cleanup', () => {
    expect(dumpGraph(buildGraph([addPlannedSteps(plan)]))).toBe('create Sg\nupdate Web (or noop)\ncreate Elb\nnoop Vpc\n');
  });

  test('addDependencyEdges: each step waits for the steps of what its resource needs, unchanged ones included', () => {
    expect(dumpGraph(buildGraph([addPlannedSteps(plan), addDependencyEdges(desired)]))).toBe(
      ['create Sg', '  noop Vpc', 'update Web (or noop)', '  create Sg', 'create Elb', '  create Sg', '  update Web (or noop)', 'noop Vpc', ''].join('\n'),
    );
  });

  test('addHeadStarts: a first create that can prepare gets a head start waiting only for what it uses', () => {
    expect(dumpGraph(buildGraph([addPlannedSteps(plan), addDependencyEdges(desired), addHeadStarts(desired, prepares)]))).toBe(
      [
        'create Sg',
        '  noop Vpc',
        'update Web (or noop)',
        '  create Sg',
        'create Elb',
        '  create Sg',
        '  update Web (or noop)',
        '  head-start Elb',
        'noop Vpc',
        'head-start Elb',
        '  create Sg',
        '',
      ].join('\n'),
    );
  });

  test('addHeadStarts: none when leaving the prepared-without properties out drops no dependency', () => {
    const waitsAnyway = stack(
      want('Sg'),
      want('Web'),
      want('Elb', ['Sg', 'Web'], { type: 'AWS::ElasticLoadBalancing::LoadBalancer', properties: { SecurityGroups: [{ Ref: 'Sg' }] }, explicitDependsOn: ['Web'] }),
    );
    const g = buildGraph([
      addPlannedSteps(planOf(create('Sg'), create('Web'), create('Elb', 'AWS::ElasticLoadBalancing::LoadBalancer'))),
      addDependencyEdges(waitsAnyway),
      addHeadStarts(waitsAnyway, prepares),
    ]);
    expect(dumpGraph(g)).not.toContain('head-start');
  });
});

describe('the cleanup graph', () => {
  const rows = [row(1, 'Vpc', [], { deletionPolicy: 'Retain' }), row(2, 'Subnet', ['Vpc']), row(3, 'Web', ['Subnet']), row(4, 'Web', ['Subnet'], { status: 'pendingDelete' })];

  test('addRowDeletes: a node per row, kept by its policy or deleted', () => {
    expect(dumpGraph(buildGraph([addRowDeletes(rows, (r) => r.deletionPolicy, false)]))).toBe('retain Vpc vpc-1 (Retain)\ndelete Subnet subnet-2\ndelete Web web-3\ndelete Web web-4\n');
  });

  test('addRowDeletes: Snapshot deletes after a snapshot where the provider can take one (as on AWS), never when a create rolls back', () => {
    const snap = [row(1, 'Cache', [], { deletionPolicy: 'Snapshot' }), row(2, 'Data', [], { deletionPolicy: 'Snapshot', type: 'Test::Fake::Unsnapshottable' })];
    const canSnapshot = (type: string) => type === snap[0]!.type;
    expect(dumpGraph(buildGraph([addRowDeletes(snap, (r) => r.deletionPolicy, false, canSnapshot)]))).toBe('delete Cache cache-1 (Snapshot)\nretain Data data-2 (Snapshot)\n');
    expect(dumpGraph(buildGraph([addRowDeletes(snap, (r) => r.deletionPolicy, true, canSnapshot)]))).toBe('delete Cache cache-1\ndelete Data data-2\n');
  });

  test('addRowDeletes: Snapshot (where the provider cannot snapshot) and RetainExceptOnCreate keep the object, except when the create that made it rolls back', () => {
    const snap = [row(1, 'Cache', [], { deletionPolicy: 'Snapshot' }), row(2, 'Data', [], { deletionPolicy: 'RetainExceptOnCreate' })];
    expect(dumpGraph(buildGraph([addRowDeletes(snap, (r) => r.deletionPolicy, false)]))).toBe('retain Cache cache-1 (Snapshot)\nretain Data data-2 (RetainExceptOnCreate)\n');
    expect(dumpGraph(buildGraph([addRowDeletes(snap, (r) => r.deletionPolicy, true)]))).toBe('delete Cache cache-1\ndelete Data data-2\n');
  });

  test('addDeleteOrderEdges: a row goes after every row that depends on it (both copies of a replaced one)', () => {
    expect(dumpGraph(buildGraph([addRowDeletes(rows, (r) => r.deletionPolicy, false), addDeleteOrderEdges()]))).toBe(
      ['retain Vpc vpc-1 (Retain)', '  delete Subnet subnet-2', 'delete Subnet subnet-2', '  delete Web web-3', '  delete Web web-4', 'delete Web web-3', 'delete Web web-4', ''].join('\n'),
    );
  });
});

describe('the restore graph (an update rolled back)', () => {
  test('addRestores then addRestoreEdges: the previous deployment’s live resources, in their dependency order', () => {
    const prior = [row(1, 'Vpc'), row(2, 'Web', ['Vpc']), row(3, 'Gone', [], { status: 'retained' })];
    expect(dumpGraph(buildGraph([addRestores(prior)]))).toBe('restore Vpc vpc-1\nrestore Web web-2\n');
    expect(dumpGraph(buildGraph([addRestores(prior), addRestoreEdges()]))).toBe('restore Vpc vpc-1\nrestore Web web-2\n  restore Vpc vpc-1\n');
  });
});
