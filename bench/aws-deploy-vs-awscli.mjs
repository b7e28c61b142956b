#!/usr/bin/env node
// `kiln deploy --target aws` vs the AWS CLI's `cloudformation deploy` (Debian's awscli 2.9), both
// creating the seed stack (without its ElastiCache node, which the emulator cannot run) through a
// change set on the same AWS API emulator, through a proxy that counts their API calls. Measured:
// the whole process, and the time from the stack's final event (CREATE_COMPLETE, as CloudFormation
// stamps it) to the process's exit: how soon each tool notices that the stack is done.
//
// The emulator creates a stack the moment its change set is executed; a real create takes minutes.
// So the proxy holds each stack "in progress" for HOLD seconds after ExecuteChangeSet (DescribeStacks
// says CREATE_IN_PROGRESS, the stack's CREATE_COMPLETE event is not shown yet) and then lets the
// completion through, stamped with the release time: that is the final event both tools wait for.
//
// Goal (issue 10): kiln exits within 2 s of the final event, and sooner than the AWS CLI.
//
// Usage: npm run build && node bench/aws-deploy-vs-awscli.mjs [pairs=5] [hold seconds=10]
// Needs moto_server on PATH and /usr/bin/aws (apt-get install awscli).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { createServer as netServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStackEventsCommand } from '@aws-sdk/client-cloudformation';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kiln = join(root, 'bin', 'kiln.js');
const awsCli = '/usr/bin/aws';
const pairs = Number(process.argv[2] ?? 5);
const holdMs = Number(process.argv[3] ?? 10) * 1000;
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-cfn-'));
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
/** stack name → when its create may be seen complete. */
const releaseAt = new Map();
const stackNameOf = (v) => (v ?? '').replace(/^arn:aws:cloudformation:[^:]*:[^:]*:stack\/([^/]+)\/.*$/, '$1');
function rewrite(action, body) {
  let text = body.toString('utf8');
  for (const [name, at] of releaseAt) {
    if (!text.includes(`<StackName>${name}</StackName>`)) continue;
    const held = Date.now() < at;
    if (action === 'DescribeStacks' && held) text = text.replace('<StackStatus>CREATE_COMPLETE</StackStatus>', '<StackStatus>CREATE_IN_PROGRESS</StackStatus>');
    if (action === 'DescribeStackEvents')
      text = text.replace(/<member>(?:(?!<\/member>)[\s\S])*?<\/member>/g, (m) => {
        if (!m.includes('<ResourceType>AWS::CloudFormation::Stack</ResourceType>') || !m.includes('<ResourceStatus>CREATE_COMPLETE</ResourceStatus>')) return m;
        return held ? '' : m.replace(/<Timestamp>[^<]*<\/Timestamp>/, `<Timestamp>${new Date(at).toISOString()}</Timestamp>`);
      });
  }
  return Buffer.from(text);
}
const proxy = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const form = new URLSearchParams(body.toString());
    const action = form.get('Action') ?? req.url;
    counted.push(action);
    if (action === 'ExecuteChangeSet') releaseAt.set(stackNameOf(form.get('StackName')), Date.now() + holdMs);
    const headers = { ...req.headers, 'accept-encoding': 'identity' };
    const up = request(`${motoUrl}${req.url}`, { method: req.method, headers }, (r) => {
      const parts = [];
      r.on('data', (c) => parts.push(c));
      r.on('end', () => {
        const out = rewrite(action, Buffer.concat(parts));
        const h = { ...r.headers, 'content-length': String(out.length) };
        delete h['transfer-encoding'];
        res.writeHead(r.statusCode ?? 502, h);
        res.end(out);
      });
    });
    up.on('error', () => res.writeHead(502).end());
    up.end(body);
  });
});
const proxyPort = await freePort();
await new Promise((r) => proxy.listen(proxyPort, '127.0.0.1', r));
const proxyUrl = `http://127.0.0.1:${proxyPort}`;

const seed = JSON.parse(readFileSync(join(root, 'examples', 'seed', 'stack.json'), 'utf8'));
delete seed.Resources.ecSubnetGroup;
delete seed.Resources.ecRedis;
delete seed.Outputs.RedisAddress;
const text = JSON.stringify(seed, null, 2)
  .replace(/\{\s*"Fn::GetAtt":\s*\[\s*"ecRedis",\s*"RedisEndpoint\.Address"\s*\]\s*\}/g, '"127.0.0.1"')
  .replace(/\{\s*"Fn::GetAtt":\s*\[\s*"ecRedis",\s*"RedisEndpoint\.Port"\s*\]\s*\}/g, '"6379"');
const template = join(dir, 'seed-aws.json');
writeFileSync(template, text);

const env = { ...process.env, AWS_ENDPOINT_URL: proxyUrl, AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_PAGER: '' };
delete env.AWS_PROFILE;
const cfn = new CloudFormationClient({ region: 'eu-west-1', endpoint: motoUrl, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

async function run(cmd, args) {
  counted = [];
  const t0 = Date.now();
  const child = spawn(cmd, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const status = await new Promise((r) => child.on('close', r));
  const end = Date.now();
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${status}):\n${out}`);
  return { ms: end - t0, end, calls: [...counted] };
}

/** When the stack's final event happened: the emulator's CREATE_COMPLETE, as released by the proxy. */
async function finalEvent(stack) {
  const r = await cfn.send(new DescribeStackEventsCommand({ StackName: stack }));
  const done = (r.StackEvents ?? []).find((e) => e.ResourceType === 'AWS::CloudFormation::Stack' && e.ResourceStatus === 'CREATE_COMPLETE');
  if (!done) throw new Error(`${stack}: no CREATE_COMPLETE event`);
  return Math.max(done.Timestamp.getTime(), releaseAt.get(stack) ?? 0);
}

const rows = [];
try {
  for (let i = 0; i < pairs; i++) {
    const ks = `kiln-bench-${process.pid}-${i}`;
    const cs = `cli-bench-${process.pid}-${i}`;
    const k = await run('node', [kiln, 'deploy', template, '--stack', ks, '--target', 'aws', '--param', 'AmiId=ami-785db401', '--capabilities', 'CAPABILITY_IAM', '--yes']);
    const kLag = k.end - (await finalEvent(ks));
    // awscli 2.9 predates AWS_ENDPOINT_URL: it needs --endpoint-url.
    const c = await run(awsCli, [
      '--endpoint-url',
      proxyUrl,
      'cloudformation',
      'deploy',
      '--template-file',
      template,
      '--stack-name',
      cs,
      '--parameter-overrides',
      'AmiId=ami-785db401',
      '--capabilities',
      'CAPABILITY_IAM',
    ]);
    const cLag = c.end - (await finalEvent(cs));
    rows.push({ k: k.ms, kLag, kCalls: k.calls.length, c: c.ms, cLag, cCalls: c.calls.length });
    const calls = (xs) =>
      Object.entries(xs.reduce((m, x) => ((m[x] = (m[x] ?? 0) + 1), m), {}))
        .map(([k, n]) => (n > 1 ? `${k}x${n}` : k))
        .join(' ');
    console.log(
      `pair ${i + 1}: kiln ${k.ms} ms (exit ${kLag} ms after the final event, ${k.calls.length} calls: ${calls(k.calls)}) | aws cli ${c.ms} ms (exit ${cLag} ms after, ${c.calls.length} calls: ${calls(c.calls)})`,
    );
  }
  console.log(
    `\nmedians: kiln ${median(rows.map((r) => r.k))} ms, exits ${median(rows.map((r) => r.kLag))} ms after the final event; AWS CLI ${median(rows.map((r) => r.c))} ms, exits ${median(rows.map((r) => r.cLag))} ms after`,
  );
  const met = rows.every((r) => r.kLag <= 2000 && r.kLag < r.cLag);
  console.log(
    `goal (kiln within 2 s of the final event, and sooner than the AWS CLI): ${met ? 'met' : 'NOT met'} in ${rows.filter((r) => r.kLag <= 2000 && r.kLag < r.cLag).length}/${rows.length} pairs`,
  );
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
} finally {
  proxy.close();
  moto.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
  cfn.destroy();
}
