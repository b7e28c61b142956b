import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateTemplate } from '../../src/stack/evaluate.js';
import { RuntimeResolveError, dependenciesOf, resolveOutputs, resolveResourceProperties, resolveRuntime } from '../../src/stack/runtime.js';
import type { Json } from '../../src/stack/model.js';

// A deployed world: physical ids and attributes of resources that exist.
const physical: Record<string, string> = { Vpc: 'vpc-0a1b2c3d', Cache: 'cache-1', Lb: 'lb-1', Web: 'i-0123abcd' };
const attrs: Record<string, Record<string, Json>> = {
  Vpc: { CidrBlock: '10.1.0.0/16', Ipv6CidrBlocks: ['2001:db8:1:1100::/56'] },
  Cache: { 'RedisEndpoint.Address': '10.1.0.7', 'RedisEndpoint.Port': '6379' },
  Lb: { DNSName: '127.0.10.2', Zones: ['z1', 'z2'] },
};
const ctx = {
  ref: (id: string) => {
    if (!(id in physical)) throw new Error(`resource ${id} does not exist`);
    return physical[id]!;
  },
  getAtt: (id: string, a: string) => {
    const v = attrs[id]?.[a];
    if (v === undefined) throw new Error(`${id} has no attribute ${a}`);
    return v;
  },
};

describe('resolveRuntime', () => {
  it.each<[string, Json, Json]>([
    ['Ref', { Ref: 'Vpc' }, 'vpc-0a1b2c3d'],
    ['GetAtt with a dotted attribute', { 'Fn::GetAtt': ['Cache', 'RedisEndpoint.Address'] }, '10.1.0.7'],
    [
      'Sub with resource attributes and map variables',
      { 'Fn::Sub': ['redis://${Cache.RedisEndpoint.Address}:${P}/${Vpc}', { P: { 'Fn::GetAtt': ['Cache', 'RedisEndpoint.Port'] } }] },
      'redis://10.1.0.7:6379/vpc-0a1b2c3d',
    ],
    ['Sub keeps ${!Literal}', { 'Fn::Sub': ['${!Vpc}=${Vpc}', {}] }, '${Vpc}=vpc-0a1b2c3d'],
    ['Join', { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': ['Lb', 'DNSName'] }, '/']] }, 'http://127.0.10.2/'],
    ['Join over a list attribute', { 'Fn::Join': [',', { 'Fn::GetAtt': ['Lb', 'Zones'] }] }, 'z1,z2'],
    ['Select from a list attribute', { 'Fn::Select': [1, { 'Fn::GetAtt': ['Lb', 'Zones'] }] }, 'z2'],
    ['Split of an attribute', { 'Fn::Split': ['.', { 'Fn::GetAtt': ['Lb', 'DNSName'] }] }, ['127', '0', '10', '2']],
    ['Base64 of a Sub', { 'Fn::Base64': { 'Fn::Sub': ['h=${Cache.RedisEndpoint.Address}', {}] } }, Buffer.from('h=10.1.0.7').toString('base64')],
    ['Cidr of the VPC block', { 'Fn::Cidr': [{ 'Fn::GetAtt': ['Vpc', 'CidrBlock'] }, 2, 8] }, ['10.1.0.0/24', '10.1.1.0/24']],
    ['Cidr of an IPv6 block', { 'Fn::Select': [0, { 'Fn::Cidr': [{ 'Fn::Select': [0, { 'Fn::GetAtt': ['Vpc', 'Ipv6CidrBlocks'] }] }, 1, 64] }] }, '2001:db8:1:1100::/64'],
    ['ToJsonString', { 'Fn::ToJsonString': { vpc: { Ref: 'Vpc' } } }, '{"vpc":"vpc-0a1b2c3d"}'],
    ['Length', { 'Fn::Length': { 'Fn::GetAtt': ['Lb', 'Zones'] } }, 2],
    ['nested in objects and lists', { A: [{ Ref: 'Web' }, { B: { Ref: 'Vpc' } }] }, { A: ['i-0123abcd', { B: 'vpc-0a1b2c3d' }] }],
    ['plain values pass through', { a: 1, b: [true, null, 'x'] }, { a: 1, b: [true, null, 'x'] }],
  ])('%s', (_w, v, expected) => expect(resolveRuntime(v, ctx)).toEqual(expected));

  it('an unknown attribute fails with the path and the reason', () => {
    try {
      resolveRuntime({ X: { 'Fn::GetAtt': ['Lb', 'Nope'] } }, ctx, ['Resources', 'Web', 'Properties']);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(RuntimeResolveError);
      expect((e as Error).message).toBe('Lb has no attribute Nope (at Resources.Web.Properties.X.Fn::GetAtt)');
      expect((e as RuntimeResolveError).code).toBe('RUNTIME_RESOLVE');
    }
  });
  it('Select out of range fails', () => {
    expect(() => resolveRuntime({ 'Fn::Select': [5, { 'Fn::GetAtt': ['Lb', 'Zones'] }] }, ctx)).toThrow(/index 5 is out of range for a list of 2/);
  });
  it('GetStackOutput asks for the other stack', () => {
    const v = { 'Fn::GetStackOutput': { StackName: 'net', OutputName: 'VpcId' } };
    expect(() => resolveRuntime(v, ctx)).toThrow(RuntimeResolveError);
    expect(resolveRuntime(v, { ...ctx, getStackOutput: (q) => `${q.StackName}/${q.OutputName}` })).toBe('net/VpcId');
  });
  it('ImportValue needs an importer', () => {
    expect(() => resolveRuntime({ 'Fn::ImportValue': 'shared-vpc' }, ctx)).toThrow(RuntimeResolveError);
    expect(resolveRuntime({ 'Fn::ImportValue': 'shared-vpc' }, { ...ctx, importValue: (n) => `imported:${n}` })).toBe('imported:shared-vpc');
  });
});

describe('the seed stack at deploy time', () => {
  const seed = JSON.parse(readFileSync(new URL('../../examples/seed/stack.json', import.meta.url), 'utf8'));
  const r = evaluateTemplate(seed, { parameters: { AmiId: 'ami-0123456789abcdef0' }, pseudo: { stackName: 'seed' } });
  const world = {
    ref: (id: string) => `phys-${id}`,
    getAtt: (id: string, a: string) => (a === 'RedisEndpoint.Address' ? '10.42.1.9' : a === 'RedisEndpoint.Port' ? '6379' : `${id}-${a}`),
  };

  it('resolves the instance user data', () => {
    const p = resolveResourceProperties('ec2Instance', r.template.Resources.ec2Instance!, world);
    expect(Buffer.from(p.UserData as string, 'base64').toString()).toBe("#!/bin/sh\nprintf 'REDIS_HOST=%s\\nREDIS_PORT=%s\\n' '10.42.1.9' '6379' > /etc/app.env\n");
    expect(p.SecurityGroupIds).toEqual(['phys-sgRedisOutbound', 'phys-sgElbInbound']);
  });
  it('resolves the outputs', () => {
    expect(resolveOutputs(r.template, world).Url).toEqual({ value: 'http://Elb-DNSName/cgi-bin/index' });
  });
  it('refuses a template evaluated for printing', () => {
    const masked = evaluateTemplate(seed, { parameters: { AmiId: 'ami-0123456789abcdef0' }, maskNoEcho: true }).template;
    expect(() => resolveOutputs(masked, world)).toThrow(/maskNoEcho/);
  });
  it('knows what each resource waits for', () => {
    const ids = new Set(Object.keys(r.template.Resources));
    expect(dependenciesOf(r.template.Resources.ec2Instance!, ids, 'ec2Instance')).toEqual(['SubnetA', 'WebProfile', 'ecRedis', 'sgElbInbound', 'sgRedisOutbound']);
    expect(dependenciesOf(r.template.Resources.MainVpc!, ids)).toEqual([]);
    expect(dependenciesOf({ ...r.template.Resources.MainVpc!, DependsOn: ['WebRole'] }, ids)).toEqual(['WebRole']);
  });
});
