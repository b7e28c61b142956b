// The engine never prints: it emits typed events and the CLI decides how to show them.

export interface EventSink<E> {
  emit(event: E): void;
}

/** Collects events in memory; handy in tests and for `--json` summaries. */
export class EventLog<E> implements EventSink<E> {
  readonly events: E[] = [];
  emit(event: E): void {
    this.events.push(event);
  }
}

/** Fans one event out to several sinks. */
export function tee<E>(...sinks: EventSink<E>[]): EventSink<E> {
  return { emit: (e) => sinks.forEach((s) => s.emit(e)) };
}

export const nullSink: EventSink<unknown> = { emit: () => undefined };
