// What a plugin decoder may ask of the outside world: path resolution against the working
// directory, existence of local files (injected, so decoding stays pure), and randomness.
import { isAbsolute, join, normalize } from 'node:path';

export interface PluginEnv {
  cwd: string;
  /** Absolute path for a local path (relative to cwd), trailing `/` kept. */
  resolve(p: string): string;
  fileExists(absPath: string): 'file' | 'dir' | undefined;
  random(): number;
  /** The environment (AWS_REGION and the like stand in for a builder's arguments). */
  env: Record<string, string | undefined>;
}

export function pluginEnv(cwd: string, fileExists: (p: string) => 'file' | 'dir' | undefined, random: () => number, env: Record<string, string | undefined> = {}): PluginEnv {
  return {
    cwd,
    env,
    resolve: (p) => {
      const abs = isAbsolute(p) ? normalize(p) : join(cwd, p);
      return p.endsWith('/') && !abs.endsWith('/') ? abs + '/' : abs;
    },
    fileExists: (p) => fileExists(p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p),
    random,
  };
}
