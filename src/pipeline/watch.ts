// `kiln watch`: the inputs of a pipeline (from the image engine's prepared templates, not guesses)
// watched for changes, debounced, and a loop that runs `up` again after each burst of changes. A
// failed run leaves what runs serving and waits for the next change.
import { watch as fsWatch, statSync, type FSWatcher } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { PreparedTemplate } from '../image/api.js';
import type { PipelineConfig, Target } from './config.js';

export interface Input {
  path: string;
  kind: 'file' | 'dir';
}

function kindOf(p: string): 'file' | 'dir' | undefined {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return undefined;
  }
}

/** The local files and directories a prepared template reads: the template, var files, the scripts
 *  of shell and shell-local provisioners, and what file provisioners upload. */
function templateInputs(t: PreparedTemplate, varFiles: readonly string[] = []): string[] {
  const out = new Set<string>([t.templatePath, ...varFiles]);
  for (const b of t.builds) {
    const provs = [...b.provisioners, ...(b.errorCleanupProvisioner ? [b.errorCleanupProvisioner] : [])];
    for (const p of provs) {
      const c = p.config;
      if (c.type === 'shell' || c.type === 'shell-local') for (const s of c.scripts) out.add(s);
      else if (c.type === 'file' && c.direction === 'upload') for (const s of c.localSources) out.add(s.replace(/\/+$/, '') || '/');
    }
  }
  return [...out];
}

/** Every input of the pipeline: kiln.yaml, the stack template, and each image's inputs for the target. */
export async function pipelineInputs(config: PipelineConfig, target: Target, env?: NodeJS.ProcessEnv): Promise<Input[]> {
  const { prepareImage } = await import('./up.js');
  const paths = new Set<string>([config.file, config.stackTemplate]);
  for (const img of config.images) {
    const { prepared } = await prepareImage(config, img, target, env);
    for (const p of templateInputs(prepared, img.varFiles)) paths.add(p);
  }
  const out: Input[] = [];
  for (const p of [...paths].sort()) {
    const k = kindOf(p);
    if (k) out.push({ path: p, kind: k });
  }
  return out;
}

function inside(child: string, dir: string): boolean {
  const r = relative(dir, child);
  return r === '' || (!r.startsWith('..') && !r.startsWith(sep) && r !== '..');
}

/**
 * Watches inputs and calls `onChange` once per burst of changes, after `debounceMs` of quiet
 * (500 ms by default, as `docker compose watch`). Files are watched through their directory, so an
 * editor that replaces a file (write to a temp file, rename) is seen too. Returns a stop function.
 */
export function watchInputs(inputs: readonly Input[], onChange: (paths: string[]) => void, debounceMs = 500): () => void {
  const watchers: FSWatcher[] = [];
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const fire = (p: string) => {
    changed.add(p);
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      const paths = [...changed].sort();
      changed.clear();
      onChange(paths);
    }, debounceMs);
  };
  const dirs = inputs.filter((i) => i.kind === 'dir').map((i) => i.path);
  for (const d of dirs) {
    if (dirs.some((o) => o !== d && inside(d, o))) continue; // covered by a parent
    watchers.push(fsWatch(d, { recursive: true }, (_e, name) => fire(name ? join(d, name.toString()) : d)));
  }
  const byDir = new Map<string, Set<string>>();
  for (const f of inputs.filter((i) => i.kind === 'file')) {
    if (dirs.some((d) => inside(f.path, d))) continue;
    const d = dirname(f.path);
    const set = byDir.get(d) ?? new Set<string>();
    set.add(basename(f.path));
    byDir.set(d, set);
  }
  for (const [d, names] of byDir)
    watchers.push(
      fsWatch(d, (_e, name) => {
        if (name && names.has(name.toString())) fire(join(d, name.toString()));
      }),
    );
  for (const w of watchers) w.on('error', () => undefined);
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

interface WatchLoopOptions {
  /** Loads kiln.yaml again (it may have changed) and returns it; throws on a user mistake. */
  load: () => Promise<PipelineConfig>;
  target: Target;
  /** One `up`; a throw or a failed outcome is reported by the caller and the loop goes on. */
  run: (config: PipelineConfig, changed: string[]) => Promise<void>;
  /** A problem outside `run` (kiln.yaml broken, inputs unreadable); the loop waits for a change. */
  onError: (e: unknown) => void;
  onWatching?: (inputs: Input[]) => void;
  signal: AbortSignal;
  debounceMs?: number;
  env?: NodeJS.ProcessEnv;
  /** The directory of kiln.yaml, watched when kiln.yaml itself is broken. */
  fallbackDir: string;
}

/** Runs `up` at once and after each change, until `signal` aborts. Changes made while a run is
 *  in flight are not lost: the inputs are watched from before the run starts. */
export async function watchLoop(o: WatchLoopOptions): Promise<void> {
  let changed: string[] = [];
  while (!o.signal.aborted) {
    let inputs: Input[] = [{ path: o.fallbackDir, kind: 'dir' }];
    let config: PipelineConfig | undefined;
    try {
      config = await o.load();
      inputs = await pipelineInputs(config, o.target, o.env);
    } catch (e) {
      o.onError(e);
    }
    const pending = new Set<string>();
    let wake: (() => void) | undefined;
    const stop = watchInputs(
      inputs,
      (paths) => {
        for (const p of paths) pending.add(p);
        wake?.();
      },
      o.debounceMs,
    );
    try {
      if (config) {
        try {
          await o.run(config, changed);
        } catch (e) {
          o.onError(e);
        }
      }
      if (o.signal.aborted) break;
      o.onWatching?.(inputs);
      if (!pending.size)
        await new Promise<void>((resolve) => {
          wake = resolve;
          o.signal.addEventListener('abort', () => resolve(), { once: true });
        });
    } finally {
      stop();
    }
    changed = [...pending].sort();
  }
}
