// The SSH communicator (`ssh2`, pure JavaScript): commands over exec channels with their exit codes,
// files over SFTP. Upload rules are the docker communicator's (`docker cp`, reference §8.2) so a
// template behaves the same on both targets; directories download too. `waitForSsh` is Packer's
// "Waiting for SSH to become available...": connect, authenticate, retry until the timeout.
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, chmodSync, writeFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import type { Client, ClientChannel, SFTPWrapper, ConnectConfig } from 'ssh2';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { KilnError, errorMessage } from '../core/errors.js';
import { LineSplitter, type Communicator, type ExecOptions } from './communicator.js';

interface SshTarget {
  host: string;
  port: number;
  username: string;
  privateKey?: string;
  password?: string;
  /** Per attempt: TCP connect + handshake + authentication. */
  handshakeTimeoutMs?: number;
}

type Stats = { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean; mode: number };

function promisify<T>(fn: (cb: (err: Error | null | undefined, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

const sq = (s: string): string => `'${s.replace(/'/g, `'"'"'`)}'`;

export class SshCommunicator implements Communicator {
  private sftpConn: Promise<SFTPWrapper> | undefined;
  private closed = false;

  constructor(
    private readonly conn: Client,
    readonly target: SshTarget,
  ) {
    conn.on('close', () => (this.closed = true));
  }

  exec(cmd: string, opts: ExecOptions = {}): Promise<number> {
    if (opts.signal?.aborted) return Promise.reject(opts.signal.reason ?? new Error('aborted'));
    if (this.closed) return Promise.reject(new KilnError('SSH_CLOSED', `the SSH connection to ${this.target.host}:${this.target.port} is closed`, 'environment'));
    return new Promise((resolve, reject) => {
      this.conn.exec(cmd, opts.env ? { env: Object.fromEntries(opts.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) } : {}, (err, stream: ClientChannel) => {
        if (err) return reject(new KilnError('SSH_EXEC', `starting a command over SSH: ${err.message}`, 'environment'));
        const out = new LineSplitter((l) => opts.onOutput?.(l, 'stdout'));
        const errs = new LineSplitter((l) => opts.onOutput?.(l, 'stderr'));
        let code: number | null | undefined;
        let signalName: string | undefined;
        const onAbort = (): void => {
          stream.close();
          reject(opts.signal?.reason ?? new Error('aborted'));
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        stream.on('data', (c: Buffer) => out.push(c));
        stream.stderr.on('data', (c: Buffer) => errs.push(c));
        stream.on('exit', (c: number | null, s?: string) => {
          code = c;
          signalName = s;
        });
        stream.on('close', () => {
          opts.signal?.removeEventListener('abort', onAbort);
          out.end();
          errs.end();
          if (typeof code === 'number') resolve(code);
          else if (signalName) resolve(128 + (SIGNALS[signalName] ?? 0));
          else reject(new KilnError('SSH_EXEC', 'Remote command exited without exit status or exit signal.', 'environment'));
        });
      });
    });
  }

  private sftp(): Promise<SFTPWrapper> {
    return (this.sftpConn ??= promisify<SFTPWrapper>((cb) => this.conn.sftp(cb)).catch((e: Error) => {
      this.sftpConn = undefined;
      throw new KilnError('SSH_SFTP', `opening SFTP on ${this.target.host}: ${e.message} (the machine needs an SFTP server, e.g. Debian's openssh-sftp-server)`, 'environment');
    }));
  }

  private async stat(path: string): Promise<Stats | undefined> {
    const s = await this.sftp();
    try {
      return await promisify<Stats>((cb) => s.stat(path, cb));
    } catch {
      return undefined;
    }
  }

  private async mkdirp(dir: string): Promise<void> {
    if (!dir || dir === '/' || dir === '.') return;
    const st = await this.stat(dir);
    if (st?.isDirectory()) return;
    if (st) throw new KilnError('UPLOAD_FAILED', `cannot create the directory ${dir}: a file is in the way`);
    await this.mkdirp(posix.dirname(dir));
    const s = await this.sftp();
    await promisify<void>((cb) => s.mkdir(dir, cb)).catch(async (e: Error) => {
      if (!(await this.stat(dir))?.isDirectory()) throw new KilnError('UPLOAD_FAILED', `cannot create ${dir} on ${this.target.host}: ${e.message}`);
    });
  }

  async uploadFile(dst: string, data: Buffer, mode = 0o644): Promise<void> {
    await this.mkdirp(posix.dirname(dst));
    const s = await this.sftp();
    try {
      await promisify<void>((cb) => s.writeFile(dst, data, { mode }, cb));
      await promisify<void>((cb) => s.chmod(dst, mode, cb));
    } catch (e) {
      throw new KilnError('UPLOAD_FAILED', `upload to ${dst} on ${this.target.host}: ${errorMessage(e)}`);
    }
  }

  private async putTree(local: string, remote: string): Promise<void> {
    const st = lstatSync(local);
    const s = await this.sftp();
    if (st.isSymbolicLink()) {
      const link = readlinkSync(local);
      await promisify<void>((cb) => s.symlink(link, remote, cb)).catch(() => undefined);
    } else if (st.isDirectory()) {
      await this.mkdirp(remote);
      for (const name of readdirSync(local).sort()) await this.putTree(join(local, name), posix.join(remote, name));
    } else await this.uploadFile(remote, readFileSync(local), st.mode & 0o777);
  }

  /** `docker cp` rules: `dir` into an existing `dst` lands in `dst/dir`; `dir/` copies the contents; a missing `dst` receives the contents. */
  async uploadDir(src: string, dst: string): Promise<void> {
    const contentsOnly = src.endsWith('/');
    const local = contentsOnly ? src.replace(/\/+$/, '') || '/' : src;
    const target = dst.length > 1 ? dst.replace(/\/+$/, '') : dst;
    const st = await this.stat(target);
    if (st && !st.isDirectory()) throw new KilnError('UPLOAD_FAILED', `cannot copy directory ${src} onto the file ${dst} on ${this.target.host}`);
    const root = st && !contentsOnly ? posix.join(target, basename(local)) : target;
    await this.putTree(local, root);
  }

  async download(src: string, localDst: string): Promise<void> {
    const s = await this.sftp();
    const st = await this.stat(src);
    if (!st) throw new KilnError('DOWNLOAD_FAILED', `${src} does not exist on ${this.target.host}`);
    const get = async (remote: string, local: string, stats: Stats): Promise<void> => {
      if (stats.isDirectory()) {
        mkdirSync(local, { recursive: true });
        const list = await promisify<Array<{ filename: string; attrs: Stats }>>((cb) => s.readdir(remote, cb));
        for (const e of list.sort((a, b) => (a.filename < b.filename ? -1 : 1))) await get(posix.join(remote, e.filename), join(local, e.filename), e.attrs);
        return;
      }
      if (stats.isSymbolicLink()) {
        const link = await promisify<string>((cb) => s.readlink(remote, cb));
        mkdirSync(dirname(local), { recursive: true });
        try {
          symlinkSync(link, local);
        } catch {
          /* exists already */
        }
        return;
      }
      const data = await promisify<Buffer>((cb) => s.readFile(remote, cb));
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, data);
      chmodSync(local, stats.mode & 0o777);
    };
    await get(src, localDst, st);
  }

  /** Removes every line holding `publicKeyBody` from the user's (and, with sudo, root's) authorized_keys. */
  async removeAuthorizedKey(publicKeyBody: string): Promise<void> {
    const pattern = sq(publicKeyBody);
    const script = (file: string) => `if [ -f ${file} ]; then grep -vF ${pattern} ${file} > ${file}.kiln-tmp; cat ${file}.kiln-tmp > ${file}; rm -f ${file}.kiln-tmp; fi`;
    await this.exec(script('~/.ssh/authorized_keys'));
    await this.exec(`sudo -n sh -c ${sq(script('/root/.ssh/authorized_keys'))} 2>/dev/null || true`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.end();
  }
}

const SIGNALS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, PIPE: 13, ABRT: 6, SEGV: 11 };

/** One connection attempt: resolves once authenticated. */
async function connectSsh(t: SshTarget, signal?: AbortSignal): Promise<SshCommunicator> {
  const { default: ssh2 } = await import('ssh2');
  const conn: Client = new ssh2.Client();
  const cfg: ConnectConfig = {
    host: t.host,
    port: t.port,
    username: t.username,
    readyTimeout: t.handshakeTimeoutMs ?? 20_000,
    keepaliveInterval: 15_000,
    ...(t.privateKey ? { privateKey: t.privateKey } : {}),
    ...(t.password ? { password: t.password } : {}),
    tryKeyboard: false,
  };
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      conn.end();
      reject(signal?.reason ?? new Error('aborted'));
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    conn.once('ready', () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(new SshCommunicator(conn, t));
    });
    conn.once('error', (e: Error & { level?: string }) => {
      signal?.removeEventListener('abort', onAbort);
      conn.end();
      reject(e);
    });
    try {
      conn.connect(cfg);
    } catch (e) {
      reject(e);
    }
  });
}

interface WaitForSshOptions {
  timeoutMs: number;
  signal: AbortSignal;
  clock?: Clock;
  /** Called for each failed attempt (Packer logs these; kiln shows the last one on timeout). */
  onAttempt?: (error: string) => void;
}

/** Connects, retrying (250 ms, doubling to 5 s) until authenticated or `timeoutMs` has passed. */
export async function waitForSsh(t: SshTarget, o: WaitForSshOptions): Promise<SshCommunicator> {
  const clock = o.clock ?? systemClock;
  const deadline = clock.now() + o.timeoutMs;
  let delay = 250;
  let last = '';
  for (;;) {
    if (o.signal.aborted) throw o.signal.reason ?? new Error('aborted');
    try {
      return await connectSsh({ ...t, handshakeTimeoutMs: Math.max(1000, Math.min(t.handshakeTimeoutMs ?? 20_000, deadline - clock.now())) }, o.signal);
    } catch (e) {
      if (o.signal.aborted) throw o.signal.reason ?? e;
      last = errorMessage(e);
      o.onAttempt?.(last);
    }
    if (clock.now() + delay > deadline) {
      throw new KilnError(
        'SSH_TIMEOUT',
        `Timeout waiting for SSH: no SSH connection to ${t.username}@${t.host}:${t.port} in ${Math.round(o.timeoutMs / 1000)}s (last attempt: ${last})`,
        'environment',
      );
    }
    await clock.sleep(delay, o.signal);
    delay = Math.min(5000, delay * 2);
  }
}

/** The base64 body of a private key's public half (what an authorized_keys line holds). */
export async function publicKeyBody(privateKey: string): Promise<string> {
  const { default: ssh2 } = await import('ssh2');
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new KilnError('SSH_KEY', `cannot read the SSH private key: ${key instanceof Error ? key.message : 'no key found'}`);
  return key.getPublicSSH().toString('base64');
}
