// The one place that connects to the Docker engine. Everything else receives a Docker client, so
// tests can point it at the real engine and nothing reaches for a global.
import type Dockerode from 'dockerode';
import { KilnError } from '../core/errors.js';

/** Labels carried by every Docker object kiln creates (containers, networks, images, volumes). */
export const LABELS = {
  managed: 'kiln.managed', // always "true"
  stack: 'kiln.stack',
  resource: 'kiln.resource', // logical id
  deployment: 'kiln.deployment',
  build: 'kiln.build', // build key of an image or of a build container
  kind: 'kiln.kind', // e.g. "build-container", "intermediate", "artifact", "instance", "load-balancer"
  test: 'kiln.test', // set by tests, so a test run can clean up exactly what it made
} as const;

let cached: Dockerode | undefined;

/** The Docker client for DOCKER_HOST or the default unix socket (dockerode loads lazily: it is heavy). */
export async function docker(): Promise<Dockerode> {
  if (cached) return cached;
  const { default: Docker } = await import('dockerode');
  cached = new Docker();
  return cached;
}

/** Fails with a clear message when no engine answers. */
export async function pingDocker(d?: Dockerode): Promise<void> {
  const client = d ?? (await docker());
  try {
    await client.ping();
  } catch (e) {
    throw new KilnError(
      'DOCKER_UNREACHABLE',
      `no Docker engine answers (${(e as Error).message}); start one with \`bash scripts/ensure-docker.sh\` (installs Debian's docker.io when missing)`,
      'environment',
      { cause: e },
    );
  }
}

/** Label filter for the Engine API: `{ label: ['kiln.stack=web', ...] }`. */
export function labelFilter(labels: Record<string, string>): { label: string[] } {
  return { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
}

/** Removes every container and network carrying all of `labels` (containers first, forced). */
export async function removeByLabels(labels: Record<string, string>, d?: Dockerode): Promise<{ containers: number; networks: number }> {
  const client = d ?? (await docker());
  const filters = JSON.stringify(labelFilter(labels));
  const containers = await client.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      client
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const networks = await client.listNetworks({ filters });
  await Promise.all(
    networks.map((n) =>
      client
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
  return { containers: containers.length, networks: networks.length };
}
