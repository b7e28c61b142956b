// Image references on the local target. `ImageId` may be a Docker reference (`seed/web:7`), an image
// id (`sha256:…`), or the AMI-style id kiln shows for a local image (`ami-` + 17 hex of the image id).
// All three resolve to the same local image; nothing is ever pulled (there is no registry here).
import { KilnError } from '../../core/errors.js';
import { DockerError, type DockerClient, type ImageDetails } from '../../docker/client.js';
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

// Docker's reference grammar (distribution/reference): [domain/]path[:tag][@digest], or an image id
// (prefix). Anything else never reaches the engine: a name such as `/aws/service/…` makes the Engine
// API answer with a redirect that dockerode follows to the host `images`, an uncatchable crash
// (`getaddrinfo ENOTFOUND images`) in the middle of a deploy or a rollback.
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?';
const REFERENCE = new RegExp(
  `^(?:${HOST}(?:\\.${HOST})*(?::[0-9]+)?/)?${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$`,
);
const IMAGE_ID = /^(?:sha256:)?[0-9a-f]{4,64}$/;

/** True when `text` is a Docker image reference or image id the engine can be asked about. */
export function isImageReference(text: string): boolean {
  return text.length <= 512 && (IMAGE_ID.test(text) || REFERENCE.test(text));
}

/** Inspections by image id, as a provider keeps them: an id names immutable content, so its answer never changes. */
export class ResolvedImages extends Map<string, ResolvedImage> {}

/** Resolves a local image reference (see the file comment); KilnError IMAGE_NOT_FOUND when absent. */
export async function resolveImage(docker: DockerClient, reference: string, byId: ResolvedImages = new ResolvedImages()): Promise<ResolvedImage> {
  const cached = byId.get(reference);
  if (cached) return { ...cached, reference };
  if (typeof reference !== 'string' || reference.trim() === '') throw new KilnError('IMAGE_NOT_FOUND', 'ImageId is empty: give a local image reference (name:tag, sha256:…) or its ami- id', 'user');
  let target = reference;
  const hex = imageHexOfAmi(reference);
  if (hex)
    target = hex; // the engine resolves a unique id prefix
  else if (reference.startsWith('ami-'))
    throw new KilnError('IMAGE_NOT_FOUND', `ImageId '${reference}' is not a local image: on the local target an AMI-style id is 'ami-' followed by 17 hex digits of a local image id`, 'user');
  if (!hex && !isImageReference(target))
    throw new KilnError(
      'IMAGE_NOT_FOUND',
      `ImageId '${reference}' is neither a local image reference (name:tag, sha256:…) nor an ami- id` +
        (reference.startsWith('/') ? '; it looks like a Systems Manager parameter name: declare the parameter as AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>, or write {{resolve:ssm:NAME}}' : ''),
      'user',
    );
  let info: ImageDetails | undefined;
  try {
    info = await docker.inspectImage(target);
  } catch (e) {
    if (DockerError.status(e) !== 400) throw e;
  }
  if (!info)
    throw new KilnError(
      'IMAGE_NOT_FOUND',
      hex ? `ImageId '${reference}' names no local image (no image id starts with ${hex}); build it first` : `ImageId '${reference}' is not a local Docker image; build it first (kiln never pulls)`,
      'user',
    );
  if (hex && !info.Id.startsWith(`sha256:${hex}`)) throw new KilnError('IMAGE_NOT_FOUND', `ImageId '${reference}' names no local image`, 'user');
  const cfg = info.Config ?? {};
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
