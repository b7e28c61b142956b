// The Engine API spoken directly over the engine's unix socket, for the image engine: checking that
// an image exists and tagging it must not pay for loading dockerode (250–500 ms: it pulls in gRPC,
// protobuf and ssh2, more than Packer's whole build step budget), and builds stream tars and exec
// output. One `EngineApi` per engine; it reaches the engine only through the socket it was given.
import type { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { KilnError } from '../core/errors.js';

export interface EngineResponse {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

/** The engine's unix socket for DOCKER_HOST (or the default one); other transports are refused. */
export function socketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (!host) return '/var/run/docker.sock';
  if (host.startsWith('unix://')) return host.slice('unix://'.length);
  throw new KilnError(
    'DOCKER_HOST_UNSUPPORTED',
    `DOCKER_HOST=${host}: kiln's image engine talks to a local engine over its unix socket (unix:///path); unset DOCKER_HOST or point it at a unix socket`,
    'environment',
  );
}

function parseResponse(raw: Buffer, headOnly: boolean): EngineResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`malformed response from the Docker engine (${raw.length} bytes)`);
  const lines = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = headOnly ? Buffer.alloc(0) : raw.subarray(end + 4);
  if (!headOnly && /chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    let off = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', off);
      if (eol < 0) break;
      const size = parseInt(body.subarray(off, eol).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(eol + 2, eol + 2 + size));
      off = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else if (!headOnly && headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status, body, headers };
}

export interface ImageInfo {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Parent?: string;
  Size?: number;
  Config?: {
    Labels?: Record<string, string> | null;
    User?: string;
    Env?: string[] | null;
    Entrypoint?: string[] | string | null;
    Cmd?: string[] | string | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object> | null;
  } | null;
}

interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  Labels?: Record<string, string> | null;
  Created: number;
}

/** A request the engine answered with an error status. */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'EngineError';
  }
}

/** The engine's own message in an error body (`{"message": …}`), or the raw text. */
export function engineMessage(r: EngineResponse): string {
  const text = r.body.toString('utf8').trim();
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text;
  }
}

interface CommitOptions {
  changes?: string[];
  author?: string;
  comment?: string;
  pause?: boolean;
}

export class EngineApi {
  /** @param socket the engine's unix socket, or a function giving it (resolved at the first request). */
  constructor(private readonly socket: string | (() => string)) {}

  /** The socket path (a DOCKER_HOST kiln cannot use fails here, at first use). */
  path(): string {
    return typeof this.socket === 'string' ? this.socket : this.socket();
  }

  /**
   * One request with a small JSON (or empty) body, over a raw socket: loading node:http costs more
   * than the whole request on the cache-hit path. Handles Content-Length, chunked and
   * close-delimited bodies; streaming endpoints use node:http (below).
   */
  request(method: string, path: string, body?: unknown): Promise<EngineResponse> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body));
      const head =
        `${method} /v1.41${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n` + (body === undefined ? '' : `Content-Type: application/json\r\n`) + `Content-Length: ${payload.length}\r\n\r\n`;
      const sock = connect(this.path());
      const chunks: Buffer[] = [];
      sock.on('connect', () => sock.end(Buffer.concat([Buffer.from(head, 'latin1'), payload])));
      sock.on('data', (c: Buffer) => chunks.push(c));
      sock.on('error', reject);
      sock.on('close', () => {
        try {
          resolve(parseResponse(Buffer.concat(chunks), method === 'HEAD'));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  /** A JSON request that must succeed (2xx); the parsed body, or undefined when empty. */
  async json<T>(method: string, path: string, body?: unknown, what = `${method} ${path}`): Promise<T> {
    const r = await this.request(method, path, body);
    if (r.status < 200 || r.status >= 300) throw new EngineError(r.status, `${what}: ${engineMessage(r)} (HTTP ${r.status})`);
    return (r.body.length ? JSON.parse(r.body.toString('utf8')) : undefined) as T;
  }

  /** Streams a request body (a tar) to the engine; resolves with the response. */
  async upload(method: string, path: string, data: Buffer | NodeJS.ReadableStream, contentType = 'application/x-tar'): Promise<EngineResponse> {
    const request = await httpModule();
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { 'content-type': contentType };
      if (Buffer.isBuffer(data)) headers['content-length'] = data.length;
      else headers['transfer-encoding'] = 'chunked';
      const req = request({ socketPath: this.path(), method, path: `/v1.41${path}`, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (Buffer.isBuffer(data)) req.end(data);
      else data.pipe(req);
    });
  }

  /** A GET whose body is streamed to `onChunk` (archive downloads, container export, image save). */
  async download(path: string, onChunk: (c: Buffer) => void): Promise<number> {
    const request = await httpModule();
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.path(), method: 'GET', path: `/v1.41${path}` }, (res) => {
        const status = res.statusCode ?? 0;
        res.on('data', (c: Buffer) => (status === 200 ? onChunk(c) : undefined));
        res.on('end', () => resolve(status));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * Starts an exec and streams its output (the multiplexed raw stream: 8-byte frame headers, stream
   * 1 = stdout, 2 = stderr; with a TTY the bytes come unframed as stdout). Resolves when it ends.
   */
  async execStream(execId: string, tty: boolean, onData: (stream: 'stdout' | 'stderr', chunk: Buffer) => void, signal?: AbortSignal): Promise<void> {
    const request = await httpModule();
    return new Promise((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify({ Detach: false, Tty: tty }));
      const req = request(
        { socketPath: this.path(), method: 'POST', path: `/v1.41/exec/${execId}/start`, headers: { 'content-type': 'application/json', 'content-length': payload.length } },
        (res) => {
          if ((res.statusCode ?? 0) >= 300) {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => reject(new EngineError(res.statusCode ?? 0, `exec start: ${Buffer.concat(chunks).toString('utf8').trim()}`)));
            return;
          }
          let pending: Buffer = Buffer.alloc(0);
          res.on('data', (c: Buffer) => {
            if (tty) return onData('stdout', c);
            pending = pending.length ? Buffer.concat([pending, c]) : c;
            while (pending.length >= 8) {
              const size = pending.readUInt32BE(4);
              if (pending.length < 8 + size) break;
              const kind = pending[0] === 2 ? 'stderr' : 'stdout';
              onData(kind, pending.subarray(8, 8 + size));
              pending = pending.subarray(8 + size);
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
        },
      );
      const onAbort = (): void => {
        req.destroy();
        reject(signal?.reason ?? new Error('aborted'));
      };
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        req.on('close', () => signal.removeEventListener('abort', onAbort));
      }
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The image's inspect data, or undefined when the engine does not have it. */
  async inspectImage(ref: string): Promise<ImageInfo | undefined> {
    const r = await this.request('GET', `/images/${encodeURIComponent(ref)}/json`);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new EngineError(r.status, `inspect image ${ref}: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
    return JSON.parse(r.body.toString('utf8')) as ImageInfo;
  }

  /** Tags `id` as repo[:tag]; a tag that already names that image is left alone (no engine write). */
  async tagImage(id: string, repo: string, tag: string | undefined): Promise<void> {
    const current = await this.inspectImage(tag ? `${repo}:${tag}` : repo);
    if (current && (current.Id === id || (current.RepoTags ?? []).includes(id))) return;
    const q = new URLSearchParams({ repo, ...(tag ? { tag } : {}) });
    const r = await this.request('POST', `/images/${encodeURIComponent(id)}/tag?${q.toString()}`);
    if (r.status !== 201 && r.status !== 200) throw new EngineError(r.status, `tag ${id} as ${repo}${tag ? ':' + tag : ''}: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
  }

  /** Removes an image (its untagged parents too); the engine's answer, for callers that judge it. */
  removeImage(id: string, force = false): Promise<EngineResponse> {
    return this.request('DELETE', `/images/${encodeURIComponent(id)}?force=${force ? 1 : 0}&noprune=0`);
  }

  /** Images carrying every label (`k=v`, or `k` for any value), intermediate ones included. */
  async listImages(labels: Record<string, string>): Promise<ImageSummary[]> {
    const filters = JSON.stringify({ label: Object.entries(labels).map(([k, v]) => (v ? `${k}=${v}` : k)) });
    const r = await this.request('GET', `/images/json?all=1&filters=${encodeURIComponent(filters)}`);
    if (r.status !== 200) throw new EngineError(r.status, `list images: HTTP ${r.status}`);
    return JSON.parse(r.body.toString('utf8')) as ImageSummary[];
  }

  /**
   * `docker import`: a root file system tar streamed into POST /images/create?fromSrc=-. Resolves
   * with the engine's answer (a progress stream whose last status is the new image id, or an error).
   */
  importImage(tar: NodeJS.ReadableStream, o: { repo: string; tag?: string; changes?: string[] }): Promise<EngineResponse> {
    const q = new URLSearchParams({ fromSrc: '-', repo: o.repo, ...(o.tag ? { tag: o.tag } : {}) });
    for (const c of o.changes ?? []) q.append('changes', c);
    return this.upload('POST', `/images/create?${q.toString()}`, tar);
  }

  /** `docker save`: the image's archive written to the stream `open` gives (opened only when the engine has it); the engine's status (200: saved). */
  async saveImage(ref: string, open: () => NodeJS.WritableStream): Promise<number> {
    const request = await httpModule();
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.path(), method: 'GET', path: `/v1.41/images/${encodeURIComponent(ref)}/get` }, (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          res.resume();
          return resolve(status);
        }
        const to = open();
        res.pipe(to);
        to.on('finish', () => resolve(status));
        to.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** `docker commit`: the new image's id. */
  async commitContainer(id: string, o: CommitOptions): Promise<string> {
    const q = new URLSearchParams({ container: id, pause: o.pause === false ? '0' : '1' });
    for (const c of o.changes ?? []) q.append('changes', c);
    if (o.author) q.set('author', o.author);
    if (o.comment) q.set('comment', o.comment);
    const r = await this.json<{ Id: string }>('POST', `/commit?${q.toString()}`, undefined, 'commit the container');
    return r.Id;
  }
}

/** node:http, loaded only by the streaming calls (builds), never on the cache-hit path. */
async function httpModule(): Promise<typeof httpRequest> {
  return (await import('node:http')).request;
}
