// Reading kiln.yaml from disk: `kiln up DIR` (DIR/kiln.yaml) or `kiln up path/to/kiln.yaml`.
import { statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DiagnosticsError } from '../core/diagnostics.js';
import { KilnError } from '../core/errors.js';
import { InputError, MAX_CONFIG_BYTES, readInput } from '../core/input.js';
import { checkConfig, type PipelineConfig } from './config.js';

const CONFIG_NAME = 'kiln.yaml';

function kind(p: string): 'file' | 'dir' | undefined {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** The kiln.yaml a `DIR` argument names (the directory's kiln.yaml, or the file itself). */
export function configPath(target: string, cwd: string): string {
  const abs = resolve(cwd, target);
  const k = kind(abs);
  if (k === 'dir') return join(abs, CONFIG_NAME);
  return abs;
}

/** Reads and checks kiln.yaml; user mistakes throw `DiagnosticsError` with positions. */
export async function loadConfig(target: string, cwd = process.cwd()): Promise<PipelineConfig> {
  const file = configPath(target, cwd);
  let text: string;
  try {
    text = await readInput(file, { maxBytes: MAX_CONFIG_BYTES, what: CONFIG_NAME });
  } catch (e) {
    const missing = e instanceof InputError && e.reason === 'no such file';
    throw new KilnError(
      'NO_KILN_YAML',
      missing ? `${file} does not exist: a pipeline needs a ${CONFIG_NAME} (see docs/kiln-yaml.md)` : e instanceof InputError ? e.message : `cannot read ${file}: ${(e as Error).message}`,
      'user',
      { exitCode: 2 },
    );
  }
  const { parseYamlSource } = await import('../stack/yaml.js');
  const shown = file.startsWith(cwd + '/') ? file.slice(cwd.length + 1) : file;
  const doc = parseYamlSource(text, shown);
  const r = checkConfig(doc, file, dirname(file), { exists: kind, resolvePath: (d, p) => resolve(d, p) });
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length || !r.config) throw new DiagnosticsError(errors.length ? errors : [{ severity: 'error', code: 'KILN_YAML', message: `${basename(file)} could not be read` }]);
  return r.config;
}
