// The service image (HAProxy + redis-server + memcached from Debian) is baked by kiln's own image
// engine from images/service.json and reused from the build cache afterwards.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docker, scope } from '../../docker.js';
import { execIn } from '../../../src/providers/docker/haproxy.js';
import { forgetServiceImage, serviceImage, serviceTemplatePath } from '../../../src/providers/docker/service-images.js';

const TEST = `svcimg-${process.pid}`;

describe('service image', () => {
  it('is baked from Debian packages by the image engine, then served from the build cache', async () => {
    const stateDir = process.env.KILN_HOME ?? mkdtempSync(join(tmpdir(), 'kiln-svc-'));
    expect(serviceTemplatePath()).toMatch(/images\/service\.json$/);
    const local = scope();
    const id = await serviceImage(local, 'load-balancer', { stateDir });
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Same process: memoised. New "process" (memo forgotten): the engine's cache answers, same id.
    expect(await serviceImage(local, 'redis', { stateDir })).toBe(id);
    forgetServiceImage(local);
    const t0 = Date.now();
    expect(await serviceImage(local, 'memcached', { stateDir })).toBe(id);
    expect(Date.now() - t0).toBeLessThan(15_000);
    // The packages are really there.
    const d = await docker();
    const c = await d.createContainer({ Image: id, Entrypoint: ['sleep'], Cmd: ['30'], Labels: { 'kiln.test': TEST } });
    try {
      await c.start();
      const r = await execIn(local.docker, c.id, ['sh', '-c', 'haproxy -v | head -n1; redis-server --version; memcached -V; command -v socat']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/HAProxy version 2\./);
      expect(r.stdout).toMatch(/Redis server v=7/);
      expect(r.stdout).toMatch(/memcached 1\./);
      expect(r.stdout).toMatch(/socat/);
    } finally {
      await c.remove({ force: true });
    }
  }, 600_000);
});
