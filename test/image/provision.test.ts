// Provisioners on the real engine: file upload/download with docker cp's trailing-slash rules,
// shell options, failures (exit code, last output, nothing cached, container removed), retries,
// timeouts, -on-error=abort and the error-cleanup-provisioner.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { workspace, containersLabelled, type Workspace } from './build-helpers.js';
import { engineRequest } from '../docker.js';

let ws: Workspace;
beforeAll(() => {
  ws = workspace('prov');
  ws.write('dir/one.txt', 'one\n');
  ws.write('dir/sub/two.txt', 'two\n');
  ws.write('single.txt', 'single\n');
  ws.write('script.sh', '#!/bin/sh\necho "script says $FOO"\n');
});
afterAll(async () => {
  await ws.cleanup();
});

const busybox = { type: 'docker', image: 'busybox:latest', pull: false, discard: true };

describe('file provisioner', () => {
  it("follows docker cp's rules for directories and trailing slashes, and downloads files and directories", async () => {
    const check = (p: string) => `test -f ${p} || { echo "missing ${p}"; exit 9; }`;
    const tpl = ws.template(
      {
        builders: [busybox],
        provisioners: [
          { type: 'shell', inline: ['mkdir -p /t2 /t3'] },
          { type: 'file', source: 'dir', destination: '/t2' },
          { type: 'file', source: 'dir/', destination: '/t3' },
          { type: 'file', source: 'dir', destination: '/t4-new' },
          { type: 'file', source: 'dir/', destination: '/t5-new' },
          { type: 'file', source: 'single.txt', destination: '/files/' },
          { type: 'file', source: 'single.txt', destination: '/files/renamed.txt' },
          { type: 'file', sources: ['single.txt', 'script.sh'], destination: '/many/' },
          {
            type: 'shell',
            inline: [
              check('/t2/dir/one.txt'),
              check('/t2/dir/sub/two.txt'),
              check('/t3/one.txt'),
              check('/t3/sub/two.txt'),
              check('/t4-new/one.txt'),
              check('/t5-new/one.txt'),
              '! test -e /t4-new/dir',
              check('/files/single.txt'),
              check('/files/renamed.txt'),
              check('/many/single.txt'),
              check('/many/script.sh'),
              'echo all-present',
            ],
          },
          { type: 'file', direction: 'download', source: '/t2/dir/one.txt', destination: 'down/' },
          { type: 'file', direction: 'download', source: '/files/renamed.txt', destination: 'down/named.txt' },
          { type: 'file', direction: 'download', source: '/t3', destination: 'down/tree' },
        ],
      },
      'file.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('    docker: all-present');
    expect(readFileSync(join(ws.dir, 'down/one.txt'), 'utf8')).toBe('one\n');
    expect(readFileSync(join(ws.dir, 'down/named.txt'), 'utf8')).toBe('single\n');
    expect(readFileSync(join(ws.dir, 'down/tree/sub/two.txt'), 'utf8')).toBe('two\n');
  });

  it('fails clearly when a download source does not exist', async () => {
    const tpl = ws.template({ builders: [busybox], provisioners: [{ type: 'file', direction: 'download', source: '/nope', destination: 'x' }] }, 'dl-missing.json');
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('/nope does not exist in the build container');
  });
});

describe('shell provisioner', () => {
  it('runs scripts with environment_vars, a custom execute_command, and shows the vars', async () => {
    const tpl = ws.template(
      {
        builders: [busybox],
        provisioners: [
          { type: 'shell', script: 'script.sh', environment_vars: ["FOO=it's quoted"] },
          { type: 'shell', inline: ['echo "name=$PACKER_BUILD_NAME type=$PACKER_BUILDER_TYPE"'], execute_command: 'echo via-custom; {{.Vars}} /bin/sh {{.Path}}' },
          { type: 'shell', inline: ['echo kept at $0'], remote_path: '/opt/keep.sh', skip_clean: true },
          { type: 'shell', inline: ['test -f /opt/keep.sh && echo still-there', 'exit 3'], valid_exit_codes: [0, 3] },
        ],
      },
      'shell.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain("    docker: script says it's quoted");
    expect(r.out).toContain('    docker: via-custom');
    expect(r.out).toContain('    docker: name=docker type=docker');
    expect(r.out).toContain('    docker: kept at /opt/keep.sh');
    expect(r.out).toContain('    docker: still-there');
  });

  it('stops at a failing script: its exit code, its last lines, no container left, nothing cached', async () => {
    const tpl = ws.template(
      {
        builders: [{ type: 'docker', image: 'busybox:latest', pull: false, commit: true }],
        provisioners: [
          { type: 'shell', inline: ['echo first line', 'echo about to fail', 'exit 7', 'echo never'] },
          { type: 'shell', inline: ['echo not reached'] },
        ],
      },
      'fail.json',
    );
    const t0 = Date.now();
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(7);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.out).toContain('Script exited with non-zero exit status: 7. Allowed exit codes are: [0]');
    expect(r.out).toMatch(/Last output:\n\s+first line\n\s+about to fail/);
    expect(r.out).not.toContain('never');
    expect(r.out).not.toContain('not reached');
    expect(r.out).toContain("==> Some builds didn't complete successfully and had errors:");
    expect(r.out).toContain('==> Builds finished but no artifacts were created.');
    expect(r.out).toContain('Killing the container');
    expect(await containersLabelled(ws.testId)).toEqual([]);
    // Nothing cached: the same template runs the failing step again.
    const again = await ws.kiln([tpl]);
    expect(again.code).toBe(7);
    expect(again.out).toContain('about to fail');
    expect(again.out).not.toContain('Reusing the cached image');
  });

  it('retries with max_retries and reports the retry messages', async () => {
    ws.write('tries/.keep', '');
    const tpl = ws.template(
      {
        builders: [{ ...busybox, volumes: { [join(ws.dir, 'tries')]: '/tries' } }],
        provisioners: [{ type: 'shell', max_retries: 2, inline: ['echo x >> /tries/n', 'test $(wc -l < /tries/n) -ge 3 || exit 3', 'echo third time lucky'] }],
      },
      'retry.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('retrying with 2 trie(s) left');
    expect(r.out).toContain('retrying with 1 trie(s) left');
    expect(r.out).toContain('third time lucky');
    expect(readFileSync(join(ws.dir, 'tries/n'), 'utf8')).toBe('x\nx\nx\n');
  });

  it("runs Packer's built-in sleep provisioner between steps", async () => {
    const tpl = ws.template(
      {
        builders: [busybox],
        provisioners: [
          { type: 'shell', inline: ['date +%s > /t0'] },
          { type: 'sleep', duration: '2s' },
          { type: 'shell', inline: ['echo slept $(( $(date +%s) - $(cat /t0) ))s'] },
        ],
      },
      'sleep.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out + r.err).toBe(0);
    // whole seconds on both sides of a 2 s sleep: at least 1 s apart
    const slept = Number(/slept (\d+)s/.exec(r.out)?.[1]);
    expect(slept).toBeGreaterThanOrEqual(1);
  });

  it('cancels a provisioner at its timeout, even with pause_before, and says what timed out', async () => {
    const tpl = ws.template(
      {
        builders: [busybox],
        provisioners: [{ type: 'shell', pause_before: '100ms', timeout: '1s', inline: ['echo sleeping', 'sleep 30'] }],
      },
      'timeout.json',
    );
    const t0 = Date.now();
    const r = await ws.kiln([tpl]);
    const ms = Date.now() - t0;
    expect(r.code).toBe(124);
    expect(ms).toBeLessThan(8000);
    expect(r.out).toContain('Pausing 100ms before the next provisioner...');
    expect(r.out).toContain('Setting a 1s timeout for the next provisioner...');
    expect(r.out).toContain('Cancelling provisioner after a timeout...');
    expect(r.out).toContain('the shell provisioner (provisioners[0]) timed out after 1s');
    expect(await containersLabelled(ws.testId)).toEqual([]);
  });

  it('with -on-error=abort keeps the build container and prints its id', async () => {
    const tpl = ws.template({ builders: [busybox], provisioners: [{ type: 'shell', inline: ['exit 1'] }] }, 'abort.json');
    const r = await ws.kiln(['-on-error=abort', tpl]);
    expect(r.code).toBe(1);
    const m = /the build container ([0-9a-f]{64}) is kept running/.exec(r.out);
    expect(m, r.out).not.toBeNull();
    const inspect = await engineRequest('GET', `/containers/${m![1]}/json`);
    expect(inspect.status).toBe(200);
    expect((JSON.parse(inspect.body.toString()) as { State: { Running: boolean } }).State.Running).toBe(true);
    await engineRequest('DELETE', `/containers/${m![1]}?force=1`);
    // the shared temp dir stays too (as with Packer); the message names it
    const tmp = /\((\/[^)]*kiln-build-[^)]*) stays\)/.exec(r.out)?.[1];
    expect(tmp && existsSync(tmp)).toBe(true);
    rmSync(tmp!, { recursive: true, force: true });
  });

  it('runs the error-cleanup-provisioner inside the machine when provisioning fails', async () => {
    const tpl = ws.template(
      {
        builders: [{ ...busybox, volumes: { [join(ws.dir, 'tries')]: '/tries' } }],
        provisioners: [{ type: 'shell', inline: ['exit 2'] }],
        'error-cleanup-provisioner': { type: 'shell', inline: ['echo cleaned > /tries/cleanup-ran'] },
      },
      'cleanup.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(2);
    expect(r.out).toContain('Provisioning step had errors: Running the cleanup provisioner, if present...');
    expect(existsSync(join(ws.dir, 'tries/cleanup-ran'))).toBe(true);
  });

  it('runs shell-local on the host', async () => {
    const tpl = ws.template({ builders: [busybox], provisioners: [{ type: 'shell-local', inline: ['echo "local $PACKER_BUILD_NAME" > local-out.txt'] }] }, 'local.json');
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(join(ws.dir, 'local-out.txt'), 'utf8')).toBe('local docker\n');
  });
});

describe('fix_upload_owner', () => {
  it("gives uploads to the image's user", async () => {
    const tpl = ws.template(
      {
        builders: [busybox],
        provisioners: [
          { type: 'file', source: 'single.txt', destination: '/tmp/owned.txt' },
          { type: 'shell', inline: ['stat -c %U /tmp/owned.txt'] },
        ],
      },
      'owner-root.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('    docker: root');
  });
});
