// Final snapshots on the local target. On AWS, `DeletionPolicy: Snapshot` (and `UpdateReplacePolicy`)
// on a cache, database or volume takes a snapshot and then deletes the resource; here the same: the
// data is saved into a named Docker volume labelled `kiln.snapshot` (outliving the stack, as an AWS
// snapshot outlives its cluster), then the resource's containers are deleted. `kiln snapshots` lists
// them and deletes one on request; nothing else (destroy, orphan sweeps, gc) removes them.
import { KilnError } from '../../core/errors.js';
import { LABELS, type DockerClient } from '../../docker/client.js';
import type { DockerContext } from './context.js';

export const SNAPSHOT_LABELS = {
  name: 'kiln.snapshot',
  source: 'kiln.snapshot.source', // the physical id of what was snapshotted
  type: 'kiln.snapshot.type',
  stack: 'kiln.snapshot.stack',
  resource: 'kiln.snapshot.resource',
  created: 'kiln.snapshot.created',
} as const;

export interface SnapshotInfo {
  name: string;
  volume: string;
  source: string;
  type: string;
  stack: string;
  resource: string;
  created: string;
}

const volumeOf = (name: string) => `kiln-snapshot-${name}`;

/** The snapshot's name: `<source>-final-<UTC time>`, unique per second, as AWS names final snapshots after their source. */
export function finalSnapshotName(source: string, at = new Date()): string {
  return `${source}-final-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase()}`;
}

/**
 * Saves files out of running containers into a new snapshot volume: each `from` (a container and a
 * file path in it) lands at the volume's top under its base name. The writer is a never-started
 * container of `image` (one the engine has: the source's own) that only holds the volume mounted.
 */
export async function saveSnapshot(ctx: DockerContext, o: { name: string; source: string; image: string; files: ReadonlyArray<{ containerId: string; path: string }> }): Promise<SnapshotInfo> {
  const { docker } = ctx;
  const volume = volumeOf(o.name);
  const created = new Date().toISOString();
  const info: SnapshotInfo = { name: o.name, volume, source: o.source, type: ctx.type, stack: ctx.stack, resource: ctx.logicalId, created };
  await docker.createVolume({
    Name: volume,
    Labels: {
      [LABELS.managed]: 'true',
      [SNAPSHOT_LABELS.name]: o.name,
      [SNAPSHOT_LABELS.source]: o.source,
      [SNAPSHOT_LABELS.type]: ctx.type,
      [SNAPSHOT_LABELS.stack]: ctx.stack,
      [SNAPSHOT_LABELS.resource]: ctx.logicalId,
      [SNAPSHOT_LABELS.created]: created,
    },
  });
  try {
    const writer = await docker.createContainer({
      Image: o.image,
      Entrypoint: ['true'],
      Cmd: [],
      Labels: { [LABELS.managed]: 'true', [LABELS.kind]: 'snapshot-writer' },
      HostConfig: { NetworkMode: 'none', Binds: [`${volume}:/snapshot`] },
    });
    try {
      for (const f of o.files) await docker.putArchive(writer, '/snapshot', await docker.getArchive(f.containerId, f.path));
    } finally {
      await docker.removeContainer(writer, { force: true }).catch(() => undefined);
    }
  } catch (e) {
    await docker.removeVolume(volume).catch(() => undefined);
    throw e;
  }
  return info;
}

/** Every snapshot the engine holds, oldest first. */
export async function listSnapshots(docker: DockerClient): Promise<SnapshotInfo[]> {
  const vols = await docker.listVolumes({ labels: [SNAPSHOT_LABELS.name] });
  return vols
    .map((v) => {
      const l = v.Labels ?? {};
      return {
        name: l[SNAPSHOT_LABELS.name]!,
        volume: v.Name,
        source: l[SNAPSHOT_LABELS.source] ?? '',
        type: l[SNAPSHOT_LABELS.type] ?? '',
        stack: l[SNAPSHOT_LABELS.stack] ?? '',
        resource: l[SNAPSHOT_LABELS.resource] ?? '',
        created: l[SNAPSHOT_LABELS.created] ?? v.CreatedAt ?? '',
      };
    })
    .sort((a, b) => a.created.localeCompare(b.created) || a.name.localeCompare(b.name));
}

/** Deletes a snapshot by name (`DeleteSnapshot`); a user error naming what exists when there is none. */
export async function deleteSnapshot(docker: DockerClient, name: string): Promise<void> {
  const all = await listSnapshots(docker);
  const found = all.find((s) => s.name === name);
  if (!found) throw new KilnError('SNAPSHOT_NOT_FOUND', `snapshot '${name}' does not exist (SnapshotNotFoundFault)${all.length ? `; snapshots: ${all.map((s) => s.name).join(', ')}` : ''}`, 'user');
  await docker.removeVolume(found.volume);
}
