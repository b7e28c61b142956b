// What a provisioner gets: the build, a way to talk (events), the machine (a communicator, absent
// for `null` builds without one), build-time data for late rendering, and a cancel signal.
import type { BuildUI } from '../events.js';
import type { Communicator } from '../communicator.js';
import type { LateContext, PreparedBuild } from '../types.js';
import { KilnError } from '../../core/errors.js';

export interface ProvisionContext {
  build: PreparedBuild;
  ui: BuildUI;
  comm?: Communicator;
  /** `{{build}}` data: ID, ConnType, Host, PackerRunUUID, … */
  generated: LateContext;
  signal: AbortSignal;
  /** Local scratch directory of this build (inline scripts are written there). */
  tmpDir: string;
}

/** The last lines a command printed, for error messages. */
export class Tail {
  private readonly lines: string[] = [];
  constructor(private readonly max = 10) {}
  push(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
  }
  text(): string {
    return this.lines.join('\n');
  }
  get empty(): boolean {
    return this.lines.length === 0;
  }
}

/** A provisioner's command failed: carries its exit code so `kiln build` can return it. */
export class ProvisionerError extends KilnError {
  constructor(
    message: string,
    readonly commandExitCode?: number,
    readonly lastOutput?: string,
  ) {
    super('PROVISIONER_FAILED', lastOutput ? `${message}\nLast output:\n${lastOutput.replace(/^/gm, '  ')}` : message, 'user', {
      exitCode: commandExitCode && commandExitCode > 0 && commandExitCode < 256 ? commandExitCode : 1,
    });
  }
}

/** Packer's flattened env vars: sorted `KEY='value' ` pairs incl. PACKER_BUILDER_TYPE and PACKER_BUILD_NAME. */
export function flattenEnvVars(build: PreparedBuild, envVars: readonly string[], format: string): { flat: string; pairs: Array<[string, string]> } {
  const map = new Map<string, string>();
  map.set('PACKER_BUILDER_TYPE', build.type);
  map.set('PACKER_BUILD_NAME', build.packerBuildName ?? build.name);
  for (const kv of envVars) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    map.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  const pairs = [...map.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let flat = '';
  for (const [k, v] of pairs) flat += sprintf2(format, k, v.replace(/'/g, `'"'"'`));
  return { flat, pairs };
}

function sprintf2(format: string, a: string, b: string): string {
  let i = 0;
  return format.replace(/%s/g, () => (i++ === 0 ? a : b));
}

/** Go's time.Duration String() for whole milliseconds: 1s, 1m30s, 1.5s, 250ms. */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h) return `${h}h${m}m${sec}`;
  if (m) return `${m}m${sec}`;
  return sec;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason ?? new Error('aborted'));
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal.reason ?? new Error('aborted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
