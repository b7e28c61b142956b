// The images behind kiln's own service containers (load balancers, Redis, memcached): one image with
// Debian's haproxy, redis-server and memcached packages, baked from `images/service.json` by kiln's
// image engine like any user image — so it is built once, cached by its content key (template bytes,
// base image digest…) and rebuilt only when the template or the base changes.
import { KilnError } from '../../core/errors.js';
import type { EventSink } from '../../core/events.js';
import type { DockerClient } from '../../docker/client.js';
import type { DockerScope } from './context.js';
import { shippedPath } from './shipped.js';

export type ServiceRole = 'load-balancer' | 'redis' | 'memcached';

export interface ServiceImageOptions {
  stateDir?: string;
  /** Extra labels on whatever a build creates (tests). */
  labels?: Record<string, string>;
  events?: EventSink<{ kind: string }>;
  signal?: AbortSignal;
}

/** Path of the Packer template of the service image (in the package, next to `src`/`dist`). */
export function serviceTemplatePath(): string {
  return shippedPath('images/service.json', 'SERVICE_TEMPLATE_MISSING');
}

/** The provider's service image, once asked for. */
class ServiceImages {
  pending: Promise<string> | undefined;
}

/**
 * The image id (`sha256:…`) of the service image for a role, baked when missing. One bake per
 * provider at most; later calls (and later providers, through the build cache) reuse it.
 */
export function serviceImage(scope: DockerScope, _role: ServiceRole, opts: ServiceImageOptions = {}): Promise<string> {
  const memo = scope.local.of(ServiceImages);
  memo.pending ??= bake(scope.docker, opts).catch((e) => {
    memo.pending = undefined;
    throw e;
  });
  return memo.pending;
}

async function bake(docker: DockerClient, opts: ServiceImageOptions): Promise<string> {
  const { buildImages, ensureBaseImage } = await import('../../image/api.js');
  await ensureBaseImage(docker, 'debian:bookworm');
  const results = await buildImages({
    docker,
    templatePath: serviceTemplatePath(),
    only: ['local'],
    stateDir: opts.stateDir,
    labels: opts.labels,
    signal: opts.signal,
    events: opts.events as never,
  });
  const r = results[0];
  if (!r || !r.ok || !r.imageId) throw new KilnError('SERVICE_IMAGE_FAILED', `the service image (images/service.json) did not build: ${r?.error ?? 'no result'}`, 'environment');
  return r.imageId;
}

/** Forgets the memoised id (tests that remove the image). */
export function forgetServiceImage(scope: DockerScope): void {
  scope.local.of(ServiceImages).pending = undefined;
}
