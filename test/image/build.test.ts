// `kiln build` on the real Docker engine: provisioning, the build cache, resuming from
// intermediate images, -force, and what a run leaves behind.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { workspace, runInImage, imageConfig, containersLabelled, type Workspace } from './build-helpers.js';
import type { BuildEvent } from '../../src/image/events.js';

let ws: Workspace;
beforeAll(() => {
  ws = workspace('build');
});
afterAll(async () => {
  await ws.cleanup();
});

function imageIdFrom(out: string): string {
  const m = /Imported Docker image: (sha256:[0-9a-f]{64})/.exec(out);
  if (!m) throw new Error(`no image id in output:\n${out}`);
  return m[1]!;
}

describe('kiln build (docker builder, busybox base)', () => {
  it('bakes, then reuses the cache, resumes after an edited upload, and rebuilds with -force', async () => {
    // GIVEN a template whose first provisioner counts its runs in a host directory (a volume)
    const counter = join(ws.dir, 'counter');
    ws.write('counter/.keep', '');
    ws.write('app/index.html', 'version 1\n');
    const tpl = ws.template({
      builders: [
        {
          type: 'docker',
          image: 'busybox:latest',
          pull: false,
          commit: true,
          volumes: { [counter]: '/counter' },
          changes: ['ENV FOO=bar', 'CMD ["/bin/cat", "/srv/index.html"]', 'LABEL org.example.v=1'],
        },
      ],
      provisioners: [
        { type: 'shell', inline: ['echo ran >> /counter/slow-step', 'echo slow step done', 'mkdir -p /srv'] },
        { type: 'file', source: '{{template_dir}}/app/', destination: '/srv' },
        { type: 'shell', environment_vars: ['GREETING=hello world'], inline: ['echo "$GREETING from $PACKER_BUILD_NAME" > /srv/greeting'] },
      ],
    });
    const runs = () => readFileSync(join(counter, 'slow-step'), 'utf8').split('\n').filter(Boolean).length;

    // WHEN it is built the first time
    const first = await ws.kiln([tpl]);
    expect(first.code, first.out + first.err).toBe(0);
    expect(first.out).toContain('==> docker: Provisioning with shell script (inline, 3 lines)');
    expect(first.out).toContain('    docker: slow step done');
    expect(first.out).toContain("Build 'docker' finished after");
    expect(first.out).toContain('==> Builds finished. The artifacts of successful builds are:');
    const id1 = imageIdFrom(first.out);
    expect(runs()).toBe(1);
    expect(await runInImage(id1, ['/bin/cat', '/srv/index.html', '/srv/greeting'], ws.testId)).toBe('version 1\nhello world from docker\n');
    const cfg = await imageConfig(id1);
    expect(cfg.Env).toContain('FOO=bar');
    expect(cfg.Cmd).toEqual(['/bin/cat', '/srv/index.html']);
    expect(cfg.Labels?.['org.example.v']).toBe('1');
    expect(cfg.Labels?.['kiln.kind']).toBe('artifact');
    expect(cfg.Labels?.['kiln.managed']).toBe('true');
    expect(await containersLabelled(ws.testId)).toEqual([]);

    // WHEN nothing changed: the cached image is reused and nothing runs
    const second = await ws.kiln([tpl]);
    expect(second.code).toBe(0);
    expect(second.out).toMatch(/Reusing the cached image sha256:[0-9a-f]{64}/);
    expect(second.out).not.toContain('Starting docker container');
    expect(imageIdFrom(second.out)).toBe(id1);
    expect(runs()).toBe(1);

    // WHEN one byte of an uploaded file changes: the build resumes after the unchanged first step
    ws.write('app/index.html', 'version 2\n');
    const third = await ws.kiln([tpl]);
    expect(third.code, third.out).toBe(0);
    expect(third.out).toContain('Resuming from the cached state after provisioner 1 of 3');
    expect(third.out).not.toContain('slow step done');
    expect(runs()).toBe(1);
    const id3 = imageIdFrom(third.out);
    expect(id3).not.toBe(id1);
    expect(await runInImage(id3, ['/bin/cat', '/srv/index.html', '/srv/greeting'], ws.testId)).toBe('version 2\nhello world from docker\n');

    // WHEN -force is given: everything runs again
    const forced = await ws.kiln(['-force', tpl]);
    expect(forced.code).toBe(0);
    expect(forced.out).toContain('slow step done');
    expect(runs()).toBe(2);
    const idF = imageIdFrom(forced.out);
    expect(idF).not.toBe(id3);

    // The final image is the same whether earlier steps came from the cache or not.
    const pick = (c: Awaited<ReturnType<typeof imageConfig>>) => {
      const x = c as Record<string, unknown>;
      return { Env: x.Env, Cmd: x.Cmd, Entrypoint: x.Entrypoint, WorkingDir: x.WorkingDir, User: x.User, ExposedPorts: x.ExposedPorts, Labels: x.Labels, Volumes: x.Volumes };
    };
    expect(pick(await imageConfig(id3))).toEqual(pick(await imageConfig(idF)));
    const listing = ['/bin/sh', '-c', 'find / -xdev -path /proc -prune -o -print | sort | grep -v "^/etc/host\\|^/etc/resolv\\|^/.dockerenv" ; cat /srv/*'];
    expect(await runInImage(idF, listing, ws.testId)).toBe(await runInImage(id3, listing, ws.testId));
  });

  it('builds again when the cached image was deleted from Docker', async () => {
    const tpl = ws.template(
      { builders: [{ type: 'docker', image: 'busybox:latest', pull: false, commit: true }], provisioners: [{ type: 'shell', inline: ['echo deleted-case > /x'] }] },
      'deleted.json',
    );
    const a = await ws.kiln([tpl]);
    expect(a.code).toBe(0);
    const id = imageIdFrom(a.out);
    const { engineRequest } = await import('../docker.js');
    await engineRequest('DELETE', `/images/${id}?force=1`);
    const b = await ws.kiln([tpl]);
    expect(b.code).toBe(0);
    expect(b.out).toContain('is gone from Docker: building it again');
    expect(b.out).not.toContain('Reusing the cached image');
  });

  it('says clearly when the base image is absent and cannot be produced', async () => {
    const tpl = ws.template({ builders: [{ type: 'docker', image: 'kiln-no-such-image:1', commit: true }] }, 'missing.json');
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(1);
    expect(r.out).toContain('image kiln-no-such-image:1 is not present in the Docker engine');
    expect(r.out).toContain('docker load');
    expect(r.out).toContain('docker import');
  });

  it('with pull: true on a present image, skips the pull and says so', async () => {
    const tpl = ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', pull: true, discard: true }] }, 'pull.json');
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('Pull skipped: busybox:latest is present locally');
    expect(r.out).toContain('--> docker: Exported Docker file: ');
  });

  it('exports the container with export_path', async () => {
    const tpl = ws.template(
      { builders: [{ type: 'docker', image: 'busybox:latest', export_path: 'out/exp.tar' }], provisioners: [{ type: 'shell', inline: ['echo exported > /marker'] }] },
      'export.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(existsSync(join(ws.dir, 'out/exp.tar'))).toBe(true);
    expect(readFileSync(join(ws.dir, 'out/exp.tar')).includes(Buffer.from('exported\n'))).toBe(true);
    expect(r.out).toContain(`--> docker: Exported Docker file: ${join(ws.dir, 'out/exp.tar')}`);
  });

  it('runs builds in parallel and reports each', async () => {
    const tpl = ws.template(
      {
        builders: [
          { type: 'docker', name: 'one', image: 'busybox:latest', discard: true },
          { type: 'docker', name: 'two', image: 'busybox:latest', discard: true },
        ],
        provisioners: [{ type: 'shell', inline: ['echo in $PACKER_BUILD_NAME'] }],
      },
      'parallel.json',
    );
    const r = await ws.kiln(['-parallel-builds=2', tpl]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('    one: in one');
    expect(r.out).toContain('    two: in two');
    writeFileSync(join(ws.dir, 'ignored'), '');
  });
});

describe('null and file builders', () => {
  it('file writes its target; null runs shell-local provisioners without a machine', async () => {
    const tpl = ws.template(
      {
        builders: [
          { type: 'file', content: 'made by kiln\n', target: 'out/file.txt' },
          { type: 'null', communicator: 'none' },
        ],
        provisioners: [{ type: 'shell-local', inline: ['mkdir -p out', 'echo "from $PACKER_BUILD_NAME" >> out/null.txt'], only: ['null'] }],
      },
      'nullfile.json',
    );
    const r = await ws.kiln([tpl]);
    expect(r.code, r.out).toBe(0);
    expect(readFileSync(join(ws.dir, 'out/file.txt'), 'utf8')).toBe('made by kiln\n');
    expect(readFileSync(join(ws.dir, 'out/null.txt'), 'utf8')).toBe('from null\n');
    expect(r.out).toContain(`--> file: Stored file: ${join(ws.dir, 'out/file.txt')}`);
    expect(r.out).toContain('--> null: Did not export anything. This is the null builder');
  });
});

describe('buildImages (the programmatic API)', () => {
  it('returns image ids and cache hits, and cancels cleanly on abort (Ctrl-C)', async () => {
    const { buildImages } = await import('../../src/image/api.js');
    const { EventLog } = await import('../../src/core/events.js');
    const tpl = ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', commit: true }], provisioners: [{ type: 'shell', inline: ['echo api > /api'] }] }, 'api.json');
    const opts = { templatePath: tpl, cwd: ws.dir, stateDir: ws.stateDir, labels: { 'kiln.test': ws.testId } };
    const [first] = await buildImages(opts);
    expect(first).toMatchObject({ build: 'docker', ok: true, cached: false, imageId: expect.stringMatching(/^sha256:/) });
    const [second] = await buildImages(opts);
    expect(second).toMatchObject({ ok: true, cached: true, imageId: first!.imageId });
    // a generated template (no file) with the same content is the same build
    const [third] = await buildImages({ ...opts, templatePath: join(ws.dir, 'generated.json'), templateText: readFileSync(tpl, 'utf8') });
    expect(third).toMatchObject({ ok: true, cached: true, imageId: first!.imageId });

    const slow = ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', commit: true }], provisioners: [{ type: 'shell', inline: ['echo started', 'sleep 60'] }] }, 'slow.json');
    const ac = new AbortController();
    const log = new EventLog<BuildEvent>();
    const sink = {
      emit: (e: BuildEvent) => {
        log.emit(e);
        if (e.kind === 'output' && e.text === 'started') ac.abort(new Error('interrupted'));
      },
    };
    const t0 = Date.now();
    const [cancelled] = await buildImages({ ...opts, templatePath: slow, signal: ac.signal, events: sink });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(cancelled).toMatchObject({ ok: false });
    expect(log.events.some((e) => e.kind === 'say' && e.text.startsWith('Killing the container'))).toBe(true);
    expect(await containersLabelled(ws.testId)).toEqual([]);
  });
});

describe('kiln build usage', () => {
  it('rejects bad flags with exit code 2 and a message, building nothing', async () => {
    const tpl = ws.template({ builders: [{ type: 'docker', image: 'busybox:latest', discard: true }] }, 'usage.json');
    for (const [args, msg] of [
      [['-on-error=ask', tpl], /-on-error=ask: expected cleanup or abort/],
      [['-parallel-builds=x', tpl], /-parallel-builds=x: expected a whole number/],
      [['-debug', tpl], /unknown flag -debug/],
      [[], /expected exactly one template/],
    ] as const) {
      const r = await ws.kiln([...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(r.out).not.toContain('Starting docker container');
    }
  });

  it('reports template mistakes with file:line:col and creates nothing', async () => {
    const tpl = ws.write('bad.json', '{\n  "builders": [{ "type": "docker", "image": "busybox:latest", "commit": true, "bogus_key": 1 }]\n}\n');
    const r = await ws.kiln([tpl]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/bad\.json:2:\d+: error/);
    expect(r.err).toContain('bogus_key');
    expect(await containersLabelled(ws.testId)).toEqual([]);
  });
});
