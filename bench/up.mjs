#!/usr/bin/env node
// No-change `kiln up` on the seed example against the peer, no-change `docker-compose up -d`
// (`npm run build` first). Whole-process wall time, the two alternating run by run.
//
//   node bench/up.mjs [runs=7]
//
// kiln: a copy of examples/seed deployed once (state in KILN_BENCH_STATE, default
// /tmp/kiln-bench-state, so the apt step stays cached), then `kiln up` again with nothing changed:
// it must find the image by its build key, plan, see no change, and say so in one line.
// docker-compose: two services (a busybox httpd as the web node, a busybox listener as the cache
// node) on their own network, `up -d` once, then `up -d` again with nothing changed.
// The seed stack has 12 resources (2 of them containers plus the load balancer); compose has 2
// containers, so the comparison favours compose. Prints one JSON object.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? '7');
const id = randomBytes(3).toString('hex');
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-up-'));
const proj = join(dir, 'seed');
cpSync(join(root, 'examples', 'seed'), proj, { recursive: true });
const state = process.env.KILN_BENCH_STATE ?? '/tmp/kiln-bench-state';
const stack = `bup-${id}`;
const env = { ...process.env, KILN_LABELS: 'kiln.test=bench-c2l' }; // same label as change-to-live: shared cache

function timed(cmd, args, opts = {}) {
  const t = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, ...opts });
  return { code: r.status, out: r.stdout, err: r.stderr, ms: Number(process.hrtime.bigint() - t) / 1e6 };
}
const kiln = (args) => timed(process.execPath, [join(root, 'bin', 'kiln.js'), ...args, '--state-dir', state]);

const composeDir = join(dir, 'compose');
cpSync(proj, composeDir, { recursive: true, filter: () => true });
writeFileSync(
  join(composeDir, 'docker-compose.yml'),
  `version: "3"
services:
  web:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "80"]
    labels: { kiln.test: "bench-up-${id}" }
    networks: [seed]
  cache:
    image: busybox:latest
    command: ["sh", "-c", "while true; do nc -l -p 6379 < /dev/null; done"]
    labels: { kiln.test: "bench-up-${id}" }
    networks: [seed]
networks:
  seed: {}
`,
);
const compose = (args) => timed('docker-compose', ['-p', `kbench${id}`, ...args], { cwd: composeDir });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const out = { runs, kilnMs: [], composeMs: [] };
try {
  const first = kiln(['up', proj, '--stack', stack, '--yes']);
  if (first.code !== 0) throw new Error(`first kiln up failed:\n${first.err}`);
  const c0 = compose(['up', '-d']);
  if (c0.code !== 0) throw new Error(`docker-compose up failed:\n${c0.err}`);
  for (let i = 0; i < runs; i++) {
    const k = kiln(['up', proj, '--stack', stack, '--yes']);
    if (!/up to date \(1 image cached, 0 changes\)/.test(k.out)) throw new Error(`kiln up changed something:\n${k.out}${k.err}`);
    out.kilnMs.push(Math.round(k.ms));
    const c = compose(['up', '-d']);
    if (c.code !== 0 || /Recreating|Creating/.test(c.err)) throw new Error(`docker-compose up changed something:\n${c.err}`);
    out.composeMs.push(Math.round(c.ms));
  }
  out.kilnLine = kiln(['up', proj, '--stack', stack, '--yes']).out.trim();
  out.kilnMedianMs = median(out.kilnMs);
  out.composeMedianMs = median(out.composeMs);
  out.ratio = Math.round((out.kilnMedianMs / out.composeMedianMs) * 100) / 100;
  out.nodeStartMs = Math.round(timed(process.execPath, ['-e', '']).ms);
} finally {
  kiln(['destroy', '--stack', stack, '--yes']);
  compose(['down', '--remove-orphans']);
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n');
