// Typed events of the build engine. The engine never prints: `kiln build` renders these as
// Packer-like lines (ui.ts), and the pipeline subscribes to the same stream. Every text field is
// masked (sensitive variables → `<sensitive>`) before it leaves the engine: see `maskingSink`.
import type { EventSink } from '../core/events.js';

/** A build artifact, modelled on Packer's (reference §4.3). */
export interface Artifact {
  /** `packer.post-processor.docker-import` (docker commit), `packer.docker` (export/discard), … */
  builderId: string;
  /** Image id (`sha256:…`), `repo:tag`, or the literal `Container`. */
  id: string;
  files: string[];
  /** Human text: `Imported Docker image: sha256:…`. */
  string: string;
  /** Extra state read by later post-processors (e.g. `docker_tags`, `generated_data`). */
  state?: Record<string, unknown>;
  /** Destroys the artifact when it is not kept (image removal, file removal). */
  destroy?: () => Promise<void>;
}

export type BuildEvent =
  /** `==> build: text` */
  | { kind: 'say'; build?: string; text: string }
  /** `    build: text` */
  | { kind: 'message'; build?: string; text: string }
  /** A line a provisioner's command printed. */
  | { kind: 'output'; build: string; text: string; stream: 'stdout' | 'stderr' }
  /** `==> build: text` in red. */
  | { kind: 'error'; build?: string; text: string }
  /** The cache decision of a build: `hit` reuses `imageId`; `resumedFrom` = provisioners skipped. */
  | { kind: 'cache'; build: string; key: string; hit: boolean; imageId?: string; resumedFrom?: number; total?: number }
  | { kind: 'build-start'; build: string; type: string }
  | { kind: 'build-done'; build: string; ok: boolean; ms: number; error?: string; artifacts: Artifact[]; cached: boolean }
  | { kind: 'all-done'; results: Array<{ build: string; ok: boolean; error?: string; artifacts: Artifact[] }> };

/** Wraps a sink so that every string in every event passes through `mask` first. */
export function maskingSink(inner: EventSink<BuildEvent>, mask: (s: string) => string): EventSink<BuildEvent> {
  const maskArtifact = (a: Artifact): Artifact => ({ ...a, id: mask(a.id), string: mask(a.string), files: a.files.map(mask) });
  return {
    emit(e) {
      switch (e.kind) {
        case 'say':
        case 'message':
        case 'error':
        case 'output':
          inner.emit({ ...e, text: mask(e.text) });
          return;
        case 'build-done':
          inner.emit({ ...e, error: e.error === undefined ? undefined : mask(e.error), artifacts: e.artifacts.map(maskArtifact) });
          return;
        case 'all-done':
          inner.emit({ ...e, results: e.results.map((r) => ({ ...r, error: r.error === undefined ? undefined : mask(r.error), artifacts: r.artifacts.map(maskArtifact) })) });
          return;
        default:
          inner.emit(e);
      }
    },
  };
}

/** A per-build view of the sink: what builders and provisioners use to talk. */
export interface BuildUI {
  readonly build: string;
  say(text: string): void;
  message(text: string): void;
  error(text: string): void;
  output(text: string, stream: 'stdout' | 'stderr'): void;
}

export function buildUI(sink: EventSink<BuildEvent>, build: string): BuildUI {
  return {
    build,
    say: (text) => sink.emit({ kind: 'say', build, text }),
    message: (text) => sink.emit({ kind: 'message', build, text }),
    error: (text) => sink.emit({ kind: 'error', build, text }),
    output: (text, stream) => sink.emit({ kind: 'output', build, text, stream }),
  };
}
