// The resource facts extracted from @aws-cdk/aws-service-spec at build time.
import { describe, expect, it } from 'vitest';
import { attributes, hasResourceType, replacementProperties, resourceType, resourceTypeNames, specSource } from '../../src/stack/spec.js';

describe('resource spec', () => {
  it('knows the AWS types and says where the facts come from', () => {
    expect(resourceTypeNames().length).toBeGreaterThan(1500);
    expect(hasResourceType('AWS::EC2::Instance')).toBe(true);
    expect(hasResourceType('AWS::EC2::Nope')).toBe(false);
    expect(resourceType('AWS::EC2::Nope')).toBeUndefined();
    expect(specSource()).toMatch(/^@aws-cdk\/aws-service-spec@\d+\.\d+\.\d+/);
  });

  it('gives replacement properties (always and maybe)', () => {
    const r = replacementProperties('AWS::EC2::Instance')!;
    expect(r.always).toEqual(expect.arrayContaining(['AvailabilityZone', 'ImageId', 'KeyName', 'SubnetId']));
    expect(r.maybe).toEqual(expect.arrayContaining(['InstanceType', 'UserData']));
    expect(r.always).not.toContain('InstanceType');
    expect(replacementProperties('AWS::ElastiCache::CacheCluster')!.always).toEqual(expect.arrayContaining(['Engine', 'Port', 'ClusterName']));
    expect(replacementProperties('AWS::Nope::Nope')).toBeUndefined();
  });

  it('gives required properties and shapes, nested types included', () => {
    const cc = resourceType('AWS::ElastiCache::CacheCluster')!;
    const required = Object.values(cc.properties)
      .filter((p) => p.required)
      .map((p) => p.name)
      .sort();
    expect(required).toEqual(['CacheNodeType', 'Engine', 'NumCacheNodes']);
    expect(cc.properties.NumCacheNodes!.shape).toEqual({ kind: 'integer' });
    const bdm = resourceType('AWS::EC2::Instance')!.properties.BlockDeviceMappings!.shape;
    expect(bdm.kind).toBe('array');
    const el = bdm.kind === 'array' ? bdm.element : undefined;
    expect(el?.kind).toBe('object');
    if (el?.kind === 'object') {
      expect(el.name).toBe('BlockDeviceMapping');
      expect(el.properties.DeviceName!.required).toBe(true);
      expect(el.properties.Ebs!.shape.kind).toBe('object');
    }
    expect(resourceType('AWS::EC2::Instance')!.properties.Tags!.shape).toEqual({ kind: 'array', element: { kind: 'tag' } });
  });

  it('gives GetAtt attributes, dotted ones included, and what Ref returns', () => {
    expect(attributes('AWS::ElastiCache::CacheCluster')).toEqual(expect.arrayContaining(['RedisEndpoint.Address', 'RedisEndpoint.Port']));
    expect(attributes('AWS::EC2::Instance')).toEqual(expect.arrayContaining(['PrivateIp', 'PublicIp', 'AvailabilityZone']));
    expect(resourceType('AWS::EC2::Instance')!.refIdentifier).toEqual(['InstanceId']);
  });

  it('loads fast: a fresh process reads the index and one type well under 50 ms', async () => {
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    // Measured in a child Node process with the compiled module, as the CLI uses it (the test
    // script builds dist/ before the tests run).
    const target = fileURLToPath(new URL('../../dist/stack/spec.js', import.meta.url));
    const { existsSync } = await import('node:fs');
    expect(existsSync(target), 'run `npm run build` first').toBe(true);
    const out = execFileSync(process.execPath, [
      '--input-type=module',
      '-e',
      `const t0 = performance.now(); const m = await import(${JSON.stringify(target)}); const t1 = performance.now(); m.resourceType('AWS::EC2::Instance'); m.resourceType('AWS::ElastiCache::CacheCluster'); const t2 = performance.now(); console.log(JSON.stringify({ importMs: t1 - t0, lookupMs: t2 - t1 }));`,
    ]).toString();
    const { lookupMs } = JSON.parse(out) as { importMs: number; lookupMs: number };
    expect(lookupMs).toBeLessThan(50);
  });
});
