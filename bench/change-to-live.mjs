#!/usr/bin/env node
// Change-to-live for the seed example (`npm run build` first): edit one app file, then measure the
// time until the load balancer answers with the new version (`kiln up` + the new instance passing
// the ELB health check), with the apt step cached. Also the no-change `kiln up` time.
//
//   node bench/change-to-live.mjs [rounds=3]
//
// Uses a copy of examples/seed in a temp dir, a persistent state dir (KILN_BENCH_STATE, default
// /tmp/kiln-bench-state) so the apt-get step stays cached between runs, and a unique stack name;
// destroys the stack and removes its labelled objects at the end. Prints one JSON object.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import http from 'node:http';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(process.argv[2] ?? '3');
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'kiln-c2l-'));
const proj = join(dir, 'seed');
cpSync(join(root, 'examples', 'seed'), proj, { recursive: true });
const state = process.env.KILN_BENCH_STATE ?? '/tmp/kiln-bench-state';
const stack = `c2l-${id}`;
// A fixed label: labels are part of the build key, so the apt step stays cached between runs.
const env = { ...process.env, KILN_LABELS: 'kiln.test=bench-c2l' };

function kiln(args) {
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(root, 'bin', 'kiln.js'), ...args, '--state-dir', state], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}

function get(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 2000, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ status: 0, body: String(e) }));
  });
}

async function until(url, ok, ms = 120000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const r = await get(url);
    if (r.status === 200 && ok(r.body)) return r.body;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url}: the new version never answered`);
}

/** `kiln up` in the background; resolves with its output and wall time. */
function kilnAsync(args) {
  const t = process.hrtime.bigint();
  const c = spawn(process.execPath, [join(root, 'bin', 'kiln.js'), ...args, '--state-dir', state], { env });
  let out = '';
  let err = '';
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => c.on('exit', (code) => resolve({ code, out, err, ms: Number(process.hrtime.bigint() - t) / 1e6 })));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const out = { stack, rounds: [], noChangeUpMs: [] };
try {
  const first = kiln(['up', proj, '--stack', stack, '--yes']);
  if (first.code !== 0) throw new Error(`first up failed:\n${first.err}`);
  out.firstUpMs = Math.round(first.ms);
  const url = /Url\s+(\S+)/.exec(first.out)[1];
  await until(url, () => true);
  for (let i = 0; i < 3; i++) out.noChangeUpMs.push(Math.round(kiln(['up', proj, '--stack', stack, '--yes']).ms));
  const index = join(proj, 'app', 'cgi-bin', 'index');
  for (let i = 1; i <= rounds; i++) {
    const marker = `r${i}-${id}`;
    const t0 = process.hrtime.bigint();
    writeFileSync(index, readFileSync(index, 'utf8').replace(/echo "seed app[^ ]*/, `echo "seed app-${marker}`));
    // The new version answers at the load balancer before `kiln up` returns (the old instance is
    // drained and removed after): poll while it runs.
    const running = kilnAsync(['up', proj, '--stack', stack, '--yes']);
    await until(url, (b) => b.includes(marker));
    const total = Number(process.hrtime.bigint() - t0) / 1e6;
    const up = await running;
    if (up.code !== 0) throw new Error(`up failed:\n${up.err}`);
    const built = /image web: built \S+ \(\S+\) in ([0-9.]+)s/.exec(up.err);
    out.rounds.push({ changeToLiveMs: Math.round(total), buildMs: built ? Math.round(Number(built[1]) * 1000) : null, upMs: Math.round(up.ms), line: up.out.split('\n')[0] });
  }
  out.medianChangeToLiveMs = median(out.rounds.map((r) => r.changeToLiveMs));
  out.medianUpMs = median(out.rounds.map((r) => r.upMs));
  out.medianNoChangeUpMs = median(out.noChangeUpMs);
} finally {
  kiln(['destroy', '--stack', stack, '--yes']);
  spawnSync('sh', ['-c', `docker ps -aq --filter label=kiln.stack=${stack} | xargs -r docker rm -f`], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
