// Writing a picture to a file for the CLI: the chart of `kiln events --chart`. Failures are
// messages (a path that cannot be written is the user's to fix), never stack traces.
import { writeFileSync } from 'node:fs';
import { errorMessage } from '../core/errors.js';
import type { StackEvent, StackStore } from '../state/store.js';
import { timelinePage } from './pictures.js';
import { timeline } from './timeline.js';
import { duration } from './html.js';

/** The events of one deployment of `stack`: `deployment`, or the last one that has events. */
export function deploymentEvents(store: StackStore, stack: string, deployment?: string): { deployment: string; events: StackEvent[] } | undefined {
  if (deployment) {
    const events = store.events(stack, { deployment });
    return events.length ? { deployment, events } : undefined;
  }
  const all = store.events(stack, { all: true });
  const last = [...all].reverse().find((e) => e.deployment !== null)?.deployment;
  return last ? { deployment: last, events: all.filter((e) => e.deployment === last) } : undefined;
}

export function writeChart(store: StackStore, stack: string, file: string, deployment?: string): { ok: boolean; message: string } {
  const picked = deploymentEvents(store, stack, deployment);
  if (!picked) return { ok: false, message: deployment ? `stack ${stack} has no deployment ${deployment} (\`kiln history --stack ${stack}\` lists them)` : `stack ${stack} has no events to chart` };
  const html = timelinePage(picked.events, { stack });
  try {
    writeFileSync(file, html);
  } catch (e) {
    return { ok: false, message: `cannot write ${file}: ${errorMessage(e)}` };
  }
  const tl = timeline(picked.events);
  return {
    ok: true,
    message: `Wrote ${file}: deployment ${picked.deployment}, ${tl.rows.length} resource${tl.rows.length === 1 ? '' : 's'}, ${duration(tl.span)}${tl.status ? `, ${tl.status}` : ''}`,
  };
}
