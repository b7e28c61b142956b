#!/usr/bin/env node
// Benchmark: whole-process `node bin/kiln.js validate FILE` against `cfn-lint FILE` (1.51.0), pair by
// pair, on the seed stack and on every template of ../shared/corpus/cloudformation/cfn-lint.
// Reports median wall times, the ratio, and every verdict difference with the reason recorded in
// test/stack/fixtures/corpus-verdicts.json (or the cfn-lint rule ids when none is recorded).
//
//   npm run build && node bench/validate-vs-cfnlint.mjs [--runs N] [--seed-runs N] [--limit N] [--json OUT]
//   npm run build && node bench/validate-vs-cfnlint.mjs --one-process [--runs N] [--only widdix] [--json OUT]
//
// --one-process: the whole corpus (cfn-lint fixtures and widdix templates, every .yaml/.yml/.json)
// in ONE `kiln validate FILE...` process against ONE `cfn-lint FILE...` process, alternating, N runs;
// reports the medians, their ratio and how many files each tool rejects. --only DIR narrows it to one
// folder of the corpus (`--only widdix`: the 65 production templates of issue 11's proof).
//
// Verdicts: kiln rejects = exit 1; cfn-lint rejects = an error finding (exit code bit 2). Runs are
// sequential (no overlap between the two tools), alternating kiln and cfn-lint per file.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const shared = process.env.KILN_SHARED ?? join(repo, '..', 'shared'); // the shared corpus (next to the main checkout)
const corpus = join(shared, 'corpus', 'cloudformation', 'cfn-lint');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const runs = Number(opt('--runs', '1'));
const seedRuns = Number(opt('--seed-runs', '5'));
const limit = Number(opt('--limit', '0'));
const jsonOut = opt('--json', '');

if (!existsSync(join(repo, 'dist', 'cli', 'main.js'))) {
  console.error('run `npm run build` first');
  process.exit(2);
}
const cfnVersion = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
if (cfnVersion.status !== 0) {
  console.error('cfn-lint is not installed');
  process.exit(2);
}

const verdicts = JSON.parse(readFileSync(join(repo, 'test', 'stack', 'fixtures', 'corpus-verdicts.json'), 'utf8'));
const findings = new Map(
  readFileSync(join(corpus, 'cfn-lint-1.51.0-findings.tsv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const [p, , r] = l.split('\t');
      return [p, r ?? ''];
    }),
);

const files = (dir) =>
  readdirSync(dir)
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? files(p) : [p];
    })
    .sort();

// CPU time (user + system) of the child, read with /usr/bin/time when it exists: less sensitive than
// wall time to the other work sharing the machine.
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const cpuFile = join(tmpdir(), `kiln-bench-cpu-${process.pid}`);

function time(cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = timeBin
    ? spawnSync(timeBin, ['-f', '%U %S', '-o', cpuFile, cmd, ...argv], { encoding: 'utf8', cwd: repo, maxBuffer: 64 * 1024 * 1024 })
    : spawnSync(cmd, argv, { encoding: 'utf8', cwd: repo, maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpuMs = NaN;
  if (timeBin) {
    const [u, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpuMs = (u + sys) * 1000;
  }
  return { ms, cpuMs, status: r.status, stdout: r.stdout, stderr: r.stderr };
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function pair(file, n, extraKiln = []) {
  const kiln = [];
  const cfn = [];
  const kilnCpu = [];
  const cfnCpu = [];
  let kStatus;
  let cStatus;
  let kErr = '';
  let cOut = '';
  for (let i = 0; i < n; i++) {
    const k = time(process.execPath, [join(repo, 'bin', 'kiln.js'), 'validate', file, ...extraKiln]);
    kiln.push(k.ms);
    kilnCpu.push(k.cpuMs);
    kStatus = k.status;
    kErr = k.stderr;
    const c = time('cfn-lint', [file]);
    cfn.push(c.ms);
    cfnCpu.push(c.cpuMs);
    cStatus = c.status;
    cOut = c.stdout;
  }
  const kilnRejects = kStatus === 1;
  const cfnRejects = ((cStatus ?? 0) & 2) === 2;
  const cfnRules = [...new Set([...cOut.matchAll(/^([EWI]\d{4}) /gm)].map((m) => m[1]))];
  const kilnCodes = [...new Set([...kErr.matchAll(/error\[([A-Z0-9_]+)\]/g)].map((m) => m[1]))];
  return { kilnMs: median(kiln), cfnMs: median(cfn), kilnCpuMs: median(kilnCpu), cfnCpuMs: median(cfnCpu), kilnStatus: kStatus, cfnStatus: cStatus, kilnRejects, cfnRejects, cfnRules, kilnCodes };
}

function reasonFor(rel, r) {
  if (verdicts.goodExceptions[rel]) return `kiln rejects (${verdicts.goodExceptions[rel].codes.join(', ')}): ${verdicts.goodExceptions[rel].why}`;
  if (verdicts.badNotTemplateLevel[rel]) return `not template-level: ${verdicts.badNotTemplateLevel[rel]}`;
  const errs = r.cfnRules.filter((x) => x.startsWith('E'));
  if (!r.kilnRejects && errs.length && errs.every((x) => x === 'E2533')) return 'cfn-lint E2533 only: deprecated Lambda runtime, a date-dependent service rule';
  if (!r.kilnRejects && errs.length) return `cfn-lint service/registry rules kiln does not have: ${errs.join(', ')}`;
  if (r.kilnRejects && !errs.length) return `kiln: ${r.kilnCodes.join(', ')}; cfn-lint only ${r.cfnRules.join(', ') || 'nothing'}`;
  return '';
}

if (args.includes('--one-process')) {
  onePass();
  process.exit(0);
}

const results = [];
const seed = join(repo, 'examples', 'seed', 'stack.json');
process.stderr.write(`seed stack (${seedRuns} runs each)…\n`);
const s = pair(seed, seedRuns, ['--param', 'AmiId=ami-0123456789abcdef0']);
results.push({ file: 'examples/seed/stack.json', ...s });

let list = files(corpus).filter((f) => /\.(ya?ml|json)$/.test(f));
if (limit > 0) list = list.slice(0, limit);
let i = 0;
for (const f of list) {
  const rel = relative(corpus, f);
  process.stderr.write(`\r[${++i}/${list.length}] ${rel}`.padEnd(90));
  results.push({ file: rel, ...pair(f, runs) });
}
process.stderr.write('\n');

const rows = results.map((r) => ({ ...r, ratio: r.cfnMs / r.kilnMs }));
const ratios = rows.map((r) => r.ratio);
const diffs = rows
  .filter((r) => r.kilnRejects !== r.cfnRejects)
  .map((r) => ({
    file: r.file,
    kiln: r.kilnRejects ? 'rejects' : 'accepts',
    cfnLint: r.cfnRejects ? `rejects (${r.cfnRules.filter((x) => x.startsWith('E')).join(',')})` : `accepts (${r.cfnRules.join(',') || 'clean'})`,
    why: reasonFor(r.file, r),
  }));

const seedRow = rows[0];
const summary = {
  cfnLint: cfnVersion.stdout.trim(),
  node: process.version,
  files: rows.length,
  seed: { kilnMs: +seedRow.kilnMs.toFixed(1), cfnLintMs: +seedRow.cfnMs.toFixed(1), ratio: +seedRow.ratio.toFixed(1), kilnValid: seedRow.kilnStatus === 0, cfnLintValid: !seedRow.cfnRejects },
  corpus: {
    kilnMedianMs: +median(rows.slice(1).map((r) => r.kilnMs)).toFixed(1),
    cfnLintMedianMs: +median(rows.slice(1).map((r) => r.cfnMs)).toFixed(1),
    ratioMedian: +median(ratios.slice(1)).toFixed(1),
    ratioMin: +Math.min(...ratios.slice(1)).toFixed(1),
    kilnTotalS: +(rows.slice(1).reduce((a, r) => a + r.kilnMs, 0) / 1000).toFixed(1),
    cfnLintTotalS: +(rows.slice(1).reduce((a, r) => a + r.cfnMs, 0) / 1000).toFixed(1),
  },
  cpu: {
    seedKilnMs: +seedRow.kilnCpuMs.toFixed(0),
    seedCfnLintMs: +seedRow.cfnCpuMs.toFixed(0),
    corpusKilnMedianMs: +median(rows.slice(1).map((r) => r.kilnCpuMs)).toFixed(0),
    corpusCfnLintMedianMs: +median(rows.slice(1).map((r) => r.cfnCpuMs)).toFixed(0),
    corpusRatioMedian: +median(rows.slice(1).map((r) => r.cfnCpuMs / r.kilnCpuMs)).toFixed(1),
    corpusRatioMin: +Math.min(...rows.slice(1).map((r) => r.cfnCpuMs / r.kilnCpuMs)).toFixed(1),
  },
  loadAverage: os.loadavg().map((x) => +x.toFixed(1)),
  sameVerdict: rows.length - diffs.length,
  differentVerdict: diffs.length,
};

console.log(JSON.stringify(summary, null, 2));
console.log('\nVerdict differences:');
for (const d of diffs) console.log(`- ${d.file}: kiln ${d.kiln}, cfn-lint ${d.cfnLint}. ${d.why}`);
console.log('\nPer file (ms, wall and CPU): kiln  cfn-lint  ratio | kiln-cpu  cfn-lint-cpu  ratio');
for (const r of rows)
  console.log(
    `${r.kilnMs.toFixed(0).padStart(6)} ${r.cfnMs.toFixed(0).padStart(8)} ${r.ratio.toFixed(1).padStart(6)}x | ${r.kilnCpuMs.toFixed(0).padStart(6)} ${r.cfnCpuMs.toFixed(0).padStart(8)} ${(r.cfnCpuMs / r.kilnCpuMs).toFixed(1).padStart(6)}x  ${r.file}`,
  );
if (timeBin) rmSync(cpuFile, { force: true });
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ summary, diffs, rows }, null, 2));

/** The whole corpus in one process per tool (see the header). */
function onePass() {
  const root = join(shared, 'corpus', 'cloudformation', opt('--only', ''));
  const walk = (dir) =>
    readdirSync(dir)
      .flatMap((f) => {
        const p = join(dir, f);
        return statSync(p).isDirectory() ? walk(p) : [p];
      })
      .sort();
  const all = walk(root).filter((f) => /\.(ya?ml|json)$/.test(f));
  const rels = all.map((f) => relative(root, f));
  const n = Number(opt('--runs', '3'));
  const kiln = [];
  const cfn = [];
  let kilnRejects = new Set();
  let cfnRejects = new Set();
  for (let i = 0; i < n; i++) {
    process.stderr.write(`run ${i + 1}/${n}: kiln…`);
    const k = timeIn(root, process.execPath, [join(repo, 'bin', 'kiln.js'), 'validate', '--json', ...rels]);
    kiln.push(k);
    const doc = JSON.parse(k.stdout);
    kilnRejects = new Set(doc.templates.filter((t) => !t.valid).map((t) => t.file));
    process.stderr.write(` ${(k.ms / 1000).toFixed(1)} s; cfn-lint…`);
    const c = timeIn(root, 'cfn-lint', ['-f', 'parseable', '--', ...rels]);
    cfn.push(c);
    cfnRejects = new Set([...c.stdout.matchAll(/^(.+?):\d+:\d+:\d+:\d+:E\d{4}:/gm)].map((m) => m[1]));
    process.stderr.write(` ${(c.ms / 1000).toFixed(1)} s\n`);
  }
  const both = rels.filter((f) => kilnRejects.has(f) && cfnRejects.has(f)).length;
  const result = {
    cfnLint: cfnVersion.stdout.trim(),
    node: process.version,
    files: rels.length,
    runs: n,
    kilnWallMs: kiln.map((r) => Math.round(r.ms)),
    cfnLintWallMs: cfn.map((r) => Math.round(r.ms)),
    kilnCpuMs: kiln.map((r) => Math.round(r.cpuMs)),
    cfnLintCpuMs: cfn.map((r) => Math.round(r.cpuMs)),
    ratioWallMedian: +(median(cfn.map((r) => r.ms)) / median(kiln.map((r) => r.ms))).toFixed(1),
    ratioCpuMedian: +(median(cfn.map((r) => r.cpuMs)) / median(kiln.map((r) => r.cpuMs))).toFixed(1),
    rejected: {
      kiln: kilnRejects.size,
      cfnLint: cfnRejects.size,
      both,
      onlyKiln: [...kilnRejects].filter((f) => !cfnRejects.has(f)).sort(),
      onlyCfnLint: [...cfnRejects].filter((f) => !kilnRejects.has(f)).sort(),
    },
    loadAverage: os.loadavg().map((x) => +x.toFixed(1)),
  };
  console.log(JSON.stringify(result, null, 2));
  if (jsonOut) writeFileSync(jsonOut, JSON.stringify(result, null, 2));
  if (timeBin) rmSync(cpuFile, { force: true });
}

function timeIn(cwd, cmd, argv) {
  const t0 = process.hrtime.bigint();
  const r = timeBin
    ? spawnSync(timeBin, ['-f', '%U %S', '-o', cpuFile, cmd, ...argv], { encoding: 'utf8', cwd, maxBuffer: 256 * 1024 * 1024 })
    : spawnSync(cmd, argv, { encoding: 'utf8', cwd, maxBuffer: 256 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let cpuMs = NaN;
  if (timeBin) {
    const [u, sys] = readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    cpuMs = (u + sys) * 1000;
  }
  return { ms, cpuMs, status: r.status, stdout: r.stdout, stderr: r.stderr };
}
