// `kiln ssm` and `kiln network` through the CLI dispatcher, on the fake provider (KILN_PROVIDER=fake),
// with a fresh state directory per test: the local Parameter Store as `aws ssm` uses it, the local
// account's network as `aws ec2 describe-*` shows it, and a template that reads both.
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/cli/main.js';
import { memoryIO } from '../../src/cli/io.js';

let dir: string;
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kiln-cli-account-'));
  env = { ...process.env, KILN_PROVIDER: 'fake', KILN_FAKE_STORE: join(dir, 'fake.json') };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function kiln(...args: string[]) {
  const io = memoryIO({ cwd: dir, env });
  const code = await main([...args, '--state-dir', join(dir, 'state')], io);
  return { code, out: io.stdout, err: io.stderr };
}

function template(name: string, t: object): string {
  writeFileSync(join(dir, name), JSON.stringify(t, null, 2));
  return name;
}

describe('kiln ssm', () => {
  test('put, get, list and delete parameters, with versions', async () => {
    expect(await kiln('ssm', 'put', '/app/db/host', 'db.internal')).toEqual({ code: 0, out: '/app/db/host: version 1 (String)\n', err: '' });
    expect((await kiln('ssm', 'put', '/app/zones', 'a,b', '--type', 'StringList')).code).toBe(0);
    expect((await kiln('ssm', 'get', '/app/db/host')).out).toBe('db.internal\n');
    const again = await kiln('ssm', 'put', '/app/db/host', 'db2.internal');
    expect(again.code).toBe(1);
    expect(again.err).toBe('kiln: ParameterAlreadyExists: parameter /app/db/host already exists (--overwrite makes a new version)\n');
    expect((await kiln('ssm', 'put', '/app/db/host', 'db2.internal', '--overwrite')).out).toBe('/app/db/host: version 2 (String)\n');
    expect((await kiln('ssm', 'get', '/app/db/host:1')).out).toBe('db.internal\n');
    const list = await kiln('ssm', 'list', '--path', '/app', '--json');
    expect(JSON.parse(list.out).Parameters.map((p: { Name: string; Version: number; Type: string }) => `${p.Name}@${p.Version} ${p.Type}`)).toEqual([
      '/app/db/host@2 String',
      '/app/zones@1 StringList',
    ]);
    expect(await kiln('ssm', 'delete', '/app/zones')).toEqual({ code: 0, out: '/app/zones: deleted\n', err: '' });
    const gone = await kiln('ssm', 'get', '/app/zones');
    expect(gone.code).toBe(1);
    expect(gone.err).toContain('ParameterNotFound: parameter /app/zones is not in the local parameter store');
  });

  test('shows a SecureString as **** unless get --with-decryption asks for it', async () => {
    await kiln('ssm', 'put', '/db/password', 'hunter2', '--type', 'SecureString');
    expect((await kiln('ssm', 'get', '/db/password')).out).toBe('****\n');
    expect((await kiln('ssm', 'list')).out).not.toContain('hunter2');
    expect(JSON.parse((await kiln('ssm', 'get', '/db/password', '--json')).out).Parameter).toMatchObject({ Name: '/db/password', Type: 'SecureString', Value: '****', Version: 1 });
    expect((await kiln('ssm', 'get', '/db/password', '--with-decryption')).out).toBe('hunter2\n');
  });

  test("answers for the public AMI aliases with kiln's mapping, refuses Windows, and lists the mapping", async () => {
    const alias = await kiln('ssm', 'get', '/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id');
    expect(alias.out).toBe('debian:bookworm\n');
    expect(alias.err).toContain("kiln's default mapping");
    await kiln('ssm', 'put', '/kiln/images/linux', 'busybox:latest');
    expect((await kiln('ssm', 'get', '/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64')).out).toBe('busybox:latest\n');
    const windows = await kiln('ssm', 'get', '/aws/service/ami-windows-latest/Windows_Server-2022-English-Full-Base');
    expect(windows.code).toBe(1);
    expect(windows.err).toContain('names a Windows Server image, which cannot run on the local target');
    const list = await kiln('ssm', 'list');
    expect(list.out).toMatch(/\/aws\/service\/ami-amazon-linux-latest\/…\s+Amazon Linux\s+busybox:latest/);
    expect(list.out).toMatch(/\/aws\/service\/ami-windows-latest\/…\s+Windows Server\s+refused: cannot run locally/);
  });

  test.each([
    [['ssm', 'frobnicate'], 2, "ssm: unknown subcommand 'frobnicate'"],
    [['ssm', 'put', 'x'], 2, 'ssm: put takes NAME and VALUE'],
    [['ssm', 'put', 'app/x', 'v'], 2, 'a parameter hierarchy starts with /'],
    [['ssm', 'put', '/x', 'v', '--type', 'Secret'], 2, 'type must be String, StringList or SecureString'],
  ])('kiln %j is a usage error (exit %i)', async (args, code, message) => {
    const r = await kiln(...args);
    expect(r.code).toBe(code);
    expect(r.err).toContain(message);
  });
});

describe('kiln network', () => {
  const NET = {
    Resources: {
      Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.5.0.0/16' } },
      SubnetA: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.5.1.0/24', AvailabilityZone: 'us-east-1a' } },
      Web: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'web servers', GroupName: 'web', VpcId: { Ref: 'Vpc' } } },
    },
    Outputs: { VpcId: { Value: { Ref: 'Vpc' } }, SubnetId: { Value: { Ref: 'SubnetA' } }, GroupId: { Value: { Ref: 'Web' } } },
  };

  test('lists the VPCs, subnets, groups and key pairs the stacks made, with ids, AZ and CIDR', async () => {
    expect((await kiln('network')).out).toBe('VPCs\n  (none)\n\nSubnets\n  (none)\n\nSecurity groups\n  (none)\n\nKey pairs\n  (none)\n');
    expect((await kiln('deploy', template('net.json', NET), '--stack', 'net')).code).toBe(0);
    const ids = JSON.parse((await kiln('outputs', '--stack', 'net', '--json')).out) as Record<string, string>;
    const r = await kiln('network');
    expect(r.out).toContain(`VPCs\n  VPC ID                 CIDR         STACK/RESOURCE\n  ${ids.VpcId}  10.5.0.0/16  net/Vpc\n`);
    expect(r.out).toMatch(new RegExp(`${ids.SubnetId}\\s+${ids.VpcId}\\s+us-east-1a\\s+10\\.5\\.1\\.0/24\\s+no\\s+net/SubnetA`));
    expect(r.out).toMatch(new RegExp(`${ids.GroupId}\\s+web\\s+${ids.VpcId}\\s+net/Web`));
    const json = JSON.parse((await kiln('network', '--json')).out);
    expect(json.Vpcs).toEqual([
      {
        VpcId: ids.VpcId,
        CidrBlock: '10.5.0.0/16',
        State: 'available',
        IsDefault: false,
        Tags: [
          { Key: 'aws:cloudformation:stack-name', Value: 'net' },
          { Key: 'aws:cloudformation:logical-id', Value: 'Vpc' },
        ],
      },
    ]);
    expect(json.Subnets[0]).toMatchObject({ SubnetId: ids.SubnetId, VpcId: ids.VpcId, AvailabilityZone: 'us-east-1a', CidrBlock: '10.5.1.0/24' });
    expect(json.SecurityGroups[0]).toMatchObject({ GroupId: ids.GroupId, GroupName: 'web', Description: 'web servers', VpcId: ids.VpcId });
    expect(json.KeyPairs).toEqual([]);
    expect(JSON.parse((await kiln('network', '--stack', 'other', '--json')).out).Vpcs).toEqual([]);
  });

  test('its ids are what an AWS-specific parameter may take; another is refused at plan, naming them', async () => {
    await kiln('deploy', template('net.json', NET), '--stack', 'net');
    const ids = JSON.parse((await kiln('outputs', '--stack', 'net', '--json')).out) as Record<string, string>;
    const app = template('app.json', {
      Parameters: { Subnets: { Type: 'List<AWS::EC2::Subnet::Id>' } },
      Resources: { Thing: { Type: 'Test::Fake::Resource', Properties: { Value: { 'Fn::Join': [',', { Ref: 'Subnets' }] } } } },
    });
    expect((await kiln('plan', app, '--stack', 'app', '--param', `Subnets=${ids.SubnetId}`)).code).toBe(0);
    const bad = await kiln('plan', app, '--stack', 'app', '--param', `Subnets=${ids.SubnetId},subnet-0123456789abcdef0`);
    expect(bad.code).toBe(1);
    expect(bad.err).toBe(
      `${join(dir, 'app.json')}:3:16: error[PARAM_NOT_FOUND]: Parameter 'Subnets' of type List<AWS::EC2::Subnet::Id>: 'subnet-0123456789abcdef0' names no subnet of the local account; the local subnets: ${ids.SubnetId} (us-east-1a 10.5.1.0/24 in ${ids.VpcId}, stack net) (\`kiln network\` lists them) (at Parameters.Subnets)\n`,
    );
  });
});

describe('a template reading the local Parameter Store through the CLI', () => {
  test('plan shows the stored value of an SSM-typed parameter; deploy uses it', async () => {
    await kiln('ssm', 'put', '/app/greeting', 'hello from ssm');
    const f = template('app.json', {
      Parameters: { Greeting: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/app/greeting' } },
      Resources: { Thing: { Type: 'Test::Fake::Resource', Properties: { Value: { Ref: 'Greeting' } } } },
    });
    const p = await kiln('plan', f, '--stack', 'app', '--json');
    expect(JSON.parse(p.out).parameters).toEqual({ Greeting: 'hello from ssm' });
    const d = await kiln('deploy', f, '--stack', 'app');
    expect(d.code).toBe(0);
    expect(JSON.parse((await kiln('status', '--stack', 'app', '--json')).out).resources[0].attributes.Value).toBe('hello from ssm');
  });
});
