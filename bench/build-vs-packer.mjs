#!/usr/bin/env node
// kiln build vs real Packer 1.6.6 on the same template: a busybox base, one inline shell
// provisioner, a docker-tag post-processor (the template of reference §12). Whole-process wall
// time, pair by pair (kiln then Packer, alternating, so machine load hits both alike).
//
//   changed build:   the inline script gets a new line each pair, so kiln's key changes (kiln
//                    starts from the base image, as Packer always does). Goal: <= 0.8x Packer.
//   unchanged build: the same template again. kiln reuses the cached image; Packer rebuilds
//                    (it has no cache). Goal: kiln >= 10x faster.
//
// Usage: npm run build && node bench/build-vs-packer.mjs [pairs=8]
// Needs /usr/bin/packer (Debian's packer 1.6.6) and busybox:latest.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const kiln = join(root, 'bin', 'kiln.js');
const pairs = Number(process.argv[2] ?? 8);
const dir = mkdtempSync(join(tmpdir(), 'kiln-bench-build-'));
const label = `kiln.test=bench-${process.pid}`;
const env = { ...process.env, CHECKPOINT_DISABLE: '1', KILN_HOME: join(dir, 'state'), KILN_LABELS: label, PACKER_NO_COLOR: '1' };

function template(repo, n) {
  return JSON.stringify({
    builders: [{ type: 'docker', image: 'busybox:latest', pull: false, commit: true, changes: ['ENV FOO=bar'] }],
    provisioners: [{ type: 'shell', inline: [`echo run ${n} > /hello`, 'echo done'] }],
    'post-processors': [{ type: 'docker-tag', repository: repo, tags: ['v1'] }],
  });
}

function time(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ms, out: r.stdout };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Packer leaves every superseded image dangling (reference §9): remember them to remove them.
const packerImages = new Set();
function packer() {
  const r = time('packer', ['build', 'p.json']);
  for (const m of r.out.matchAll(/Image ID: (sha256:[0-9a-f]{64})/g)) packerImages.add(m[1]);
  return r;
}

const floor = [];
const changed = { kiln: [], packer: [] };
const unchanged = { kiln: [], packer: [] };
try {
  // warm-up (page cache, both binaries)
  writeFileSync(join(dir, 'k.json'), template('kiln-bench/k', 'warm'));
  writeFileSync(join(dir, 'p.json'), template('kiln-bench/p', 'warm'));
  time('node', [kiln, 'build', 'k.json']);
  packer();
  for (let i = 0; i < pairs; i++) {
    writeFileSync(join(dir, 'k.json'), template('kiln-bench/k', i));
    writeFileSync(join(dir, 'p.json'), template('kiln-bench/p', i));
    const k = time('node', [kiln, 'build', 'k.json']);
    if (/Reusing the cached image/.test(k.out)) throw new Error('changed build hit the cache');
    changed.kiln.push(k.ms);
    changed.packer.push(packer().ms);
    const k2 = time('node', [kiln, 'build', 'k.json']);
    if (!/Reusing the cached image/.test(k2.out)) throw new Error('unchanged build missed the cache');
    unchanged.kiln.push(k2.ms);
    unchanged.packer.push(packer().ms);
    floor.push(time('node', ['-e', '']).ms);
  }
} finally {
  // Remove what the runs made: kiln's images carry the label; Packer's are found by their tag's history.
  spawnSync(
    'sh',
    [
      '-c',
      `docker ps -aq --filter label=${label} | xargs -r docker rm -f; docker images -q --filter label=${label} | sort -u | xargs -r docker rmi -f; docker rmi -f ${[...packerImages].join(' ')} 2>/dev/null`,
    ],
    { stdio: 'ignore' },
  );
  rmSync(dir, { recursive: true, force: true });
}

const fmt = (xs) => xs.map((x) => Math.round(x)).join(', ');
const report = (name, r, goal) => {
  const ratios = r.kiln.map((k, i) => k / r.packer[i]);
  console.log(`${name}:`);
  console.log(`  kiln   ms: ${fmt(r.kiln)}  (median ${Math.round(median(r.kiln))})`);
  console.log(`  packer ms: ${fmt(r.packer)}  (median ${Math.round(median(r.packer))})`);
  console.log(`  kiln/packer per pair: ${ratios.map((x) => x.toFixed(3)).join(', ')}; median ${median(ratios).toFixed(3)} (${(1 / median(ratios)).toFixed(1)}x faster); goal ${goal}`);
};
console.log(
  `pairs: ${pairs}; load average at the end: ${(await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
report('changed build (miss)', changed, '<= 0.8');
report('unchanged build (kiln cache hit, Packer rebuilds)', unchanged, '<= 0.1');
console.log(`floor: an empty \`node -e ''\` took ${fmt(floor)} ms (median ${Math.round(median(floor))}) in the same pairs`);
