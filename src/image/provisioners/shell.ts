// Provisioner `shell` (reference §8.1): each script (inline lines become one script headed by the
// shebang) is uploaded to remote_path, run by the rendered execute_command, checked against
// valid_exit_codes, then removed unless skip_clean.
import { readFileSync } from 'node:fs';
import { KilnError } from '../../core/errors.js';
import type { ShellConfig } from '../types.js';
import { ProvisionerError, Tail, flattenEnvVars, sleep, type ProvisionContext } from './context.js';

export async function provisionShell(c: ShellConfig, ctx: ProvisionContext): Promise<void> {
  const comm = ctx.comm;
  if (!comm) throw new KilnError('NO_COMMUNICATOR', `the shell provisioner needs a machine to run on; build '${ctx.build.name}' has none (communicator "none")`);
  const scripts: Array<{ label: string; data: Buffer }> = [];
  if (c.inline) {
    const lines = c.inline.map((l) => ctx.build.renderLate(l, ctx.generated));
    scripts.push({ label: 'inline', data: Buffer.from(`#!${c.inlineShebang}\n${lines.map((l) => l + '\n').join('')}`) });
  }
  for (const s of c.scripts) {
    let data = readFileSync(s);
    if (!c.binary) data = Buffer.from(data.toString('utf8').replace(/\r\n/g, '\n'));
    scripts.push({ label: s, data });
  }
  const { flat } = flattenEnvVars(ctx.build, c.environmentVars, c.envVarFormat);
  for (const s of scripts) {
    ctx.ui.say(s.label === 'inline' ? `Provisioning with shell script (inline, ${c.inline?.length ?? 0} line${c.inline?.length === 1 ? '' : 's'})` : `Provisioning with shell script: ${s.label}`);
    const remote = c.remotePath;
    await comm.uploadFile(remote, s.data, 0o755);
    let envVarFile = '';
    if (c.useEnvVarFile) {
      envVarFile = `${c.remoteFolder.replace(/\/$/, '')}/varfile_${c.remoteFile.replace(/\.sh$/, '')}.sh`;
      const content = flattenEnvVars(ctx.build, c.environmentVars, "export %s='%s'\n").flat;
      await comm.uploadFile(envVarFile, Buffer.from(content), 0o644);
    }
    let command = ctx.build.renderLate(c.executeCommand, { ...ctx.generated, Path: remote, Vars: flat, EnvVarFile: envVarFile });
    const cleanFiles = `${remote}${envVarFile ? ' ' + envVarFile : ''}`;
    // Packer removes the script with a second exec; kiln does it in the same exec (one round trip
    // less) and keeps the command's exit status. A command that `exec`s never returns to the
    // shell, so it gets Packer's separate `rm -f`.
    const cleanInline = !c.skipClean && !/\bexec\b/.test(command);
    if (cleanInline) command = `${command}\n__kiln_rc=$?; rm -f ${cleanFiles}; exit $__kiln_rc`;
    const tail = new Tail(10);
    let code: number;
    try {
      code = await comm.exec(command, {
        signal: ctx.signal,
        onOutput: (line, stream) => {
          tail.push(line);
          ctx.ui.output(line, stream);
        },
      });
    } catch (e) {
      if (c.expectDisconnect && !ctx.signal.aborted) {
        ctx.ui.message('The connection went away while the script ran (expect_disconnect is set): carrying on');
        code = 0;
      } else throw e;
    }
    if (!c.validExitCodes.includes(code)) {
      throw new ProvisionerError(`Script exited with non-zero exit status: ${code}. Allowed exit codes are: [${c.validExitCodes.join(' ')}]`, code, tail.empty ? undefined : tail.text());
    }
    if (!c.skipClean && !cleanInline) await comm.exec(`rm -f ${cleanFiles}`, { signal: ctx.signal });
  }
  if (c.pauseAfterMs > 0) {
    ctx.ui.say(`Pausing ${c.pauseAfterMs / 1000}s after this provisioner...`);
    await sleep(c.pauseAfterMs, ctx.signal);
  }
}
