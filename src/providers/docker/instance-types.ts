// EC2 instance types as local limits: vCPUs become a CPU quota, memory a hard limit. The table holds
// the common families; an unknown type is refused with the list of known ones.
import { KilnError } from '../../core/errors.js';

/** vCPUs and memory in MiB, from AWS's instance type tables. */
const TYPES: Record<string, [vcpu: number, memMiB: number]> = {};

function family(prefix: string, sizes: Array<[string, number, number]>): void {
  for (const [size, vcpu, gib] of sizes) TYPES[`${prefix}.${size}`] = [vcpu, Math.round(gib * 1024)];
}

family('t2', [
  ['nano', 1, 0.5],
  ['micro', 1, 1],
  ['small', 1, 2],
  ['medium', 2, 4],
  ['large', 2, 8],
  ['xlarge', 4, 16],
  ['2xlarge', 8, 32],
]);
for (const t of ['t3', 't3a', 't4g'])
  family(t, [
    ['nano', 2, 0.5],
    ['micro', 2, 1],
    ['small', 2, 2],
    ['medium', 2, 4],
    ['large', 2, 8],
    ['xlarge', 4, 16],
    ['2xlarge', 8, 32],
  ]);
const general: Array<[string, number, number]> = [
  ['large', 2, 8],
  ['xlarge', 4, 16],
  ['2xlarge', 8, 32],
  ['4xlarge', 16, 64],
  ['8xlarge', 32, 128],
  ['12xlarge', 48, 192],
  ['16xlarge', 64, 256],
  ['24xlarge', 96, 384],
];
for (const m of ['m5', 'm5a', 'm6i', 'm6a', 'm6g', 'm7i', 'm7g']) family(m, [['medium', 1, 4], ...general].filter(([s]) => s !== 'medium' || m.endsWith('g')) as Array<[string, number, number]>);
family('m4', [
  ['large', 2, 8],
  ['xlarge', 4, 16],
  ['2xlarge', 8, 32],
  ['4xlarge', 16, 64],
  ['10xlarge', 40, 160],
  ['16xlarge', 64, 256],
]);
const compute: Array<[string, number, number]> = [
  ['large', 2, 4],
  ['xlarge', 4, 8],
  ['2xlarge', 8, 16],
  ['4xlarge', 16, 32],
  ['9xlarge', 36, 72],
  ['12xlarge', 48, 96],
  ['18xlarge', 72, 144],
  ['24xlarge', 96, 192],
];
for (const c of ['c5', 'c5a', 'c6i', 'c6g', 'c7g']) family(c, compute);
family('c4', [
  ['large', 2, 3.75],
  ['xlarge', 4, 7.5],
  ['2xlarge', 8, 15],
  ['4xlarge', 16, 30],
  ['8xlarge', 36, 60],
]);
const memory: Array<[string, number, number]> = [
  ['large', 2, 16],
  ['xlarge', 4, 32],
  ['2xlarge', 8, 64],
  ['4xlarge', 16, 128],
  ['8xlarge', 32, 256],
  ['12xlarge', 48, 384],
  ['16xlarge', 64, 512],
  ['24xlarge', 96, 768],
];
for (const r of ['r5', 'r5a', 'r6i', 'r6g', 'r7g']) family(r, memory);
family('r4', [
  ['large', 2, 15.25],
  ['xlarge', 4, 30.5],
  ['2xlarge', 8, 61],
  ['4xlarge', 16, 122],
  ['8xlarge', 32, 244],
  ['16xlarge', 64, 488],
]);
family('m1', [
  ['small', 1, 1.7],
  ['medium', 1, 3.75],
  ['large', 2, 7.5],
  ['xlarge', 4, 15],
]);
family('m3', [
  ['medium', 1, 3.75],
  ['large', 2, 7.5],
  ['xlarge', 4, 15],
  ['2xlarge', 8, 30],
]);
family('t1', [['micro', 1, 0.613]]);

export interface InstanceLimits {
  type: string;
  vcpu: number;
  memoryMiB: number;
  /** Docker `NanoCpus`, capped at the host's CPUs (Docker refuses more than the host has). */
  nanoCpus: number;
  /** Docker `Memory` in bytes. */
  memoryBytes: number;
  /** True when the CPU quota was capped to the host. */
  cpuCapped: boolean;
}

export function knownInstanceTypes(): string[] {
  return Object.keys(TYPES).sort();
}

/** Limits for an instance type; `hostCpus` caps the CPU quota. Unknown type → KilnError. */
export function instanceLimits(type: string, hostCpus: number): InstanceLimits {
  const t = TYPES[type];
  if (!t) {
    const fam = type.split('.')[0];
    const near = knownInstanceTypes().filter((k) => k.startsWith(`${fam}.`));
    throw new KilnError(
      'UNKNOWN_INSTANCE_TYPE',
      `InstanceType '${type}' is not a known EC2 instance type on the local target` +
        (near.length ? ` (known ${fam} sizes: ${near.join(', ')})` : ` (known families: t2, t3, t3a, t4g, m4-m7, c4-c7, r4-r7)`),
      'user',
    );
  }
  const [vcpu, memoryMiB] = t;
  const cpus = Math.min(vcpu, hostCpus);
  return { type, vcpu, memoryMiB, nanoCpus: Math.round(cpus * 1e9), memoryBytes: memoryMiB * 1024 * 1024, cpuCapped: cpus < vcpu };
}
