// Base images without a registry. `docker pull` cannot work here, so an absent base image is either
// produced from Debian's packages (`debian:<suite>` by debootstrap, `busybox:latest` from
// busybox-static) and imported through the Engine API, or refused with a message that says how to
// get one. A file lock keeps two kiln processes from producing the same image at once.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, statSync, unlinkSync, writeSync, mkdirSync, symlinkSync, copyFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KilnError } from '../core/errors.js';
import type { DockerClient } from '../docker/client.js';

/** Base images kiln produced carry these labels (not in the build key: the image ID is). */
const BASE_LABEL = 'LABEL kiln.managed=true kiln.kind=base';

interface BaseImageOptions {
  /** The template asked for a pull (`pull: true`, Packer's default). */
  pull?: boolean;
  /** Progress lines ("Producing debian:bookworm with debootstrap…"). */
  say?: (text: string) => void;
  /** Where to keep the lock files (default: the OS temp dir). */
  lockDir?: string;
}

export interface BaseImage {
  ref: string;
  id: string;
  /** How it came to be present. */
  source: 'present' | 'debootstrap' | 'busybox-static';
  user: string;
}

/** Makes sure `ref` exists in the engine; returns its image ID (the cache keys on the ID, not the tag). */
export async function ensureBaseImage(docker: DockerClient, ref: string, opts: BaseImageOptions = {}): Promise<BaseImage> {
  const say = opts.say ?? (() => undefined);
  const present = await docker.inspectImage(ref);
  if (present) {
    if (opts.pull) say(`Pull skipped: ${ref} is present locally (no registry is reachable from kiln; the local image is used)`);
    return { ref, id: present.Id, source: 'present', user: present.Config?.User ?? '' };
  }
  const { repo, tag } = splitRef(ref);
  const producer = repo === 'debian' && /^[a-z]+$/.test(tag) ? 'debootstrap' : repo === 'busybox' ? 'busybox-static' : undefined;
  if (!producer) {
    throw new KilnError(
      'BASE_IMAGE_MISSING',
      `image ${ref} is not present in the Docker engine and no registry can be reached to pull it${opts.pull ? ' (pull: true)' : ''}. ` +
        `Load it from a saved archive (\`docker load -i image.tar\`), import a root filesystem (\`docker import rootfs.tar ${ref}\`), ` +
        `or use a base kiln can produce itself: debian:<suite> (debootstrap) or busybox:<tag> (busybox-static).`,
    );
  }
  return withLock(join(opts.lockDir ?? tmpdir(), `kiln-base-${ref.replace(/[^A-Za-z0-9_.-]/g, '_')}.lock`), async () => {
    const again = await docker.inspectImage(ref); // another process may have produced it while we waited
    if (again) return { ref, id: again.Id, source: 'present' as const, user: again.Config?.User ?? '' };
    const root = mkdtempSync(join(tmpdir(), 'kiln-rootfs-'));
    try {
      if (producer === 'debootstrap') {
        await ensureTool('debootstrap', 'debootstrap', say);
        say(`Producing ${ref} from Debian's packages: debootstrap --variant=minbase ${tag} (this takes a few minutes, once)`);
        await run('debootstrap', ['--variant=minbase', tag, root]);
        say(`Importing the root filesystem as ${ref} through the Engine API`);
        await importDir(docker, root, repo, tag, ['CMD ["bash"]', BASE_LABEL]);
      } else {
        await ensureTool('busybox', 'busybox-static', say);
        say(`Producing ${ref} from Debian's busybox-static`);
        await busyboxRoot(root);
        say(`Importing the root filesystem as ${ref} through the Engine API`);
        await importDir(docker, root, repo, tag, ['CMD ["/bin/sh"]', 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin', BASE_LABEL]);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
    const made = await docker.inspectImage(ref);
    if (!made) throw new KilnError('BASE_IMAGE_IMPORT', `importing ${ref} did not produce an image`, 'environment');
    return { ref, id: made.Id, source: producer, user: made.Config?.User ?? '' };
  });
}

export function splitRef(ref: string): { repo: string; tag: string } {
  const at = ref.indexOf('@');
  const body = at >= 0 ? ref.slice(0, at) : ref;
  const slash = body.lastIndexOf('/');
  const colon = body.lastIndexOf(':');
  if (colon > slash) return { repo: body.slice(0, colon), tag: body.slice(colon + 1) };
  return { repo: body, tag: 'latest' };
}

async function withLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30 * 60_000;
  for (;;) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      // A lock older than 30 minutes belongs to a process that died.
      try {
        if (Date.now() - statSync(file).mtimeMs > 30 * 60_000) unlinkSync(file);
      } catch {
        /* gone already */
      }
      if (Date.now() > deadline) throw new KilnError('BASE_IMAGE_LOCK', `timed out waiting for ${file}`, 'environment');
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

function run(cmd: string, args: string[], input?: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new KilnError('BASE_IMAGE_TOOL', `${cmd} ${args.join(' ')} exited with ${code}: ${err.trim().split('\n').slice(-5).join('\n')}`, 'environment')),
    );
    if (input && p.stdin) input.pipe(p.stdin);
  });
}

async function ensureTool(bin: string, pkg: string, say: (t: string) => void): Promise<void> {
  const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'].some((d) => existsSync(join(d, bin)));
  if (found) return;
  say(`Installing Debian's ${pkg} (apt-get install ${pkg})`);
  await run('apt-get', ['update', '-qq']);
  await run('apt-get', ['install', '-y', '-qq', pkg]);
}

async function busyboxRoot(root: string): Promise<void> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'tmp', 'etc', 'root', 'var/www', 'proc', 'sys', 'dev']) mkdirSync(join(root, d), { recursive: true });
  chmodSync(join(root, 'tmp'), 0o1777);
  copyFileSync('/bin/busybox', join(root, 'bin/busybox'));
  chmodSync(join(root, 'bin/busybox'), 0o755);
  const list = await run(join(root, 'bin/busybox'), ['--list']);
  for (const app of list
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean))
    if (app !== 'busybox') symlinkSync('busybox', join(root, 'bin', app));
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** `tar -C root -c .` streamed into POST /images/create?fromSrc=- (the Engine API's import). */
async function importDir(docker: DockerClient, root: string, repo: string, tag: string, changes: string[]): Promise<void> {
  const tar = spawn('tar', ['-C', root, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const failed = new Promise<never>((_, reject) => tar.on('error', reject));
  const res = await Promise.race([docker.engine.importImage(tar.stdout, { repo, tag, changes }), failed]);
  const body = res.body.toString('utf8');
  if (res.status !== 200 || /"error"/.test(body)) throw new KilnError('BASE_IMAGE_IMPORT', `import ${repo}:${tag}: HTTP ${res.status} ${body.trim()}`, 'environment');
}
