// kiln.yaml: the format, its mistakes with positions, and ${images.NAME} wiring (pure; no Docker).
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { parseYamlSource } from '../../src/stack/yaml.js';
import { checkConfig, parseParamValue, resolveParam } from '../../src/pipeline/config.js';
import { loadConfig } from '../../src/pipeline/load.js';

const FILES = new Set(['/p/image.json', '/p/stack.json', '/p/vars.json']);
const opts = {
  exists: (p: string) => (FILES.has(p) ? ('file' as const) : p === '/p/app' ? ('dir' as const) : undefined),
  resolvePath: (d: string, p: string) => (p.startsWith('/') ? p : `${d}/${p}`),
};

function check(text: string) {
  const doc = parseYamlSource(text, 'kiln.yaml');
  const r = checkConfig(doc, '/p/kiln.yaml', '/p', opts);
  return { ...r, lines: r.diagnostics.map((d) => formatDiagnostic(d)) };
}

const GOOD = `stack: seed
images:
  web:
    template: image.json
    builds:
      local: local
      aws: aws
    vars:
      app_version: "1"
      replicas: 2
    var_files: [vars.json]
stack_template: stack.json
parameters:
  AmiId: \${images.web}
  Environment: dev
  Label: web-\${images.web}-x
  Ports: [80, 443]
`;

describe('kiln.yaml', () => {
  it('reads the seed format: images per target, vars as strings, parameters with image references', () => {
    const r = check(GOOD);
    expect(r.lines).toEqual([]);
    const c = r.config!;
    expect(c.stack).toBe('seed');
    expect(c.stackTemplate).toBe('/p/stack.json');
    expect(c.images).toEqual([
      {
        name: 'web',
        template: '/p/image.json',
        builds: { local: 'local', aws: 'aws' },
        vars: [
          ['app_version', '1'],
          ['replicas', '2'],
        ],
        varFiles: ['/p/vars.json'],
      },
    ]);
    const art = (n: string) => (n === 'web' ? 'ami-0123456789abcdef0' : '?');
    expect(resolveParam(c.parameters.AmiId!, art)).toBe('ami-0123456789abcdef0');
    expect(resolveParam(c.parameters.Label!, art)).toBe('web-ami-0123456789abcdef0-x');
    expect(resolveParam(c.parameters.Environment!, art)).toBe('dev');
    expect(resolveParam(c.parameters.Ports!, art)).toBe('80,443');
  });

  it('the shared seed kiln.yaml and the project copy both load', async () => {
    for (const dir of ['/work/shared/examples/seed', 'examples/seed']) {
      const c = await loadConfig(dir, process.cwd());
      expect(c.stack).toBe('seed');
      expect(c.images.map((i) => [i.name, i.builds.local])).toEqual([['web', 'local']]);
      expect(Object.keys(c.parameters)).toContain('AmiId');
    }
  });

  it('an unknown key is an error at the key, with its logical path', () => {
    const r = check(GOOD.replace('    template: image.json', '    template: image.json\n    tempalte: x'));
    expect(r.config).toBeUndefined();
    expect(r.lines).toEqual(["kiln.yaml:5:5: error[KILN_YAML_UNKNOWN_KEY]: unknown key 'tempalte' (expected one of template, builds, vars, var_files) (at images.web.tempalte)"]);
    expect(check(`${GOOD}extra: 1\n`).lines).toEqual([
      "kiln.yaml:18:1: error[KILN_YAML_UNKNOWN_KEY]: unknown key 'extra' (expected one of stack, images, stack_template, parameters, s3_bucket) (at extra)",
    ]);
  });

  it('a missing template file is an error at its value', () => {
    const r = check(GOOD.replace('template: image.json', 'template: nope.json'));
    expect(r.lines).toEqual(['kiln.yaml:4:15: error[KILN_YAML_FILE]: template nope.json does not exist (looked for /p/nope.json) (at images.web.template)']);
    expect(check(GOOD.replace('stack_template: stack.json', 'stack_template: app')).lines).toEqual([
      'kiln.yaml:12:17: error[KILN_YAML_FILE]: stack template app is a directory, not a file (at stack_template)',
    ]);
  });

  it('a reference to an unknown image or an unknown ${…} form is an error at the parameter', () => {
    expect(check(GOOD.replace('AmiId: ${images.web}', 'AmiId: ${images.api}')).lines).toEqual([
      'kiln.yaml:14:10: error[KILN_YAML_REF]: ${images.api}: no image named api under images (known: web) (at parameters.AmiId)',
    ]);
    expect(check(GOOD.replace('AmiId: ${images.web}', 'AmiId: ${image.web}')).lines[0]).toMatch(/^kiln\.yaml:14:10: error\[KILN_YAML_REF\]: '\$\{image\.web\}' is not a reference kiln knows/);
  });

  it('wrong shapes and missing required keys say what is expected', () => {
    expect(check('stack: 1bad\nimages: []\nparameters: {}\n').lines.sort()).toEqual([
      "kiln.yaml:1:1: error[KILN_YAML_MISSING]: 'stack_template' is required: the CloudFormation template to deploy",
      'kiln.yaml:1:8: error[KILN_YAML_STACK]: stack name must be 1 to 128 letters, digits and hyphens, a letter first (at stack)',
      'kiln.yaml:2:9: error[KILN_YAML_TYPE]: images must be a mapping from image name to its template (at images)',
    ]);
    expect(check(GOOD.replace('      aws: aws', '      gcp: x')).lines).toEqual(["kiln.yaml:7:7: error[KILN_YAML_TARGET]: unknown target 'gcp' (expected local or aws) (at images.web.builds.gcp)"]);
    expect(check(GOOD.replace('  Environment: dev', '  Environment: {a: 1}')).lines).toEqual([
      'kiln.yaml:15:16: error[KILN_YAML_TYPE]: parameter Environment must be a string, a number, a boolean or a list of them (at parameters.Environment)',
    ]);
  });

  it('YAML syntax errors and duplicate keys keep their positions', () => {
    const r = check('stack: a\nstack: b\n');
    expect(r.config).toBeUndefined();
    expect(r.lines.some((l) => /^kiln\.yaml:2:1: error\[/.test(l))).toBe(true);
    expect(check('stack: [\n').config).toBeUndefined();
  });

  it('parameter values split into text and image references', () => {
    expect(parseParamValue('a${images.x}b${ images.y }')).toEqual({ parts: [{ text: 'a' }, { image: 'x' }, { text: 'b' }, { image: 'y' }], problems: [] });
    expect(parseParamValue('plain').parts).toEqual([{ text: 'plain' }]);
  });

  it('loadConfig finds DIR/kiln.yaml and names a missing one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cfg-'));
    await expect(loadConfig(dir)).rejects.toThrow(/kiln\.yaml does not exist/);
    mkdirSync(join(dir, 'app'));
    writeFileSync(join(dir, 'stack.json'), '{}');
    writeFileSync(join(dir, 'kiln.yaml'), 'stack: s\nimages: {}\nstack_template: stack.json\n');
    expect((await loadConfig(dir)).stackTemplate).toBe(join(dir, 'stack.json'));
  });
});

describe('kiln up: mistakes stop before anything is built', () => {
  it('prints each kiln.yaml error with its position and exits 1; a bad target exits 2', async () => {
    const { main } = await import('../../src/cli/main.js');
    const { memoryIO } = await import('../../src/cli/io.js');
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cfg-cli-'));
    writeFileSync(join(dir, 'stack.json'), '{}');
    writeFileSync(join(dir, 'kiln.yaml'), 'stack: s\nimages:\n  web:\n    template: missing.json\n    builds: {local: local}\nstack_template: stack.json\nparameters:\n  AmiId: ${images.api}\n');
    const io = memoryIO({ cwd: dir });
    expect(await main(['up', '.', '--state-dir', join(dir, 'state')], io)).toBe(1);
    expect(io.stderr.split('\n').filter(Boolean)).toEqual([
      `kiln.yaml:4:15: error[KILN_YAML_FILE]: template missing.json does not exist (looked for ${join(dir, 'missing.json')}) (at images.web.template)`,
      'kiln.yaml:8:10: error[KILN_YAML_REF]: ${images.api}: no image named api under images (known: web) (at parameters.AmiId)',
    ]);
    const io2 = memoryIO({ cwd: dir });
    expect(await main(['up', '.', '--target', 'gcp'], io2)).toBe(2);
    expect(io2.stderr).toMatch(/--target gcp: expected local or aws/);
  });
});

describe('kiln.yaml with an HCL2 template', () => {
  const hclOpts = { ...opts, exists: (p: string) => (p === '/p/image.pkr.hcl' || FILES.has(p) ? ('file' as const) : p === '/p/packer' ? ('dir' as const) : undefined) };
  const hcl = (template: string) => checkConfig(parseYamlSource(GOOD.replace('template: image.json', `template: ${template}`), 'kiln.yaml'), '/p/kiln.yaml', '/p', hclOpts);
  it('accepts a .pkr.hcl file as an image template', () => {
    const r = hcl('image.pkr.hcl');
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.images[0]?.template).toBe('/p/image.pkr.hcl');
  });
  it('accepts a folder of *.pkr.hcl files, as Packer reads one', () => {
    const r = hcl('packer');
    expect(r.diagnostics).toEqual([]);
    expect(r.config?.images[0]?.template).toBe('/p/packer');
  });
  it('still says where a missing template was looked for', () => {
    expect(hcl('nope.pkr.hcl').diagnostics.map((d) => formatDiagnostic(d))).toEqual([expect.stringContaining('template nope.pkr.hcl does not exist (looked for /p/nope.pkr.hcl)')]);
  });
});

describe("kiln up with the seed's HCL2 twin", () => {
  it("prepares the one build the target names (docker.local), with the JSON template's config", async () => {
    const { prepareImage } = await import('../../src/pipeline/up.js');
    const dir = mkdtempSync(join(tmpdir(), 'kiln-yaml-hcl-'));
    const seed = join(__dirname, '../../examples/seed');
    writeFileSync(join(dir, 'stack.json'), '{"Resources": {}}');
    const yaml = (template: string, build: string) =>
      `stack: s\nimages:\n  web:\n    template: ${template}\n    builds:\n      local: ${build}\n    vars:\n      app_version: "7"\nstack_template: stack.json\nparameters: {}\n`;
    writeFileSync(join(dir, 'kiln.yaml'), yaml(join(seed, 'image.pkr.hcl'), 'docker.local'));
    const hcl = await loadConfig(join(dir, 'kiln.yaml'));
    const a = await prepareImage(hcl, hcl.images[0]!, 'local', { PATH: process.env.PATH });
    writeFileSync(join(dir, 'kiln.yaml'), yaml(join(seed, 'image.json'), 'local'));
    const json = await loadConfig(join(dir, 'kiln.yaml'));
    const b = await prepareImage(json, json.images[0]!, 'local', { PATH: process.env.PATH });
    expect(a.prepared.builds.map((x) => x.name)).toEqual(['docker.local']);
    expect(a.prepared.builds[0]!.builder).toEqual(b.prepared.builds[0]!.builder);
    expect(a.prepared.builds[0]!.builder).toMatchObject({ changes: expect.arrayContaining(['LABEL org.example.app-version=7']) });
  });
});
