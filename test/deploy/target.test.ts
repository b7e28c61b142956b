// The local target's answers before anything is created (src/deploy/target.ts): SSM-typed parameters
// and dynamic references from the local Parameter Store, public AMI aliases, stand-in images,
// AWS-specific parameters checked against the local account, and every refusal reported by plan and by
// deploy before the first resource. The fake provider realises resources; image questions go to the
// real Docker engine (busybox:latest and debian:bookworm are local images here).
import { afterAll, describe, expect, it } from 'vitest';
import { harness, fake } from './harness.js';
import { localProvider } from '../../src/providers/docker/index.js';
import { amiIdFor, resolveImage } from '../../src/providers/docker/images.js';
import { client } from '../docker.js';
import { DiagnosticsError, formatDiagnostic } from '../../src/core/diagnostics.js';
import { MemoryParameterStore } from '../../src/state/ssm.js';
import { destroyStack, planStack, type DeployOptions } from '../../src/deploy/index.js';
import { resolveTargetParameters, type TargetContext } from '../../src/deploy/target.js';
import { FakeProvider } from '../../src/providers/fake/index.js';
import type { InventoryRow } from '../../src/deploy/inventory.js';

const local = localProvider({ docker: client });
const h = harness();
Object.assign(h.provider, { normalizeParameter: local.normalizeParameter, findImage: local.findImage });
afterAll(() => h.cleanup());

const amiOf = async (ref: string) => amiIdFor((await resolveImage(client, ref)).id);
const lines = (e: unknown) => (e instanceof DiagnosticsError ? e.diagnostics.map((d) => formatDiagnostic(d)) : [String(e)]);
const plan = (template: object, parameters: MemoryParameterStore, params?: Record<string, string>) =>
  planStack({ stack: 'demo', store: h.store, provider: h.provider, parameters, file: 'template.json', text: JSON.stringify(template, null, 2), ...(params ? { params } : {}) });
const deploy = (template: object, parameters: MemoryParameterStore, extra: Partial<DeployOptions> = {}) => h.deploy(template, { parameters, ...extra });

const oneParam = (type: string, dflt?: string) => ({
  Parameters: { P: { Type: type, ...(dflt !== undefined ? { Default: dflt } : {}) } },
  Resources: { Thing: fake({ Value: { Ref: 'P' } }) },
});

describe('SSM-typed parameters read the local Parameter Store', () => {
  it.each([
    ['String', 'AWS::SSM::Parameter::Value<String>', '/app/colour', 'String', 'blue', 'blue'],
    ['StringList', 'AWS::SSM::Parameter::Value<List<String>>', '/app/zones', 'StringList', 'a,b, c', ['a', 'b', 'c']],
  ] as const)('%s: Ref yields the stored value, not the name', async (_what, type, name, ssmType, value, expected) => {
    const store = new MemoryParameterStore();
    store.put({ name: name.split(':')[0]!, value, type: ssmType });
    const r = await plan(oneParam(type, name), store);
    expect(r.parameters.P).toEqual(expected);
  });

  it('keeps the name given as the parameter value between deploys, so a new store value is picked up', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/app/colour', value: 'blue', type: 'String' });
    const template = oneParam('AWS::SSM::Parameter::Value<String>');
    const first = await deploy(template, store, { params: { P: '/app/colour' } });
    expect(first.outcome).toBe('complete');
    expect(first.parameters.P).toBe('blue');
    expect(h.live('Thing')!.properties.Value).toBe('blue');
    expect(h.store.deployment(h.store.stack('demo')!.deployment!)!.parameters.P).toEqual({ value: '/app/colour' });
    store.put({ name: '/app/colour', value: 'green', type: 'String', overwrite: true });
    const second = await deploy(template, store); // no --param: the name given last time
    expect(second.outcome).toBe('complete');
    expect(h.live('Thing')!.properties.Value).toBe('green');
    await h.destroy();
  });

  it.each([
    ['a name the store lacks', 'AWS::SSM::Parameter::Value<String>', '/app/missing', /parameter \/app\/missing is not in the local parameter store \(`kiln ssm put \/app\/missing VALUE` adds it\)/],
    ['a SecureString', 'AWS::SSM::Parameter::Value<String>', '/app/secret', /\/app\/secret is a SecureString, which CloudFormation does not resolve through parameter types/],
    [
      'a Windows AMI alias',
      'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>',
      '/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base',
      /names a Windows Server image, which cannot run on the local target \(its instances are Linux containers\)/,
    ],
    ['an unknown public parameter', 'AWS::SSM::Parameter::Value<String>', '/aws/service/global-infrastructure/regions', /is a public parameter kiln has no local meaning for/],
  ])('refuses %s at plan, at the parameter, and deploy creates nothing', async (_what, type, name, why) => {
    const store = new MemoryParameterStore();
    store.put({ name: '/app/colour', value: 'blue', type: 'String' });
    store.put({ name: '/app/secret', value: 'hunter2', type: 'SecureString' });
    const err = await plan(oneParam(type, name), store).catch((e: unknown) => e);
    expect(lines(err)).toHaveLength(1);
    expect(lines(err)[0]).toMatch(/^template\.json:\d+:\d+: error\[PARAM_SSM\]: Parameter 'P' \(AWS::SSM::Parameter::Value<.*>\): /);
    expect(lines(err)[0]).toMatch(why);
    expect(lines(err)[0]).toContain('(at Parameters.P.Default)');
    const before = h.provider.calls.length;
    await expect(deploy(oneParam(type, name), store)).rejects.toBeInstanceOf(DiagnosticsError);
    expect(h.provider.calls.length).toBe(before);
  });
});

describe('public AMI aliases map to local images', () => {
  const image = (name: string) => ({
    Parameters: { Ami: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: name } },
    Resources: { Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'Ami' } } } },
  });

  it.each([
    '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2',
    '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64',
    '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id',
    '/aws/service/debian/release/12/latest/amd64',
    '/aws/service/ecs/optimized-ami/amazon-linux-2/recommended/image_id',
  ])('%s is the ami- id of debian:bookworm by default', async (name) => {
    const r = await plan(image(name), new MemoryParameterStore());
    expect(r.parameters.Ami).toBe(await amiOf('debian:bookworm'));
  });

  it('follows /kiln/images/linux for every Linux alias, and an alias put in the store over that', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/kiln/images/linux', value: 'busybox:latest', type: 'String' });
    expect((await plan(image('/aws/service/debian/release/12/latest/amd64'), store)).parameters.Ami).toBe(await amiOf('busybox:latest'));
    store.put({ name: '/aws/service/debian/release/12/latest/amd64', value: 'debian:bookworm', type: 'String' });
    expect((await plan(image('/aws/service/debian/release/12/latest/amd64'), store)).parameters.Ami).toBe(await amiOf('debian:bookworm'));
  });

  it('refuses at plan a mapping to an image that is not present, naming both', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/kiln/images/linux', value: 'no-such/linux:1', type: 'String' });
    const err = await plan(image('/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2'), store).catch((e: unknown) => e);
    expect(lines(err)[0]).toMatch(/error\[PARAM_SSM\]: .*amzn2-ami-hvm-x86_64-gp2 is kiln's default mapping to no-such\/linux:1, which is not a local image/);
  });
});

describe('ImageId values that are no local image', () => {
  const instance = (imageId: unknown) => ({ Resources: { Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: imageId } } } });

  it('an AMI id from a region map runs on a stand-in, with a plan warning naming both', async () => {
    const r = await plan(instance('ami-0abcdef1234567890'), new MemoryParameterStore());
    const bookworm = await amiOf('debian:bookworm');
    expect(r.plan.diagnostics.map((d) => formatDiagnostic(d))).toEqual([
      `template.json:6:20: warning[IMAGE_STAND_IN]: ImageId ami-0abcdef1234567890 is not a local image: it runs on the stand-in debian:bookworm (${bookworm}), chosen by the default (\`kiln ssm put /kiln/images/stand-in/ami-0abcdef1234567890 IMAGE\` chooses another) (at Resources.Web.Properties.ImageId)`,
    ]);
  });

  it('takes the stand-in of that id first, then the stand-in of every id', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/kiln/images/stand-in', value: 'debian:bookworm', type: 'String' });
    store.put({ name: '/kiln/images/stand-in/ami-0abcdef1234567890', value: 'busybox:latest', type: 'String' });
    const r = await deploy(instance('ami-0abcdef1234567890'), store);
    expect(r.outcome).toBe('complete');
    expect(h.live('Web')!.properties.ImageId).toBe(await amiOf('busybox:latest'));
    const other = await plan(instance('ami-0123456789abcdef0'), store);
    expect(other.plan.diagnostics[0]!.message).toContain('stand-in debian:bookworm');
    expect(other.plan.diagnostics[0]!.message).toContain('chosen by /kiln/images/stand-in (');
    await h.destroy();
  });

  it.each([
    [
      'an SSM alias written as a plain String (the crash of issue 11)',
      '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2',
      /it looks like a Systems Manager parameter name: declare the parameter as AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>/,
    ],
    ['an image that is not here', 'no-such/image:1', /is neither a local image nor an AMI id \(build it first; kiln never pulls\)/],
  ])('%s is refused at plan, at the property', async (_what, imageId, why) => {
    const template = { Parameters: { Ami: { Type: 'String', Default: imageId } }, Resources: { Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'Ami' } } } } };
    const err = await plan(template, new MemoryParameterStore()).catch((e: unknown) => e);
    expect(lines(err)).toHaveLength(1);
    expect(lines(err)[0]).toMatch(/error\[IMAGE_NOT_LOCAL\]: /);
    expect(lines(err)[0]).toMatch(why);
    expect(lines(err)[0]).toContain('(at Resources.Web.Properties.ImageId)');
  });
});

describe('dynamic references', () => {
  it('{{resolve:ssm:…}} takes the stored value, in properties and outputs', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/app/host', value: 'db.internal', type: 'String' });
    const r = await deploy({ Resources: { Thing: fake({ Value: 'postgres://{{resolve:ssm:/app/host}}:5432' }) }, Outputs: { Host: { Value: '{{resolve:ssm:/app/host:1}}' } } }, store);
    expect(r.outcome).toBe('complete');
    expect(h.live('Thing')!.properties.Value).toBe('postgres://db.internal:5432');
    expect(r.outputs.Host!.value).toBe('db.internal');
    await h.destroy();
  });

  it('{{resolve:ssm-secure:…}} reaches the resource but is a secret: never in state, events or outputs', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/db/password', value: 'correct-horse', type: 'SecureString' });
    const r = await deploy({ Resources: { Thing: fake({ Value: 'pw={{resolve:ssm-secure:/db/password}}', Fail: false }) } }, store);
    expect(r.outcome).toBe('complete');
    const row = h.live('Thing')!;
    expect(JSON.stringify(row)).not.toContain('correct-horse');
    expect(row.properties.Value).toMatch(/^pw=\{\{kiln:noecho:ssmDbPassword:[0-9a-f]{16}\}\}$/);
    expect(JSON.stringify(h.store.events('demo'))).not.toContain('correct-horse');
    expect(JSON.stringify(h.log.events)).not.toContain('correct-horse');
    // The provider was given the value itself.
    const object = [...(h.provider as unknown as { objects: Map<string, { logicalId: string; properties: Record<string, unknown> }> }).objects.values()].find((o) => o.logicalId === 'Thing');
    expect(object?.properties.Value).toBe('pw=correct-horse');
    // Unchanged secret, unchanged template: nothing to do.
    expect((await deploy({ Resources: { Thing: fake({ Value: 'pw={{resolve:ssm-secure:/db/password}}', Fail: false }) } }, store)).outcome).toBe('no-changes');
    await h.destroy();
  });

  it.each([
    ['a missing parameter', '{{resolve:ssm:/nope}}', /parameter \/nope is not in the local parameter store/],
    ['a missing version', '{{resolve:ssm:/app/host:7}}', /parameter \/app\/host has no version 7/],
    ['ssm on a SecureString', '{{resolve:ssm:/db/password}}', /\/db\/password is a SecureString; read it with \{\{resolve:ssm-secure:\/db\/password\}\}/],
    ['ssm-secure on a String', '{{resolve:ssm-secure:/app/host}}', /\/app\/host is a String parameter; ssm-secure reads SecureString parameters/],
  ])('refuse %s at plan', async (_what, text, why) => {
    const store = new MemoryParameterStore();
    store.put({ name: '/db/password', value: 'x', type: 'SecureString' });
    store.put({ name: '/app/host', value: 'h', type: 'String' });
    const err = await plan({ Resources: { Thing: fake({ Value: text }) } }, store).catch((e: unknown) => e);
    expect(lines(err)).toHaveLength(1);
    expect(lines(err)[0]).toMatch(/error\[DYNAMIC_REFERENCE\]: /);
    expect(lines(err)[0]).toMatch(why);
  });
});

describe('AWS-specific parameters are checked against the local account', () => {
  const row = (stack: string, logicalId: string, type: string, physicalId: string, attributes: Record<string, string> = {}, properties: Record<string, string> = {}): InventoryRow => ({
    stack,
    logicalId,
    type,
    physicalId,
    properties,
    state: { physicalId, attributes },
  });
  const rows: InventoryRow[] = [
    row('net', 'Vpc', 'AWS::EC2::VPC', 'vpc-0aaaaaaaaaaaaaaaa', { CidrBlock: '10.0.0.0/16', DefaultSecurityGroup: 'sg-0dddddddddddddddd' }),
    row('net', 'SubnetA', 'AWS::EC2::Subnet', 'subnet-0aaaaaaaaaaaaaaaa', { VpcId: 'vpc-0aaaaaaaaaaaaaaaa', CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' }),
    row('net', 'SubnetB', 'AWS::EC2::Subnet', 'subnet-0bbbbbbbbbbbbbbbb', { VpcId: 'vpc-0aaaaaaaaaaaaaaaa', CidrBlock: '10.0.2.0/24', AvailabilityZone: 'us-east-1b' }),
    row('net', 'Web', 'AWS::EC2::SecurityGroup', 'sg-0aaaaaaaaaaaaaaaa', { VpcId: 'vpc-0aaaaaaaaaaaaaaaa' }, { GroupName: 'web' }),
    row('keys', 'Key', 'AWS::EC2::KeyPair', 'deployer', { KeyPairId: 'key-0aaaaaaaaaaaaaaaa' }),
    row('app', 'Box', 'AWS::EC2::Instance', 'i-0aaaaaaaaaaaaaaaa', { PrivateIp: '10.0.1.5' }),
  ];
  const ctx = (r: readonly InventoryRow[] = rows): TargetContext => ({ parameters: new MemoryParameterStore(), provider: new FakeProvider(), rows: () => r });
  // An empty value can only come from a Default (a given one fails the type's own shape first).
  const check = async (type: string, value: string, r?: readonly InventoryRow[]) =>
    (await resolveTargetParameters({ Parameters: { P: { Type: type, ...(value === '' ? { Default: '' } : {}) } } }, value === '' ? {} : { P: value }, ctx(r))).diagnostics.map(
      (d) => `${d.code}: ${d.message}`,
    );

  it.each([
    ['AWS::EC2::VPC::Id', 'vpc-0aaaaaaaaaaaaaaaa'],
    ['AWS::EC2::Subnet::Id', 'subnet-0bbbbbbbbbbbbbbbb'],
    ['List<AWS::EC2::Subnet::Id>', 'subnet-0aaaaaaaaaaaaaaaa, subnet-0bbbbbbbbbbbbbbbb'],
    ['List<AWS::EC2::Subnet::Id>', ''],
    ['AWS::EC2::SecurityGroup::Id', 'sg-0aaaaaaaaaaaaaaaa'],
    ['AWS::EC2::SecurityGroup::Id', 'sg-0dddddddddddddddd'],
    ['List<AWS::EC2::SecurityGroup::Id>', 'sg-0aaaaaaaaaaaaaaaa,sg-0dddddddddddddddd'],
    ['AWS::EC2::KeyPair::KeyName', 'deployer'],
    ['AWS::EC2::Instance::Id', 'i-0aaaaaaaaaaaaaaaa'],
    ['AWS::EC2::Image::Id', 'ami-0123456789abcdef0'],
    ['String', 'vpc-0123456789abcdef0'],
  ])('%s %j exists (or is not checked): no problem', async (type, value) => {
    expect(await check(type, value)).toEqual([]);
  });

  it.each([
    [
      'AWS::EC2::VPC::Id',
      'vpc-0123456789abcdef0',
      "PARAM_NOT_FOUND: Parameter 'P' of type AWS::EC2::VPC::Id: 'vpc-0123456789abcdef0' names no VPC of the local account; the local VPCs: vpc-0aaaaaaaaaaaaaaaa (10.0.0.0/16, stack net) (`kiln network` lists them)",
    ],
    [
      'List<AWS::EC2::Subnet::Id>',
      'subnet-0aaaaaaaaaaaaaaaa,subnet-0cccccccccccccccc',
      "PARAM_NOT_FOUND: Parameter 'P' of type List<AWS::EC2::Subnet::Id>: 'subnet-0cccccccccccccccc' names no subnet of the local account; the local subnets: subnet-0aaaaaaaaaaaaaaaa (us-east-1a 10.0.1.0/24 in vpc-0aaaaaaaaaaaaaaaa, stack net), subnet-0bbbbbbbbbbbbbbbb (us-east-1b 10.0.2.0/24 in vpc-0aaaaaaaaaaaaaaaa, stack net) (`kiln network` lists them)",
    ],
    [
      'AWS::EC2::KeyPair::KeyName',
      '',
      "PARAM_NOT_FOUND: Parameter 'P' of type AWS::EC2::KeyPair::KeyName: an empty value names no key pair of the local account; the local key pairs: deployer (stack keys) (`kiln network` lists them)",
    ],
    [
      'AWS::EC2::Instance::Id',
      'i-0123456789abcdef0',
      "PARAM_NOT_FOUND: Parameter 'P' of type AWS::EC2::Instance::Id: 'i-0123456789abcdef0' names no instance of the local account; the local instances: i-0aaaaaaaaaaaaaaaa (running 10.0.1.5, stack app) (`kiln network` lists them)",
    ],
  ])('%s %j does not exist: an error naming what does', async (type, value, message) => {
    expect(await check(type, value)).toEqual([message]);
  });

  it('says so when the account has none of that kind', async () => {
    expect(await check('AWS::EC2::SecurityGroup::Id', 'sg-0123456789abcdef0', [])).toEqual([
      "PARAM_NOT_FOUND: Parameter 'P' of type AWS::EC2::SecurityGroup::Id: 'sg-0123456789abcdef0' names no security group of the local account; there are no security groups locally (`kiln network` lists them)",
    ]);
  });

  it('checks SSM-typed ones on the value the store gives', async () => {
    const c = ctx();
    c.parameters.put({ name: '/net/vpc', value: 'vpc-0123456789abcdef0', type: 'String' });
    const r = await resolveTargetParameters({ Parameters: { P: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>', Default: '/net/vpc' } } }, {}, c);
    expect(r.diagnostics.map((d) => d.code)).toEqual(['PARAM_NOT_FOUND']);
    expect(r.diagnostics[0]!.segments).toEqual(['Parameters', 'P', 'Default']);
  });

  it('accepts the ids of a stack deployed before (state is the account)', async () => {
    const store = new MemoryParameterStore();
    const net = await h.deploy(
      { Resources: { Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.9.0.0/16' } } }, Outputs: { VpcId: { Value: { Ref: 'Vpc' } } } },
      { stack: 'net', parameters: store },
    );
    expect(net.outcome).toBe('complete');
    const vpc = String(net.outputs.VpcId!.value);
    const app = { Parameters: { VpcId: { Type: 'AWS::EC2::VPC::Id' } }, Resources: { Group: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'g', VpcId: { Ref: 'VpcId' } } } } };
    expect((await plan(app, store, { VpcId: vpc })).plan.steps.map((s) => s.kind)).toEqual(['create']);
    const err = await plan(app, store, { VpcId: 'vpc-0123456789abcdef0' }).catch((e: unknown) => e);
    expect(lines(err)[0]).toContain(`the local VPCs: ${vpc} (10.9.0.0/16, stack net)`);
    await h.deploy({ Resources: {} }, { stack: 'net', parameters: store }).catch(() => undefined);
  });
});

describe('the plan reports everything the local target would refuse, all at once, before anything is created', () => {
  it('types without a handler, an unresolvable SSM name and a missing VPC together; deploy creates nothing', async () => {
    const template = {
      Parameters: {
        Name: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/nowhere' },
        VpcId: { Type: 'AWS::EC2::VPC::Id', Default: 'vpc-0123456789abcdef0' },
      },
      Resources: {
        First: fake({ Value: { Ref: 'Name' } }),
        Eip: { Type: 'AWS::EC2::EIP', Properties: {} },
        Group: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'g', VpcId: { Ref: 'VpcId' } } },
      },
    };
    const before = h.provider.calls.length;
    const err = await h.deploy(template, { stack: 'refused', parameters: new MemoryParameterStore() }).catch((e: unknown) => e);
    expect(lines(err).map((l) => l.replace(/^.*?error\[([A-Z_]+)\].*\(at (.*)\)$/, '$1 $2'))).toEqual([
      'PARAM_SSM Parameters.Name.Default',
      'PARAM_NOT_FOUND Parameters.VpcId.Default',
      'UNSUPPORTED_RESOURCE_TYPE Resources.Eip.Type',
    ]);
    expect(h.provider.calls.length).toBe(before);
    expect(h.store.stack('refused')).toBeUndefined();
  });

  it('a SAM template is refused with the reason (the transform is not expanded locally)', async () => {
    const sam = { Transform: 'AWS::Serverless-2016-10-31', Resources: { Fn: { Type: 'AWS::Serverless::Function', Properties: { Runtime: 'python3.12', Handler: 'a.b', CodeUri: 's3://b/k' } } } };
    const err = await plan(sam, new MemoryParameterStore()).catch((e: unknown) => e);
    expect(lines(err)).toEqual([
      "template.json:2:16: error[TRANSFORM_NOT_EXPANDED]: the SAM transform (AWS::Serverless-2016-10-31) is not expanded locally, so its AWS::Serverless::* resources cannot be deployed; deploy SAM's processed template instead; nothing was deployed (at Transform)",
    ]);
  });
});

describe('AWS::SSM::Parameter resources are real on the local target', () => {
  it('write the store on create, a new version on update, and remove it on delete', async () => {
    const store = new MemoryParameterStore();
    const template = (value: string) => ({
      Resources: {
        Param: { Type: 'AWS::SSM::Parameter', Properties: { Name: '/app/endpoint', Type: 'String', Value: value } },
        User: fake({ Value: { 'Fn::GetAtt': ['Param', 'Value'] }, Name: { Ref: 'Param' } }),
      },
    });
    expect((await deploy(template('http://a'), store)).outcome).toBe('complete');
    expect(store.get('/app/endpoint')).toMatchObject({ value: 'http://a', version: 1, type: 'String' });
    expect(h.live('User')!.properties).toMatchObject({ Value: 'http://a', Name: '/app/endpoint' });
    expect((await deploy(template('http://b'), store)).outcome).toBe('complete');
    expect(store.get('/app/endpoint')).toMatchObject({ value: 'http://b', version: 2 });
    expect((await destroyStack({ stack: 'demo', store: h.store, provider: h.provider, parameters: store })).outcome).toBe('complete');
    expect(store.get('/app/endpoint')).toBeUndefined();
  });

  it('generate a name when none is given', async () => {
    const store = new MemoryParameterStore();
    const r = await h.deploy(
      { Resources: { P: { Type: 'AWS::SSM::Parameter', Properties: { Type: 'StringList', Value: 'a,b' } } }, Outputs: { Name: { Value: { Ref: 'P' } } } },
      { stack: 'producer', parameters: store },
    );
    const name = String(r.outputs.Name!.value);
    expect(name).toMatch(/^CFN-P-[A-Za-z0-9]{12}$/);
    expect(store.get(name)).toMatchObject({ type: 'StringList', value: 'a,b' });
  });

  it('never take over an existing parameter: the create fails and the stack rolls back', async () => {
    const store = new MemoryParameterStore();
    store.put({ name: '/taken', value: 'mine', type: 'String' });
    const r = await deploy({ Resources: { P: { Type: 'AWS::SSM::Parameter', Properties: { Name: '/taken', Type: 'String', Value: 'theirs' } } } }, store);
    expect(r.outcome).toBe('failed');
    expect(r.reason).toContain('ParameterAlreadyExists: parameter /taken already exists');
    expect(store.get('/taken')!.value).toBe('mine');
  });

  it.each([
    [{ Type: 'SecureString', Value: 'x' }, 'CloudFormation does not create SecureString parameters'],
    [{ Type: 'String', Value: 'abc', AllowedPattern: '^[0-9]+$' }, 'does not match the AllowedPattern ^[0-9]+$'],
    [{ Type: 'String', Value: 'debian', DataType: 'aws:ec2:image' }, 'a parameter with DataType aws:ec2:image holds an AMI id'],
  ])('refuse %j (%s)', async (props, why) => {
    const r = await h.deploy({ Resources: { P: { Type: 'AWS::SSM::Parameter', Properties: props } } }, { stack: 'badparam', parameters: new MemoryParameterStore() });
    expect(r.outcome).toBe('failed');
    expect(r.reason).toContain(why);
  });
});
