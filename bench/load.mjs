#!/usr/bin/env node
// A steady, bounded HTTP load from a second process: fixed concurrency, stops by itself after
// --duration seconds or --requests requests (whichever comes first), or on SIGTERM/SIGINT.
// Every request is recorded (start time, latency, outcome, the `version=` the body names), and the
// result is printed as one JSON object on stdout:
//   { total, ok, failed, errors: {reason: n}, versions: {v: n}, p50, p99, max, samples: [[t, ms, ok, v]] }
// `t` is ms since the epoch, so a caller can split the samples into phases (at rest / during a
// rollout) by its own timestamps.
//
//   node bench/load.mjs --url http://127.0.0.5/cgi-bin/index --concurrency 8 --duration 30
import http from 'node:http';

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

const url = arg('url');
if (!url) {
  process.stderr.write('usage: node bench/load.mjs --url URL [--concurrency 8] [--duration 30] [--requests 100000] [--timeout 5000]\n');
  process.exit(2);
}
const concurrency = Number(arg('concurrency', '8'));
const durationMs = Number(arg('duration', '30')) * 1000;
const maxRequests = Number(arg('requests', '1000000'));
const timeoutMs = Number(arg('timeout', '5000'));
const withSamples = arg('samples', 'true') !== 'false';

const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const samples = [];
const errors = {};
let started = 0;
let stopping = false;
const t0 = Date.now();

function once() {
  return new Promise((resolve) => {
    const t = Date.now();
    const start = process.hrtime.bigint();
    const done = (ok, version, reason) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      samples.push([t, Math.round(ms * 100) / 100, ok ? 1 : 0, version]);
      if (!ok) errors[reason] = (errors[reason] ?? 0) + 1;
      resolve();
    };
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const m = /version=(\S+)/.exec(body);
        if (res.statusCode === 200) done(true, m ? m[1] : '');
        else done(false, m ? m[1] : '', `HTTP ${res.statusCode}`);
      });
      res.on('error', (e) => done(false, '', e.code ?? e.message));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.on('error', (e) => done(false, '', e.code ?? e.message));
  });
}

async function worker() {
  while (!stopping && started < maxRequests && Date.now() - t0 < durationMs) {
    started++;
    await once();
  }
}

function pct(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

process.on('SIGTERM', () => (stopping = true));
process.on('SIGINT', () => (stopping = true));
// Announce readiness on stderr so a caller can wait for the load to be running.
process.stderr.write(`load: ${concurrency} clients on ${url}\n`);
await Promise.all(Array.from({ length: concurrency }, worker));
agent.destroy();
const lat = samples
  .filter((s) => s[2])
  .map((s) => s[1])
  .sort((a, b) => a - b);
const versions = {};
for (const s of samples) if (s[2]) versions[s[3]] = (versions[s[3]] ?? 0) + 1;
const out = {
  url,
  concurrency,
  ms: Date.now() - t0,
  total: samples.length,
  ok: samples.filter((s) => s[2]).length,
  failed: samples.filter((s) => !s[2]).length,
  errors,
  versions,
  p50: pct(lat, 50),
  p99: pct(lat, 99),
  max: lat.length ? lat[lat.length - 1] : 0,
  ...(withSamples ? { samples } : {}),
};
process.stdout.write(JSON.stringify(out) + '\n');
