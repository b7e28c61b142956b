// The Docker engine as tests see it: kiln's client (what the code under test is given), the same
// engine through dockerode for a test's own checks, and cleanup of what a test made (by label).
import type Dockerode from 'dockerode';
import { connectDocker, type DockerClient } from '../src/docker/client.js';
import type { EngineResponse, ImageInfo } from '../src/docker/engine.js';
import { LocalState, type DockerScope } from '../src/providers/docker/context.js';

/** kiln's client for the engine of DOCKER_HOST: what tests hand to the code under test. */
export const client: DockerClient = connectDocker();

/** A provider's worth of client and bookkeeping, for tests that call provider functions directly. */
export function scope(): DockerScope {
  return { docker: client, local: new LocalState() };
}

let raw: Promise<Dockerode> | undefined;

/** dockerode itself, for what a test checks on its own (the code under test never gets it). */
export function docker(): Promise<Dockerode> {
  return (raw ??= import('dockerode').then(({ default: Docker }) => new Docker()));
}

/** Removes every container and network carrying all of `labels` (containers first, forced). */
export async function removeByLabels(labels: Record<string, string>): Promise<{ containers: number; networks: number }> {
  const filter = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  const containers = await client.listContainers({ all: true, labels: filter });
  await Promise.all(containers.map((c) => client.removeContainer(c.Id, { force: true, volumes: true }).catch(() => undefined)));
  const networks = await client.listNetworks({ labels: filter });
  await Promise.all(networks.map((n) => client.removeNetwork(n.Id).catch(() => undefined)));
  return { containers: containers.length, networks: networks.length };
}

/** The image's inspect data, or undefined when the engine does not have it. */
export function inspectImage(ref: string): Promise<ImageInfo | undefined> {
  return client.engine.inspectImage(ref);
}

/** One raw Engine API request (tests look at and clean up what builds left). */
export function engineRequest(method: string, path: string, body?: unknown): Promise<EngineResponse> {
  return client.engine.request(method, path, body);
}

/** A JSON Engine API request that must succeed. */
export function engineJson<T>(method: string, path: string, body?: unknown): Promise<T> {
  return client.engine.json<T>(method, path, body);
}
