// The docker communicator: runs commands in the build container and moves files in and out of it,
// all through the Engine API (exec and archive endpoints). Upload rules follow `docker cp`, as
// Packer's docker communicator does (reference §7.3, §8.2).
import { posix } from 'node:path';
import { mkdirSync, writeFileSync, symlinkSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { EngineApi } from '../docker/engine.js';
import { packTar, unpackTar, dirEntries, type TarEntry } from './builders/tar.js';

type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  user?: string;
  env?: string[];
  onOutput?: (line: string, stream: OutputStream) => void;
  signal?: AbortSignal;
}

export interface Communicator {
  /** Runs `/bin/sh -c "(<cmd>)"`; resolves to the exit code. */
  exec(cmd: string, opts?: ExecOptions): Promise<number>;
  uploadFile(dst: string, data: Buffer, mode?: number): Promise<void>;
  uploadDir(src: string, dst: string): Promise<void>;
  download(src: string, localDst: string): Promise<void>;
}

/** Splits a byte stream into lines and hands each complete line on. */
export class LineSplitter {
  private buf = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: Buffer | string): void {
    this.buf += chunk.toString();
    let i: number;
    while ((i = this.buf.indexOf('\n')) >= 0) {
      this.onLine(this.buf.slice(0, i).replace(/\r$/, ''));
      this.buf = this.buf.slice(i + 1);
    }
  }
  end(): void {
    if (this.buf) this.onLine(this.buf.replace(/\r$/, ''));
    this.buf = '';
  }
}

export class DockerCommunicator implements Communicator {
  private chain: Promise<unknown> = Promise.resolve();
  constructor(
    private readonly engine: EngineApi,
    readonly containerId: string,
    private readonly opts: { execUser?: string; fixUploadOwner: boolean; imageUser?: string; pty?: boolean },
  ) {}

  /** Execs are serialised, as Packer's communicator does with a mutex. */
  exec(cmd: string, opts: ExecOptions = {}): Promise<number> {
    const run = this.chain.then(() => this.execNow(cmd, opts));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async execNow(cmd: string, opts: ExecOptions): Promise<number> {
    if (opts.signal?.aborted) throw opts.signal.reason ?? new Error('aborted');
    const user = opts.user ?? this.opts.execUser;
    const tty = this.opts.pty ?? false;
    const { Id } = await this.engine.json<{ Id: string }>(
      'POST',
      `/containers/${this.containerId}/exec`,
      { Cmd: ['/bin/sh', '-c', `(${cmd})`], AttachStdout: true, AttachStderr: true, Tty: tty, ...(user ? { User: user } : {}), ...(opts.env ? { Env: opts.env } : {}) },
      'exec in the build container',
    );
    const outLines = new LineSplitter((l) => opts.onOutput?.(l, 'stdout'));
    const errLines = new LineSplitter((l) => opts.onOutput?.(l, 'stderr'));
    await this.engine.execStream(Id, tty, (stream, chunk) => (stream === 'stderr' ? errLines : outLines).push(chunk), opts.signal);
    outLines.end();
    errLines.end();
    for (let i = 0; i < 100; i++) {
      const info = await this.engine.json<{ Running: boolean; ExitCode: number | null }>('GET', `/exec/${Id}/json`);
      if (!info.Running) return info.ExitCode ?? 0;
      await new Promise((r) => setTimeout(r, 10));
    }
    return -1;
  }

  /** Whether a path exists in the container, and whether it is a directory. */
  async stat(path: string): Promise<{ exists: boolean; dir: boolean }> {
    const r = await this.engine.request('HEAD', `/containers/${this.containerId}/archive?path=${encodeURIComponent(path)}`);
    if (r.status === 404) return { exists: false, dir: false };
    if (r.status !== 200) throw new KilnError('UPLOAD_FAILED', `cannot stat ${path} in the build container: HTTP ${r.status}`);
    const raw = r.headers['x-docker-container-path-stat'];
    if (typeof raw !== 'string') return { exists: true, dir: false };
    const st = JSON.parse(Buffer.from(raw, 'base64').toString('utf8')) as { mode: number };
    // Go's os.FileMode: ModeDir is the top bit (1 << 31).
    return { exists: true, dir: Math.floor(st.mode / 0x80000000) % 2 === 1 };
  }

  private async putTar(parent: string, tar: Buffer): Promise<void> {
    const put = () => this.engine.upload('PUT', `/containers/${this.containerId}/archive?path=${encodeURIComponent(parent)}`, tar);
    let r = await put();
    if (r.status === 404) {
      // The parent directory is missing: create it, then try once more.
      const code = await this.exec(`mkdir -p '${parent.replace(/'/g, `'"'"'`)}'`, { user: 'root' });
      if (code !== 0) throw new KilnError('UPLOAD_FAILED', `cannot create ${parent} in the build container`);
      r = await put();
    }
    if (r.status !== 200) throw new KilnError('UPLOAD_FAILED', `upload to ${parent} in the build container: HTTP ${r.status} ${r.body.toString('utf8').trim()}`);
  }

  private async fixOwner(dst: string): Promise<void> {
    if (!this.opts.fixUploadOwner) return;
    const owner = this.opts.imageUser || 'root';
    // Uploaded tar entries are owned by 0:0 already, so chown to root would change nothing: skip
    // that exec (Packer runs it anyway).
    if (/^(root|0)(:(root|0))?$/.test(owner)) return;
    await this.exec(`chown -R ${owner} '${dst.replace(/'/g, `'"'"'`)}'`, { user: 'root' });
  }

  async uploadFile(dst: string, data: Buffer, mode = 0o644): Promise<void> {
    const tar = packTar([{ name: posix.basename(dst), type: 'file', mode, data }]);
    await this.putTar(posix.dirname(dst), tar);
    await this.fixOwner(dst);
  }

  /**
   * `docker cp` rules (reference §8.2): `dir` into an existing `dst` lands in `dst/dir`; `dir/`
   * (trailing slash) copies the contents; into a missing `dst` both copy the contents.
   */
  async uploadDir(src: string, dst: string): Promise<void> {
    const contentsOnly = src.endsWith('/');
    const local = contentsOnly ? src.replace(/\/+$/, '') || '/' : src;
    const target = dst.length > 1 ? dst.replace(/\/+$/, '') : dst;
    const st = await this.stat(target);
    let parent: string;
    let entries: TarEntry[];
    if (st.exists && st.dir) {
      parent = target;
      entries = dirEntries(local, contentsOnly ? '' : posix.basename(local));
    } else if (st.exists) {
      throw new KilnError('UPLOAD_FAILED', `cannot copy directory ${src} onto the file ${dst} in the build container`);
    } else {
      parent = posix.dirname(target);
      entries = dirEntries(local, posix.basename(target));
    }
    await this.putTar(parent, packTar(entries));
    await this.fixOwner(st.exists && !contentsOnly ? posix.join(target, posix.basename(local)) : target);
  }

  /** Downloads a file or a directory (Packer's docker communicator has no DownloadDir; kiln does). */
  async download(src: string, localDst: string): Promise<void> {
    const chunks: Buffer[] = [];
    const status = await this.engine.download(`/containers/${this.containerId}/archive?path=${encodeURIComponent(src)}`, (c) => chunks.push(c));
    if (status === 404) throw new KilnError('DOWNLOAD_FAILED', `${src} does not exist in the build container`);
    if (status !== 200) throw new KilnError('DOWNLOAD_FAILED', `download of ${src} from the build container: HTTP ${status}`);
    const entries = unpackTar(Buffer.concat(chunks));
    const first = entries[0];
    if (!first) throw new KilnError('DOWNLOAD_FAILED', `${src}: empty archive from the engine`);
    if (first.type !== 'dir') {
      mkdirSync(dirname(localDst), { recursive: true });
      writeFileSync(localDst, first.data ?? Buffer.alloc(0));
      chmodSync(localDst, first.mode & 0o777);
      return;
    }
    const base = first.name;
    for (const e of entries) {
      const rel = e.name === base ? '' : e.name.slice(base.length + 1);
      const p = rel ? join(localDst, rel) : localDst;
      if (e.type === 'dir') mkdirSync(p, { recursive: true });
      else if (e.type === 'symlink') {
        mkdirSync(dirname(p), { recursive: true });
        try {
          symlinkSync(e.linkname ?? '', p);
        } catch {
          /* exists already */
        }
      } else {
        mkdirSync(dirname(p), { recursive: true });
        writeFileSync(p, e.data ?? Buffer.alloc(0));
        chmodSync(p, e.mode & 0o777);
      }
    }
  }
}
