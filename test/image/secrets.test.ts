// Sensitive variables never reach any output: human, -machine-readable (where Packer 1.6.6 leaks
// them), errors, or the build cache.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspace, type Workspace } from './build-helpers.js';

let ws: Workspace;
const SECRET = 'hunter2-s3cr3t';
let tpl: string;
beforeAll(() => {
  ws = workspace('secrets');
  tpl = ws.template({
    variables: { password: SECRET, user: 'alice' },
    'sensitive-variables': ['password'],
    builders: [{ type: 'docker', image: 'busybox:latest', commit: true, changes: ['LABEL owner={{user `user`}}'] }],
    provisioners: [
      { type: 'shell', environment_vars: ['PASSWORD={{user `password`}}'], inline: ['echo "the password is $PASSWORD"', 'echo "again: {{user `password`}}" >&2'] },
      { type: 'shell', inline: ['echo "failing with {{user `password`}}"', 'exit 4'] },
    ],
  });
});
afterAll(async () => {
  await ws.cleanup();
});

describe('sensitive variables', () => {
  it('are masked in human output, including the failure summary', async () => {
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(4);
    expect(r.out + r.err).not.toContain(SECRET);
    expect(r.out).toContain('    docker: the password is <sensitive>');
    expect(r.out).toContain('    docker: again: <sensitive>');
    expect(r.out).toContain('--> docker: Script exited with non-zero exit status: 4');
    expect(r.out).toContain('failing with <sensitive>');
  });

  it('are masked in -machine-readable output (Packer 1.6.6 leaks them there)', async () => {
    const r = await ws.kiln(['-machine-readable', '-force', tpl]);
    expect(r.code).toBe(4);
    expect(r.out).not.toContain(SECRET);
    const lines = r.out.trim().split('\n');
    for (const l of lines) expect(l).toMatch(/^\d+,[^,]*,[a-z-]+(,|$)/);
    expect(lines).toContainEqual(expect.stringMatching(/^\d+,,ui,message,    docker: the password is <sensitive>$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\d+,,error-count,1$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\d+,docker,error,Script exited with non-zero exit status: 4\. Allowed exit codes are: \[0\]\\nLast output:\\n {2}failing with <sensitive>$/));
  });

  it('never reach the state database', async () => {
    const db = readFileSync(join(ws.stateDir, 'state.db'));
    expect(db.includes(Buffer.from(SECRET))).toBe(false);
  });
});

describe('-machine-readable on success', () => {
  it("prints Packer's artifact records, with commas escaped", async () => {
    const ok = ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', commit: true }], provisioners: [{ type: 'shell', inline: ['echo a,b'] }] }, 'ok.json');
    const r = await ws.kiln(['-machine-readable', ok]);
    expect(r.code, r.out).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => l.replace(/^\d+,/, ''));
    expect(lines).toContain(',ui,message,    docker: a%!(PACKER_COMMA)b');
    expect(lines).toContain('docker,artifact-count,1');
    expect(lines).toContainEqual(expect.stringMatching(/^docker,artifact,0,builder-id,packer\.post-processor\.docker-import$/));
    expect(lines).toContainEqual(expect.stringMatching(/^docker,artifact,0,id,sha256:[0-9a-f]{64}$/));
    expect(lines).toContain('docker,artifact,0,files-count,0');
    expect(lines).toContain('docker,artifact,0,end');
    expect(lines).toContain(',ui,say,\\n==> Builds finished. The artifacts of successful builds are:');
  });
});
