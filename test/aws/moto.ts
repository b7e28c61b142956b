// The AWS API emulator for tests: `moto_server` (moto 5.2.1 ships with this machine kind's Python)
// on a free loopback port, stopped by its PID. Each test file starts its own.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { request } from 'node:http';

export interface Moto {
  url: string;
  port: number;
  pid: number;
  /** Environment that points kiln (and any AWS tool) at the emulator with dummy credentials. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function ping(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/moto-api/`, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) < 500);
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
    req.end();
  });
}

export function motoServerPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v moto_server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error("moto_server is not on PATH: the AWS tests need the AWS API emulator moto (this machine kind's Python ships moto 5.2.1; elsewhere `pip install 'moto[server]'`)");
  }
}

export async function startMoto(): Promise<Moto> {
  const bin = motoServerPath();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(bin, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (c: Buffer) => (log = (log + c.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with ${child.exitCode} before answering:\n${log}`);
    if (await ping(url)) break;
    if (Date.now() - t0 > 60_000) {
      child.kill('SIGKILL');
      throw new Error(`moto_server did not answer on ${url} within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port,
    pid: child.pid!,
    env: { AWS_ENDPOINT_URL: url, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    async stop() {
      if (child.exitCode !== null) return;
      process.kill(child.pid!, 'SIGTERM');
      const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
