// Helpers shared by the load balancer, cache and Auto Scaling tests: a small web image, HTTP from the
// host, and a VPC with a subnet and groups.
import http from 'node:http';
import type { TestStack } from './ctx.js';
import { buildTestImage } from './ctx.js';
import { subnetHandler, vpcHandler } from '../../../src/providers/docker/vpc.js';
import { securityGroupHandler } from '../../../src/providers/docker/securitygroups.js';

/** busybox httpd answering `/` with its hostname and `/health` with ok (CGI-free, tiny). */
export function webImage(tag: string, labels: Record<string, string>, version = '1', healthy = true): Promise<string> {
  const health = healthy ? 'echo ok > /www/health; ' : '';
  return buildTestImage(tag, `FROM busybox:latest\nCMD ["sh", "-c", "mkdir -p /www; echo \\"v${version} $(hostname)\\" > /www/index.html; ${health}exec httpd -f -p 80 -h /www"]\n`, labels);
}

export interface Reply {
  status: number;
  body: string;
}

/** One GET from the host (a fresh connection, or one of `agent`'s keep-alive connections). */
export function get(url: string, timeoutMs = 3000, agent: http.Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** Polls until `pred` holds or the time is up; returns the last value. */
export async function until<T>(fn: () => Promise<T>, pred: (v: T) => boolean, timeoutMs: number, stepMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last = await fn().catch((e: unknown) => e as T);
  while (!pred(last) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, stepMs));
    last = await fn().catch((e: unknown) => e as T);
  }
  return last;
}

/**
 * A steady client: sequential GETs until stopped, counting every outcome. `keepAlive` adds two more
 * loops on keep-alive connections (what browsers and most clients do), which a careless balancer
 * reload would reset.
 */
export function steadyLoad(url: string, opts: { keepAlive?: boolean } = {}): { stop(): Promise<{ ok: number; failed: number; errors: string[]; bodies: Set<string> }> } {
  let running = true;
  const result = { ok: 0, failed: 0, errors: [] as string[], bodies: new Set<string>() };
  const agent = opts.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 2 }) : false;
  const one = async (a: http.Agent | false) => {
    while (running) {
      try {
        const r = await get(url, 3000, a);
        if (r.status === 200) {
          result.ok++;
          result.bodies.add(r.body.trim().split(' ')[0]);
        } else {
          result.failed++;
          result.errors.push(`HTTP ${r.status}`);
        }
      } catch (e) {
        result.failed++;
        result.errors.push((e as Error).message);
      }
      await new Promise((r) => setTimeout(r, a ? 5 : 20));
    }
  };
  const loops = [one(false), ...(agent ? [one(agent), one(agent)] : [])];
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      if (agent) agent.destroy();
      return result;
    },
  };
}

/** A VPC 10.<n>.0.0/16 with subnets A (10.<n>.1.0/24) and B (10.<n>.2.0/24), and two groups. */
export async function network(stack: TestStack, n: number): Promise<{ vpc: string; subnetA: string; subnetB: string; webSg: string; lbSg: string }> {
  const vpc = (await stack.create(vpcHandler, 'Vpc', { CidrBlock: `10.${n}.0.0/16` })).physicalId;
  const subnetA = (await stack.create(subnetHandler, 'SubnetA', { VpcId: vpc, CidrBlock: `10.${n}.1.0/24`, AvailabilityZone: 'eu-west-1a' })).physicalId;
  const subnetB = (await stack.create(subnetHandler, 'SubnetB', { VpcId: vpc, CidrBlock: `10.${n}.2.0/24`, AvailabilityZone: 'eu-west-1b' })).physicalId;
  const webSg = (
    await stack.create(securityGroupHandler, 'WebSg', {
      GroupDescription: 'http from the VPC',
      VpcId: vpc,
      SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: `10.${n}.0.0/16` }],
    })
  ).physicalId;
  const lbSg = (
    await stack.create(securityGroupHandler, 'LbSg', {
      GroupDescription: 'http from anywhere',
      VpcId: vpc,
      SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }],
    })
  ).physicalId;
  return { vpc, subnetA, subnetB, webSg, lbSg };
}
