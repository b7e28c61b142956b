// The progress view: plain lines when piped; redrawn in place on a terminal.
import { expect, test } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { ProgressView } from '../../src/cli/views/progress.js';
import type { StackEvent } from '../../src/state/store.js';

let id = 0;
const ev = (logicalId: string, status: string, reason: string | null = null, type = 'AWS::EC2::Instance'): StackEvent => ({
  id: ++id,
  stack: 'web',
  stackId: 's',
  deployment: 'd',
  timestamp: '2026-01-01T10:00:00.000Z',
  logicalId,
  physicalId: null,
  type,
  status: status as StackEvent['status'],
  reason,
});

test('piped: one plain line per event, reason included', () => {
  const io = memoryIO();
  const v = new ProgressView(io);
  v.emit({ kind: 'stack-event', event: ev('web', 'CREATE_IN_PROGRESS', 'User Initiated', 'AWS::CloudFormation::Stack') });
  v.emit({ kind: 'stack-event', event: ev('Web', 'CREATE_FAILED', 'image not found') });
  v.stop();
  expect(io.stderr.split('\n').filter(Boolean)).toEqual([
    expect.stringMatching(/^10:00:00  web\s+CREATE_IN_PROGRESS\s+User Initiated$/),
    expect.stringMatching(/^10:00:00  Web\s+CREATE_FAILED\s+image not found$/),
  ]);
  expect(io.stderr).not.toContain('\x1b[');
  expect(v.failures).toEqual(['Web: image not found']);
});

test('on a terminal: the table is redrawn in place with elapsed time and the failure reason', () => {
  const io = memoryIO({ tty: true });
  let now = 0;
  const v = new ProgressView(io, { now: () => now });
  v.emit({ kind: 'stack-event', event: ev('web', 'CREATE_IN_PROGRESS', null, 'AWS::CloudFormation::Stack') });
  v.emit({ kind: 'stack-event', event: ev('Web', 'CREATE_IN_PROGRESS') });
  now = 2500;
  v.emit({ kind: 'stack-event', event: ev('Web', 'CREATE_FAILED', 'image not found') });
  v.stop();
  expect(io.stderr).toContain('\x1b[2A\x1b[0J'); // cursor up over the previous frame, clear
  const lastFrame = io.stderr.split('\x1b[0J').pop()!;
  expect(lastFrame).toMatch(/Web\s+CREATE_FAILED\s+2\.5s  image not found/);
});

test('on a terminal: stopping twice leaves one final frame (nothing printed after the outputs)', () => {
  const io = memoryIO({ tty: true });
  const v = new ProgressView(io, { now: () => 0 });
  v.emit({ kind: 'stack-event', event: ev('web', 'CREATE_COMPLETE', null, 'AWS::CloudFormation::Stack') });
  v.stop();
  const after = io.stderr.length;
  v.stop();
  expect(io.stderr.length).toBe(after);
});
