// `shell-local` (provisioner and post-processor): runs on the host, not in the machine.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { ShellLocalConfig, PreparedBuild, LateContext } from '../types.js';
import type { BuildUI } from '../events.js';
import { ProvisionerError, Tail, flattenEnvVars } from './context.js';

export async function runShellLocal(
  c: Omit<ShellLocalConfig, 'type'>,
  env: { build: PreparedBuild; ui: BuildUI; generated: LateContext; signal: AbortSignal; tmpDir: string; extraVars?: Record<string, string> },
): Promise<void> {
  const scripts: string[] = [];
  const dir = mkdtempSync(join(env.tmpDir, 'shell-local-'));
  const inline = c.inline ?? (c.command !== undefined ? [c.command] : undefined);
  if (inline) {
    const p = join(dir, `script${c.tempfileExtension || ''}`);
    writeFileSync(p, `#!${c.inlineShebang}\n${inline.map((l) => env.build.renderLate(l, env.generated) + '\n').join('')}`, { mode: 0o755 });
    scripts.push(p);
  }
  scripts.push(...c.scripts);
  const extra = Object.entries(env.extraVars ?? {}).map(([k, v]) => `${k}=${v}`);
  const { flat, pairs } = flattenEnvVars(env.build, [...c.environmentVars, ...extra], c.envVarFormat);
  for (const script of scripts) {
    env.ui.say(`Running local shell script: ${script}`);
    const argv = c.executeCommand.map((a) => env.build.renderLate(a, { ...env.generated, Vars: flat, Script: script, Command: c.command ?? '' }));
    const tail = new Tail(10);
    const code = await new Promise<number>((resolve, reject) => {
      const p = spawn(argv[0]!, argv.slice(1), {
        env: { ...process.env, ...Object.fromEntries(pairs) },
        stdio: ['ignore', 'pipe', 'pipe'],
        cwd: env.build.cwd,
        signal: env.signal,
      });
      const onData = (stream: 'stdout' | 'stderr') => {
        let buf = '';
        return (chunk: Buffer) => {
          buf += chunk.toString();
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, i);
            buf = buf.slice(i + 1);
            tail.push(line);
            env.ui.output(line, stream);
          }
        };
      };
      p.stdout.on('data', onData('stdout'));
      p.stderr.on('data', onData('stderr'));
      p.on('error', reject);
      p.on('close', (code) => resolve(code ?? -1));
    });
    if (!c.validExitCodes.includes(code)) {
      throw new ProvisionerError(`Erroneous exit code ${code} while executing script: ${script}`, code, tail.empty ? undefined : tail.text());
    }
  }
}
