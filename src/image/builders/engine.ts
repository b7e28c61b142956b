// A tiny Engine API client over the unix socket, for the cache-hit path: checking that an image
// exists and tagging it must not pay for loading dockerode. Build work uses dockerode.
import { request } from 'node:http';

export interface EngineResponse {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

function socketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return '/var/run/docker.sock';
}

export function engineRequest(method: string, path: string, body?: unknown): Promise<EngineResponse> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = request(
      {
        socketPath: socketPath(),
        method,
        path: `/v1.41${path}`,
        headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface ImageInfo {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Config?: { Labels?: Record<string, string> | null; User?: string; Env?: string[] | null } | null;
}

/** The image's inspect data, or undefined when the engine does not have it. */
export async function inspectImage(ref: string): Promise<ImageInfo | undefined> {
  const r = await engineRequest('GET', `/images/${encodeURIComponent(ref)}/json`);
  if (r.status === 404) return undefined;
  if (r.status !== 200) throw new Error(`inspect image ${ref}: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
  return JSON.parse(r.body.toString('utf8')) as ImageInfo;
}

export async function tagImage(id: string, repo: string, tag: string | undefined): Promise<void> {
  const q = new URLSearchParams({ repo, ...(tag ? { tag } : {}) });
  const r = await engineRequest('POST', `/images/${encodeURIComponent(id)}/tag?${q.toString()}`);
  if (r.status !== 201 && r.status !== 200) throw new Error(`tag ${id} as ${repo}${tag ? ':' + tag : ''}: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
}

export async function removeImage(id: string, force = false): Promise<boolean> {
  const r = await engineRequest('DELETE', `/images/${encodeURIComponent(id)}?force=${force ? 1 : 0}&noprune=0`);
  return r.status === 200;
}

export async function listImages(labels: Record<string, string>): Promise<Array<{ Id: string; RepoTags?: string[] | null; Labels?: Record<string, string> | null; Created: number }>> {
  const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => (v ? `${k}=${v}` : k)) });
  const r = await engineRequest('GET', `/images/json?all=1&filters=${encodeURIComponent(filters)}`);
  if (r.status !== 200) throw new Error(`list images: HTTP ${r.status}`);
  return JSON.parse(r.body.toString('utf8'));
}
