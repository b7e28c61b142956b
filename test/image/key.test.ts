// Build keys: what changes a key, and what deliberately does not.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync, chmodSync, utimesSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerKeyChain, treeDigest, secretRedactor, KEY_FORMAT } from '../../src/image/key.js';
import { hashValue } from '../../src/core/hash.js';
import type { DockerBuilderConfig, FileProvisionerConfig, PreparedBuild, PreparedProvisioner, ShellConfig } from '../../src/image/types.js';

const BASE = 'sha256:' + 'a'.repeat(64);

function docker(over: Partial<DockerBuilderConfig> = {}): DockerBuilderConfig {
  return {
    type: 'docker',
    image: 'busybox:latest',
    pull: false,
    commit: true,
    discard: false,
    changes: [],
    author: '',
    message: '',
    runCommand: ['-d', '-i', '-t', '--entrypoint=/bin/sh', '--', '{{.Image}}'],
    volumes: {},
    privileged: false,
    capAdd: [],
    capDrop: [],
    device: [],
    tmpfs: [],
    containerDir: '/packer-files',
    execUser: '',
    pty: false,
    fixUploadOwner: true,
    windowsContainer: false,
    login: false,
    loginUsername: '',
    loginPassword: '',
    loginServer: '',
    ecrLogin: false,
    communicator: 'docker',
    ...over,
  };
}

function shell(over: Partial<ShellConfig> = {}): ShellConfig {
  return {
    type: 'shell',
    inline: ['echo hi'],
    scripts: [],
    environmentVars: [],
    envVarFormat: "%s='%s' ",
    useEnvVarFile: false,
    executeCommand: 'chmod +x {{.Path}}; {{.Vars}} {{.Path}}',
    inlineShebang: '/bin/sh -e',
    remoteFolder: '/tmp',
    remoteFile: 'script_1.sh',
    remotePath: '/tmp/script_1.sh',
    skipClean: false,
    startRetryTimeoutMs: 300000,
    expectDisconnect: false,
    validExitCodes: [0],
    binary: false,
    pauseAfterMs: 0,
    ...over,
  };
}

function prov(config: PreparedProvisioner['config'], meta: Partial<PreparedProvisioner['meta']> = {}): PreparedProvisioner {
  return { type: config.type, config, meta: { pauseBeforeMs: 0, maxRetries: 0, timeoutMs: 0, ...meta }, index: 0, path: ['provisioners', 0] };
}

function build(cfg: DockerBuilderConfig, provisioners: PreparedProvisioner[], name = 'docker'): PreparedBuild {
  return {
    name,
    type: 'docker',
    builder: cfg,
    provisioners,
    postProcessors: [],
    variables: { values: {}, sensitive: new Set(), mask: (s) => s },
    templateDir: '/t',
    cwd: '/t',
    initTime: 0,
    path: ['builders', 0],
    renderLate: (s) => s,
  };
}

const keys = (b: PreparedBuild, base = BASE) => dockerKeyChain(b, b.builder as DockerBuilderConfig, base);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-key-'));
  mkdirSync(join(dir, 'app/sub'), { recursive: true });
  writeFileSync(join(dir, 'app/a.txt'), 'hello');
  writeFileSync(join(dir, 'app/sub/b.txt'), 'world');
  writeFileSync(join(dir, 'script.sh'), 'echo one\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function upload(src: string, destination = '/srv/'): FileProvisionerConfig {
  return { type: 'file', sources: [src], localSources: [src], destination, direction: 'upload', generated: false };
}

describe('build keys', () => {
  it('are stable: the same inputs give the same keys', () => {
    const b = build(docker(), [prov(shell()), prov(upload(join(dir, 'app/')))]);
    expect(keys(b)).toEqual(keys(b));
    expect(keys(b).steps).toHaveLength(2);
    expect(KEY_FORMAT).toMatch(/v1$/);
  });

  it('change with the base image ID, not with its tag', () => {
    const a = keys(build(docker({ image: 'busybox:latest' }), [prov(shell())]));
    const sameIdOtherTag = keys(build(docker({ image: 'busybox:other' }), [prov(shell())]));
    const otherId = keys(build(docker(), [prov(shell())]), 'sha256:' + 'b'.repeat(64));
    expect(sameIdOtherTag.final).toBe(a.final);
    expect(otherId.base).not.toBe(a.base);
    expect(otherId.final).not.toBe(a.final);
  });

  it('change from the edited provisioner on, and keep the earlier step keys', () => {
    const before = keys(build(docker(), [prov(shell({ inline: ['apt-get install x'] })), prov(shell({ inline: ['echo 1'] }))]));
    const after = keys(build(docker(), [prov(shell({ inline: ['apt-get install x'] })), prov(shell({ inline: ['echo 2'] }))]));
    expect(after.steps[0]).toBe(before.steps[0]);
    expect(after.steps[1]).not.toBe(before.steps[1]);
    expect(after.final).not.toBe(before.final);
  });

  it('change when one byte of an uploaded file changes, but not with its mtime', () => {
    const b = build(docker(), [prov(shell()), prov(upload(join(dir, 'app/')))]);
    const k1 = keys(b);
    utimesSync(join(dir, 'app/a.txt'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    expect(keys(b)).toEqual(k1);
    writeFileSync(join(dir, 'app/a.txt'), 'hellO');
    const k2 = keys(b);
    expect(k2.steps[0]).toBe(k1.steps[0]);
    expect(k2.steps[1]).not.toBe(k1.steps[1]);
    writeFileSync(join(dir, 'app/a.txt'), 'hello');
  });

  it('change with a file mode and with a renamed file', () => {
    const d0 = treeDigest(join(dir, 'app'));
    chmodSync(join(dir, 'app/a.txt'), 0o755);
    const d1 = treeDigest(join(dir, 'app'));
    chmodSync(join(dir, 'app/a.txt'), 0o644);
    expect(d1).not.toBe(d0);
    expect(treeDigest(join(dir, 'app'))).toBe(d0);
    writeFileSync(join(dir, 'app/c.txt'), 'hello');
    rmSync(join(dir, 'app/a.txt'));
    expect(treeDigest(join(dir, 'app'))).not.toBe(d0);
    writeFileSync(join(dir, 'app/a.txt'), 'hello');
    rmSync(join(dir, 'app/c.txt'));
    expect(treeDigest(join(dir, 'app'))).toBe(d0);
  });

  it('do not depend on where the template directory is (relative names, not absolute paths)', () => {
    const other = mkdtempSync(join(tmpdir(), 'kiln-key-moved-'));
    mkdirSync(join(other, 'app/sub'), { recursive: true });
    writeFileSync(join(other, 'app/a.txt'), 'hello');
    writeFileSync(join(other, 'app/sub/b.txt'), 'world');
    const a = keys(build(docker(), [prov(upload(join(dir, 'app/')))]));
    const b = keys(build(docker(), [prov(upload(join(other, 'app/')))]));
    rmSync(other, { recursive: true, force: true });
    expect(b.final).toBe(a.final);
  });

  it('tell `dir` from `dir/` (docker cp copies the directory or its contents)', () => {
    const a = keys(build(docker(), [prov(upload(join(dir, 'app')))]));
    const b = keys(build(docker(), [prov(upload(join(dir, 'app/')))]));
    expect(a.final).not.toBe(b.final);
  });

  it('change with script bytes and environment variables', () => {
    const s = join(dir, 'script.sh');
    const k1 = keys(build(docker(), [prov(shell({ inline: undefined, scripts: [s] }))]));
    writeFileSync(s, 'echo two\n');
    const k2 = keys(build(docker(), [prov(shell({ inline: undefined, scripts: [s] }))]));
    expect(k2.final).not.toBe(k1.final);
    const e1 = keys(build(docker(), [prov(shell({ environmentVars: ['A=1'] }))]));
    const e2 = keys(build(docker(), [prov(shell({ environmentVars: ['A=2'] }))]));
    expect(e1.final).not.toBe(e2.final);
  });

  it('put `changes`, author and message only in the final key', () => {
    const a = keys(build(docker(), [prov(shell())]));
    const b = keys(build(docker({ changes: ['ENV FOO=bar'] }), [prov(shell())]));
    expect(b.steps).toEqual(a.steps);
    expect(b.final).not.toBe(a.final);
    expect(keys(build(docker({ message: 'm' }), [prov(shell())])).final).not.toBe(a.final);
  });

  it('ignore fields that cannot change the image: pull, login, pty, artifact mode, random remote script names, meta keys', () => {
    const a = keys(build(docker(), [prov(shell())]));
    expect(keys(build(docker({ pull: true, login: true, loginPassword: 'x', pty: true }), [prov(shell())])).final).toBe(a.final);
    expect(keys(build(docker({ commit: false, exportPath: '/tmp/x-{{timestamp}}.tar' }), [prov(shell())])).final).toBe(a.final);
    expect(keys(build(docker(), [prov(shell({ remoteFile: 'script_77.sh', remotePath: '/tmp/script_77.sh' }))])).final).toBe(a.final);
    expect(keys(build(docker(), [prov(shell(), { timeoutMs: 5000, maxRetries: 3, pauseBeforeMs: 10 })])).final).toBe(a.final);
    expect(keys(build(docker(), [prov(shell({ validExitCodes: [0, 3] }))])).final).toBe(a.final);
  });

  it('keep the remote script name when skip_clean leaves it in the image', () => {
    const a = keys(build(docker(), [prov(shell({ skipClean: true }))]));
    const b = keys(build(docker(), [prov(shell({ skipClean: true, remoteFile: 'script_77.sh', remotePath: '/tmp/script_77.sh' }))]));
    expect(a.final).not.toBe(b.final);
  });

  it('change with what shapes the build container: run_command, volumes, privileged, exec_user, build name', () => {
    const a = keys(build(docker(), [prov(shell())]));
    expect(keys(build(docker({ privileged: true }), [prov(shell())])).final).not.toBe(a.final);
    expect(keys(build(docker({ volumes: { '/h': '/c' } }), [prov(shell())])).final).not.toBe(a.final);
    expect(keys(build(docker({ execUser: 'nobody' }), [prov(shell())])).final).not.toBe(a.final);
    expect(keys(build(docker({ runCommand: ['-d', '-i', '-t', '--entrypoint=/bin/ash', '--', '{{.Image}}'] }), [prov(shell())])).final).not.toBe(a.final);
    // Extra labels (KILN_LABELS) land in the image config.
    expect(dockerKeyChain(build(docker(), [prov(shell())]), docker(), BASE, undefined, { 'kiln.test': 'x' }).final).not.toBe(a.final);
    // PACKER_BUILD_NAME is visible to scripts, so the name is part of the key.
    expect(keys(build(docker(), [prov(shell())], 'other')).final).not.toBe(a.final);
  });

  it('hide sensitive values behind a salted HMAC: a secret still changes the key, but a plain hash of the input cannot be matched', () => {
    const salt = Buffer.alloc(32, 7);
    const b = (pw: string) => build(docker(), [prov(shell({ environmentVars: [`PW=${pw}`] }))]);
    const k = (pw: string, s = salt) => dockerKeyChain(b(pw), docker(), BASE, undefined, {}, secretRedactor([pw], s));
    expect(k('hunter2').final).toBe(k('hunter2').final);
    expect(k('hunter2').final).not.toBe(k('hunter3').final);
    // without the salt, guessing the password and hashing the plain input does not give the key
    expect(k('hunter2').final).not.toBe(keys(b('hunter2')).final);
    expect(k('hunter2', Buffer.alloc(32, 8)).final).not.toBe(k('hunter2').final);
    // a value that needs JSON escaping is found too
    const r = secretRedactor(['a"b\\c'], salt)!;
    expect(r(JSON.stringify({ x: 'pre a"b\\c post' }))).not.toContain('a\\"b');
    expect(hashValue('x')).toHaveLength(64);
  });
});
