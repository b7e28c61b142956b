// What a Systems Manager parameter name means on the local target (docs/ssm.md). Pure: the parameter
// store is an input.
//
// 1. A parameter in the local store (`kiln ssm put`) is itself, whatever its name.
// 2. The public AMI aliases AWS publishes under `/aws/service/…` (Amazon Linux, Ubuntu, Debian, the
//    ECS/EKS-optimized and Bottlerocket images…) are Linux images: on the local target each names the
//    local image `/kiln/images/linux` holds (default `debian:bookworm`, which kiln can produce from
//    Debian's packages), unless the store has that exact alias (rule 1).
// 3. Windows (and FreeBSD, macOS) aliases name images that cannot run here (instances are Linux
//    containers): refused, with that reason.
// 4. A literal AMI id that is no local image (templates map regions to Amazon's AMI ids) runs on a
//    stand-in: `/kiln/images/stand-in/<ami-id>`, else `/kiln/images/stand-in`, else the Linux image.
import type { ParameterStore, SsmParameter, SsmType } from '../state/ssm.js';

export const DEFAULT_LINUX_IMAGE = 'debian:bookworm';
export const LINUX_IMAGE_PARAMETER = '/kiln/images/linux';
const STAND_IN_PARAMETER = '/kiln/images/stand-in';

interface AliasFamily {
  prefix: string;
  what: string;
  runs: boolean;
}

/** Public parameter families, most specific first. */
export const AMI_ALIAS_FAMILIES: readonly AliasFamily[] = [
  { prefix: '/aws/service/ami-windows-latest/', what: 'Windows Server', runs: false },
  { prefix: '/aws/service/ami-macos-latest/', what: 'macOS', runs: false },
  { prefix: '/aws/service/freebsd/', what: 'FreeBSD', runs: false },
  { prefix: '/aws/service/ami-amazon-linux-latest/', what: 'Amazon Linux', runs: true },
  { prefix: '/aws/service/canonical/', what: 'Ubuntu', runs: true },
  { prefix: '/aws/service/debian/', what: 'Debian', runs: true },
  { prefix: '/aws/service/suse/', what: 'SUSE Linux', runs: true },
  { prefix: '/aws/service/ecs/optimized-ami/', what: 'ECS-optimized Amazon Linux', runs: true },
  { prefix: '/aws/service/eks/optimized-ami/', what: 'EKS-optimized Amazon Linux', runs: true },
  { prefix: '/aws/service/bottlerocket/', what: 'Bottlerocket', runs: true },
];

function aliasFamily(name: string): AliasFamily | undefined {
  const f = AMI_ALIAS_FAMILIES.find((x) => name.startsWith(x.prefix));
  // A Windows image published under another family (ECS-optimized Windows, say) is still Windows.
  if (f?.runs && /windows/i.test(name)) return { prefix: f.prefix, what: `${f.what} (Windows)`, runs: false };
  return f;
}

type Lookup = { found: true; value: string; type: SsmType; version: number; source: 'store' | 'default mapping'; parameter?: SsmParameter } | { found: false; reason: string };

/** `name` or `name:version`, as `{{resolve:ssm:…}}` and parameter values write them. */
export function splitSelector(text: string): { name: string; version?: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  return m ? { name: m[1]!, version: Number(m[2]) } : { name: text };
}

/** The value a parameter name has on the local target (rules 1–3 above). */
export function lookupParameter(store: ParameterStore, name: string, version?: number): Lookup {
  const own = store.get(name, version);
  if (own) return { found: true, value: own.value, type: own.type, version: own.version, source: 'store', parameter: own };
  if (version !== undefined && store.get(name)) return { found: false, reason: `parameter ${name} has no version ${version}` };
  const family = aliasFamily(name);
  if (family && !family.runs) return { found: false, reason: `${name} names a ${family.what} image, which cannot run on the local target (its instances are Linux containers)` };
  if (family) {
    if (version !== undefined && version !== 1) return { found: false, reason: `parameter ${name} has no version ${version} locally (kiln's mapping of it is version 1)` };
    const image = store.get(LINUX_IMAGE_PARAMETER)?.value ?? DEFAULT_LINUX_IMAGE;
    return { found: true, value: image, type: 'String', version: 1, source: 'default mapping' };
  }
  if (name.startsWith('/aws/service/')) return { found: false, reason: `${name} is a public parameter kiln has no local meaning for; give it one with \`kiln ssm put ${name} VALUE\`` };
  return { found: false, reason: `parameter ${name} is not in the local parameter store (\`kiln ssm put ${name} VALUE\` adds it)` };
}

/** The local image that stands in for an AMI id that is no local image, and which parameter chose it. */
export function standInFor(store: ParameterStore, amiId: string): { image: string; from: string } {
  const own = store.get(`${STAND_IN_PARAMETER}/${amiId}`);
  if (own) return { image: own.value, from: `${STAND_IN_PARAMETER}/${amiId}` };
  const all = store.get(STAND_IN_PARAMETER);
  if (all) return { image: all.value, from: STAND_IN_PARAMETER };
  const linux = store.get(LINUX_IMAGE_PARAMETER);
  if (linux) return { image: linux.value, from: LINUX_IMAGE_PARAMETER };
  return { image: DEFAULT_LINUX_IMAGE, from: 'the default' };
}
