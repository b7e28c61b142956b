// Physical ids shaped like AWS's: a prefix and 17 lower-case hex digits (`i-0a1b…`, `vpc-…`, `sg-…`).
// AMI-style ids for local images are derived, not random: `ami-` + the first 17 hex digits of the
// image id (`sha256:<hex>`), so the same image always shows the same id and the id leads back to it.
import { randomBytes } from 'node:crypto';

export type IdPrefix = 'i' | 'vpc' | 'subnet' | 'sg' | 'sgr' | 'acl' | 'rtb' | 'igw' | 'eni' | 'lt' | 'eipalloc' | 'nat' | 'eigw' | 'vol' | 'rtbassoc' | 'aclassoc' | 'eipassoc' | 'attach';

/** A fresh AWS-shaped id: `<prefix>-` + 17 hex digits. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;
}

const SHAPED = /^([a-z]+)-([0-9a-f]{17}|[0-9a-f]{8})$/;

/** True when `id` looks like an AWS id with the given prefix (8 or 17 hex digits, as AWS issues both). */
export function isShapedId(id: string, prefix: IdPrefix | 'ami'): boolean {
  const m = SHAPED.exec(id);
  return !!m && m[1] === prefix;
}

/** `ami-` + 17 hex digits of a local image id (`sha256:…` or the bare hex). */
export function amiIdFor(imageId: string): string {
  const hex = imageId.startsWith('sha256:') ? imageId.slice(7) : imageId;
  if (!/^[0-9a-f]{17,}$/.test(hex)) throw new RangeError(`not an image id: ${imageId}`);
  return `ami-${hex.slice(0, 17)}`;
}

/** The image-id prefix an AMI-style id stands for (`ami-0123…` → `0123…`), or undefined. */
export function imageHexOfAmi(amiId: string): string | undefined {
  const m = /^ami-([0-9a-f]{17})$/.exec(amiId);
  return m ? m[1] : undefined;
}
