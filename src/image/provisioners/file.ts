// Provisioner `file` (reference §8.2): upload files and directories (docker cp trailing-slash
// rules, in the communicator) or download them to the host.
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { posix } from 'node:path';
import { KilnError } from '../../core/errors.js';
import type { FileProvisionerConfig } from '../types.js';
import type { ProvisionContext } from './context.js';

export async function provisionFile(c: FileProvisionerConfig, ctx: ProvisionContext): Promise<void> {
  const comm = ctx.comm;
  if (!comm) throw new KilnError('NO_COMMUNICATOR', `the file provisioner needs a machine; build '${ctx.build.name}' has none (communicator "none")`);
  if (c.direction === 'download') {
    for (const src of c.sources) {
      const local = c.destination.endsWith('/') ? resolve(ctx.build.cwd, c.destination, posix.basename(src.replace(/\/+$/, ''))) : resolve(ctx.build.cwd, c.destination);
      ctx.ui.say(`Downloading ${src} => ${c.destination}`);
      await comm.download(src, local);
    }
    return;
  }
  for (let i = 0; i < c.localSources.length; i++) {
    const local = c.localSources[i]!;
    const shown = c.sources[i] ?? local;
    ctx.ui.say(`Uploading ${shown} => ${c.destination}`);
    let st;
    try {
      st = statSync(local.replace(/\/+$/, '') || '/');
    } catch {
      throw new KilnError('FILE_SOURCE_MISSING', `file provisioner: source ${shown} does not exist`);
    }
    if (st.isDirectory()) await comm.uploadDir(local, c.destination);
    else {
      const dst = c.destination.endsWith('/') ? c.destination + basename(local) : c.destination;
      const { readFileSync } = await import('node:fs');
      await comm.uploadFile(dst, readFileSync(local), st.mode & 0o777);
    }
  }
}
