#!/usr/bin/env node
// An unchanged `kiln build` of an amazon-ebs template vs real Packer 1.6.6 on the same template,
// both pointed at the same AWS API emulator (moto_server on loopback) through a counting proxy, so
// the EC2 API calls of each whole process are counted the same way. Packer has no cache: every run
// is a full bake (key pair, group, instance, SSH, provisioning, AMI). The instance is a Debian
// sshd container (scripts/ensure-sshd.sh) reached with ssh_host/ssh_port; a small agent installs
// the key pair the emulator made, as cloud-init does on EC2.
//
// Goals (issue 10): the unchanged bake under 1 s, at most 3 API calls, no instance.
//
// Usage: npm run build && node bench/aws-bake-vs-packer.mjs [pairs=5]
// Needs moto_server on PATH, /usr/bin/packer (Debian's packer 1.6.6), Docker.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EC2Client, DescribeInstancesCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kiln = join(root, 'bin', 'kiln.js');
const pairs = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-aws-'));
const benchId = `bench-aws-${process.pid}`;
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

const freePort = () =>
  new Promise((resolve) => {
    const s = netServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// 1. The emulator, and a proxy in front of it that counts requests by Action.
const motoPort = await freePort();
const moto = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' });
const motoUrl = `http://127.0.0.1:${motoPort}`;
for (let i = 0; ; i++) {
  const ok = await new Promise((r) =>
    request(`${motoUrl}/moto-api/`, (res) => (res.resume(), r(true)))
      .on('error', () => r(false))
      .end(),
  );
  if (ok) break;
  if (i > 300) throw new Error('moto_server did not start');
  await new Promise((r) => setTimeout(r, 100));
}
let counted = [];
const proxy = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    counted.push(new URLSearchParams(body.toString()).get('Action') ?? req.url);
    const up = request(`${motoUrl}${req.url}`, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.writeHead(502).end());
    up.end(body);
  });
});
const proxyPort = await freePort();
await new Promise((r) => proxy.listen(proxyPort, '127.0.0.1', r));
const proxyUrl = `http://127.0.0.1:${proxyPort}`;

// 2. The stand-in machine and its agent (talking to the emulator directly: not counted).
const ec2 = new EC2Client({ region: 'eu-west-1', endpoint: motoUrl, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
// One of the emulator's built-in EBS-backed images (Packer refuses an image registered in the
// emulator: it reports root device "standard").
const source = 'ami-785db401';
execFileSync('bash', [join(root, 'scripts', 'ensure-sshd.sh')], { stdio: 'inherit' });
const box = execFileSync('docker', ['run', '-d', '--label', `kiln.test=${benchId}`, '-p', '127.0.0.1::22', 'kiln-test/sshd:bookworm'], { encoding: 'utf8' }).trim();
const sshPort = Number(execFileSync('docker', ['port', box, '22'], { encoding: 'utf8' }).split('\n')[0].split(':').pop());
let agentOn = true;
const installed = new Set();
void (async () => {
  while (agentOn) {
    try {
      const r = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['running'] }] }));
      for (const i of (r.Reservations ?? []).flatMap((x) => x.Instances ?? [])) {
        if (!i.KeyName || installed.has(i.KeyName)) continue;
        const pub = (await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [i.KeyName], IncludePublicKey: true }))).KeyPairs?.[0]?.PublicKey?.trim();
        if (!pub) continue;
        execFileSync('docker', [
          'exec',
          box,
          'sh',
          '-c',
          `echo '${pub} ${i.KeyName}' >> /home/admin/.ssh/authorized_keys && chown admin /home/admin/.ssh/authorized_keys && chmod 600 /home/admin/.ssh/authorized_keys`,
        ]);
        installed.add(i.KeyName);
      }
    } catch {
      /* next round */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
})();

// 3. The template both run: the seed's aws builder pointed at the proxy and the stand-in, with a
//    small provisioning (a shell step and a file upload) so the numbers are not Debian's mirror.
writeFileSync(join(dir, 'motd'), 'baked by the benchmark\n');
writeFileSync(
  join(dir, 'aws.json'),
  JSON.stringify(
    {
      builders: [
        {
          type: 'amazon-ebs',
          name: 'aws',
          region: 'eu-west-1',
          access_key: 'testing',
          secret_key: 'testing',
          custom_endpoint_ec2: proxyUrl,
          skip_region_validation: true,
          source_ami: source,
          instance_type: 't2.micro',
          ssh_username: 'admin',
          ssh_host: '127.0.0.1',
          ssh_port: sshPort,
          ami_name: 'bench-web-{{timestamp}}',
        },
      ],
      provisioners: [
        { type: 'shell', inline: ['echo "provisioning as $(id -un)"', 'mkdir -p /tmp/bench'] },
        { type: 'file', source: 'motd', destination: '/tmp/bench/motd' },
      ],
    },
    null,
    2,
  ),
);
const env = { ...process.env, CHECKPOINT_DISABLE: '1', PACKER_NO_COLOR: '1', KILN_HOME: join(dir, 'state'), KILN_LABELS: `kiln.test=${benchId}` };
for (const k of ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_EC2', 'AWS_PROFILE']) delete env[k];

// Asynchronous: the proxy and the agent live in this process and must keep answering.
async function run(cmd, args) {
  counted = [];
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const status = await new Promise((r) => child.on('close', r));
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${status}):\n${out}\n${err}`);
  return { ms, out, calls: [...counted] };
}

const rows = [];
try {
  const first = await run('node', [kiln, 'build', 'aws.json']);
  if (!/AMIs were created/.test(first.out)) throw new Error(first.out);
  console.log(`first kiln bake (populates the cache): ${first.ms.toFixed(0)} ms, ${first.calls.length} API calls`);
  for (let i = 0; i < pairs; i++) {
    const floor = (await run('node', ['-e', ''])).ms;
    const k = await run('node', [kiln, 'build', 'aws.json']);
    if (!/reused ami-[0-9a-f]+ \(inputs unchanged\)/.test(k.out)) throw new Error(`kiln did not reuse:\n${k.out}`);
    const p = await run('packer', ['build', 'aws.json']);
    if (!/AMIs were created/.test(p.out)) throw new Error(p.out);
    const row = {
      floor,
      kiln: k.ms,
      kilnCalls: k.calls.length,
      kilnInstances: k.calls.filter((c) => c === 'RunInstances').length,
      packer: p.ms,
      packerCalls: p.calls.length,
      packerInstances: p.calls.filter((c) => c === 'RunInstances').length,
    };
    rows.push(row);
    console.log(
      `pair ${i + 1}: node -e '' ${floor.toFixed(0)} ms | kiln ${k.ms.toFixed(0)} ms, ${row.kilnCalls} call(s) [${k.calls.join(' ')}], ${row.kilnInstances} instance(s) | packer ${p.ms.toFixed(0)} ms, ${row.packerCalls} calls, ${row.packerInstances} instance(s) | ratio ${(k.ms / p.ms).toFixed(3)}`,
    );
  }
  const k = median(rows.map((r) => r.kiln));
  const p = median(rows.map((r) => r.packer));
  console.log(
    `\nunchanged bake: kiln median ${k.toFixed(0)} ms (${Math.max(...rows.map((r) => r.kilnCalls))} API calls at most, ${rows.reduce((a, r) => a + r.kilnInstances, 0)} instances) vs Packer ${p.toFixed(0)} ms (${median(rows.map((r) => r.packerCalls))} calls, 1 instance per run)`,
  );
  console.log(
    `kiln/Packer, median of per-pair ratios: ${median(rows.map((r) => r.kiln / r.packer)).toFixed(3)}; goal: kiln < 1000 ms with <= 3 calls and no instance: ${k < 1000 && rows.every((r) => r.kilnCalls <= 3 && r.kilnInstances === 0) ? 'met' : 'NOT met'}`,
  );
  console.log(`load average at the end: ${execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).trim()}`);
} finally {
  agentOn = false;
  execFileSync('docker', ['rm', '-f', box], { stdio: 'ignore' });
  proxy.close();
  moto.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  ec2.destroy();
}
