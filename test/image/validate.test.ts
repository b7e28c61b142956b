// `kiln validate` for Packer templates: Packer's flags and exit codes, located errors, --json,
// secrets masked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { looksLikePackerTemplate, runImageValidate, VALIDATE_HELP } from '../../src/cli/commands/validate-image.js';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { KilnError } from '../../src/core/errors.js';
import { Readable } from 'node:stream';

const dir = mkdtempSync(join(tmpdir(), 'kiln-validate-'));
const write = (name: string, v: unknown) => {
  writeFileSync(join(dir, name), typeof v === 'string' ? v : JSON.stringify(v, null, 2));
  return name;
};
const run = async (argv: string[], env: NodeJS.ProcessEnv = {}) => {
  const io = memoryIO({ cwd: dir, env });
  let code: number;
  try {
    code = await runImageValidate(argv, io);
  } catch (e) {
    if (!KilnError.is(e)) throw e;
    io.err(e.message);
    code = e.exitCode;
  }
  return { code, out: io.stdout, err: io.stderr };
};

const good = write('good.json', {
  variables: { tag: 'v1' },
  builders: [{ type: 'docker', image: 'busybox:latest', commit: true, pull: false }],
  'post-processors': [{ type: 'docker-tag', repository: 'x/y', tags: ['{{user `tag`}}'] }],
});
const secret = write('secret.json', {
  variables: { token: null },
  'sensitive-variables': ['token'],
  builders: [{ type: 'null', communicator: 'none' }],
  provisioners: [{ type: 'shell-local', script: 'run-{{user `token`}}.sh' }],
});

describe('kiln validate (Packer templates)', () => {
  it('exits 0 for a valid template', async () => {
    expect(await run([good])).toEqual({ code: 0, out: 'Template validated successfully.\n', err: '' });
  });
  it('exits 1 with located errors in a format a Packer user recognises', async () => {
    const f = write('bad.json', '{\n  "builders": [\n    {"type": "docker", "image": "x", "commit": true,\n     "bogus": 1}\n  ]\n}\n');
    const r = await run([f]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`bad.json:4:6: error[PACKER_CONFIG]: Failed to prepare build: "docker": unknown configuration key: '"bogus"' (at builders[0].bogus)\n`);
  });
  it('shows the source line with a caret on a terminal', async () => {
    const f = write('bad-tty.json', '{\n  "builders": [\n    {"type": "docker", "image": "x", "commit": true,\n     "bogus": 1}\n  ]\n}\n');
    const io = memoryIO({ cwd: dir, env: {}, tty: true });
    expect(await runImageValidate([f], io)).toBe(1);
    expect(io.stderr).toBe(
      `bad-tty.json:4:6: error[PACKER_CONFIG]: Failed to prepare build: "docker": unknown configuration key: '"bogus"' (at builders[0].bogus)\n     4 |      "bogus": 1}\n       |      ^\n`,
    );
  });
  it('-syntax-only stops after parsing', async () => {
    const f = write('syntax-ok.json', { builders: [{ type: 'docker', bogus: 1 }] });
    expect(await run(['-syntax-only', f])).toEqual({ code: 0, out: 'Syntax-only check passed. Everything looks okay.\n', err: '' });
    const broken = write('broken.json', '{"builders": [}');
    const r = await run(['-syntax-only', broken]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      "broken.json:1:15: error[PACKER_SYNTAX]: Failed to parse template: Error parsing JSON: invalid character '}' looking for beginning of value at line 1, column 15 (offset 15)",
    );
    expect(r.err).toContain('At line 1, column 15 (offset 15):');
  });
  it('takes -var, -var-file, -only and -except like packer', async () => {
    const t = write('vars.json', {
      variables: { base: null },
      builders: [
        { type: 'docker', name: 'a', image: '{{user `base`}}', commit: true },
        { type: 'docker', name: 'b' },
      ],
    });
    write('v.json', { base: 'busybox' });
    expect((await run([t])).err).toContain('required variable not set: base');
    expect((await run(['-var', 'base=busybox', '-only=a', t])).code).toBe(0);
    expect((await run(['-var-file=v.json', '-except', 'b', t])).code).toBe(0);
    expect((await run(['-var-file=v.json', t])).err).toContain('Failed to prepare build: "b": Image must be specified');
    const loop = await run(['-var', 'base=x', '-var', 'extra={{user `nope`}}', t]);
    expect(loop.err).toMatch(/^vars\.json: error\[PACKER_VARIABLES\]: Failed to interpolate "extra": .*variable not set: nope.* \(at -var extra\)\n$/);
    const missing = await run(['-var-file=nope.json', t]);
    expect(missing).toMatchObject({ code: 1, err: 'open nope.json: no such file or directory' });
  });
  it('never prints a sensitive value, even inside an error message', async () => {
    const r = await run(['-var', 'token=hunter2', secret]);
    expect(r.code).toBe(1);
    expect(r.err).toContain("Bad script 'run-<sensitive>.sh'");
    expect(r.err).not.toContain('hunter2');
    const j = await run(['--json', '-var', 'token=hunter2', secret]);
    expect(j.out).not.toContain('hunter2');
    const named = write('secret-name.json', { variables: { n: '' }, 'sensitive-variables': ['n'], builders: [{ type: 'null', communicator: 'none', name: '{{user `n`}}' }] });
    const jn = await run(['--json', '-var', 'n=qu"oted', named]);
    expect(JSON.parse(jn.out).builds).toEqual(['<sensitive>']);
  });
  it('--json prints the verdict and located diagnostics', async () => {
    const r = await run(['--json', good]);
    expect(JSON.parse(r.out)).toEqual({ valid: true, template: good, builds: ['docker'], diagnostics: [] });
    const bad = JSON.parse((await run(['--json', write('nob.json', { variables: {} })])).out) as { valid: boolean; diagnostics: Array<{ code: string; message: string }> };
    expect(bad.valid).toBe(false);
    expect(bad.diagnostics).toEqual([expect.objectContaining({ code: 'PACKER_TEMPLATE', message: 'at least one builder must be defined' })]);
  });
  it('-machine-readable prints Packer-style ui records, masked and escaped', async () => {
    const r = await run(['-machine-readable', '-var', 'token=hunter2', secret]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^\d+,,ui,error,secret\.json:\d+:\d+: error\[PACKER_CONFIG\]: Failed to prepare build: "null": Bad script 'run-<sensitive>\.sh'/);
    expect(r.out).not.toContain('hunter2');
    expect((await run(['-machine-readable', good])).out).toBe('');
    expect((await run(['-machine-readable', '-syntax-only', good])).out).toMatch(/^\d+,,ui,say,Syntax-only check passed\. Everything looks okay\.\n$/);
  });
  it('reads the template from stdin with -', async () => {
    const io = { ...memoryIO({ cwd: dir, env: {} }), stdin: Readable.from([Buffer.from('{"builders": [{"type": "null", "communicator": "none"}]}')]) };
    expect(await runImageValidate(['-'], io)).toBe(0);
    const bad = { ...memoryIO({ cwd: dir, env: {} }), stdin: Readable.from([Buffer.from('{"builders": [}')]) };
    expect(await runImageValidate(['-'], bad)).toBe(1);
  });
  it('reads HCL2 templates (*.pkr.json, *.pkr.hcl) as Packer does, errors located', async () => {
    expect((await run([write('x.pkr.json', '{}')])).code).toBe(0);
    const r = await run([write('y.pkr.hcl', 'source "docker" "d" {\n  image = "x"\n  bogus = 1\n}\nbuild {\n  sources = ["source.docker.d"]\n}\n')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/y\.pkr\.hcl:3:3: error\[PACKER_CONFIG\]: .*An argument named "bogus" is not expected here/);
  });
  it('documents where it differs from Packer 1.6.6', async () => {
    expect((await run(['--help'])).out).toBe(VALIDATE_HELP);
    expect(VALIDATE_HELP).toMatch(/pause_before and timeout keeps its timeout/);
    expect(VALIDATE_HELP).toMatch(/-machine-readable included/);
  });
  it('tells a Packer template from a CloudFormation one, even when the JSON is broken', () => {
    expect(looksLikePackerTemplate('{"builders": [{"type": "null",}]}')).toBe(true);
    expect(looksLikePackerTemplate('{"description": "foo"}')).toBe(true);
    expect(looksLikePackerTemplate('{"Resources": {}}')).toBe(false);
    expect(looksLikePackerTemplate('{"Description": "x", "Resources": {"A": {"Type": "AWS::SNS::Topic",}}}')).toBe(false);
    expect(looksLikePackerTemplate('Resources:\n  A: {}\n')).toBe(false);
  });
  it('validates the seed image template of the repository (with and without -only=local)', async () => {
    const seed = new URL('../../examples/seed/', import.meta.url).pathname;
    for (const args of [['image.json'], ['-only=local', 'image.json']]) {
      const io = memoryIO({ cwd: seed, env: {} });
      expect(await runImageValidate(args, io), io.stderr).toBe(0);
    }
  });
  it('is what `kiln validate` runs for a Packer template', async () => {
    const io = memoryIO({ cwd: dir, env: {} });
    expect(await main(['validate', good], io)).toBe(0);
    expect(io.stdout).toBe('Template validated successfully.\n');
  });
});
