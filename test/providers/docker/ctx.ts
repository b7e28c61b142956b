// A tiny in-memory ResourceContext for provider tests: a "world" of stacks whose resources handlers
// can look up by physical id, plus cleanup of everything a test stack made, by label and by name,
// and small helpers (a shell in a container, an HTTP GET with busybox nc, a test image build).
import { randomBytes } from 'node:crypto';
import { EventLog } from '../../../src/core/events.js';
import { client, docker, removeByLabels } from '../../docker.js';
import { LABELS } from '../../../src/docker/client.js';
import { packTar } from '../../../src/image/builders/tar.js';
import type { JsonObject } from '../../../src/stack/model.js';
import type { KnownResource, ProviderEvent, ResourceState } from '../../../src/model/provider.js';
import { LocalState, type DockerContext, type DockerHandler } from '../../../src/providers/docker/context.js';
import { listVpcNamespaces, run } from '../../../src/providers/docker/network.js';

export class World {
  readonly stacks = new Map<string, TestStack>();
  readonly events = new EventLog<ProviderEvent>();
  /** One provider's client and bookkeeping, shared by every stack of the world. */
  readonly docker = client;
  readonly local = new LocalState();

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

  ctx(logicalId: string, type: string, signal: AbortSignal = new AbortController().signal): DockerContext {
    return {
      docker: this.world.docker,
      local: this.world.local,
      stack: this.name,
      logicalId,
      type,
      deployment: this.deployment,
      signal,
      events: this.world.events,
      lookup: (id) => this.world.lookup(id),
      resources: (stack) => [...(stack ? (this.world.stacks.get(stack)?.live.values() ?? []) : this.live.values())],
      allResources: () => [...this.world.stacks.values()].flatMap((s) => [...s.live.values()]),
    };
  }

  /** Creates a resource with its handler and records it as live. */
  async create(handler: DockerHandler, logicalId: string, props: JsonObject): Promise<ResourceState> {
    const state = await handler.create(this.ctx(logicalId, handler.type), props);
    this.live.set(logicalId, { stack: this.name, logicalId, type: handler.type, properties: props, state });
    return state;
  }

  async update(handler: DockerHandler, logicalId: string, props: JsonObject): Promise<ResourceState> {
    const prev = this.get(logicalId);
    if (!handler.update) throw new Error(`${handler.type} has no update`);
    const state = await handler.update(this.ctx(logicalId, handler.type), props, { props: prev.properties, state: prev.state });
    this.live.set(logicalId, { ...prev, properties: props, state });
    return state;
  }

  async delete(handler: DockerHandler, logicalId: string): Promise<void> {
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

/** Runs `sh -c script` in a container; returns exit code and combined output. */
export async function sh(containerId: string, script: string): Promise<{ code: number; out: string }> {
  const d = await docker();
  const exec = await d.getContainer(containerId).exec({ Cmd: ['sh', '-c', script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve());
  });
  const info = await exec.inspect();
  const raw = Buffer.concat(chunks);
  const out: Buffer[] = [];
  for (let i = 0; i + 8 <= raw.length;) {
    const len = raw.readUInt32BE(i + 4);
    out.push(raw.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return { code: info.ExitCode ?? -1, out: Buffer.concat(out).toString() };
}

/** An HTTP GET over busybox nc from inside a container (busybox wget is broken in this image). */
export function httpGet(ip: string, port: number, path = '/index.html'): string {
  return `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} ${port}`;
}

/** Builds `tag` from busybox with a Dockerfile body; labelled for cleanup. Returns the image id. */
export async function buildTestImage(tag: string, dockerfile: string, labels: Record<string, string>): Promise<string> {
  const d = await docker();
  const tar = packTar([{ name: 'Dockerfile', type: 'file', mode: 0o644, data: Buffer.from(dockerfile) }]);
  const stream = (await d.buildImage(tar as unknown as NodeJS.ReadableStream, { t: tag, labels: JSON.stringify(labels), pull: false } as never)) as unknown as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) =>
    d.modem.followProgress(stream, (err: Error | null, res: Array<{ error?: string }>) =>
      err ? reject(err) : res.some((r) => r.error) ? reject(new Error(res.find((r) => r.error)?.error)) : resolve(),
    ),
  );
  return (await d.getImage(tag).inspect()).Id;
}

/** Removes images carrying `label=value` (tests only remove what they built). */
export async function removeImages(label: string, value: string): Promise<void> {
  const d = await docker();
  // all: also the intermediate images of a multi-stage build (their stages carry the label too);
  // newest first, so children go before their parents.
  const imgs = await d.listImages({ all: true, filters: JSON.stringify({ label: [`${label}=${value}`] }) });
  for (const i of imgs.sort((a, b) => b.Created - a.Created))
    await d
      .getImage(i.Id)
      .remove({ force: true })
      .catch(() => undefined);
}

/**
 * After a test that deployed through the engine: removes everything labelled for `stacks` (what
 * recovery would sweep, then anything else with the label), the images labelled `kiln.test=<label>`
 * and the test's state directory.
 */
export async function cleanupDeployed(stacks: string[], imageLabel: string, dir: string): Promise<void> {
  const { removeOrphans } = await import('../../../src/providers/docker/index.js');
  const { rmSync } = await import('node:fs');
  for (const s of stacks) {
    await removeOrphans(client, s, new Set()).catch(() => undefined);
    await removeByLabels({ [LABELS.stack]: s }).catch(() => undefined);
  }
  await removeImages('kiln.test', imageLabel);
  rmSync(dir, { recursive: true, force: true });
}
