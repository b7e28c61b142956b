#!/usr/bin/env node
// A rollout under steady load, end to end through the CLI (`node bin/kiln.js`, so `npm run build`
// first): deploy a test project, put a steady bounded load on its load balancer from a second
// process (bench/load.mjs), change one app file, run `kiln up`, and report the failed requests and
// the p99 latency during the rollout against the p99 at rest. Cleans up (destroy + labels) after.
//
//   node bench/up-rollout.mjs group     4 instances (LaunchTemplate + AutoScalingGroup, rolling
//                                       group replaced create-before-delete) behind a classic ELB
//   node bench/up-rollout.mjs rolling   the same group updated in place: a new launch template
//                                       version, rolled in batches (AutoScalingRollingUpdate)
//   node bench/up-rollout.mjs single    one instance behind a classic ELB (the seed's shape):
//                                       create-before-delete of the instance, ELB moved to it
//   node bench/up-rollout.mjs broken    as single, but the new version fails its health check:
//                                       expected: the update fails, the stack rolls back, and
//                                       the old version keeps answering
// Prints one JSON object per run.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mode = process.argv[2] ?? 'group';
if (!['group', 'rolling', 'single', 'broken'].includes(mode)) {
  process.stderr.write('usage: node bench/up-rollout.mjs group|rolling|single|broken\n');
  process.exit(2);
}
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'kiln-rollout-'));
const proj = join(dir, 'p');
cpSync(join(root, 'test', 'fixtures', 'pipeline', mode === 'group' || mode === 'rolling' ? mode : 'lb'), proj, { recursive: true });
const state = join(dir, 'state');
const stack = `bench-${mode}-${id}`;
const env = { ...process.env, KILN_LABELS: `kiln.test=bench-rollout-${id}` };

function kiln(args) {
  const t = Date.now();
  const r = spawnSync(process.execPath, [join(root, 'bin', 'kiln.js'), ...args, '--state-dir', state], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Date.now() - t };
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 3000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
  });
}

async function waitOk(url, ms = 60000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await get(url);
    if (r.status === 200) return r.body;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} never answered 200`);
}

const p99 = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.ceil(0.99 * s.length) - 1] : 0;
};

let result;
try {
  const first = kiln(['up', proj, '--stack', stack, '--yes']);
  if (first.code !== 0) throw new Error(`first up failed: ${first.err}`);
  const url = /Url\s+(\S+)/.exec(first.out)[1];
  await waitOk(url);
  await new Promise((r) => setTimeout(r, 1000));
  const load = spawn(process.execPath, [join(root, 'bench', 'load.mjs'), '--url', url, '--concurrency', '4', '--duration', '240'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let loadOut = '';
  load.stdout.on('data', (c) => (loadOut += c));
  const loaded = new Promise((r) => load.on('exit', r));
  await new Promise((r) => setTimeout(r, 5000)); // at rest
  if (mode === 'broken') writeFileSync(join(proj, 'app', 'www', 'cgi-bin', 'health'), '#!/bin/sh\nprintf "Status: 500 Broken\\r\\nContent-Type: text/plain\\r\\n\\r\\n"\necho broken\n');
  else if (mode === 'single') writeFileSync(join(proj, 'app', 'www', 'body.txt'), 'B\n');
  else writeFileSync(join(proj, 'kiln.yaml'), readFileSync(join(proj, 'kiln.yaml'), 'utf8').replace('app_version: "1"', 'app_version: "2"'));
  const a = Date.now();
  const second = kiln(['up', proj, '--stack', stack, '--yes']);
  const b = Date.now();
  await new Promise((r) => setTimeout(r, 2000));
  load.kill('SIGTERM');
  await loaded;
  const L = JSON.parse(loadOut);
  const rest = L.samples.filter((s) => s[0] < a && s[2]).map((s) => s[1]);
  const during = L.samples.filter((s) => s[0] >= a && s[0] <= b && s[2]).map((s) => s[1]);
  const failedDuring = L.samples.filter((s) => !s[2]);
  const after = await get(url);
  const again = kiln(['up', proj, '--stack', stack, '--yes']);
  result = {
    mode,
    upExit: second.code,
    upLine: (second.out + second.err).split('\n').find((l) => l.startsWith(`${stack}:`) || l.startsWith('kiln up:')) ?? '',
    rolloutS: (b - a) / 1000,
    requests: L.total,
    failed: L.failed,
    errors: L.errors,
    versions: L.versions,
    firstFailureAtS: failedDuring.length ? (failedDuring[0][0] - a) / 1000 : null,
    lastFailureAtS: failedDuring.length ? (failedDuring[failedDuring.length - 1][0] - a) / 1000 : null,
    p99RestMs: p99(rest),
    p99RolloutMs: p99(during),
    bodiesAfter: after.status === 200 ? after.body.trim() : `${after.status} ${after.body.slice(0, 60)}`,
    secondUpLine: (again.out + again.err).split('\n').find((l) => l.startsWith(`${stack}:`)) ?? again.err.trim(),
  };
} finally {
  kiln(['destroy', '--stack', stack, '--yes']);
  spawnSync(
    'sh',
    ['-c', `docker ps -aq --filter label=kiln.test=bench-rollout-${id} | xargs -r docker rm -f; docker images -q --filter label=kiln.test=bench-rollout-${id} | xargs -r docker rmi -f`],
    { stdio: 'ignore' },
  );
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + '\n');
