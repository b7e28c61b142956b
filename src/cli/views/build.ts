// Rendering build events the way Packer prints them: human lines (`==> name: …`) or the
// machine-readable record format (reference §6). Pure: events in, text out. Values are masked again
// here (the engine already masks), so no renderer can leak a secret — machine-readable included,
// unlike Packer 1.6.6.
import type { Artifact, BuildEvent } from '../../image/events.js';

interface RenderOptions {
  machineReadable: boolean;
  color: boolean;
  timestamps: boolean;
  mask: (s: string) => string;
  now?: () => Date;
}

/** Packer's duration text: `828 milliseconds 701 microseconds`, `1 minute 3 seconds`. */
export function humanDuration(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms);
  const units: Array<[number, string]> = [
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
    [1, 'millisecond'],
  ];
  for (const [size, name] of units) {
    const n = Math.floor(rest / size);
    rest -= n * size;
    if (n) parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
  }
  return parts.length ? parts.join(' ') : '0 milliseconds';
}

const COLORS = ['\x1b[1;32m', '\x1b[1;36m', '\x1b[1;35m', '\x1b[1;33m', '\x1b[1;34m'];
const RED = '\x1b[1;31m';
const RESET = '\x1b[0m';

export function machineEscape(s: string): string {
  return s.replace(/,/g, '%!(PACKER_COMMA)').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
}

export class BuildRenderer {
  private readonly colorOf = new Map<string, string>();
  private readonly t0 = Date.now();
  constructor(
    private readonly opts: RenderOptions,
    private readonly write: (text: string) => void,
  ) {}

  private now(): Date {
    return this.opts.now?.() ?? new Date();
  }

  private machine(target: string, type: string, ...data: string[]): void {
    const ts = Math.floor(this.now().getTime() / 1000);
    this.write(`${ts},${machineEscape(target)},${type}${data.map((d) => ',' + machineEscape(this.opts.mask(d))).join('')}\n`);
  }

  private line(text: string, build?: string, error = false): void {
    let t = this.opts.mask(text);
    if (this.opts.color) {
      const c = error ? RED : build ? this.color(build) : '\x1b[1m';
      t = `${c}${t}${RESET}`;
    }
    if (this.opts.timestamps) {
      const lead = /^\n*/.exec(t)![0];
      t = `${lead}${this.now()
        .toISOString()
        .replace(/\.\d{3}Z$/, 'Z')} ${t.slice(lead.length)}`;
    }
    this.write(t + '\n');
  }

  private color(build: string): string {
    let c = this.colorOf.get(build);
    if (!c) this.colorOf.set(build, (c = COLORS[this.colorOf.size % COLORS.length]!));
    return c;
  }

  private ui(kind: 'say' | 'message' | 'error', text: string, build?: string): void {
    if (this.opts.machineReadable) this.machine('', 'ui', kind, text);
    else this.line(text, build, kind === 'error');
  }

  render(e: BuildEvent): void {
    const pre = (b?: string) => (b ? `${b}: ` : '');
    switch (e.kind) {
      case 'build-start':
        if (!this.opts.machineReadable) this.line(`${e.build}: output will be in this color.`, e.build);
        return;
      case 'say':
        return this.ui('say', `==> ${pre(e.build)}${e.text}`, e.build);
      case 'message':
        return this.ui('message', `    ${pre(e.build)}${e.text}`, e.build);
      case 'output':
        return this.ui('message', `    ${pre(e.build)}${e.text}`, e.build);
      case 'error':
        return this.ui('error', `==> ${pre(e.build)}${e.text}`, e.build);
      case 'cache':
        if (this.opts.machineReadable) this.machine(e.build, 'kiln-cache', e.hit ? 'hit' : 'miss', e.key, e.imageId ?? '', String(e.resumedFrom ?? 0));
        return;
      case 'build-done':
        if (e.ok) this.ui('say', `Build '${e.build}' finished after ${humanDuration(e.ms)}.`, e.build);
        else this.ui('error', `Build '${e.build}' errored after ${humanDuration(e.ms)}: ${e.error ?? ''}`, e.build);
        return;
      case 'all-done':
        return this.summary(e.results);
    }
  }

  private summary(results: Array<{ build: string; ok: boolean; error?: string; artifacts: Artifact[] }>): void {
    const failed = results.filter((r) => !r.ok);
    const withArtifacts = results.filter((r) => r.artifacts.length > 0);
    if (this.opts.machineReadable) {
      for (const r of withArtifacts) {
        this.machine(r.build, 'artifact-count', String(r.artifacts.length));
        r.artifacts.forEach((a, i) => {
          const n = String(i);
          this.machine(r.build, 'artifact', n, 'builder-id', a.builderId);
          this.machine(r.build, 'artifact', n, 'id', a.id);
          this.machine(r.build, 'artifact', n, 'string', a.string);
          this.machine(r.build, 'artifact', n, 'files-count', String(a.files.length));
          a.files.forEach((f, j) => this.machine(r.build, 'artifact', n, 'file', String(j), f));
          this.machine(r.build, 'artifact', n, 'end');
        });
      }
      if (failed.length) {
        this.machine('', 'error-count', String(failed.length));
        for (const r of failed) this.machine(r.build, 'error', r.error ?? '');
      }
      this.machine('', 'ui', 'say', withArtifacts.length ? '\n==> Builds finished. The artifacts of successful builds are:' : '\n==> Builds finished but no artifacts were created.');
      for (const r of withArtifacts) for (const a of r.artifacts) this.machine('', 'ui', 'say', `--> ${r.build}: ${a.string}`);
      return;
    }
    this.line(`\n==> Wait completed after ${humanDuration(Date.now() - this.t0)}`);
    if (failed.length) {
      this.line("\n==> Some builds didn't complete successfully and had errors:", undefined, true);
      for (const r of failed) this.line(`--> ${r.build}: ${r.error ?? ''}`, r.build, true);
    }
    if (withArtifacts.length) {
      this.line('\n==> Builds finished. The artifacts of successful builds are:');
      for (const r of withArtifacts) for (const a of r.artifacts) this.line(`--> ${r.build}: ${a.string}`, r.build);
    } else this.line('\n==> Builds finished but no artifacts were created.');
  }
}
