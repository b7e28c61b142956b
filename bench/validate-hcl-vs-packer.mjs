#!/usr/bin/env node
// Benchmark: whole-process `node bin/kiln.js validate FILE.pkr.hcl` against `packer validate
// FILE.pkr.hcl` (Debian's Packer 1.6.6, CHECKPOINT_DISABLE=1), pair by pair on the same file,
// alternating which runs first. Templates: the seed's HCL2 twin (examples/seed/image.pkr.hcl) and a
// docker-only template of the same shape (no amazon-ebs, so Packer starts fewer plugins).
//
//   npm run build && node bench/validate-hcl-vs-packer.mjs [--pairs N] [--json OUT]
//
// Reports per template: the median wall time of each tool, the median of the per-pair ratios
// packer/kiln (how many times faster kiln is; goal ≥ 5), and CPU time (user + system) as read by
// /usr/bin/time, which the other work on a shared machine disturbs less.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const pairs = Number(opt('--pairs', '10'));
const jsonOut = opt('--json', '');

if (!existsSync(join(repo, 'dist', 'cli', 'main.js'))) {
  console.error('run `npm run build` first');
  process.exit(2);
}
const env = { ...process.env, CHECKPOINT_DISABLE: '1' };
const version = spawnSync('packer', ['version'], { encoding: 'utf8', env });
if (version.status !== 0) {
  console.error('packer is not installed (apt-get install -y packer)');
  process.exit(2);
}

const work = mkdtempSync(join(tmpdir(), 'kiln-bench-hcl-'));
const dockerOnly = join(work, 'docker.pkr.hcl');
writeFileSync(
  dockerOnly,
  readFileSync(join(repo, 'examples/seed/image.pkr.hcl'), 'utf8')
    .replace(/source "amazon-ebs" "aws" \{[\s\S]*?\n\}\n/, '')
    .replace('"source.docker.local", "source.amazon-ebs.aws"', '"source.docker.local"'),
);
symlinkSync(join(repo, 'examples/seed/app'), join(work, 'app'));
const templates = [
  { name: 'seed twin (docker + amazon-ebs)', dir: join(repo, 'examples/seed'), file: 'image.pkr.hcl' },
  { name: 'docker only', dir: work, file: 'docker.pkr.hcl' },
];

const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuFile = join(work, 'cpu');
function run(cmd, argv, cwd) {
  const t0 = process.hrtime.bigint();
  const r = timeBin ? spawnSync(timeBin, ['-f', '%U %S', '-o', cpuFile, cmd, ...argv], { encoding: 'utf8', cwd, env }) : spawnSync(cmd, argv, { encoding: 'utf8', cwd, env });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpuMs = NaN;
  if (timeBin) {
    const [u, s] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpuMs = (u + s) * 1000;
  }
  return { ms, cpuMs, status: r.status, out: r.stdout + r.stderr };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const kilnBin = join(repo, 'bin', 'kiln.js');
const results = [];
console.log(
  `${version.stdout.trim()} vs kiln, ${pairs} pairs per template, load average ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
for (const t of templates) {
  const k0 = run('node', [kilnBin, 'validate', t.file], t.dir);
  const p0 = run('packer', ['validate', t.file], t.dir);
  if (k0.status !== 0 || p0.status !== 0) {
    console.error(`${t.name}: not valid for both (kiln ${k0.status}, packer ${p0.status})\n${k0.out}\n${p0.out}`);
    process.exitCode = 1;
    continue;
  }
  const rows = [];
  for (let i = 0; i < pairs; i++) {
    const order = i % 2 ? ['packer', 'kiln'] : ['kiln', 'packer'];
    const row = {};
    for (const tool of order) row[tool] = tool === 'kiln' ? run('node', [kilnBin, 'validate', t.file], t.dir) : run('packer', ['validate', t.file], t.dir);
    rows.push({ kiln: row.kiln.ms, packer: row.packer.ms, kilnCpu: row.kiln.cpuMs, packerCpu: row.packer.cpuMs, ratio: row.packer.ms / row.kiln.ms });
    console.log(
      `  ${t.name} pair ${i + 1}: kiln ${row.kiln.ms.toFixed(0)} ms (cpu ${row.kiln.cpuMs.toFixed(0)}), packer ${row.packer.ms.toFixed(0)} ms (cpu ${row.packer.cpuMs.toFixed(0)}), packer/kiln ${(row.packer.ms / row.kiln.ms).toFixed(2)}`,
    );
  }
  const r = {
    template: t.name,
    kilnMedianMs: median(rows.map((x) => x.kiln)),
    packerMedianMs: median(rows.map((x) => x.packer)),
    ratioMedian: median(rows.map((x) => x.ratio)),
    kilnCpuMedianMs: median(rows.map((x) => x.kilnCpu)),
    packerCpuMedianMs: median(rows.map((x) => x.packerCpu)),
    pairs: rows,
  };
  results.push(r);
  console.log(
    `${t.name}: kiln ${r.kilnMedianMs.toFixed(0)} ms, packer ${r.packerMedianMs.toFixed(0)} ms, kiln is ${r.ratioMedian.toFixed(2)}x faster (median of per-pair ratios; goal >= 5); cpu kiln ${r.kilnCpuMedianMs.toFixed(0)} ms, packer ${r.packerCpuMedianMs.toFixed(0)} ms`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ packer: version.stdout.trim(), loadavg: os.loadavg(), results }, null, 2));
rmSync(work, { recursive: true, force: true });
