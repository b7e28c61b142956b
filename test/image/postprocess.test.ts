// Post-processor chains on the real engine: docker-tag, manifest (Packer's format, append, -force),
// checksum, keep_input_artifact, only/except on an element, CLI -except stopping a chain.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { workspace, type Workspace } from './build-helpers.js';
import { inspectImage } from '../docker.js';

let ws: Workspace;
let repo: string;
beforeAll(() => {
  ws = workspace('pp');
  repo = `kiln-test/${ws.testId}`;
});
afterAll(async () => {
  await ws.cleanup();
});

const commit = { type: 'docker', image: 'busybox:latest', pull: false, commit: true };

describe('post-processors', () => {
  it('tags the committed image and writes a manifest in a chain; lists artifacts as Packer does', async () => {
    const tpl = ws.template(
      {
        builders: [commit],
        provisioners: [{ type: 'shell', inline: ['echo pp > /pp'] }],
        'post-processors': [
          [
            { type: 'docker-tag', repository: repo, tags: ['v1', 'latest'] },
            { type: 'manifest', output: 'out/manifest.json', strip_path: true, custom_data: { sha: '{{build `ImageSha256`}}', missing: '{{build `ID`}}' } },
          ],
        ],
      },
      'tag.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('==> docker: Running post-processor: docker-tag');
    expect(r.out).toContain(`    docker: Repository: ${repo}:v1`);
    const id = /Image ID: (sha256:[0-9a-f]{64})/.exec(r.out)![1]!;
    expect((await inspectImage(`${repo}:v1`))?.Id).toBe(id);
    expect((await inspectImage(`${repo}:latest`))?.Id).toBe(id);
    // builder artifact kept (docker-tag forces keep), then the chain's last artifact
    expect(r.out).toContain(`--> docker: Imported Docker image: ${id}\n--> docker: Imported Docker image: ${repo}:latest\n`);
    const m = JSON.parse(readFileSync(join(ws.dir, 'out/manifest.json'), 'utf8'));
    expect(m.builds).toHaveLength(1);
    expect(m.builds[0]).toMatchObject({ name: 'docker', builder_type: 'docker', files: null, artifact_id: `${repo}:latest`, custom_data: { sha: id } });
    expect(m.builds[0].custom_data.missing).toMatch(/^[0-9a-f]{64}$/);
    expect(typeof m.builds[0].build_time).toBe('number');
    expect(m.last_run_uuid).toBe(m.builds[0].packer_run_uuid);

    // A cached rebuild still runs the post-processors: the manifest gets a second entry.
    const again = await ws.kiln([tpl]);
    expect(again.code).toBe(0);
    expect(again.out).toContain('Reusing the cached image');
    const m2 = JSON.parse(readFileSync(join(ws.dir, 'out/manifest.json'), 'utf8'));
    expect(m2.builds).toHaveLength(2);
    expect(m2.builds[1].packer_run_uuid).not.toBe(m2.builds[0].packer_run_uuid);
    // -force truncates a manifest written by another run
    const forced = await ws.kiln(['-force', tpl]);
    expect(forced.code).toBe(0);
    expect(JSON.parse(readFileSync(join(ws.dir, 'out/manifest.json'), 'utf8')).builds).toHaveLength(1);
  });

  it('skips only the element whose own only/except excludes the build; -except=<pp> stops the rest of the chain', async () => {
    const tpl = ws.template(
      {
        builders: [commit, { type: 'docker', name: 'other', image: 'busybox:latest', discard: true }],
        'post-processors': [
          [
            { type: 'docker-tag', repository: repo, tags: ['skipped'], only: ['other'] },
            { type: 'manifest', output: 'skip-manifest.json', strip_time: true },
          ],
          [
            { type: 'manifest', name: 'stopper', output: 'stopper.json' },
            { type: 'manifest', output: 'after-stop.json' },
          ],
        ],
      },
      'skip.json',
    );
    const r = await ws.kiln(['-except=stopper', '-only=docker', tpl]);
    expect(r.code, r.out).toBe(0);
    expect(await inspectImage(`${repo}:skipped`)).toBeUndefined();
    const m = JSON.parse(readFileSync(join(ws.dir, 'skip-manifest.json'), 'utf8'));
    // the manifest received the builder artifact (the image id), and strip_time left build_time out
    expect(m.builds[0].artifact_id).toMatch(/^sha256:/);
    expect('build_time' in m.builds[0]).toBe(false);
    expect(existsSync(join(ws.dir, 'stopper.json'))).toBe(false);
    expect(existsSync(join(ws.dir, 'after-stop.json'))).toBe(false);
  });

  it('checksums exported files; an error stops that chain only and fails the build', async () => {
    const tpl = ws.template(
      {
        builders: [{ type: 'docker', image: 'busybox:latest', export_path: 'out/exp.tar' }],
        'post-processors': [
          { type: 'checksum', checksum_types: ['sha256'], output: 'out/{{.BuildName}}.{{.ChecksumType}}' },
          [
            { type: 'docker-tag', repository: repo, tags: ['nope'] },
            { type: 'manifest', output: 'never.json' },
          ],
          { type: 'manifest', output: 'out/exp-manifest.json' },
        ],
      },
      'checksum.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(1);
    const sum = createHash('sha256')
      .update(readFileSync(join(ws.dir, 'out/exp.tar')))
      .digest('hex');
    expect(readFileSync(join(ws.dir, 'out/docker.sha256'), 'utf8')).toBe(`${sum}\texp.tar\n`);
    expect(r.out).toContain('Post-processor failed: Unknown artifact type: packer.docker');
    expect(existsSync(join(ws.dir, 'never.json'))).toBe(false);
    const m = JSON.parse(readFileSync(join(ws.dir, 'out/exp-manifest.json'), 'utf8'));
    expect(m.builds[0]).toMatchObject({ artifact_id: 'Container', files: [{ name: join(ws.dir, 'out/exp.tar'), size: expect.any(Number) }] });
    expect(r.out).toContain("==> Some builds didn't complete successfully and had errors:");
  });
});

describe('docker-import and docker-save', () => {
  it('imports an exported container as an image and saves it to a tar', async () => {
    const tpl = ws.template(
      {
        builders: [{ type: 'docker', image: 'busybox:latest', export_path: 'imp/exp.tar' }],
        provisioners: [{ type: 'shell', inline: ['echo imported > /imported'] }],
        'post-processors': [
          [
            { type: 'docker-import', repository: repo, tag: 'imported', changes: ['LABEL kiln.test=' + ws.testId] },
            { type: 'docker-save', path: 'imp/saved.tar' },
          ],
        ],
      },
      'import.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(await inspectImage(`${repo}:imported`)).toBeDefined();
    expect(existsSync(join(ws.dir, 'imp/saved.tar'))).toBe(true);
    // the exported tar is the docker-import input and is not kept
    expect(existsSync(join(ws.dir, 'imp/exp.tar'))).toBe(false);
    expect(r.out).toContain(`--> docker: Imported Docker image: ${repo}:imported`);
  });
});
