// Live progress of a stack operation. On a terminal: one line per resource (status, elapsed time,
// reason on failure) redrawn in place under the stack's status. Piped: one plain line per event.
// It only renders EngineEvents; the engine never prints.
import type { CliIO } from '../io.js';
import type { EngineEvent } from '../../exec/events.js';
import type { StackEvent } from '../../state/store.js';

function colorOf(status: string): string {
  if (status.endsWith('_FAILED') || status.startsWith('ROLLBACK') || status.startsWith('UPDATE_ROLLBACK')) return '31';
  if (status.endsWith('_COMPLETE') || status === 'DELETE_SKIPPED') return '32';
  return '33';
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

export class ProgressView {
  private readonly rows = new Map<string, { type: string; status: string; started: number; ended?: number; reason?: string; physicalId?: string }>();
  private stackStatus = '';
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  private readonly live: boolean;
  readonly failures: string[] = [];

  constructor(
    private readonly io: CliIO,
    private readonly opts: { now?: () => number } = {},
  ) {
    this.live = io.stderrIsTTY;
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : Date.now();
  }

  private paint(code: string, s: string): string {
    return this.io.color ? `\x1b[${code}m${s}\x1b[0m` : s;
  }

  emit(e: EngineEvent): void {
    if (e.kind === 'notice') {
      this.clear();
      this.io.err(`${e.message}\n`);
      this.draw();
      return;
    }
    if (e.kind === 'provider') {
      if (!this.live) this.io.err(`  ${e.event.logicalId}: ${e.event.message}\n`);
      return;
    }
    if (e.kind === 'deviation') {
      this.clear();
      this.io.err(`${e.logicalId}: stopped: the plan says ${e.planned}, reality needs ${e.needed === 'create' ? 'a create' : 'a replacement'} (${e.reason}); rolling back — plan again\n`);
      this.draw();
      return;
    }
    this.onStackEvent(e.event);
  }

  private onStackEvent(ev: StackEvent): void {
    if (ev.type === 'AWS::CloudFormation::Stack') this.stackStatus = ev.status;
    else {
      const r = this.rows.get(ev.logicalId);
      const inProgress = ev.status.endsWith('_IN_PROGRESS');
      if (!r || (inProgress && r.ended !== undefined)) this.rows.set(ev.logicalId, { type: ev.type, status: ev.status, started: this.now(), ...(ev.physicalId ? { physicalId: ev.physicalId } : {}) });
      else {
        r.status = ev.status;
        if (ev.physicalId) r.physicalId = ev.physicalId;
        if (!inProgress) r.ended = this.now();
        if (ev.reason) r.reason = ev.reason;
      }
      if (ev.status.endsWith('_FAILED') && ev.reason && !/cancelled/.test(ev.reason)) this.failures.push(`${ev.logicalId}: ${ev.reason}`);
    }
    if (!this.live) {
      const t = ev.timestamp.slice(11, 19);
      this.io.err(`${t}  ${ev.logicalId.padEnd(24)} ${ev.status.padEnd(28)} ${ev.physicalId && ev.type !== 'AWS::CloudFormation::Stack' ? ev.physicalId : ''}${ev.reason ? `  ${ev.reason}` : ''}\n`);
      return;
    }
    this.clear();
    this.draw();
    if (!this.timer && this.stackStatus.endsWith('_IN_PROGRESS')) {
      this.timer = setInterval(() => {
        this.clear();
        this.draw();
      }, 500);
      this.timer.unref();
    }
  }

  private clear(): void {
    if (!this.live || this.drawn === 0) return;
    this.io.err(`\x1b[${this.drawn}A\x1b[0J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.live || !this.stackStatus) return;
    const lines = [`${this.paint('1', 'Stack')} ${this.paint(colorOf(this.stackStatus), this.stackStatus)}`];
    const w = Math.max(8, ...[...this.rows.keys()].map((k) => k.length));
    for (const [id, r] of this.rows) {
      const elapsed = secs((r.ended ?? this.now()) - r.started);
      lines.push(`  ${id.padEnd(w)}  ${this.paint(colorOf(r.status), r.status.padEnd(22))} ${elapsed.padStart(6)}${r.reason && r.status.endsWith('FAILED') ? `  ${r.reason}` : ''}`);
    }
    this.io.err(lines.join('\n') + '\n');
    this.drawn = lines.length;
  }

  /** Stops the redraw timer and leaves the last frame on screen (once: later calls do nothing). */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    if (this.live) {
      this.clear();
      this.draw();
      this.drawn = 0;
    }
  }
}
