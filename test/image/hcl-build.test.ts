// `kiln build` on HCL2 templates: the same engine as JSON templates (here the null builder and
// shell-local, which need no Docker), Packer's HCL2 build names and selection, secrets masked.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryIO } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

const dir = mkdtempSync(join(tmpdir(), 'kiln-hcl-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'two.pkr.hcl'),
  `variable "password" {
  type      = string
  default   = "hunter2-secret"
  sensitive = true
}
source "null" "first" {
  communicator = "none"
}
source "null" "second" {
  communicator = "none"
}
build {
  name    = "app"
  sources = ["source.null.first", "source.null.second"]
  provisioner "shell-local" {
    inline = ["echo pw=\${var.password} name=$PACKER_BUILD_NAME src=\${source.name}"]
  }
  provisioner "shell-local" {
    only   = ["null.second"]
    inline = ["echo only-second"]
  }
}
`,
);

async function kiln(...args: string[]): Promise<{ code: number; out: string }> {
  const io = memoryIO({ cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME } });
  const code = await main(['build', '--state-dir', join(dir, '.state'), '-color=false', ...args, 'two.pkr.hcl'], io);
  return { code, out: io.stdout + io.stderr };
}

describe('kiln build with an HCL2 template', () => {
  it('runs every build of the build block, as Packer names them, with PACKER_BUILD_NAME the source name', async () => {
    const r = await kiln();
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("Build 'app.null.first' finished");
    expect(r.out).toContain("Build 'app.null.second' finished");
    expect(r.out).toMatch(/app\.null\.first: pw=<sensitive> name=first src=first/);
    expect(r.out).toMatch(/app\.null\.second: only-second/);
    expect(r.out).not.toMatch(/app\.null\.first: only-second/);
  });
  it('never prints a sensitive variable, -machine-readable included', async () => {
    const r = await kiln('-machine-readable');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('hunter2');
    expect(r.out).toContain('pw=<sensitive>');
  });
  it('-only takes source.TYPE.NAME, TYPE.NAME, BUILD.TYPE.NAME and globs; -except skips', async () => {
    for (const sel of ['source.null.second', 'null.second', 'app.null.second', '*.second']) {
      const r = await kiln(`-only=${sel}`);
      expect(r.code, `${sel}: ${r.out}`).toBe(0);
      expect(r.out).toContain("Build 'app.null.second' finished");
      expect(r.out).not.toContain("Build 'app.null.first'");
    }
    const r = await kiln('-except=null.second');
    expect(r.out).toContain("Build 'app.null.first' finished");
    expect(r.out).not.toContain("Build 'app.null.second'");
    const none = await kiln('-only=docker.nothing');
    expect(none.code).toBe(1);
    expect(none.out).toContain('no builds to run');
  });
});
