// InstanceType as local limits: vCPUs and memory from AWS's tables, capped CPU on a small host.
import { describe, expect, it } from 'vitest';
import { instanceLimits, knownInstanceTypes } from '../../../src/providers/docker/instance-types.js';

describe('instance types', () => {
  it('gives the seed types their AWS sizes', () => {
    expect(instanceLimits('t2.micro', 8)).toMatchObject({ vcpu: 1, memoryMiB: 1024, nanoCpus: 1e9, memoryBytes: 1024 ** 3, cpuCapped: false });
    expect(instanceLimits('t2.medium', 8)).toMatchObject({ vcpu: 2, memoryMiB: 4096, nanoCpus: 2e9 });
    expect(instanceLimits('m5.large', 8)).toMatchObject({ vcpu: 2, memoryMiB: 8192 });
    expect(instanceLimits('c5.xlarge', 8)).toMatchObject({ vcpu: 4, memoryMiB: 8192 });
    expect(instanceLimits('m1.small', 8)).toMatchObject({ vcpu: 1, memoryMiB: 1741 });
  });

  it('caps the CPU quota at the host (Docker refuses more than it has), keeping the memory', () => {
    expect(instanceLimits('c5.4xlarge', 2)).toMatchObject({ vcpu: 16, nanoCpus: 2e9, cpuCapped: true, memoryMiB: 32768 });
  });

  it('refuses an unknown type, naming the sizes of its family', () => {
    expect(() => instanceLimits('t2.huge', 2)).toThrow(
      /InstanceType 't2.huge' is not a known EC2 instance type on the local target \(known t2 sizes: t2\.2xlarge, t2\.large, t2\.medium, t2\.micro, t2\.nano, t2\.small, t2\.xlarge\)/,
    );
    expect(() => instanceLimits('zz9.large', 2)).toThrow(/known families/);
    expect(knownInstanceTypes().length).toBeGreaterThan(100);
  });
});
