// A tiny in-memory ResourceContext for provider tests: a "world" of stacks whose resources handlers
// can look up by physical id, plus cleanup of everything a test stack made, by label and by name.
import { randomBytes } from 'node:crypto';
import { EventLog } from '../../../src/core/events.js';
import { removeByLabels, LABELS } from '../../../src/docker/client.js';
import type { JsonObject } from '../../../src/stack/model.js';
import type { KnownResource, ProviderEvent, ResourceContext, ResourceHandler, ResourceState } from '../../../src/providers/types.js';
import { listVpcNamespaces, run } from '../../../src/providers/docker/network.js';

export class World {
  readonly stacks = new Map<string, TestStack>();
  readonly events = new EventLog<ProviderEvent>();

  stack(name?: string): TestStack {
    const s = new TestStack(this, name ?? `t${randomBytes(4).toString('hex')}`);
    this.stacks.set(s.name, s);
    return s;
  }

  lookup(physicalId: string): KnownResource | undefined {
    for (const s of this.stacks.values()) for (const r of s.live.values()) if (r.state.physicalId === physicalId) return r;
    return undefined;
  }

  /** Removes every container, network and VPC namespace of every stack of this world. */
  async cleanup(): Promise<void> {
    for (const s of this.stacks.values()) await s.cleanup();
  }
}

export class TestStack {
  readonly live = new Map<string, KnownResource>();
  readonly deployment = `d${randomBytes(4).toString('hex')}`;
  constructor(
    readonly world: World,
    readonly name: string,
  ) {}

  ctx(logicalId: string, type: string, signal: AbortSignal = new AbortController().signal): ResourceContext {
    return {
      stack: this.name,
      logicalId,
      type,
      deployment: this.deployment,
      signal,
      events: this.world.events,
      lookup: (id) => this.world.lookup(id),
      resources: (stack) => [...(stack ? this.world.stacks.get(stack)?.live.values() ?? [] : this.live.values())],
    };
  }

  /** Creates a resource with its handler and records it as live. */
  async create(handler: ResourceHandler, logicalId: string, props: JsonObject): Promise<ResourceState> {
    const state = await handler.create(this.ctx(logicalId, handler.type), props);
    this.live.set(logicalId, { stack: this.name, logicalId, type: handler.type, properties: props, state });
    return state;
  }

  async update(handler: ResourceHandler, logicalId: string, props: JsonObject): Promise<ResourceState> {
    const prev = this.get(logicalId);
    if (!handler.update) throw new Error(`${handler.type} has no update`);
    const state = await handler.update(this.ctx(logicalId, handler.type), props, { props: prev.properties, state: prev.state });
    this.live.set(logicalId, { ...prev, properties: props, state });
    return state;
  }

  async delete(handler: ResourceHandler, logicalId: string): Promise<void> {
    const prev = this.get(logicalId);
    await handler.delete(this.ctx(logicalId, handler.type), prev.state, prev.properties);
    this.live.delete(logicalId);
  }

  get(logicalId: string): KnownResource {
    const r = this.live.get(logicalId);
    if (!r) throw new Error(`no live resource ${logicalId}`);
    return r;
  }

  async cleanup(): Promise<void> {
    await removeByLabels({ [LABELS.stack]: this.name });
    for (const ns of await listVpcNamespaces(this.name)) await run('ip', ['netns', 'delete', ns.name]).catch(() => undefined);
  }
}
