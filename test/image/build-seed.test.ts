// The seed example's image: examples/seed/image.json built with -only=local on debian:bookworm,
// then run: its /cgi-bin/health answers as examples/seed/README.md says. Its HCL2 twin
// (image.pkr.hcl) then reuses that build from the cache.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { workspace, type Workspace } from './build-helpers.js';
import { engineJson, engineRequest } from '../docker.js';

const seed = resolve(__dirname, '../../examples/seed/image.json');
const seedHcl = resolve(__dirname, '../../examples/seed/image.pkr.hcl');
let ws: Workspace;
let version: string;
beforeAll(() => {
  ws = workspace('seed');
  version = `kt${ws.testId.split('-')[1]}`;
});
afterAll(async () => {
  await engineRequest('DELETE', `/images/${encodeURIComponent(`seed/web:${version}`)}?force=1`);
  await ws.cleanup();
});

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = request(url, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('error', rej);
    req.setTimeout(3000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

describe('examples/seed/image.json', () => {
  it('builds with -only=local and the image serves /cgi-bin/health', async () => {
    const r = await ws.kiln(['-only=local', '-var', `app_version=${version}`, seed]);
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toContain(`--> local: Imported Docker image: seed/web:${version}`);
    const manifest = JSON.parse(readFileSync(join(ws.dir, 'manifest.json'), 'utf8'));
    expect(manifest.builds[0]).toMatchObject({ name: 'local', builder_type: 'docker', artifact_id: `seed/web:${version}` });

    const c = await engineJson<{ Id: string }>('POST', '/containers/create', { Image: `seed/web:${version}`, Labels: { 'kiln.test': ws.testId } });
    await engineJson('POST', `/containers/${c.Id}/start`);
    const info = await engineJson<{ NetworkSettings: { IPAddress: string }; Config: { Labels: Record<string, string> } }>('GET', `/containers/${c.Id}/json`);
    expect(info.Config.Labels['org.example.app-version']).toBe(version);
    let health: { status: number; body: string } | undefined;
    for (let i = 0; i < 50 && !health; i++) {
      health = await get(`http://${info.NetworkSettings.IPAddress}/cgi-bin/health`).catch(() => undefined);
      if (!health) await new Promise((r) => setTimeout(r, 100));
    }
    expect(health).toEqual({ status: 200, body: 'ok\n' });
    const index = await get(`http://${info.NetworkSettings.IPAddress}/index.html`);
    expect(index.status).toBe(200);

    // Unchanged inputs build nothing.
    const again = await ws.kiln(['-only=local', '-var', `app_version=${version}`, seed]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Reusing the cached image');
    expect(again.out).not.toContain('apt-get');

    // Its HCL2 twin (examples/seed/image.pkr.hcl) is the same build: same key, so the JSON build's
    // cache entry is reused and nothing is baked.
    const twin = await ws.kiln(['-only=docker.local', '-var', `app_version=${version}`, seedHcl]);
    expect(twin.code, twin.out + twin.err).toBe(0);
    expect(twin.out).toContain('Reusing the cached image');
    expect(twin.out).not.toContain('apt-get');
    expect(twin.out).toContain(`--> docker.local: Imported Docker image: seed/web:${version}`);
    const m2 = JSON.parse(readFileSync(join(ws.dir, 'manifest.json'), 'utf8'));
    expect(m2.builds[m2.builds.length - 1]).toMatchObject({ name: 'local', builder_type: 'docker', artifact_id: `seed/web:${version}` });
  }, 600_000);
});
