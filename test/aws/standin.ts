// A real machine for the amazon-ebs builder to provision: a Debian container running sshd
// (scripts/ensure-sshd.sh), published on a loopback port, plus an "instance agent" that does what
// cloud-init does on EC2: once the emulator says an instance runs, it reads that instance's key pair
// back from the emulator (DescribeKeyPairs with IncludePublicKey) and installs the public key in
// the admin user's authorized_keys. So the builder really connects with the key the emulator made.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { EC2Client, DescribeInstancesCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import { docker } from '../docker.js';

export const SSHD_IMAGE = 'kiln-test/sshd:bookworm';
const root = join(import.meta.dirname, '..', '..');

export function ensureSshdImage(): void {
  execFileSync('bash', [join(root, 'scripts', 'ensure-sshd.sh'), SSHD_IMAGE], { stdio: ['ignore', 'ignore', 'inherit'], cwd: root });
}

export interface StandIn {
  id: string;
  host: string;
  port: number;
  /** Runs a command in the container as root; its output. */
  sh(cmd: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startStandIn(testId: string): Promise<StandIn> {
  ensureSshdImage();
  const d = await docker();
  const c = await d.createContainer({
    Image: SSHD_IMAGE,
    Labels: { 'kiln.test': testId },
    ExposedPorts: { '22/tcp': {} },
    HostConfig: { PortBindings: { '22/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  await c.start();
  const info = await c.inspect();
  const port = Number(info.NetworkSettings.Ports['22/tcp']?.[0]?.HostPort);
  const sh = async (cmd: string): Promise<string> => {
    const ex = await c.exec({ Cmd: ['sh', '-c', cmd], AttachStdout: true, AttachStderr: true });
    const stream = await ex.start({ hijack: true, stdin: false });
    const chunks: Buffer[] = [];
    await new Promise<void>((resolve, reject) => {
      const out = { write: (b: Buffer) => chunks.push(b) };
      d.modem.demuxStream(stream, out as never, out as never);
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    return Buffer.concat(chunks).toString('utf8');
  };
  return {
    id: c.id,
    host: '127.0.0.1',
    port,
    sh,
    stop: async () => {
      await c.remove({ force: true }).catch(() => undefined);
    },
  };
}

export interface InstanceAgent {
  /** Key pair names installed so far. */
  installed: string[];
  stop(): void;
}

/**
 * Watches the emulator for running instances tagged `tagKey=tagValue` and installs each one's key
 * pair (public key read back from the emulator) in the stand-in's /home/admin/.ssh/authorized_keys.
 */
export function instanceAgent(motoUrl: string, region: string, standIn: StandIn, tag: [string, string]): InstanceAgent {
  const client = new EC2Client({ region, endpoint: motoUrl, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  const installed: string[] = [];
  let stopped = false;
  const tick = async (): Promise<void> => {
    const r = await client.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: `tag:${tag[0]}`, Values: [tag[1]] },
          { Name: 'instance-state-name', Values: ['running'] },
        ],
      }),
    );
    for (const i of (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])) {
      const name = i.KeyName;
      if (!name || installed.includes(name)) continue;
      const kp = await client.send(new DescribeKeyPairsCommand({ KeyNames: [name], IncludePublicKey: true }));
      const pub = kp.KeyPairs?.[0]?.PublicKey?.trim();
      if (!pub) continue;
      await standIn.sh(`printf '%s %s\\n' '${pub}' '${name}' >> /home/admin/.ssh/authorized_keys && chown admin:admin /home/admin/.ssh/authorized_keys && chmod 600 /home/admin/.ssh/authorized_keys`);
      installed.push(name);
    }
  };
  const loop = async (): Promise<void> => {
    while (!stopped) {
      await tick().catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    client.destroy();
  };
  void loop();
  return {
    installed,
    stop: () => {
      stopped = true;
    },
  };
}
