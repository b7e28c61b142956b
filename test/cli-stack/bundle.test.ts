// bin/kiln.js runs a command from its bundle (dist/bundle/NAME.cjs, scripts/bundle-cli.mjs) with
// V8's code cache: the same output and exit code as the ES modules of dist/ (KILN_NO_BUNDLE=1), a
// cache written after the first run and used by the next, and a cache that is garbage, or a bundle
// older than dist/, never changing what a command does. Runs on a copy of bin/ and dist/ (after
// `npm run build`), so that its caches and file times are its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');
const seed = join(repo, 'examples', 'seed');
let root: string;
let work: string;

beforeAll(() => {
  if (!existsSync(join(repo, 'dist', 'bundle', 'validate.cjs'))) throw new Error('dist/bundle is missing: run `npm run build` first');
  root = mkdtempSync(join(tmpdir(), 'kiln-bundle-'));
  for (const d of ['bin', 'dist']) cpSync(join(repo, d), join(root, d), { recursive: true, preserveTimestamps: true, filter: (src) => !src.includes(join('dist', 'bundle', 'cache')) });
  cpSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  work = join(root, 'work');
  mkdirSync(work);
  // (inspect prints locals: no timestamp() here, so that two runs print the same.)
  writeFileSync(
    join(work, 'ok.pkr.hcl'),
    'variable "v" {\n  default = "1"\n}\nlocals {\n  l = upper(var.v)\n}\nsource "docker" "x" {\n  image = "alpine"\n  commit = true\n}\nbuild {\n  sources = ["source.docker.x"]\n  provisioner "shell" {\n    inline = ["echo ${local.l}"]\n  }\n}\n',
  );
  writeFileSync(join(work, 'bad.pkr.hcl'), 'source "docker" "x" {\n  image = \n');
  writeFileSync(join(work, 'unknown.pkr.hcl'), 'source "docker" "x" {\n  image = "alpine"\n  commit = true\n  bogus = 1\n}\nbuild {\n  sources = ["source.docker.x"]\n}\n');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function kiln(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(root, 'bin', 'kiln.js'), ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const caches = (name: string) => (existsSync(join(root, 'dist', 'bundle', 'cache')) ? readdirSync(join(root, 'dist', 'bundle', 'cache')).filter((f) => f.startsWith(`${name}-`)) : []);

const CASES: Array<[string, string[]]> = [
  ['an HCL2 template that validates', ['validate', join(seed, 'image.pkr.hcl')]],
  ['an HCL2 syntax error (HashiCorp’s parser, loaded on demand)', ['validate', 'bad.pkr.hcl']],
  ['an unknown argument', ['validate', 'unknown.pkr.hcl']],
  ['a JSON Packer template', ['validate', join(seed, 'image.json')]],
  ['a CloudFormation template', ['validate', join(seed, 'stack.json')]],
  ['validate --help', ['validate', '--help']],
  ['a missing file', ['validate', 'no-such.pkr.hcl']],
  ['inspect', ['inspect', 'ok.pkr.hcl']],
  ['convert', ['convert', join(seed, 'image.json')]],
  ['graph', ['graph', join(seed, 'stack.json')]],
  ['an unknown flag', ['graph', '--bogus', join(seed, 'stack.json')]],
];

describe('a command run from its bundle does what the ES modules do', () => {
  for (const [what, args] of CASES)
    it(
      what,
      () => {
        const esm = kiln(args, { KILN_NO_BUNDLE: '1' });
        const first = kiln(args);
        const second = kiln(args);
        expect(first).toEqual(esm);
        expect(second).toEqual(esm);
        expect(esm.out + esm.err).not.toMatch(/\n\s+at /); // no stack trace
      },
      60_000,
    );
});

describe('the code cache', () => {
  it('is written after the first run of a command and is named after the bundle', () => {
    rmSync(join(root, 'dist', 'bundle', 'cache'), { recursive: true, force: true });
    expect(kiln(['validate', join(seed, 'image.pkr.hcl')]).code).toBe(0);
    const [file, ...more] = caches('validate');
    expect(more).toEqual([]);
    const hash = /^\/\/ kiln bundle ([0-9a-f]{64})\n/.exec(readFileSync(join(root, 'dist', 'bundle', 'validate.cjs'), 'latin1'))![1]!;
    expect(file).toContain(hash.slice(0, 24));
    expect(file).toContain(process.version);
    // The next run uses it and leaves it as it is.
    const before = statSync(join(root, 'dist', 'bundle', 'cache', file!));
    expect(kiln(['validate', join(seed, 'image.pkr.hcl')]).code).toBe(0);
    expect(statSync(join(root, 'dist', 'bundle', 'cache', file!)).mtimeMs).toBe(before.mtimeMs);
  }, 60_000);

  it('that is garbage is refused by V8 and replaced; the command is unaffected', () => {
    const want = kiln(['inspect', 'ok.pkr.hcl'], { KILN_NO_BUNDLE: '1' });
    expect(kiln(['inspect', 'ok.pkr.hcl'])).toEqual(want);
    const [file] = caches('inspect');
    expect(file).toBeDefined();
    const path = join(root, 'dist', 'bundle', 'cache', file!);
    const size = statSync(path).size;
    for (const junk of [Buffer.alloc(size, 7), Buffer.from('not a cache'), Buffer.alloc(0)]) {
      writeFileSync(path, junk);
      expect(kiln(['inspect', 'ok.pkr.hcl'])).toEqual(want);
      expect(readFileSync(path).equals(junk)).toBe(false);
    }
  }, 60_000);

  it('is not written where it cannot be (a read-only installation runs without one)', () => {
    rmSync(join(root, 'dist', 'bundle', 'cache'), { recursive: true, force: true });
    writeFileSync(join(root, 'dist', 'bundle', 'cache'), 'a file where the directory would be');
    try {
      const want = kiln(['validate', join(seed, 'image.json')], { KILN_NO_BUNDLE: '1' });
      expect(kiln(['validate', join(seed, 'image.json')])).toEqual(want);
    } finally {
      rmSync(join(root, 'dist', 'bundle', 'cache'), { force: true });
    }
  }, 60_000);
});

describe('a bundle older than dist/ (a build by tsc alone)', () => {
  it('is not used: dist/ is run, and no cache is made for it', () => {
    const bundle = join(root, 'dist', 'bundle', 'convert.cjs');
    // Mark the bundle as stale by changing its text (as a new build of dist/ would make it):
    // were it run, the output would say so.
    const text = readFileSync(bundle, 'latin1');
    writeFileSync(bundle, text.replace('"use strict";', '"use strict";process.stdout.write("STALE BUNDLE\\n");'));
    const old = Date.now() / 1000 - 3600;
    utimesSync(bundle, old, old);
    rmSync(join(root, 'dist', 'bundle', 'cache'), { recursive: true, force: true });
    const r = kiln(['convert', join(seed, 'image.json')]);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('STALE BUNDLE');
    expect(caches('convert')).toEqual([]);
    // The same bundle made newer than dist/ is run (the check above is what kept it out).
    const now = Date.now() / 1000;
    utimesSync(bundle, now, now);
    expect(kiln(['convert', join(seed, 'image.json')]).out).toContain('STALE BUNDLE');
  }, 60_000);
});
