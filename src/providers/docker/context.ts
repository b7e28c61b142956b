// What a local handler works with besides the executor's context: the Docker client the provider was
// made with, and the provider instance's own bookkeeping (`LocalState`: addresses handed out to
// launches in flight, the packet filters it loaded, load balancers being changed…). Both belong to
// one provider: two providers in one process (two tests, two engines) share nothing.
import type { DockerClient } from '../../docker/client.js';
import type { ResourceContext, ResourceHandler } from '../../model/provider.js';

/**
 * One object of each kind of bookkeeping, made on first use and kept for the provider's life. A
 * module that needs memory between calls declares a class for it and asks `local.of(ThatClass)`.
 */
export class LocalState {
  private readonly parts = new Map<new () => object, object>();

  of<T extends object>(kind: new () => T): T {
    let part = this.parts.get(kind);
    if (!part) this.parts.set(kind, (part = new kind()));
    return part as T;
  }
}

/** The Docker client and the provider's bookkeeping: what every function that touches the engine gets. */
export interface DockerScope {
  readonly docker: DockerClient;
  readonly local: LocalState;
}

/** The context local handlers receive. */
export interface DockerContext extends ResourceContext, DockerScope {}

export type DockerHandler = ResourceHandler<DockerContext>;

/** `handler` as the executor calls it: every call gets the scope's client and bookkeeping. */
export function bindHandler(handler: DockerHandler, scope: DockerScope): ResourceHandler {
  const at = (ctx: ResourceContext): DockerContext => ({ ...ctx, docker: scope.docker, local: scope.local });
  const { update, read, waitReady, prepare, diff, snapshot, planNote } = handler;
  return {
    type: handler.type,
    effect: handler.effect,
    create: (ctx, props) => handler.create(at(ctx), props),
    delete: (ctx, state, props) => handler.delete(at(ctx), state, props),
    ...(update ? { update: (ctx, props, previous) => update.call(handler, at(ctx), props, previous) } : {}),
    ...(read ? { read: (ctx, state, props) => read.call(handler, at(ctx), state, props) } : {}),
    ...(waitReady ? { waitReady: (ctx, state, props) => waitReady.call(handler, at(ctx), state, props) } : {}),
    ...(snapshot ? { snapshot: (ctx, state, props) => snapshot.call(handler, at(ctx), state, props) } : {}),
    ...(diff ? { diff: (oldProps, newProps) => diff.call(handler, oldProps, newProps) } : {}),
    ...(planNote ? { planNote: (props) => planNote.call(handler, props) } : {}),
    ...(prepare ? { prepare: { without: prepare.without, run: (ctx, props) => prepare.run(at(ctx), props), discard: (ctx) => prepare.discard(at(ctx)) } } : {}),
  };
}
