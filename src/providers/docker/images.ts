// Image references on the local target. `ImageId` may be a Docker reference (`seed/web:7`), an image
// id (`sha256:…`), or the AMI-style id kiln shows for a local image (`ami-` + 17 hex of the image id).
// All three resolve to the same local image; nothing is ever pulled (there is no registry here).
import type Dockerode from 'dockerode';
import { KilnError } from '../../core/errors.js';
import { amiIdFor, imageHexOfAmi } from './ids.js';

export { amiIdFor } from './ids.js';

export interface ResolvedImage {
  /** `sha256:…` image id. */
  id: string;
  /** The AMI-style id for this image. */
  amiId: string;
  /** What the user wrote. */
  reference: string;
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workingDir: string;
  user: string;
  exposedPorts: number[];
}

function asList(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === 'string' && v) return [v];
  return [];
}

/** Inspections by image id: an id names immutable content, so its answer never changes. */
const byId = new Map<string, ResolvedImage>();

/** Resolves a local image reference (see the file comment); KilnError IMAGE_NOT_FOUND when absent. */
export async function resolveImage(docker: Dockerode, reference: string): Promise<ResolvedImage> {
  const cached = byId.get(reference);
  if (cached) return { ...cached, reference };
  if (typeof reference !== 'string' || reference.trim() === '')
    throw new KilnError('IMAGE_NOT_FOUND', 'ImageId is empty: give a local image reference (name:tag, sha256:…) or its ami- id', 'user');
  let target = reference;
  const hex = imageHexOfAmi(reference);
  if (hex) target = hex; // the engine resolves a unique id prefix
  else if (reference.startsWith('ami-'))
    throw new KilnError(
      'IMAGE_NOT_FOUND',
      `ImageId '${reference}' is not a local image: on the local target an AMI-style id is 'ami-' followed by 17 hex digits of a local image id`,
      'user',
    );
  let info: Dockerode.ImageInspectInfo;
  try {
    info = await docker.getImage(target).inspect();
  } catch (e) {
    const status = (e as { statusCode?: number }).statusCode;
    if (status === 404 || status === 400)
      throw new KilnError(
        'IMAGE_NOT_FOUND',
        hex
          ? `ImageId '${reference}' names no local image (no image id starts with ${hex}); build it first`
          : `ImageId '${reference}' is not a local Docker image; build it first (kiln never pulls)`,
        'user',
        { cause: e },
      );
    throw e;
  }
  if (hex && !info.Id.startsWith(`sha256:${hex}`))
    throw new KilnError('IMAGE_NOT_FOUND', `ImageId '${reference}' names no local image`, 'user');
  const cfg = info.Config ?? ({} as Dockerode.ImageInspectInfo['Config']);
  const resolved: ResolvedImage = {
    id: info.Id,
    amiId: amiIdFor(info.Id),
    reference,
    entrypoint: asList(cfg.Entrypoint),
    cmd: asList(cfg.Cmd),
    env: cfg.Env ?? [],
    workingDir: cfg.WorkingDir ?? '',
    user: cfg.User ?? '',
    exposedPorts: Object.keys(cfg.ExposedPorts ?? {})
      .filter((p) => p.endsWith('/tcp'))
      .map((p) => Number.parseInt(p, 10)),
  };
  byId.set(info.Id, resolved);
  return resolved;
}
