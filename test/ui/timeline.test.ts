// The timeline of a stack operation, read from its events: one row per resource, one bar per step.
import { describe, expect, test } from 'vitest';
import { ganttSvg, timeline } from '../../src/ui/timeline.js';
import type { StackEvent } from '../../src/state/store.js';

const STACK = 'AWS::CloudFormation::Stack';
let id = 0;
/** Events at `t` ms after 12:00:00 as `[t, logicalId, status, reason?, physicalId?]`. */
function events(rows: Array<[number, string, string, string?, string?]>): StackEvent[] {
  return rows.map(([t, logicalId, status, reason, physicalId]) => ({
    id: ++id,
    stack: 'web',
    stackId: 'kiln:stack/web/1',
    deployment: 'd-1',
    timestamp: new Date(Date.UTC(2026, 0, 1, 12, 0, 0) + t).toISOString(),
    logicalId,
    physicalId: physicalId ?? null,
    type: logicalId === 'web' ? STACK : logicalId === 'Sg' ? 'AWS::EC2::SecurityGroup' : 'AWS::EC2::Instance',
    status: status as StackEvent['status'],
    reason: reason ?? null,
  }));
}

describe('timeline', () => {
  test('a first create: one create bar per resource, from its first event to its last', () => {
    const tl = timeline(
      events([
        [0, 'web', 'CREATE_IN_PROGRESS', 'User Initiated'],
        [10, 'Sg', 'CREATE_IN_PROGRESS'],
        [20, 'Sg', 'CREATE_IN_PROGRESS', 'Resource creation Initiated', 'sg-1'],
        [500, 'Sg', 'CREATE_COMPLETE', undefined, 'sg-1'],
        [510, 'Web', 'CREATE_IN_PROGRESS'],
        [2510, 'Web', 'CREATE_COMPLETE', undefined, 'i-1'],
        [2520, 'web', 'CREATE_COMPLETE'],
      ]),
    );
    expect(tl.stack).toBe('web');
    expect(tl.status).toBe('CREATE_COMPLETE');
    expect(tl.rows.map((r) => r.logicalId)).toEqual(['Sg', 'Web']);
    expect(tl.rows[0]!.bars).toEqual([{ kind: 'create', start: 10, end: 500, status: 'CREATE_COMPLETE', physicalId: 'sg-1', open: false }]);
    expect(tl.rows[1]!.bars[0]).toMatchObject({ kind: 'create', start: 510, end: 2510, physicalId: 'i-1' });
    expect(tl.phases).toEqual([{ label: 'create', status: 'CREATE_IN_PROGRESS', start: 0, end: 2520 }]);
    expect(tl.span).toBe(2520);
  });

  test('a replacement shows the new copy and, in the cleanup phase, the delete of the old one', () => {
    const tl = timeline(
      events([
        [0, 'web', 'UPDATE_IN_PROGRESS'],
        [5, 'Web', 'UPDATE_IN_PROGRESS', 'Requested update requires the creation of a new physical resource; hence creating one.', 'i-old'],
        [900, 'Web', 'UPDATE_IN_PROGRESS', 'Resource creation Initiated', 'i-new'],
        [1000, 'Web', 'UPDATE_COMPLETE', undefined, 'i-new'],
        [1001, 'web', 'UPDATE_COMPLETE_CLEANUP_IN_PROGRESS'],
        [1002, 'Web', 'DELETE_IN_PROGRESS', undefined, 'i-old'],
        [1400, 'Web', 'DELETE_COMPLETE', undefined, 'i-old'],
        [1401, 'web', 'UPDATE_COMPLETE'],
      ]),
    );
    expect(tl.rows).toHaveLength(1);
    expect(tl.rows[0]!.bars.map((b) => [b.kind, b.start, b.end, b.physicalId])).toEqual([
      ['replace', 5, 1000, 'i-new'],
      ['cleanup', 1002, 1400, 'i-old'],
    ]);
    expect(tl.phases.map((p) => p.label)).toEqual(['update', 'cleanup']);
  });

  test('a failed create marks the failing resource with its reason; the rollback deletes are rollback bars', () => {
    const tl = timeline(
      events([
        [0, 'web', 'CREATE_IN_PROGRESS'],
        [1, 'Sg', 'CREATE_IN_PROGRESS'],
        [100, 'Sg', 'CREATE_COMPLETE', undefined, 'sg-1'],
        [101, 'Web', 'CREATE_IN_PROGRESS'],
        [300, 'Web', 'CREATE_FAILED', 'image kiln-test/nope:1 not found'],
        [301, 'web', 'ROLLBACK_IN_PROGRESS', 'The following resource(s) failed to create: [Web]. Rollback requested by user.'],
        [302, 'Sg', 'DELETE_IN_PROGRESS', undefined, 'sg-1'],
        [400, 'Sg', 'DELETE_COMPLETE', undefined, 'sg-1'],
        [401, 'web', 'ROLLBACK_COMPLETE'],
      ]),
    );
    const web = tl.rows.find((r) => r.logicalId === 'Web')!;
    expect(web.failed).toEqual({ status: 'CREATE_FAILED', reason: 'image kiln-test/nope:1 not found' });
    expect(web.bars[0]).toMatchObject({ kind: 'create', status: 'CREATE_FAILED', reason: 'image kiln-test/nope:1 not found' });
    expect(tl.rows.find((r) => r.logicalId === 'Sg')!.bars.map((b) => b.kind)).toEqual(['create', 'rollback']);
    expect(tl.phases.map((p) => p.label)).toEqual(['create', 'rollback']);
    const svg = ganttSvg(tl);
    expect(svg).toContain('CREATE_FAILED: image kiln-test/nope:1 not found');
    expect(svg).toMatch(/class="rowbg failed"/);
  });

  test('a cancelled sibling is not the failure shown', () => {
    const tl = timeline(
      events([
        [0, 'web', 'CREATE_IN_PROGRESS'],
        [1, 'Web', 'CREATE_IN_PROGRESS'],
        [2, 'Sg', 'CREATE_IN_PROGRESS'],
        [10, 'Sg', 'CREATE_FAILED', 'boom'],
        [11, 'Web', 'CREATE_FAILED', 'Resource creation cancelled'],
      ]),
    );
    expect(tl.rows.find((r) => r.logicalId === 'Web')!.failed).toBeUndefined();
    expect(tl.rows.find((r) => r.logicalId === 'Sg')!.failed?.reason).toBe('boom');
  });

  test('a step still running stays open until now', () => {
    const evs = events([
      [0, 'web', 'CREATE_IN_PROGRESS'],
      [10, 'Web', 'CREATE_IN_PROGRESS'],
    ]);
    const tl = timeline(evs, Date.parse(evs[0]!.timestamp) + 5000);
    expect(tl.rows[0]!.bars[0]).toMatchObject({ open: true, end: 5000 });
    expect(tl.span).toBe(5000);
  });

  test('text from events is escaped in the chart', () => {
    const tl = timeline(
      events([
        [0, 'Web', 'CREATE_IN_PROGRESS'],
        [5, 'Web', 'CREATE_FAILED', '<img src=x onerror=alert(1)> & "quoted"'],
      ]),
    );
    const svg = ganttSvg(tl);
    expect(svg).not.toContain('<img');
    expect(svg).toContain('&lt;img src=x onerror=alert(1)&gt; &amp; &quot;quoted&quot;');
  });
});
