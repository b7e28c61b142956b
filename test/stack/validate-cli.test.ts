// `kiln validate` as a user runs it: exit codes, one line per problem on stderr, --json, --help,
// NoEcho masking, and Packer templates handed to the image engine.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';
import { isPackerTemplate } from '../../src/cli/commands/validate.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-validate-'));
const write = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return name;
};
const run = async (...argv: string[]) => {
  const io = memoryIO({ cwd: dir });
  const code = await main(['validate', ...argv], io);
  return { code, out: io.stdout, err: io.stderr };
};
const seed = fileURLToPath(new URL('../../examples/seed/stack.json', import.meta.url));

describe('kiln validate (CloudFormation)', () => {
  it('exits 0 for the seed stack with its AMI', async () => {
    const r = await run(seed, '--param', 'AmiId=ami-0123456789abcdef0');
    expect(r.code).toBe(0);
    expect(r.err).toContain('valid');
  });

  it('does not need a value for a parameter without a Default', async () => {
    expect((await run(seed)).code).toBe(0);
  });

  it('exits 1 with one FILE:LINE:COL line per problem, all of them', async () => {
    const f = write(
      'bad.yaml',
      ['Resources:', '  Web:', '    Type: AWS::EC2::Instance', '    Properties:', '      ImageId: !Ref AmiId', '      Colour: red', '  Q:', '    Type: AWS::SQS::Quue', ''].join('\n'),
    );
    const r = await run(f);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err.trim().split('\n')).toEqual([
      "bad.yaml:5:21: error[E1020]: Ref to 'AmiId', which is not a parameter, resource or pseudo parameter (at Resources.Web.Properties.ImageId.Ref)",
      "bad.yaml:6:7: error[E3002]: unknown property 'Colour' (at Resources.Web.Properties.Colour)",
      "bad.yaml:8:11: error[E3006]: unknown resource type 'AWS::SQS::Quue' (did you mean 'AWS::SQS::Queue'?) (at Resources.Q.Type)",
    ]);
  });

  it('prints diagnostics as JSON with --json', async () => {
    const f = write('bad.json', '{"Resources": {"T": {"Type": "AWS::SNS::Topic", "DependsOn": "Nope"}}}');
    const r = await run(f, '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { valid: boolean; diagnostics: Array<Record<string, unknown>> };
    expect(j.valid).toBe(false);
    expect(j.diagnostics).toEqual([
      { severity: 'error', code: 'E3005', message: "DependsOn names 'Nope', which is not a resource of this template", path: 'Resources.T.DependsOn', file: 'bad.json', line: 1, col: 62 },
    ]);
  });

  it('checks --param values and masks NoEcho ones', async () => {
    const f = write('secret.yaml', 'Parameters:\n  Pw:\n    Type: String\n    NoEcho: true\n    MinLength: 12\nResources:\n  T:\n    Type: AWS::SNS::Topic\n');
    const r = await run(f, '--param', 'Pw=hunter2');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/secret\.yaml:\d+:\d+: error\[PARAM_VALUE\]/);
    expect(r.err).not.toContain('hunter2');
    const j = await run(f, '--param', 'Pw=hunter2', '--json');
    expect(j.out).not.toContain('hunter2');
  });

  it('reports an unknown --param name', async () => {
    const r = await run(seed, '--param', 'Nope=1');
    expect(r.code).toBe(1);
    expect(r.err).toContain('Nope');
  });

  it('reports a missing file as a diagnostic, and usage errors with exit 2', async () => {
    const r = await run('missing.yaml');
    expect(r.code).toBe(1);
    expect(r.err).toContain('missing.yaml:1:1: error[E0000]: cannot read template: no such file');
    expect((await run()).code).toBe(2);
    expect((await run(seed, '--bogus')).code).toBe(2);
  });

  it('has a --help text covering both formats, with where kiln differs from Packer', async () => {
    const r = await run('--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: kiln validate TEMPLATE... [--param KEY=VALUE]... [--json]');
    expect(r.out).toContain('--var-file FILE');
    expect(r.out).toContain('Where kiln differs from Packer 1.6.6 on purpose');
  });
});

describe('kiln validate tells Packer templates from CloudFormation ones', () => {
  it.each([
    ['{"builders": [{"type": "docker"}]}', true],
    ['{"variables": {}, "provisioners": []}', true],
    ['{"builders": [], "Resources": {}}', false],
    ['{"Resources": {}}', false],
    ['{"Description": "x", "Resources": {"variables": {"Type": "AWS::SNS::Topic"}}}', false],
    ['builders: []', false],
    ['{not json', false],
    ['{"builders": [{"type": "docker",}]}', true],
  ])('%s -> packer %s', async (text, expected) => {
    expect(await isPackerTemplate(text)).toBe(expected);
  });

  it('hands a Packer template to the image engine', async () => {
    const f = write('image.json', JSON.stringify({ builders: [{ type: 'null', communicator: 'none' }] }));
    const r = await run(f);
    expect(r.err).not.toContain('E1001');
    expect(r.err).not.toContain('Resources');
  });
});
