// An HCL2 template and its JSON twin are the same build: same prepared config, same build key, so
// converting a template (by hand or with `kiln convert`) rebuilds nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';
import { prepareTemplate } from '../../src/image/api.js';
import { dockerKeyChain } from '../../src/image/key.js';
import type { DockerBuilderConfig, PreparedBuild } from '../../src/image/types.js';

const seedDir = resolve(__dirname, '../../examples/seed');
const BASE = 'sha256:' + 'b'.repeat(64);
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

async function build(templatePath: string, only: string, cwd = seedDir, vars: Record<string, string> = {}): Promise<PreparedBuild> {
  const t = await prepareTemplate({ templatePath, only: [only], cwd, env, vars });
  expect(t.builds).toHaveLength(1);
  return t.builds[0]!;
}
const key = (b: PreparedBuild) => dockerKeyChain(b, b.builder as DockerBuilderConfig, BASE);

describe('the build key of an HCL2 template', () => {
  it("is the JSON twin's for the seed image (examples/seed/image.pkr.hcl vs image.json)", async () => {
    const json = await build('image.json', 'local');
    const hcl = await build('image.pkr.hcl', 'docker.local');
    expect(hcl.name).toBe('docker.local');
    expect(hcl.packerBuildName).toBe('local');
    expect(hcl.builder).toEqual(json.builder);
    expect(key(hcl)).toEqual(key(json));
  });

  it('is the same when the template is given by an absolute path or from another directory', async () => {
    const a = await build(join(seedDir, 'image.pkr.hcl'), 'docker.local', tmpdir());
    const b = await build('image.pkr.hcl', 'docker.local');
    expect(key(a)).toEqual(key(b));
  });

  it('follows the variables: a different app_version is a different key', async () => {
    const a = await build('image.pkr.hcl', 'docker.local', seedDir, { app_version: '2' });
    const b = await build('image.pkr.hcl', 'docker.local');
    expect(key(a).final).not.toBe(key(b).final);
    expect(key(a).steps[0]).toBe(key(b).steps[0]);
  });

  it("is the JSON template's after `kiln convert`", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-convert-'));
    const io = memoryIO({ cwd: seedDir, env });
    expect(await main(['convert', 'image.json'], io)).toBe(0);
    const converted = join(seedDir, `.converted-${process.pid}.pkr.hcl`);
    writeFileSync(converted, io.stdout);
    try {
      const json = await build('image.json', 'local');
      const hcl = await build(converted, 'docker.local');
      expect(key(hcl)).toEqual(key(json));
    } finally {
      (await import('node:fs')).rmSync(converted, { force: true });
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sensitive HCL2 values and build keys', () => {
  it('hands its sensitive values to the build-key redaction, as sensitive-variables do', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-hcl-secret-'));
    writeFileSync(
      join(dir, 's.pkr.hcl'),
      'variable "token" {\n  type      = string\n  default   = "s3cr3t-token"\n  sensitive = true\n}\nsource "docker" "d" {\n  image  = "busybox"\n  commit = true\n}\nbuild {\n  sources = ["source.docker.d"]\n  provisioner "shell" {\n    inline = ["echo ${var.token} > /t"]\n  }\n}\n',
    );
    const b = await build('s.pkr.hcl', 'docker.d', dir);
    const secrets = [...b.variables.sensitive].map((n) => b.variables.values[n]);
    expect(secrets).toContain('s3cr3t-token');
    expect(b.variables.mask('x s3cr3t-token')).toBe('x <sensitive>');
    (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
  });
});
