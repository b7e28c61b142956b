// `kiln validate` of many templates in one process: files and patterns, CloudFormation and Packer
// mixed, one summary, exit 1 when any is invalid (2 when a pattern matches nothing).
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-validate-many-'));
const write = (name: string, text: string) => {
  mkdirSync(join(dir, name, '..'), { recursive: true });
  writeFileSync(join(dir, name), text);
  return name;
};
const run = async (...argv: string[]) => {
  const io = memoryIO({ cwd: dir });
  const code = await main(['validate', ...argv], io);
  return { code, out: io.stdout, err: io.stderr };
};

const topic = ['Resources:', '  T:', '    Type: AWS::SNS::Topic', ''].join('\n');
write('stacks/net/vpc.yaml', ['Resources:', '  Vpc:', '    Type: AWS::EC2::VPC', '    Properties:', '      CidrBlock: 10.0.0.0/16', ''].join('\n'));
write('stacks/app/topic.yaml', topic);
write('stacks/app/sized.json', JSON.stringify({ Parameters: { Size: { Type: 'Number', Default: 1 } }, Resources: { Q: { Type: 'AWS::SQS::Queue' } } }));
write('images/web.json', JSON.stringify({ builders: [{ type: 'null', communicator: 'none' }] }));
write('broken/bad-cidr.yaml', ['Resources:', '  Vpc:', '    Type: AWS::EC2::VPC', '    Properties:', '      CidrBlock: 10.0.0.1/16', ''].join('\n'));
write('broken/bad-image.json', JSON.stringify({ builders: [{ type: 'no-such-builder' }] }));

describe('kiln validate of many templates', () => {
  it('checks every file a quoted ** pattern names and ends with one summary', async () => {
    const r = await run('stacks/**/*.{yaml,json}');
    expect(r.code).toBe(0);
    expect(r.err).toBe('kiln validate: 3 templates: 3 valid, 0 invalid (0 errors, 0 warnings)\n');
  });

  it('mixes CloudFormation and Packer templates, each judged as its own kind', async () => {
    const r = await run('stacks/net/vpc.yaml', 'images/web.json');
    expect(r.code).toBe(0);
    expect(r.err).toBe('kiln validate: 2 templates: 2 valid, 0 invalid (0 errors, 0 warnings)\n');
  });

  it('exits 1 when any template is invalid, with each problem located in its own file', async () => {
    const r = await run('stacks/**/*.yaml', 'broken/*');
    expect(r.code).toBe(1);
    const lines = r.err.trim().split('\n');
    expect(lines.some((l) => l.startsWith('broken/bad-cidr.yaml:5:18: error[E3031]: '))).toBe(true);
    expect(lines.some((l) => l.startsWith('broken/bad-image.json:') && l.includes('no-such-builder'))).toBe(true);
    expect(lines.at(-1)).toMatch(/^kiln validate: 4 templates: 2 valid, 2 invalid \(\d+ errors?, 0 warnings\)$/);
  });

  it('names a pattern that matches nothing, a usage error (exit 2), before checking anything', async () => {
    const r = await run('stacks/**/*.yaml', 'nowhere/**/*.yaml');
    expect(r.code).toBe(2);
    expect(r.err).toBe('kiln: validate: no file matches nowhere/**/*.yaml\n');
  });

  it('counts each file once even when two patterns name it', async () => {
    const r = await run('stacks/**/*.yaml', 'stacks/app/*.yaml');
    expect(r.err).toContain('kiln validate: 2 templates:');
  });

  it('gives --param values to the templates that declare them only', async () => {
    const ok = await run('stacks/**/*.{yaml,json}', '--param', 'Size=3');
    expect(ok.code).toBe(0);
    const bad = await run('stacks/**/*.{yaml,json}', '--param', 'Size=three');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('stacks/app/sized.json:1:');
    expect(bad.err).toContain("Parameter 'Size' must be a number, got 'three'");
  });

  it('prints every verdict as one JSON document with --json', async () => {
    const r = await run('stacks/net/vpc.yaml', 'broken/bad-cidr.yaml', 'images/web.json', '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.out) as {
      valid: boolean;
      summary: Record<string, number>;
      templates: Array<{ file: string; kind: string; valid: boolean; diagnostics: Array<{ code: string; line?: number }> }>;
    };
    expect(doc.valid).toBe(false);
    expect(doc.summary).toEqual({ templates: 3, valid: 2, invalid: 1, errors: 1, warnings: 0 });
    expect(doc.templates.map((t) => [t.file, t.kind, t.valid])).toEqual([
      ['stacks/net/vpc.yaml', 'cloudformation', true],
      ['broken/bad-cidr.yaml', 'cloudformation', false],
      ['images/web.json', 'packer', true],
    ]);
    expect(doc.templates[1]!.diagnostics).toEqual([expect.objectContaining({ code: 'E3031', line: 5 })]);
  });

  it('still treats one template as before (its own verdict line)', async () => {
    const r = await run('stacks/app/topic.yaml');
    expect(r.code).toBe(0);
    expect(r.err).toBe('stacks/app/topic.yaml: valid\n');
  });
});
