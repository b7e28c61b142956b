// Records real Packer 1.6.6's `packer validate` verdict on every template fixture of the corpus
// (../shared/corpus/packer/fixtures), with the flags, variables and environment each fixture needs
// (see the corpus README). Output: test/image/fixtures/packer-verdicts.json, committed so the tests
// that compare kiln's verdicts do not need the packer binary.
//
// Usage: scripts/packer-verdicts.sh   (needs /usr/bin/packer 1.6.6)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpus = resolve(repo, '../shared/corpus/packer/fixtures');
const kilnDir = join(repo, 'test/image/fixtures/templates');
const out = join(repo, 'test/image/fixtures/packer-verdicts.json');

// Files that are var files (or not legacy templates at all), never validated as templates.
const NOT_TEMPLATES = new Set([
  'command/flag-kv/test-fixtures/basic.json',
  'command/test-fixtures/var-arg/apple.json',
  'packer/test-fixtures/build-var-file-interpolate.json',
  'packer/test-fixtures/build-var-file-interpolate2.json',
]);

// Extra runs beyond "validate FILE" (args are placed before the template; cwd = the fixture's dir).
const EXTRA = [
  { file: 'packer/test-fixtures/validate-req-variable.json', args: ['-var', 'foo=bar'] },
  { file: 'packer/test-fixtures/build-env.json', env: { PACKER_TEST_ENV: 'test' } },
  { file: 'packer/test-fixtures/build-basic-interpolated.json', args: ['-var', 'name=gotta-{{user `my_var`}}', '-var', 'my_var=interpolate-em-all'] },
  { file: 'packer/test-fixtures/build-basic-interpolated-required.json', args: ['-var', 'name=gotta-{{user `my_var`}}', '-var', 'my_var=interpolate-em-all'] },
  {
    file: 'packer/test-fixtures/complex-recursed-env-user-var-file.json',
    env: { INTERPOLATE_TEST_ENV_1: 'bulbasaur', INTERPOLATE_TEST_ENV_2: '5', INTERPOLATE_TEST_ENV_3: '/path/to/nowhere', INTERPOLATE_TEST_ENV_4: 'bananas' },
    args: ['-var', 'final_var={{user `env_1`}}/{{user `env_2`}}/{{user `env_4`}}{{user `env_3`}}'],
  },
  { file: 'packer/test-fixtures/build-variables-interpolate.json', args: ['-var-file', 'build-var-file-interpolate.json'] },
  { file: 'packer/test-fixtures/build-ignore-template-variable.json', env: { PACKER_TEST_ENV: 'test' } },
  { file: 'command/test-fixtures/var-arg/fruit_builder.json', args: ['-var-file=apple.json'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.json', args: ['-var', 'fruit=banana', '-var-file=apple.json'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.json', args: ['-var-file=apple.json', '-var', 'fruit=banana'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.json', args: ['-var=fruit=pear'] },
  { file: 'command/test-fixtures/var-arg/fruit_builder.json', args: ['-var-file=potato.json'] },
  { file: 'command/test-fixtures/build-only/template.json', args: ['-only=chocolate,vanilla'] },
  { file: 'command/test-fixtures/build-only/template.json', args: ['-only=chocolate', '-only=vanilla'] },
  { file: 'command/test-fixtures/build-only/template.json', args: ['-only=chocolate,apple'] },
  { file: 'command/test-fixtures/build-only/template.json', args: ['-except=chocolate,vanilla,tomato'] },
  { file: 'command/test-fixtures/build-only/not-found.json', args: ['-only=chocolate'] },
  { file: 'command/test-fixtures/validate/validate_except.json', args: ['-except=vanilla,pear'] },
  { file: 'command/test-fixtures/validate/validate_except.json', args: ['-except=chocolate,apple'] },
  { file: 'command/test-fixtures/validate-invalid/bad_provisioner.json', args: ['-syntax-only'] },
  { file: 'command/test-fixtures/validate-invalid/broken.json', args: ['-syntax-only'] },
  { file: 'command/test-fixtures/validate/null_var.json', args: ['-syntax-only'] },
  { file: 'command/test-fixtures/validate/null_var.json', args: ['-var', 'null_var=x'] },
  { file: 'packer/test-fixtures/validate-min-version-high.json', args: ['-syntax-only'] },
  { file: 'command/test-fixtures/build-variable-sharing/template.json', args: ['-only=chocolate'] },
];

// kiln's own templates (test/image/fixtures/templates/*.json, cwd = that directory): config errors,
// functions, variables, syntax errors, each checked against the real binary too.
const KILN_EXTRA = [
  { file: 'var-env-ok.json', env: { KILN_TEST_X: 'hello' } },
  { file: 'var-files.json', args: ['-var-file=files/varfile-ok.json'] },
  { file: 'var-files.json', args: ['-var-file=files/varfile-number.json', '-var', 'base=b'] },
  { file: 'var-files.json', args: ['-var-file=files/varfile-array.json', '-var', 'base=b'] },
  { file: 'var-files.json', args: ['-var-file=files/varfile-trunc.json', '-var', 'base=b'] },
  { file: 'var-files.json', args: ['-var-file=files/missing.json', '-var', 'base=b'] },
  { file: 'var-files.json', args: ['-var', 'extra=E', '-var', 'base=b'] },
  { file: 'var-files.json', args: [] },
  { file: 'pp-only-skip.json', args: ['-only=a'] },
  { file: 'pp-only-skip.json', args: ['-except=shell-local'] },
  { file: 'docker-unknown-key.json', args: ['-syntax-only'] },
  { file: 'pp-except-cli.json', args: ['-except=m'] },
  { file: 'pp-except-cli.json', args: ['-only=null'] },
  { file: 'var-files.json', args: ['-var', 'base={{env `HOME`}}'] },
  { file: 'var-files.json', args: ['-var', 'base={{user `v`}}'] },
  { file: 'docker-missing.json', args: ['-except=docker'] },
  { file: 'docker-missing.json', args: ['-only=nothing'] },
  { file: 'docker-missing.json', args: ['-only=dock*'] },
];

function walk(dir) {
  const outFiles = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) outFiles.push(...walk(p));
    else if (name.endsWith('.json')) outFiles.push(relative(corpus, p));
  }
  return outFiles;
}

const cases = [];
for (const file of walk(corpus)) if (!NOT_TEMPLATES.has(file)) cases.push({ file, args: [], env: {} });
for (const e of EXTRA) cases.push({ file: e.file, args: e.args ?? [], env: e.env ?? {} });

for (const name of readdirSync(kilnDir).sort()) if (name.endsWith('.json')) cases.push({ root: 'kiln', file: name, args: [], env: {} });
for (const e of KILN_EXTRA) cases.push({ root: 'kiln', file: e.file, args: e.args ?? [], env: e.env ?? {} });

const version = spawnSync('packer', ['version'], { encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } }).stdout.trim();
const results = [];
for (const c of cases) {
  const cwd = c.root === 'kiln' ? kilnDir : join(corpus, dirname(c.file));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, CHECKPOINT_DISABLE: '1', ...c.env };
  const r = spawnSync('packer', ['validate', ...c.args, basename(c.file)], { cwd, env, encoding: 'utf8' });
  const id = [c.root === 'kiln' ? `kiln:${c.file}` : c.file, ...c.args].join(' ') + (Object.keys(c.env).length ? ` [env ${Object.keys(c.env).join(',')}]` : '');
  results.push({ id, root: c.root ?? 'corpus', file: c.file, args: c.args, env: c.env, exitCode: r.status, stdout: r.stdout, stderr: r.stderr });
  process.stderr.write(`${r.status === 0 ? 'ok  ' : 'FAIL'} ${id}\n`);
}
writeFileSync(out, JSON.stringify({ packer: version, recorded: new Date().toISOString().slice(0, 10), cases: results }, null, 2) + '\n');
process.stderr.write(`wrote ${relative(repo, out)}: ${results.length} cases\n`);
