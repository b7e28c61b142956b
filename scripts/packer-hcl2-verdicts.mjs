// Records real Packer 1.6.6's `packer validate` verdict on every HCL2 template of the corpus
// (../shared/corpus/packer-hcl2/fixtures): each `*.pkr.hcl` / `*.pkr.json` file on its own, each
// directory that holds them (as Packer loads a folder, `*.auto.pkrvars.hcl` included), and the runs
// with var files the fixtures are made for. cwd = the fixture's directory. Output:
// test/image/fixtures/packer-hcl2-verdicts.json, committed so the corpus test needs no packer.
//
// Usage: scripts/packer-hcl2-verdicts.sh   (needs /usr/bin/packer 1.6.6)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = resolve(repo, '../shared/corpus/packer-hcl2/fixtures');
const out = join(repo, 'test/image/fixtures/packer-hcl2-verdicts.json');

function walk(dir) {
  const files = [];
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) files.push(...walk(p));
    else files.push(p);
  }
  return files;
}

const isTemplate = (f) => f.endsWith('.pkr.hcl') || f.endsWith('.pkr.json');
const all = walk(corpus).map((f) => relative(corpus, f));
const units = [];
for (const f of all.filter(isTemplate)) units.push({ file: f, args: [] });
const dirs = [...new Set(all.filter(isTemplate).map((f) => dirname(f)))].sort();
for (const d of dirs) units.push({ file: `${d}/`, args: [] });

// Runs with the var files and flags the fixtures exist for (the Go tests pass them so).
const EXTRA = [
  { file: 'command/test-fixtures/hcl/validation/map/', args: ['-var-file=invalid_value.pkrvars.hcl'] },
  { file: 'command/test-fixtures/hcl/validation/map/', args: ['-var-file=valid_value.pkrvars.hcl'] },
  { file: 'command/test-fixtures/validate/var-file-tests/basic.pkr.hcl', args: ['-var-file=basic.pkrvars.hcl'] },
  { file: 'command/test-fixtures/validate/var-file-tests/basic.pkr.hcl', args: ['-var-file=undeclared.pkrvars.hcl'] },
  { file: 'command/test-fixtures/validate/var-file-tests/basic.pkr.hcl', args: ['-var-file=undeclared.json'] },
  { file: 'command/test-fixtures/validate/var_foo_with_no_default.pkr.hcl', args: ['-var', 'foo=bar'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.pkr.hcl', args: ['-var-file=apple.hcl'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.pkr.hcl', args: ['-var', 'fruit=banana'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.pkr.hcl', args: ['-var-file=apple.hcl', '-var', 'fruit=banana'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.pkr.hcl', args: ['-var', 'fruit=banana', '-var-file=apple.hcl'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.pkr.hcl', args: ['-var-file=chocolate.auto.pkrvars.hcl'] },
  { file: 'command/test-fixtures/var-arg/map.pkr.hcl', args: ['-var', 'images={"key":"value"}'] },
  { file: 'command/test-fixtures/build-only/template.pkr.hcl', args: ['-only=chocolate.file.vanilla'] },
  { file: 'command/test-fixtures/build-only/template.pkr.hcl', args: ['-only=*.chocolate'] },
  { file: 'command/test-fixtures/build-only/template.pkr.hcl', args: ['-except=file.chocolate'] },
  { file: 'command/test-fixtures/validate/validate_except.pkr.hcl', args: ['-except=file.vanilla'] },
  { file: 'command/test-fixtures/validate/build_with_vars.pkr.hcl', args: ['-var', 'target=x'] },
  { file: 'hcl2template/testdata/variables/foo-string.variable.pkr.hcl', args: ['-var-file=set-foo-too-wee.hcl'] },
  { file: 'hcl2template/testdata/variables/validation/valid_map/', args: [] },
  { file: 'command/test-fixtures/hcl/variables/ref_non_existing/', args: [] },
  { file: 'command/test-fixtures/hcl/recursive_local_with_unset_input/', args: ['-var', 'INPUT=x'] },
  { file: 'command/test-fixtures/fmt/', args: ['-var-file=unformatted.pkrvars.hcl'] },
];
const ids = new Set(units.map((u) => u.file));
for (const e of EXTRA) {
  if (!ids.has(e.file) && !e.file.endsWith('/')) throw new Error(`no such fixture: ${e.file}`);
  units.push(e);
}

const cases = [];
for (const u of units) {
  const dir = u.file.endsWith('/') ? join(corpus, u.file) : join(corpus, dirname(u.file));
  const target = u.file.endsWith('/') ? '.' : u.file.split('/').pop();
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, CHECKPOINT_DISABLE: '1', PACKER_PLUGIN_PATH: '/nonexistent', ...(u.env ?? {}) };
  const r = spawnSync('packer', ['validate', ...u.args, target], { cwd: dir, env, encoding: 'utf8', timeout: 60000 });
  const id = u.args.length ? `${u.file} ${u.args.join(' ')}` : u.file;
  cases.push({ id, file: u.file, args: u.args, env: u.env ?? {}, exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr });
  process.stderr.write(`${r.status === 0 ? 'valid  ' : 'INVALID'} ${id}\n`);
}
const version = spawnSync('packer', ['version'], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } })
  .stdout.trim()
  .split('\n')[0];
writeFileSync(out, JSON.stringify({ packer: version, recorded: new Date().toISOString().slice(0, 10), cases }, null, 2) + '\n');
process.stderr.write(`${cases.length} cases → ${relative(repo, out)}\n`);
