// prepareBuilds: from a parsed template to typed builds (what the runners get), as Packer's core
// and each plugin's Prepare do it. Pure: files exist only through the injected `fileExists`.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../src/core/diagnostics.js';
import { KilnError } from '../../src/core/errors.js';
import { prepareBuilds } from '../../src/image/prepare.js';
import { parsePackerTemplate } from '../../src/image/template.js';
import type { DockerBuilderConfig, PrepareOptions, ShellConfig, FileProvisionerConfig, AmazonEbsBuilderConfig, ManifestConfig, DockerTagConfig } from '../../src/image/types.js';

const INIT = Date.UTC(2026, 10, 25, 20, 55, 25); // timestamp 1795640125
const files = new Map<string, 'file' | 'dir'>([
  ['/tpl/app', 'dir'],
  ['/work/scripts/a.sh', 'file'],
]);
const opts = (o: Partial<PrepareOptions> = {}): PrepareOptions => ({ cwd: '/work', initTime: INIT, random: () => 0.5, fileExists: (p) => files.get(p), env: {}, ...o });
const prep = (tpl: unknown, o: Partial<PrepareOptions> = {}) => {
  const text = typeof tpl === 'string' ? tpl : JSON.stringify(tpl, null, 2);
  const r = parsePackerTemplate(text, 't.json', '/tpl');
  expect(r.diagnostics).toEqual([]);
  return prepareBuilds(r.template!, opts(o));
};
const errs = (r: ReturnType<typeof prep>) => r.diagnostics.filter((d) => d.severity === 'error').map((d) => formatDiagnostic(d));
const NULL = { type: 'null', communicator: 'none' };

describe('the seed image template', () => {
  const seed = readFileSync(new URL('./fixtures/inspect/seed.json', import.meta.url), 'utf8');
  it('prepares both builds, typed', () => {
    const r = prep(seed, { env: { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'very-secret' } });
    expect(errs(r)).toEqual([]);
    expect(r.builds.map((b) => `${b.name}:${b.type}`)).toEqual(['local:docker', 'aws:amazon-ebs']);
    const local = r.builds[0]!;
    const d = local.builder as DockerBuilderConfig;
    expect(d).toMatchObject({ image: 'debian:bookworm', pull: false, commit: true, discard: false, changes: ['EXPOSE 80', 'CMD ["/usr/local/bin/app-start"]', 'LABEL org.example.app-version=1'] });
    expect(d.runCommand).toEqual(['-d', '-i', '-t', '--entrypoint=/bin/sh', '--', '{{.Image}}']);
    expect(d.containerDir).toBe('/packer-files');
    expect(local.provisioners.map((p) => p.type)).toEqual(['shell', 'file', 'shell']);
    const file = local.provisioners[1]!.config as FileProvisionerConfig;
    expect(file).toMatchObject({ sources: ['/tpl/app/'], localSources: ['/tpl/app/'], destination: '/srv/www', direction: 'upload' });
    expect((local.provisioners[2]!.config as ShellConfig).environmentVars).toEqual(['APP_VERSION=1']);
    expect(local.postProcessors.map((ch) => ch.map((p) => p.type))).toEqual([['docker-tag', 'manifest']]);
    expect((local.postProcessors[0]![0]!.config as DockerTagConfig).tags).toEqual(['1']);
    expect(local.postProcessors[0]![1]!.config as ManifestConfig).toMatchObject({ output: 'manifest.json', stripPath: true });
    const aws = r.builds[1]!;
    expect((aws.builder as AmazonEbsBuilderConfig).amiName).toBe('seed-web-1-1795640125');
    expect(aws.postProcessors.map((ch) => ch.map((p) => p.type))).toEqual([['manifest']]); // docker-tag is only for local
    expect(aws.variables.mask('key very-secret')).toBe('key <sensitive>');
  });
  it('-only=local prepares only the docker build', () => {
    const r = prep(seed, { only: ['local'] });
    expect(errs(r)).toEqual([]);
    expect(r.builds.map((b) => b.name)).toEqual(['local']);
  });
});

describe('plugin configs', () => {
  it('decodes weakly typed values and applies defaults', () => {
    const r = prep({ builders: [{ type: 'docker', image: 'busybox', commit: 'true', pull: 'false', changes: 'ENV A=b', privileged: 1, export_path: '' }] });
    expect(errs(r)).toEqual([]);
    expect(r.builds[0]!.builder).toMatchObject({ pull: false, commit: true, changes: ['ENV A=b'], privileged: true, fixUploadOwner: true });
    expect(r.builds[0]!.builder).not.toHaveProperty('exportPath');
  });
  it('reports unknown keys at the key, with Packer wording and the logical path', () => {
    const r = prep('{\n  "builders": [\n    {"type": "docker", "image": "x", "commit": true,\n     "bogus": 1}\n  ]\n}');
    expect(errs(r)).toEqual([`t.json:4:6: error[PACKER_CONFIG]: Failed to prepare build: "docker": unknown configuration key: '"bogus"' (at builders[0].bogus)`]);
    expect(r.builds).toEqual([]);
  });
  it('collects every error of every plugin of a build', () => {
    const r = prep({ builders: [{ type: 'docker' }], provisioners: [{ type: 'shell' }, { type: 'file' }], 'post-processors': [{ type: 'checksum', checksum_types: ['md6'] }] });
    expect(errs(r).map((e) => e.replace(/^.*Failed to prepare build: "docker": /, ''))).toEqual([
      'Image must be specified (at builders[0].image)',
      'No instructions given for handling the artifact; expected commit, discard, or export_path (at builders[0])',
      'Either a script file or inline script must be specified. (at provisioners[0])',
      'Source must be specified. (at provisioners[1].source)',
      'Destination must be specified. (at provisioners[1].destination)',
      'Unrecognized checksum type: md6 (at post-processors[0].checksum_types[0])',
    ]);
  });
  it('shell: defaults, scripts resolved against cwd and checked, env vars validated', () => {
    const r = prep({ builders: [NULL], provisioners: [{ type: 'shell', scripts: ['scripts/a.sh'], environment_vars: ['A=1', 'B='] }] });
    expect(errs(r)).toEqual([]);
    expect(r.builds[0]!.provisioners[0]!.config).toEqual({
      type: 'shell',
      scripts: ['/work/scripts/a.sh'],
      environmentVars: ['A=1', 'B='],
      envVarFormat: "%s='%s' ",
      useEnvVarFile: false,
      executeCommand: 'chmod +x {{.Path}}; {{.Vars}} {{.Path}}',
      inlineShebang: '/bin/sh -e',
      remoteFolder: '/tmp',
      remoteFile: expect.stringMatching(/^script_\d{1,4}\.sh$/),
      remotePath: expect.stringMatching(/^\/tmp\/script_\d{1,4}\.sh$/),
      skipClean: false,
      startRetryTimeoutMs: 300000,
      expectDisconnect: false,
      validExitCodes: [0],
      binary: false,
      pauseAfterMs: 0,
    });
    // Packer picks the script name at random; kiln picks it stably, so a rebuild has the same key.
    const again = prep({ builders: [NULL], provisioners: [{ type: 'shell', scripts: ['scripts/a.sh'] }] }, { random: Math.random });
    expect((again.builds[0]!.provisioners[0]!.config as ShellConfig).remotePath).toBe((r.builds[0]!.provisioners[0]!.config as ShellConfig).remotePath);
    const bad = prep({ builders: [NULL], provisioners: [{ type: 'shell', script: 'nope.sh', environment_vars: ['BAD'] }] });
    expect(errs(bad).map((e) => e.replace(/^.*"null": /, ''))).toEqual([
      "Bad script 'nope.sh': stat nope.sh: no such file or directory (at provisioners[0].script)",
      "Environment variable not in format 'key=value': BAD (at provisioners[0].environment_vars[0])",
    ]);
  });
  it('file provisioner: generated sources skip the existence check; downloads need no local source', () => {
    const r = prep({
      builders: [NULL],
      provisioners: [
        { type: 'file', source: 'gen.txt', destination: '/x', generated: true },
        { type: 'file', source: '/etc/os-release', destination: 'out/', direction: 'download' },
      ],
    });
    expect(errs(r)).toEqual([]);
    expect(r.builds[0]!.provisioners.map((p) => (p.config as FileProvisionerConfig).localSources)).toEqual([['/work/gen.txt'], []]);
  });
  it('build data: {{build}} is a placeholder at prepare, filled by renderLate at run time', () => {
    const r = prep({
      builders: [{ type: 'docker', image: 'busybox', commit: true }],
      provisioners: [{ type: 'shell', inline: ['echo {{build `ID`}} {{build_name}}'], execute_command: 'sudo {{.Vars}} {{.Path}}' }],
    });
    const b = r.builds[0]!;
    const sh = b.provisioners[0]!.config as ShellConfig;
    expect(sh.inline).toEqual(['echo {{.ID}} docker']);
    expect(sh.executeCommand).toBe('sudo {{.Vars}} {{.Path}}');
    expect(b.renderLate(sh.inline![0]!, { ID: 'c0ffee' })).toBe('echo c0ffee docker');
    expect(b.renderLate(sh.executeCommand, { Vars: "A='1'", Path: '/tmp/s.sh' })).toBe("sudo A='1' /tmp/s.sh");
    expect(b.renderLate('{{.Image}} {{.Missing}}', { Image: 'busybox' })).toBe('busybox <no value>');
    expect(() => b.renderLate('{{nofunc}}', {})).toThrow(KilnError);
    expect(errs(prep({ builders: [{ type: 'docker', image: '{{build `Nope`}}', commit: true }] }))[0]).toContain(
      `render 'image': template: root:1:2: executing "root" at <build \`Nope\`>: error calling build: loaded data, but couldnt find Nope in it.`,
    );
  });
  it('clean_resource_name exists for amazon-ebs only', () => {
    const ok = prep({ builders: [{ type: 'amazon-ebs', region: 'eu-west-1', source_ami: 'ami-1', instance_type: 't2.micro', ssh_username: 'a', ami_name: '{{ "a:b" | clean_resource_name }}' }] });
    expect(errs(ok)).toEqual([]);
    expect((ok.builds[0]!.builder as AmazonEbsBuilderConfig).amiName).toBe('a-b');
    expect(errs(prep({ builders: [{ type: 'docker', image: '{{clean_resource_name `a`}}', commit: true }] }))[0]).toContain(
      `invalid 'image': template: root:1: function "clean_resource_name" not defined`,
    );
  });
  it('unknown plugin types: Failed to initialize build', () => {
    expect(errs(prep({ builders: [{ type: 'vmware-iso' }] }))).toEqual([
      `t.json:4:15: error[PACKER_PLUGIN]: Failed to initialize build "vmware-iso": error initializing builder 'vmware-iso': Unknown builder vmware-iso (at builders[0].type)`,
    ]);
    expect(errs(prep({ builders: [NULL], provisioners: [{ type: 'ansible' }] }))[0]).toContain("error initializing provisioner 'ansible': Unknown provisioner ansible");
    expect(errs(prep({ builders: [NULL], 'post-processors': ['compress'] }))[0]).toContain("error initializing post-processor 'compress': Unknown post-processor compress");
  });
});

describe('provisioner meta keys and selection', () => {
  const two = [
    { ...NULL, name: 'a' },
    { ...NULL, name: 'b' },
  ];
  it('only/except pick the builds a provisioner runs in; override merges per build', () => {
    const r = prep({
      builders: two,
      provisioners: [
        { type: 'shell-local', inline: ['only-a'], only: ['a'] },
        { type: 'shell-local', inline: ['not-a'], except: ['a'] },
        { type: 'shell-local', inline: ['default'], override: { b: { inline: ['overridden'] } } },
      ],
    });
    expect(errs(r)).toEqual([]);
    const lines = (i: number) => r.builds[i]!.provisioners.map((p) => (p.config as { inline?: string[] }).inline![0]);
    expect(lines(0)).toEqual(['only-a', 'default']);
    expect(lines(1)).toEqual(['not-a', 'overridden']);
    expect(r.builds[1]!.provisioners.map((p) => p.index)).toEqual([1, 2]);
  });
  it('an unknown key brought in by override is reported inside the override block', () => {
    const r = prep({ builders: [{ ...NULL, name: 'a' }], provisioners: [{ type: 'shell-local', inline: ['x'], override: { a: { bogus: 1 } } }] });
    expect(errs(r)[0]).toMatch(/^t\.json:\d+:\d+: error\[PACKER_CONFIG\]: Failed to prepare build: "a": unknown configuration key: '"bogus"' \(at provisioners\[0\]\.override\.a\.bogus\)$/);
  });
  it('turns pause_before, timeout and max_retries into numbers (timeout kept with pause_before)', () => {
    const r = prep({ variables: { n: '2' }, builders: [NULL], provisioners: [{ type: 'shell-local', inline: ['x'], pause_before: '1s', timeout: '1m30s', max_retries: '{{user `n`}}' }] });
    expect(r.builds[0]!.provisioners[0]!.meta).toEqual({ pauseBeforeMs: 1000, timeoutMs: 90000, maxRetries: 2 });
    expect(errs(prep({ builders: [NULL], provisioners: [{ type: 'shell-local', inline: ['x'], max_retries: 'lots' }] }))[0]).toContain(
      'Failed to initialize build "null": `max_retries` must be a valid integer: strconv.Atoi: parsing "lots": invalid syntax',
    );
  });
  it('template checks: unknown names in only/except/override, both only and except, no builders', () => {
    expect(errs(prep({ builders: [NULL], provisioners: [{ type: 'shell-local', inline: ['x'], only: ['nope'] }] }))[0]).toContain(
      "provisioner 1: 'only' specified builder 'nope' not found (at provisioners[0].only[0])",
    );
    expect(errs(prep({ builders: [NULL], provisioners: [{ type: 'shell-local', inline: ['x'], override: { nope: {} } }] }))[0]).toContain("provisioner 1: override 'nope' doesn't exist");
    expect(errs(prep({ builders: [NULL], provisioners: [{ type: 'shell-local', inline: ['x'], only: ['null'], except: ['null'] }] }))[0]).toContain("only one of 'only' or 'except' may be specified");
    expect(errs(prep({ 'post-processors': [{ type: 'manifest', except: ['x'] }] }))).toEqual([
      't.json:1:1: error[PACKER_TEMPLATE]: at least one builder must be defined',
      "t.json:6:9: error[PACKER_TEMPLATE]: post-processor 1.1: 'except' specified builder 'x' not found (at post-processors[0].except[0])",
    ]);
  });
  it('-only/-except select builds by exact name; a post-processor name in -except cuts its chain', () => {
    const tpl = {
      builders: two,
      'post-processors': [
        [
          { type: 'manifest', name: 'm1' },
          { type: 'checksum', name: 'c1' },
        ],
        [{ type: 'manifest', name: 'm2' }],
        [
          { type: 'checksum', name: 'only-b', only: ['b'] },
          { type: 'manifest', name: 'after' },
        ],
      ],
    };
    expect(prep(tpl, { only: ['a*'] }).builds).toEqual([]);
    expect(prep(tpl, { except: ['a'] }).builds.map((b) => b.name)).toEqual(['b']);
    const r = prep(tpl, { except: ['c1', 'm2'] });
    expect(r.builds[0]!.postProcessors.map((ch) => ch.map((p) => p.name))).toEqual([['m1'], ['after']]);
    expect(r.builds[1]!.postProcessors.map((ch) => ch.map((p) => p.name))).toEqual([['m1'], ['only-b', 'after']]);
  });
  it('min_packer_version is checked against 1.6.6', () => {
    expect(errs(prep({ min_packer_version: '1.7.0', builders: [NULL] }))[0]).toContain('This template requires Packer version 1.7.0 or higher; using 1.6.6');
    expect(errs(prep({ min_packer_version: '1.6.6', builders: [NULL] }))).toEqual([]);
  });
  it('build names may be template expressions', () => {
    const r = prep({ variables: { n: 'web' }, builders: [{ ...NULL, name: '{{user `n`}}-{{upper `x`}}' }] });
    expect(r.builds[0]!.name).toBe('web-X');
  });
  it('error-cleanup-provisioner is prepared with the build', () => {
    const r = prep({ builders: [NULL], 'error-cleanup-provisioner': { type: 'shell-local', inline: ['echo cleanup'] } });
    expect(r.builds[0]!.errorCleanupProvisioner).toMatchObject({ type: 'shell-local', index: -1 });
  });
});
