// A test harness: a fresh state directory, the fake provider, every engine event collected, and
// deploy/destroy helpers that take a template as a plain object.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventLog } from '../../src/core/events.js';
import { FakeProvider } from '../../src/providers/fake/index.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import type { StackStore as StackStoreInterface } from '../../src/state/store.js';
import { deployStack, destroyStack, driftStack, planStack, type DeployOptions, type EngineEvent } from '../../src/deploy/index.js';

export function harness(opts: { file?: string; store?: StackStoreInterface } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-deploy-'));
  const store = opts.store ?? new StackStore(openState(dir));
  const provider = new FakeProvider(opts.file ? { file: opts.file } : {});
  const log = new EventLog<EngineEvent>();
  const common = { stack: 'demo', store, provider, events: log };
  return {
    dir,
    store,
    provider,
    log,
    deploy: (template: object, extra: Partial<DeployOptions> = {}) => deployStack({ ...common, file: 'template.json', text: JSON.stringify(template, null, 2), ...extra }),
    plan: (template: object, params?: Record<string, string>) => planStack({ ...common, file: 'template.json', text: JSON.stringify(template, null, 2), ...(params ? { params } : {}) }),
    /** The plan with its document (`kiln plan --out` / `--json`). */
    planDoc: (template: object, params?: Record<string, string>) =>
      planStack({ ...common, file: 'template.json', text: JSON.stringify(template, null, 2), document: true, ...(params ? { params } : {}) }),
    destroy: () => destroyStack(common),
    drift: () => driftStack(common),
    /** Resource events as `Logical STATUS` lines, in order. */
    statuses: (filter?: (e: { logicalId: string; status: string }) => boolean) =>
      log.events
        .filter((e): e is Extract<EngineEvent, { kind: 'stack-event' }> => e.kind === 'stack-event')
        .map((e) => e.event)
        .filter((e) => !filter || filter(e))
        .map((e) => `${e.logicalId} ${e.status}`),
    live: (id: string) => store.liveResources('demo').get(id),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export const fake = (props: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({ Type: 'Test::Fake::Resource', Properties: props, ...extra });
