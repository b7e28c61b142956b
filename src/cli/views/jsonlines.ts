// `--json` for commands that run a stack operation: one JSON object per line on stdout, as things
// happen (the plan, every status change, provider progress and warnings), then the result. Meant for
// CI and scripts (`jq`), so nothing else goes to stdout. Values arrive masked (NoEcho) from the engine.
import type { CliIO } from '../io.js';
import type { EngineEvent } from '../../exec/events.js';
import type { EventSink } from '../../core/events.js';

export class JsonLinesView implements EventSink<EngineEvent> {
  constructor(private readonly io: CliIO) {}

  line(obj: Record<string, unknown>): void {
    this.io.out(`${JSON.stringify(obj)}\n`);
  }

  emit(e: EngineEvent): void {
    if (e.kind === 'stack-event') {
      const { timestamp, logicalId, physicalId, type, status, reason } = e.event;
      this.line({ kind: 'stack-event', timestamp, logicalId, physicalId, type, status, ...(reason ? { reason } : {}) });
    } else if (e.kind === 'provider') this.line({ kind: e.event.kind, logicalId: e.event.logicalId, message: e.event.message });
    else if (e.kind === 'deviation') this.line({ kind: 'deviation', logicalId: e.logicalId, planned: e.planned, needed: e.needed, reason: e.reason });
    else this.line({ kind: 'notice', message: e.message });
  }
}
