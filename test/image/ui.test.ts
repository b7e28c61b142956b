// Rendering build events as Packer prints them, human and machine-readable; masking in both.
import { describe, it, expect } from 'vitest';
import { BuildRenderer, humanDuration, machineEscape } from '../../src/cli/views/build.js';
import type { BuildEvent } from '../../src/image/events.js';
import { maskingSink } from '../../src/image/events.js';

const art = { builderId: 'packer.post-processor.docker-import', id: 'sha256:abc', files: [], string: 'Imported Docker image: sha256:abc' };
const events: BuildEvent[] = [
  { kind: 'build-start', build: 'docker', type: 'docker' },
  { kind: 'say', build: 'docker', text: 'Starting docker container...' },
  { kind: 'output', build: 'docker', text: 'token=SECRET, done', stream: 'stdout' },
  { kind: 'build-done', build: 'docker', ok: true, ms: 828, artifacts: [art], cached: false },
  { kind: 'build-done', build: 'bad', ok: false, ms: 1500, error: 'boom', artifacts: [], cached: false },
  {
    kind: 'all-done',
    results: [
      { build: 'docker', ok: true, artifacts: [art] },
      { build: 'bad', ok: false, error: 'boom', artifacts: [] },
    ],
  },
];
const mask = (s: string) => s.split('SECRET').join('<sensitive>');

function render(machineReadable: boolean, timestamps = false): string {
  let out = '';
  const r = new BuildRenderer({ machineReadable, color: false, timestamps, mask, now: () => new Date(1795637396000) }, (s) => (out += s));
  events.forEach((e) => r.render(e));
  return out;
}

describe('human output', () => {
  it('reads like Packer', () => {
    const out = render(false);
    expect(out).toContain('==> docker: Starting docker container...\n');
    expect(out).toContain('    docker: token=<sensitive>, done\n');
    expect(out).toContain("Build 'docker' finished after 828 milliseconds.\n");
    expect(out).toContain("Build 'bad' errored after 1 second 500 milliseconds: boom\n");
    expect(out).toContain("==> Some builds didn't complete successfully and had errors:\n--> bad: boom\n");
    expect(out).toContain('==> Builds finished. The artifacts of successful builds are:\n--> docker: Imported Docker image: sha256:abc\n');
    expect(out).not.toContain('SECRET');
  });
  it('prefixes RFC3339 timestamps with -timestamp-ui', () => {
    expect(render(false, true)).toContain('2026-11-25T20:09:56Z ==> docker: Starting docker container...');
  });
});

describe('machine-readable output', () => {
  it("follows Packer's record format and masks secrets", () => {
    const lines = render(true).trim().split('\n');
    expect(lines).toContain('1795637396,,ui,say,==> docker: Starting docker container...');
    expect(lines).toContain('1795637396,,ui,message,    docker: token=<sensitive>%!(PACKER_COMMA) done');
    expect(lines).toContain('1795637396,docker,artifact-count,1');
    expect(lines).toContain('1795637396,docker,artifact,0,builder-id,packer.post-processor.docker-import');
    expect(lines).toContain('1795637396,docker,artifact,0,end');
    expect(lines).toContain('1795637396,,error-count,1');
    expect(lines).toContain('1795637396,bad,error,boom');
    expect(lines.join('\n')).not.toContain('SECRET');
  });
  it('escapes commas and newlines', () => {
    expect(machineEscape('a,b\nc\rd')).toBe('a%!(PACKER_COMMA)b\\nc\\rd');
  });
});

describe('the masking sink', () => {
  it('masks every text field before events leave the engine', () => {
    const seen: BuildEvent[] = [];
    const sink = maskingSink({ emit: (e) => seen.push(e) }, mask);
    sink.emit({ kind: 'say', build: 'b', text: 'x SECRET' });
    sink.emit({ kind: 'build-done', build: 'b', ok: false, ms: 1, error: 'SECRET failed', artifacts: [{ ...art, string: 'SECRET' }], cached: false });
    expect(JSON.stringify(seen)).not.toContain('SECRET');
  });
});

describe('durations', () => {
  it('are spelled out as Packer does', () => {
    expect(humanDuration(828)).toBe('828 milliseconds');
    expect(humanDuration(61_001)).toBe('1 minute 1 second 1 millisecond');
    expect(humanDuration(0)).toBe('0 milliseconds');
  });
});
