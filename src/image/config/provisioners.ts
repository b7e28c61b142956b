// Provisioner configs: shell (reference §8.1), file (§8.2), shell-local — Packer's defaults and
// `Prepare` checks, with its messages.
import type { FileProvisionerConfig, ProvisionerConfig, ShellConfig, ShellLocalConfig, SleepConfig } from '../types.js';
import type { Decoder } from './decode.js';
import type { PluginEnv } from './env.js';

/** Keys each provisioner renders late (Packer's InterpolateFilter.Exclude). */
export const PROVISIONER_LATE_KEYS: Record<string, string[]> = {
  shell: ['execute_command'],
  'shell-local': ['execute_command'],
  file: [],
};

function checkEnvVars(d: Decoder, vars: string[]): void {
  vars.forEach((kv, i) => {
    const eq = kv.indexOf('=');
    if (eq <= 0) d.error(`Environment variable not in format 'key=value': ${kv}`, ['environment_vars', i]);
  });
}

function checkScripts(d: Decoder, env: PluginEnv, given: string[], key: (i: number) => (string | number)[]): string[] {
  return given.map((s, i) => {
    const abs = env.resolve(s);
    if (env.fileExists(abs) !== 'file') {
      if (env.fileExists(abs) === 'dir') d.error(`Bad script '${s}': is a directory`, key(i));
      else d.error(`Bad script '${s}': stat ${s}: no such file or directory`, key(i));
    }
    return abs;
  });
}

function decodeShell(d: Decoder, env: PluginEnv): ShellConfig {
  const inline = d.strList('inline');
  const hasInline = inline.length > 0;
  const script = d.str('script');
  const scriptsGiven = d.strList('scripts');
  const useEnvVarFile = d.bool('use_env_var_file');
  const remoteFolder = d.str('remote_folder', '/tmp') || '/tmp';
  const remoteFile = d.str('remote_file') || `script_${Math.floor(env.random() * 9999)}.sh`;
  const c: ShellConfig = {
    type: 'shell',
    scripts: [],
    environmentVars: d.strList('environment_vars'),
    envVarFormat: d.str('env_var_format', "%s='%s' ") || "%s='%s' ",
    useEnvVarFile,
    executeCommand: d.str('execute_command') || (useEnvVarFile ? 'chmod +x {{.Path}}; . {{.EnvVarFile}} && {{.Path}}' : 'chmod +x {{.Path}}; {{.Vars}} {{.Path}}'),
    inlineShebang: d.str('inline_shebang', '/bin/sh -e') || '/bin/sh -e',
    remoteFolder,
    remoteFile,
    remotePath: d.str('remote_path') || `${remoteFolder}/${remoteFile}`,
    skipClean: d.bool('skip_clean'),
    startRetryTimeoutMs: d.duration('start_retry_timeout', 5 * 60_000),
    expectDisconnect: d.bool('expect_disconnect'),
    validExitCodes: d.intList('valid_exit_codes', [0]),
    binary: d.bool('binary'),
    pauseAfterMs: d.duration('pause_after'),
  };
  d.finishUnknown();
  if (hasInline) c.inline = inline;
  const scripts = script ? [script, ...scriptsGiven] : scriptsGiven;
  if (script && scriptsGiven.length) d.error('Only one of script or scripts can be specified.', ['scripts']);
  if (hasInline && scripts.length) d.error('Only a script file or an inline script can be specified, not both.');
  if (!hasInline && scripts.length === 0) d.error('Either a script file or inline script must be specified.');
  c.scripts = checkScripts(d, env, scripts, (i) => (script ? (i === 0 ? ['script'] : ['scripts', i - 1]) : ['scripts', i]));
  checkEnvVars(d, c.environmentVars);
  return c;
}

function decodeFileProvisioner(d: Decoder, env: PluginEnv): FileProvisionerConfig {
  const source = d.str('source');
  const sources = [...d.strList('sources')];
  if (source) sources.push(source);
  const direction = d.str('direction', 'upload') || 'upload';
  const c: FileProvisionerConfig = {
    type: 'file',
    sources,
    localSources: [],
    destination: d.str('destination'),
    direction: direction === 'download' ? 'download' : 'upload',
    generated: d.bool('generated'),
  };
  d.finishUnknown();
  if (direction !== 'upload' && direction !== 'download') d.error('Direction must be one of: download, upload.', ['direction']);
  if (sources.length === 0) d.error('Source must be specified.', ['source']);
  if (!c.destination) d.error('Destination must be specified.', ['destination']);
  if (c.direction === 'upload') {
    c.localSources = sources.map((s) => env.resolve(s));
    if (!c.generated)
      sources.forEach((s, i) => {
        if (!env.fileExists(c.localSources[i]!)) d.error(`Bad source '${s}': stat ${s}: no such file or directory`, source && i === sources.length - 1 ? ['source'] : ['sources', i]);
      });
  } else c.localSources = [];
  return c;
}

export function decodeShellLocal(d: Decoder, env: PluginEnv): ShellLocalConfig {
  const command = d.str('command');
  const inline = d.strList('inline');
  const hasInline = inline.length > 0;
  const script = d.str('script');
  const scriptsGiven = d.strList('scripts');
  const c: ShellLocalConfig = {
    type: 'shell-local',
    scripts: [],
    environmentVars: d.strList('environment_vars'),
    envVarFormat: d.str('env_var_format', "%s='%s' ") || "%s='%s' ",
    executeCommand: d.strList('execute_command', ['/bin/sh', '-c', '{{.Vars}} {{.Script}}']),
    inlineShebang: d.str('inline_shebang', '/bin/sh -e') || '/bin/sh -e',
    tempfileExtension: d.str('tempfile_extension'),
    useLinuxPathing: d.bool('use_linux_pathing'),
    onlyOn: d.strList('only_on'),
    validExitCodes: d.intList('valid_exit_codes', [0]),
  };
  d.finishUnknown();
  if (command) c.command = command;
  if (hasInline) c.inline = inline;
  const scripts = script ? [script, ...scriptsGiven] : scriptsGiven;
  const given = [!!command, hasInline, !!script, scriptsGiven.length > 0].filter(Boolean).length;
  if (given === 0) d.error('Command, Inline, Script and Scripts options cannot all be empty.');
  else if (given > 1) d.error('You may only specify one of the following options: Command, Inline, Script or Scripts. Please consolidate these options in your config.');
  c.scripts = checkScripts(d, env, scripts, (i) => (script ? ['script'] : ['scripts', i]));
  checkEnvVars(d, c.environmentVars);
  return c;
}

function decodeSleep(d: Decoder): SleepConfig {
  const c: SleepConfig = { type: 'sleep', durationMs: d.duration('duration') };
  d.finishUnknown();
  return c;
}

export const PROVISIONER_TYPES = ['shell', 'file', 'shell-local', 'sleep'] as const;

export function decodeProvisioner(type: string, d: Decoder, env: PluginEnv): ProvisionerConfig | undefined {
  switch (type) {
    case 'shell':
      return decodeShell(d, env);
    case 'file':
      return decodeFileProvisioner(d, env);
    case 'shell-local':
      return decodeShellLocal(d, env);
    case 'sleep':
      return decodeSleep(d);
    default:
      return undefined;
  }
}
