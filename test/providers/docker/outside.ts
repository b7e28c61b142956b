// "The outside world" for network tests: a network namespace the test makes, plugged into kiln's
// internet namespace (routing.ts) with an address outside every VPC range, running a TCP responder
// that answers each connection with the address it came from. Nothing here reaches a real address.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connectToInternet } from '../../../src/providers/docker/routing.js';
import { run } from '../../../src/providers/docker/network.js';

export interface Outside {
  /** The responder's address (in 203.0.113.0/24, TEST-NET-3). */
  address: string;
  port: number;
  close(): Promise<void>;
}

const RESPONDER = "require('net').createServer((s) => { s.on('error', () => {}); s.end(s.remoteAddress + '\\n'); }).listen(Number(process.argv[1]), '0.0.0.0', () => console.log('listening'));";

/** Makes the outside host and starts its responder; `close` stops it and removes the namespace. */
export async function makeOutside(port = 8080): Promise<Outside> {
  const id = randomBytes(3).toString('hex');
  const ns = `kt-out-${id}`;
  const address = `203.0.113.${10 + (randomBytes(1)[0] % 200)}`;
  await run('ip', ['netns', 'add', ns]);
  await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  await connectToInternet({ ns, ifname: 'eth0', port: `o${id}`, addresses: [address], defaultRoute: true });
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', RESPONDER, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the outside responder exited (${code})`)));
  });
  return {
    address,
    port,
    async close() {
      child.kill('SIGTERM');
      await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
    },
  };
}

/** A shell line that connects from inside an instance and prints what the responder saw (busybox nc). */
export function reachOut(o: Outside): string {
  return `nc -w 3 ${o.address} ${o.port} </dev/null`;
}
