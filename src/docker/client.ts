// kiln's Docker client: the one interface everything that talks to the Docker engine receives (the
// local provider and its handlers through their context, the image builders, `kiln gc`, the web
// UI). Nothing reaches for a process-wide client: whoever starts the work (the CLI, a test)
// connects once (`connectDocker`) and passes the client down.
//
// The methods are kiln's own, named for what kiln does, with Engine API shapes for the data (the
// fields kiln reads). `connectDocker` implements them with dockerode (loaded on first use: it costs
// 250–500 ms to load) and, for image look-ups and the image builders' streaming calls, with the
// small socket client of engine.ts, so a build that hits the cache never loads dockerode. Engine
// errors become `DockerError`s carrying the HTTP status.
import type Dockerode from 'dockerode';
import { KilnError, errorMessage } from '../core/errors.js';
import { EngineApi, EngineError, socketPath, type ImageInfo } from './engine.js';

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

/** A container as the engine lists it (the fields kiln reads). */
export interface ContainerSummary {
  Id: string;
  Names: string[];
  Labels: Record<string, string>;
  /** `running`, `exited`, `created`… */
  State: string;
}

/** A container as the engine inspects it (the fields kiln reads). */
export interface ContainerDetails {
  Id: string;
  Name: string;
  /** The image id (`sha256:…`). */
  Image: string;
  State: { Status: string; Running: boolean; Pid: number; ExitCode: number };
  Config: { User?: string; Labels?: Record<string, string> | null };
  HostConfig: { PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null; NanoCpus?: number; Memory?: number; Binds?: string[] | null };
  NetworkSettings?: { IPAddress?: string };
}

/** What kiln asks for when it creates a container (Engine API field names). */
export interface ContainerSpec {
  name?: string;
  Image: string;
  Hostname?: string;
  User?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, object>;
  HostConfig?: {
    NetworkMode?: string;
    PortBindings?: Record<string, Array<{ HostIp: string; HostPort: string }>>;
    CapDrop?: string[];
    Init?: boolean;
    NanoCpus?: number;
    Memory?: number;
    /** `volume:/path` mounts (named volumes). */
    Binds?: string[];
  };
}

/** A named volume as the engine lists it (the fields kiln reads). */
interface VolumeSummary {
  Name: string;
  Labels: Record<string, string> | null;
  CreatedAt?: string;
}

interface NetworkSummary {
  Id: string;
  Name: string;
  Labels?: Record<string, string>;
  IPAM?: { Config?: Array<{ Subnet?: string }> | null } | null;
}

interface NetworkSpec {
  Name: string;
  Driver?: string;
  CheckDuplicate?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; Gateway?: string }> };
  Options?: Record<string, string>;
  Labels?: Record<string, string>;
}

export type ImageDetails = ImageInfo;

/** A file changed in a container's file system since it started (`docker diff`). */
interface FileChange {
  path: string;
  kind: 'A' | 'C' | 'D';
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface DockerClient {
  /** Containers carrying every label (`k=v`, or `k` for any value); `all` includes stopped ones. */
  listContainers(q?: { all?: boolean; labels?: string[] }): Promise<ContainerSummary[]>;
  /** Creates (does not start) a container; its id. */
  createContainer(spec: ContainerSpec): Promise<string>;
  /** DockerError 404 when there is no such container. */
  inspectContainer(id: string): Promise<ContainerDetails>;
  startContainer(id: string): Promise<void>;
  /** Stops a container (a stopped one is left as it is), waiting `timeoutSeconds` before it kills. */
  stopContainer(id: string, o?: { timeoutSeconds?: number }): Promise<void>;
  killContainer(id: string, signal: string): Promise<void>;
  removeContainer(id: string, o?: { force?: boolean; volumes?: boolean }): Promise<void>;
  /** Changes CPU and memory limits. */
  updateContainer(id: string, limits: { NanoCpus?: number; Memory?: number; MemorySwap?: number }): Promise<void>;
  /** The last `tail` lines of the container's output. */
  containerLogs(id: string, tail: number): Promise<string>;
  /** Files changed in the container since it started. */
  containerChanges(id: string): Promise<FileChange[]>;
  /** Whether a path exists inside the container. */
  pathExists(id: string, path: string): Promise<boolean>;
  /** Unpacks a tar into the directory `dir` of the container. */
  putArchive(id: string, dir: string, tar: Buffer): Promise<void>;
  /** A tar of `path` in the container. */
  getArchive(id: string, path: string): Promise<Buffer>;
  /** Runs a command in a running container (no TTY) and collects its output; a KilnError EXEC_TIMEOUT after `timeoutMs`. */
  exec(id: string, cmd: string[], o?: { user?: string; timeoutMs?: number }): Promise<ExecResult>;

  /** Networks carrying every label, or named `name`; all of them without a query. */
  listNetworks(q?: { labels?: string[]; name?: string }): Promise<NetworkSummary[]>;
  /** Creates a network; its id. */
  createNetwork(spec: NetworkSpec): Promise<string>;
  removeNetwork(id: string): Promise<void>;

  /** Named volumes carrying every label of `labels` (`key=value`). */
  listVolumes(q: { labels?: string[] }): Promise<VolumeSummary[]>;
  createVolume(spec: { Name: string; Labels: Record<string, string> }): Promise<void>;
  removeVolume(name: string): Promise<void>;

  /** The image's inspect data, or undefined when the engine has no such image. */
  inspectImage(ref: string): Promise<ImageDetails | undefined>;

  /** The Engine API as the image engine speaks it (streamed uploads and exec output, commits, imports). */
  readonly engine: EngineApi;
}

/** The engine refused a request (`status`: its HTTP status, 0 when it did not answer). */
export class DockerError extends KilnError {
  constructor(
    readonly status: number,
    message: string,
    cause?: unknown,
  ) {
    super('DOCKER_API', message, 'environment', cause === undefined ? undefined : { cause });
  }

  /** The HTTP status of a DockerError or EngineError, else undefined. */
  static status(e: unknown): number | undefined {
    return e instanceof DockerError || e instanceof EngineError ? e.status : undefined;
  }
}

/** The engine's answer to a dockerode call that failed, as a DockerError (its message kept). */
function fromDockerode(e: unknown): DockerError {
  if (e instanceof DockerError) return e;
  const status = (e as { statusCode?: unknown }).statusCode;
  return new DockerError(typeof status === 'number' ? status : 0, errorMessage(e), e);
}

/** Connects to the engine of DOCKER_HOST (or the default unix socket). Nothing is loaded or dialled until the first call. */
export function connectDocker(env: NodeJS.ProcessEnv = process.env): DockerClient {
  return new LocalDocker(env);
}

class LocalDocker implements DockerClient {
  readonly engine: EngineApi;
  private dockerode: Promise<Dockerode> | undefined;

  constructor(private readonly env: NodeJS.ProcessEnv) {
    this.engine = new EngineApi(() => socketPath(env));
  }

  private client(): Promise<Dockerode> {
    return (this.dockerode ??= (async () => {
      const { default: Docker } = await import('dockerode');
      const host = this.env.DOCKER_HOST;
      if (!host) return new Docker({ socketPath: '/var/run/docker.sock' });
      if (host.startsWith('unix://')) return new Docker({ socketPath: host.slice('unix://'.length) });
      return new Docker(); // tcp:// and ssh:// as dockerode reads DOCKER_HOST
    })());
  }

  /** Runs a dockerode call; engine errors come out as DockerErrors. */
  private async call<T>(fn: (d: Dockerode) => Promise<T>): Promise<T> {
    const d = await this.client();
    try {
      return await fn(d);
    } catch (e) {
      throw fromDockerode(e);
    }
  }

  listContainers(q: { all?: boolean; labels?: string[] } = {}): Promise<ContainerSummary[]> {
    return this.call((d) => d.listContainers({ all: q.all ?? false, ...(q.labels ? { filters: JSON.stringify({ label: q.labels }) } : {}) }));
  }

  createContainer(spec: ContainerSpec): Promise<string> {
    return this.call(async (d) => (await d.createContainer(spec)).id);
  }

  inspectContainer(id: string): Promise<ContainerDetails> {
    return this.call((d) => d.getContainer(id).inspect() as Promise<ContainerDetails>);
  }

  startContainer(id: string): Promise<void> {
    return this.call(async (d) => void (await d.getContainer(id).start()));
  }

  async stopContainer(id: string, o: { timeoutSeconds?: number } = {}): Promise<void> {
    try {
      await this.call((d) => d.getContainer(id).stop(o.timeoutSeconds === undefined ? {} : { t: o.timeoutSeconds }));
    } catch (e) {
      if (DockerError.status(e) !== 304) throw e; // already stopped
    }
  }

  killContainer(id: string, signal: string): Promise<void> {
    return this.call(async (d) => void (await d.getContainer(id).kill({ signal })));
  }

  removeContainer(id: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return this.call(async (d) => void (await d.getContainer(id).remove({ force: o.force ?? false, v: o.volumes ?? false })));
  }

  updateContainer(id: string, limits: { NanoCpus?: number; Memory?: number; MemorySwap?: number }): Promise<void> {
    return this.call(async (d) => void (await d.getContainer(id).update(limits)));
  }

  containerLogs(id: string, tail: number): Promise<string> {
    return this.call(async (d) => String(await d.getContainer(id).logs({ stdout: true, stderr: true, tail })));
  }

  containerChanges(id: string): Promise<FileChange[]> {
    const kinds = ['C', 'A', 'D'] as const;
    return this.call(async (d) => (((await d.getContainer(id).changes()) ?? []) as Array<{ Path: string; Kind: number }>).map((c) => ({ path: c.Path, kind: kinds[c.Kind] ?? 'C' })));
  }

  async pathExists(id: string, path: string): Promise<boolean> {
    try {
      // HEAD /archive: dockerode hands back the response stream; destroy it or its socket keeps the
      // process alive (until the engine drops idle connections, minutes later).
      const res = await this.call((d) =>
        (d.getContainer(id) as unknown as { infoArchive(o: { path: string }): Promise<{ destroy?: () => void; resume?: () => void } | undefined> }).infoArchive({ path }),
      );
      res?.resume?.();
      res?.destroy?.();
      return true;
    } catch {
      return false;
    }
  }

  putArchive(id: string, dir: string, tar: Buffer): Promise<void> {
    return this.call(async (d) => void (await d.getContainer(id).putArchive(tar, { path: dir })));
  }

  getArchive(id: string, path: string): Promise<Buffer> {
    return this.call(async (d) => {
      const chunks: Buffer[] = [];
      for await (const ch of (await d.getContainer(id).getArchive({ path })) as AsyncIterable<Buffer>) chunks.push(ch);
      return Buffer.concat(chunks);
    });
  }

  exec(id: string, cmd: string[], o: { user?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.call(async (d) => {
      const exec = await d.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, ...(o.user ? { User: o.user } : {}) });
      const stream = await exec.start({ hijack: true, stdin: false });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        const t =
          o.timeoutMs === undefined ? undefined : setTimeout(() => reject(new KilnError('EXEC_TIMEOUT', `command ${cmd[0]} did not finish within ${o.timeoutMs} ms`, 'environment')), o.timeoutMs);
        const sink = (into: Buffer[]) => ({ write: (c: Buffer) => into.push(Buffer.from(c)) }) as unknown as NodeJS.WritableStream;
        d.modem.demuxStream(stream, sink(out), sink(err));
        stream.on('end', () => {
          clearTimeout(t);
          resolve();
        });
        stream.on('error', (e: Error) => {
          clearTimeout(t);
          reject(e);
        });
      });
      const info = await exec.inspect();
      return { code: info.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
    });
  }

  listNetworks(q: { labels?: string[]; name?: string } = {}): Promise<NetworkSummary[]> {
    const filters: Record<string, string[]> = {};
    if (q.labels) filters.label = q.labels;
    if (q.name) filters.name = [q.name];
    return this.call((d) => d.listNetworks(Object.keys(filters).length ? { filters: JSON.stringify(filters) } : {}));
  }

  createNetwork(spec: NetworkSpec): Promise<string> {
    return this.call(async (d) => (await d.createNetwork(spec)).id);
  }

  removeNetwork(id: string): Promise<void> {
    return this.call(async (d) => void (await d.getNetwork(id).remove()));
  }

  listVolumes(q: { labels?: string[] }): Promise<VolumeSummary[]> {
    return this.call(async (d) => ((await d.listVolumes(q.labels ? { filters: JSON.stringify({ label: q.labels }) } : {})).Volumes ?? []) as VolumeSummary[]);
  }

  createVolume(spec: { Name: string; Labels: Record<string, string> }): Promise<void> {
    return this.call(async (d) => void (await d.createVolume(spec)));
  }

  removeVolume(name: string): Promise<void> {
    return this.call(async (d) => void (await d.getVolume(name).remove()));
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    try {
      return await this.engine.inspectImage(ref);
    } catch (e) {
      throw new DockerError(DockerError.status(e) ?? 0, errorMessage(e), e);
    }
  }
}
