// EBS volumes on the local target: `AWS::EC2::Volume` is a named Docker volume, and
// `AWS::EC2::VolumeAttachment` mounts it in the instance's container.
//
// * The Docker volume is named `kiln-<stack>-<logicalId>` and labelled with kiln's labels (stack,
//   logical id, deployment, kind `volume`). Ref is a `vol-` id. Size, VolumeType, Iops, Throughput,
//   Encrypted, AvailabilityZone and Tags are recorded (a Docker volume has no size or speed);
//   AvailabilityZone is required, as on AWS. SnapshotId and SourceVolumeId (restoring data the local
//   target never had) are refused at plan.
// * A container's mounts are fixed when it is created, so an instance mounts its volumes at launch:
//   the launch reads the template's VolumeAttachments whose InstanceId is a Ref to the instance
//   (`mountsFor`) and mounts each one's volume at a path derived from Device: `/dev/sdf` and
//   `/dev/xvdf` both become `/mnt/sdf` (see `mountPath`). The attachment itself checks, once the
//   instance exists, that the volume is the one mounted there and that both are in the same zone. An
//   attachment added for an instance launched earlier cannot be realised without replacing the
//   instance: the plan replaces the instance (`attachmentReplacements`), as it does when an
//   attachment is removed or pointed elsewhere; should one reach a running instance all the same, its
//   create fails (and the deploy rolls back) with that advice.
// * Data in the volume outlives the instances it was attached to (a replaced instance sees it again)
//   and goes with the volume; a volume kept by DeletionPolicy Retain keeps its Docker volume.
import { KilnError } from '../../core/errors.js';
import type { Json, JsonObject } from '../../core/json.js';
import { DockerError, LABELS } from '../../docker/client.js';
import type { KnownResource, PlanResource, ResourceState } from '../../model/provider.js';
import type { DockerContext, DockerHandler } from './context.js';
import { newId } from './ids.js';

const VOLUME = 'AWS::EC2::Volume';
const ATTACHMENT = 'AWS::EC2::VolumeAttachment';

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
}

/** The Docker volume of the Volume `logicalId` of `stack`. */
export function volumeName(stack: string, logicalId: string): string {
  return `kiln-${stack}-${logicalId}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/** Where a device name shows in the container: `/dev/sdf`, `/dev/xvdf`, `xvdf` → `/mnt/sdf`. */
export function mountPath(device: string): string | undefined {
  const m = /^(?:\/dev\/)?(?:xv|s)d([a-z][a-z0-9]*)$/.exec(device.trim());
  return m ? `/mnt/sd${m[1]}` : undefined;
}

/** Makes the stack's Docker volume for `logicalId` unless it exists; returns its name. */
async function ensureVolume(ctx: DockerContext, logicalId: string): Promise<{ name: string; existed: { deployment: string } | undefined }> {
  const name = volumeName(ctx.stack, logicalId);
  const found = (await ctx.docker.listVolumes({ labels: [`${LABELS.stack}=${ctx.stack}`, `${LABELS.resource}=${logicalId}`] })).find((v) => v.Name === name);
  if (found) return { name, existed: { deployment: found.Labels?.[LABELS.deployment] ?? '' } };
  await ctx.docker.createVolume({
    Name: name,
    Labels: { [LABELS.managed]: 'true', [LABELS.stack]: ctx.stack, [LABELS.resource]: logicalId, [LABELS.deployment]: ctx.deployment, [LABELS.kind]: 'volume' },
  });
  return { name, existed: undefined };
}

const refOf = (v: Json | undefined): string | undefined => (v && typeof v === 'object' && !Array.isArray(v) && typeof v.Ref === 'string' ? v.Ref : undefined);

/**
 * The volumes the instance being launched must mount (`name:/mnt/sdX`), from the template's
 * attachments whose InstanceId is a Ref to it. VolumeId is a Ref to a Volume of the template (its
 * Docker volume is made now if the Volume is not created yet: the attachment, not the instance,
 * depends on it) or the `vol-` id of a Volume kiln knows.
 */
export async function mountsFor(ctx: DockerContext): Promise<string[]> {
  const siblings = ctx.siblings?.() ?? [];
  const out: string[] = [];
  for (const a of siblings) {
    if (a.type !== ATTACHMENT || refOf(a.properties.InstanceId) !== ctx.logicalId) continue;
    const path = mountPath(str(a.properties.Device));
    if (!path) continue; // the attachment's create reports the bad device
    const ref = refOf(a.properties.VolumeId);
    let name: string | undefined;
    if (ref && siblings.some((s) => s.logicalId === ref && s.type === VOLUME)) name = (await ensureVolume(ctx, ref)).name;
    else {
      const known = ctx.lookup(str(a.properties.VolumeId));
      if (known?.type === VOLUME) name = str(known.state.data?.name);
    }
    if (name && !out.some((m) => m.endsWith(`:${path}`))) out.push(`${name}:${path}`);
  }
  return out;
}

const INSTANCE = 'AWS::EC2::Instance';

/**
 * The running instances the plan must replace because what is attached to them changes (their
 * mounts are fixed at launch), each with why: an attachment added for one, removed from one, or
 * moved to another device, volume or instance. Compared only where the template says it plainly (a
 * Ref to a resource, a literal device); anything else is taken as unchanged.
 */
export function attachmentReplacements(desired: readonly PlanResource[], prior: readonly PlanResource[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const before = new Map(prior.map((p) => [p.logicalId, p]));
  const wanted = new Map(desired.map((d) => [d.logicalId, d]));
  const replace = (instance: string | undefined, why: string): void => {
    if (!instance || before.get(instance)?.type !== INSTANCE || wanted.get(instance)?.type !== INSTANCE) return;
    out.set(instance, [...(out.get(instance) ?? []), why]);
  };
  const instanceWithId = (physicalId: string): string | undefined => prior.find((p) => p.type === INSTANCE && p.physicalId === physicalId)?.logicalId;
  for (const a of desired) {
    if (a.type !== ATTACHMENT) continue;
    const instance = refOf(a.properties.InstanceId);
    const was = before.get(a.logicalId);
    if (was?.type !== ATTACHMENT) {
      replace(instance, `${a.logicalId} attaches a volume (mounts are fixed at launch)`);
      continue;
    }
    const wasOn = instanceWithId(str(was.properties.InstanceId));
    const volumeRef = refOf(a.properties.VolumeId);
    const volumeNow = volumeRef ? (wanted.has(volumeRef) ? (before.get(volumeRef)?.physicalId ?? '(new)') : undefined) : undefined;
    const moved =
      (instance !== undefined && wasOn !== undefined && instance !== wasOn) ||
      (typeof a.properties.Device === 'string' && a.properties.Device !== str(was.properties.Device)) ||
      (volumeNow !== undefined && volumeNow !== str(was.properties.VolumeId));
    if (!moved) continue;
    replace(instance, `${a.logicalId} changes what is attached (mounts are fixed at launch)`);
    if (wasOn !== instance) replace(wasOn, `${a.logicalId} detaches a volume`);
  }
  for (const was of prior) if (was.type === ATTACHMENT && !wanted.has(was.logicalId)) replace(instanceWithId(str(was.properties.InstanceId)), `${was.logicalId} is removed (its volume is unmounted)`);
  return out;
}

const VOLUME_POLL_MS = 500;
const VOLUME_IN_USE_WAIT_MS = 60_000;

const REFUSED = ['SnapshotId', 'SourceVolumeId'];
const RECORDED = ['Size', 'VolumeType', 'Iops', 'Throughput', 'Encrypted', 'KmsKeyId', 'AutoEnableIO', 'MultiAttachEnabled', 'Tags'];

export const volumeHandler: DockerHandler = {
  type: VOLUME,
  effect: 'real',
  planNote(props) {
    if (props.AvailabilityZone === undefined) return { error: true, message: 'AWS::EC2::Volume AvailabilityZone is required (MissingParameter)' };
    const refused = REFUSED.filter((k) => props[k] !== undefined);
    if (refused.length) return { error: true, message: `${refused.join(', ')}: the local target has no snapshots or volumes of AWS to restore a volume from` };
    if (props.OutpostArn !== undefined) return { error: true, message: 'OutpostArn has no local meaning' };
    return undefined;
  },
  async create(ctx, props): Promise<ResourceState> {
    const note = volumeHandler.planNote?.(props);
    if (note?.error) throw new KilnError('UNSUPPORTED_ON_LOCAL', note.message, 'user');
    const az = str(props.AvailabilityZone);
    if (props.Size === undefined) throw new KilnError('INVALID_PARAMETER', 'AWS::EC2::Volume Size is required when there is no SnapshotId (MissingParameter)', 'user');
    const { name, existed } = await ensureVolume(ctx, ctx.logicalId);
    // Made by this deploy's instance launch (mountsFor) is ours; one from an earlier deploy was kept by
    // DeletionPolicy Retain and is not this new volume's data.
    if (existed && existed.deployment !== ctx.deployment)
      throw new KilnError(
        'VOLUME_EXISTS',
        `Docker volume ${name} is left from an earlier deploy of stack ${ctx.stack} (a retained volume); remove it (docker volume rm ${name}) or give the volume another logical id`,
        'user',
      );
    const id = newId('vol');
    return { physicalId: id, attributes: { VolumeId: id }, data: { name, availabilityZone: az, ...pick(props, RECORDED) } };
  },
  async update(ctx, props, previous) {
    if (str(props.AvailabilityZone) !== str(previous.state.data?.availabilityZone))
      throw new KilnError('UNSUPPORTED_ON_LOCAL', 'AWS::EC2::Volume AvailabilityZone cannot change: a volume stays in its zone (make a new volume)', 'user');
    return { ...previous.state, data: { ...(previous.state.data ?? {}), ...pick(props, RECORDED) } };
  },
  async delete(ctx, state) {
    const name = str(state.data?.name);
    if (!name) return;
    // Its attachments are gone (they depend on it), but their instances' containers hold the mount
    // until they are removed, which a destroy or rollback does alongside: wait for them a while.
    for (let waited = 0; ; waited += VOLUME_POLL_MS) {
      try {
        await ctx.docker.removeVolume(name);
        return;
      } catch (e) {
        const status = DockerError.status(e);
        if (status === 404) return;
        if (status !== 409) throw e;
        if (waited >= VOLUME_IN_USE_WAIT_MS || ctx.signal.aborted)
          throw new KilnError('VOLUME_IN_USE', `Volume ${state.physicalId} is still mounted by an instance (VolumeInUse): a local instance keeps its volumes until it is replaced or deleted`, 'user');
        await new Promise((r) => setTimeout(r, VOLUME_POLL_MS));
      }
    }
  },
};

function pick(props: JsonObject, keys: string[]): JsonObject {
  const out: JsonObject = {};
  for (const k of keys) if (props[k] !== undefined) out[k] = props[k]!;
  return out;
}

function known(ctx: DockerContext, id: string, type: string): KnownResource | undefined {
  const r = ctx.lookup(id);
  return r?.type === type ? r : undefined;
}

export const volumeAttachmentHandler: DockerHandler = {
  type: ATTACHMENT,
  effect: 'real',
  planNote(props) {
    const device = props.Device;
    if (typeof device === 'string' && !mountPath(device)) return { error: true, message: `Device '${device}' is not a device name (/dev/sdf…/dev/sdp or /dev/xvdf…)` };
    return undefined;
  },
  async create(ctx, props): Promise<ResourceState> {
    const instanceId = str(props.InstanceId);
    const volumeId = str(props.VolumeId);
    const device = str(props.Device);
    const path = mountPath(device);
    if (!path) throw new KilnError('INVALID_PARAMETER', `Device '${device}' is not a device name (/dev/sdf…/dev/sdp or /dev/xvdf…) (InvalidParameterValue)`, 'user');
    const instance = known(ctx, instanceId, 'AWS::EC2::Instance');
    if (!instance) throw new KilnError('INSTANCE_NOT_FOUND', `The instance ID '${instanceId}' does not exist (InvalidInstanceID.NotFound)`, 'user');
    const volume = known(ctx, volumeId, VOLUME);
    if (!volume) throw new KilnError('VOLUME_NOT_FOUND', `The volume '${volumeId}' does not exist (InvalidVolume.NotFound)`, 'user');
    const volumeAz = str(volume.state.data?.availabilityZone);
    const instanceAz = str(instance.state.attributes.AvailabilityZone);
    if (volumeAz !== instanceAz)
      throw new KilnError(
        'AZ_MISMATCH',
        `Volume ${volumeId} is in ${volumeAz} and instance ${instanceId} in ${instanceAz}: they must be in the same availability zone (InvalidVolume.ZoneMismatch)`,
        'user',
      );
    const name = str(volume.state.data?.name);
    const containers = instance.state.data?.containers;
    const container = Array.isArray(containers) && containers[0] && typeof containers[0] === 'object' && !Array.isArray(containers[0]) ? str(containers[0].id) : '';
    const binds = container ? ((await ctx.docker.inspectContainer(container)).HostConfig.Binds ?? []) : [];
    if (!binds.some((b) => b.startsWith(`${name}:${path}`)))
      throw new KilnError(
        'UNSUPPORTED_ON_LOCAL',
        `Volume ${volumeId} cannot be attached to ${instanceId} at ${device}: a local instance mounts its volumes when it is launched, and ${instanceId} was launched without it; replace the instance in the same deploy (for example change its UserData) so that it launches with the attachment`,
        'user',
      );
    const id = newId('attach');
    return { physicalId: id, attributes: {}, data: { instanceId, volumeId, device, path } };
  },
  // The instance's container keeps its mount until it is replaced or deleted (mounts are fixed at launch).
  async delete() {},
};

export const volumeHandlers: DockerHandler[] = [volumeHandler, volumeAttachmentHandler];
