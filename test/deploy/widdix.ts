// What the widdix tests share: the corpus, deploying a template of it unchanged through the engine
// (with its Parent*Stack parameters), destroying, and counting what is left labelled for a stack.
import { expect } from 'vitest';
import { join } from 'node:path';
import { client } from '../docker.js';
import { LABELS } from '../../src/docker/client.js';
import type { Provider } from '../../src/model/provider.js';
import { EventLog } from '../../src/core/events.js';
import type { SqliteStackStore } from '../../src/state/stacks.js';
import { deployStack, destroyStack, type EngineEvent } from '../../src/deploy/index.js';
import { shared } from '../shared.js';

export const CORPUS = shared('corpus/cloudformation/widdix/templates');

/** Deploys and destroys widdix templates in `store` with `provider`. */
export function widdix(store: SqliteStackStore, provider: Provider) {
  /** Deploys `file` as `stack`, whatever the outcome: the result and the engine's events. */
  const attempt = async (stack: string, file: string, params: Record<string, string> = {}) => {
    const events = new EventLog<EngineEvent>();
    const result = await deployStack({ stack, store, provider, events, file: join(CORPUS, file), params });
    return { result, events: events.events };
  };
  return {
    attempt,
    /** Deploys `file` as `stack`, which must be created; its live resources. */
    async deploy(stack: string, file: string, params: Record<string, string> = {}) {
      const { result } = await attempt(stack, file, params);
      expect(result.finalStatus, `${file}: ${result.reason}`).toBe('CREATE_COMPLETE');
      return store.liveResources(stack);
    },
    async destroy(stack: string) {
      expect((await destroyStack({ stack, store, provider })).outcome, stack).toBe('complete');
    },
  };
}

/** Containers and networks that still carry the stack's label. */
export async function labelled(stack: string): Promise<number> {
  const filter = [`${LABELS.stack}=${stack}`];
  return (await client.listContainers({ all: true, labels: filter })).length + (await client.listNetworks({ labels: filter })).length;
}
