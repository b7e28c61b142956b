// Templates as AWS's samples write them, on the real Docker engine: an instance whose ImageId is the
// public Amazon Linux alias runs on the local image kiln maps it to; `kiln ssm put` changes the
// mapping; an AWS::SSM::Parameter resource is readable from the CLI; and the crash of issue 11 (an
// SSM alias default that kiln tried to pull: `getaddrinfo ENOTFOUND images`, a Node stack trace, the
// stack left in ROLLBACK_IN_PROGRESS) cannot happen: it is refused at plan, in a child process that
// exits cleanly, with nothing created.
import { afterAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { client, docker, removeByLabels } from '../docker.js';
import { localProvider, removeOrphans } from '../../src/providers/docker/index.js';
import { resolveImage } from '../../src/providers/docker/images.js';
import { SqliteStackStore as StackStore } from '../../src/state/stacks.js';
import { openState } from '../../src/state/db.js';
import { SqliteParameterStore } from '../../src/state/ssm.js';
import { deployStack, destroyStack } from '../../src/deploy/index.js';
import { KilnError } from '../../src/core/errors.js';
import { bundleCli } from './cli-bundle.js';

const stack = `kt-ssm-${randomBytes(3).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'kiln-docker-ssm-'));
const store = new StackStore(openState(dir));
const parameters = new SqliteParameterStore(store.db);
const provider = localProvider({ docker: client });

afterAll(async () => {
  for (const s of [stack, `${stack}-cli`]) {
    await removeOrphans(client, s, new Set()).catch(() => undefined);
    await removeByLabels({ 'kiln.stack': s }).catch(() => undefined);
  }
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

// As in AWS's EC2 samples: the image parameter is the public Amazon Linux 2 alias.
const sample = {
  Parameters: {
    LatestAmiId: { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>', Default: '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2' },
  },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.78.0.0/16' } },
    Subnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: { Ref: 'Vpc' }, CidrBlock: '10.78.1.0/24' } },
    Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { Ref: 'LatestAmiId' }, InstanceType: 't3.micro', SubnetId: { Ref: 'Subnet' } } },
    Endpoint: { Type: 'AWS::SSM::Parameter', Properties: { Name: `/${stack}/web-ip`, Type: 'String', Value: { 'Fn::GetAtt': ['Web', 'PrivateIp'] } } },
  },
  Outputs: { Ami: { Value: { Ref: 'LatestAmiId' } } },
};

const deploy = (t: object) => deployStack({ stack, store, provider, parameters, file: 'sample.json', text: JSON.stringify(t) });

async function imageOfInstance(): Promise<string> {
  const d = await docker();
  const [c] = await d.listContainers({ all: true, filters: JSON.stringify({ label: [`kiln.stack=${stack}`, 'kiln.resource=Web'] }) });
  return (await d.getContainer(c!.Id).inspect()).Image;
}

describe.sequential('SSM AMI aliases on the real Docker engine', () => {
  test('an instance whose ImageId is the Amazon Linux alias runs on debian:bookworm, and its IP lands in the parameter store', async () => {
    const r = await deploy(sample);
    expect(r.finalStatus, r.reason).toBe('CREATE_COMPLETE');
    const bookworm = await resolveImage(client, 'debian:bookworm');
    expect(r.outputs.Ami!.value).toBe(bookworm.amiId);
    expect(await imageOfInstance()).toBe(bookworm.id);
    const ip = String(store.liveResources(stack).get('Web')!.state.attributes.PrivateIp);
    expect(parameters.get(`/${stack}/web-ip`)).toMatchObject({ value: ip, type: 'String', version: 1 });
  }, 180_000);

  test('`kiln ssm put` of the alias changes the image: the next deploy replaces the instance onto busybox', async () => {
    parameters.put({ name: '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2', value: 'busybox:latest', type: 'String' });
    const before = store.liveResources(stack).get('Web')!.physicalId;
    const r = await deploy(sample);
    expect(r.finalStatus, r.reason).toBe('UPDATE_COMPLETE');
    expect(r.plan.steps.find((s) => s.id === 'Web')).toMatchObject({ kind: 'replace', because: ['ImageId'] });
    expect(store.liveResources(stack).get('Web')!.physicalId).not.toBe(before);
    expect(await imageOfInstance()).toBe((await resolveImage(client, 'busybox:latest')).id);
    // The instance's new address was written as version 2 of the parameter.
    expect(parameters.get(`/${stack}/web-ip`)!.version).toBe(2);
    parameters.delete('/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2');
  }, 180_000);

  test('destroy removes the instance, the network and the parameter the stack wrote', async () => {
    const r = await destroyStack({ stack, store, provider, parameters });
    expect(r.outcome).toBe('complete');
    expect(parameters.get(`/${stack}/web-ip`)).toBeUndefined();
    const d = await docker();
    expect(await d.listContainers({ all: true, filters: JSON.stringify({ label: [`kiln.stack=${stack}`] }) })).toEqual([]);
  }, 120_000);
});

describe('kiln plan on the Docker target', () => {
  test('shows the stand-in for an AMI id from a region map, naming both, in text and JSON', async () => {
    const { entry, env } = await bundleCli('ssm-crash');
    const file = join(dir, 'regions.json');
    const t = {
      Mappings: { RegionMap: { 'us-east-1': { AMI: 'ami-0abcdef1234567890' } } },
      Resources: { Web: { Type: 'AWS::EC2::Instance', Properties: { ImageId: { 'Fn::FindInMap': ['RegionMap', { Ref: 'AWS::Region' }, 'AMI'] } } } },
    };
    writeFileSync(file, JSON.stringify(t, null, 2));
    const bookworm = (await resolveImage(client, 'debian:bookworm')).amiId;
    const text = spawnSync(process.execPath, [entry, 'plan', file, '--stack', `${stack}-plan`, '--state-dir', dir], { env, encoding: 'utf8', timeout: 120_000 });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toContain(`warning[IMAGE_STAND_IN]: ImageId ami-0abcdef1234567890 is not a local image: it runs on the stand-in debian:bookworm (${bookworm})`);
    const json = spawnSync(process.execPath, [entry, 'plan', file, '--stack', `${stack}-plan`, '--state-dir', dir, '--json'], { env, encoding: 'utf8', timeout: 120_000 });
    expect(JSON.parse(json.stdout).warnings.filter((w: { code: string }) => w.code !== 'DEFAULT_VPC')).toEqual([
      expect.objectContaining({ code: 'IMAGE_STAND_IN', path: 'Resources.Web.Properties.ImageId', line: 13 }),
    ]);
  }, 120_000);
});

describe('the crash of issue 11 cannot happen', () => {
  test('an SSM path given to the engine as an image is a user error, not an unhandled socket error', async () => {
    const err = await resolveImage(client, '/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2').catch((e: unknown) => e);
    expect(KilnError.is(err) && err.source).toBe('user');
    expect((err as Error).message).toContain('it looks like a Systems Manager parameter name');
  });

  test('the CLI refuses the alias as a plain String at plan and at deploy: exit 1, no stack trace, nothing created', async () => {
    const { entry, env } = await bundleCli('ssm-crash');
    const file = join(dir, 'crash.yaml');
    writeFileSync(
      file,
      [
        'Parameters:',
        '  LatestAmiId:',
        '    Type: String',
        '    Default: /aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2',
        'Resources:',
        '  Vpc:',
        '    Type: AWS::EC2::VPC',
        '    Properties: { CidrBlock: 10.79.0.0/16 }',
        '  Subnet:',
        '    Type: AWS::EC2::Subnet',
        '    Properties: { VpcId: !Ref Vpc, CidrBlock: 10.79.1.0/24 }',
        '  Web:',
        '    Type: AWS::EC2::Instance',
        '    Properties: { ImageId: !Ref LatestAmiId, SubnetId: !Ref Subnet }',
        '',
      ].join('\n'),
    );
    for (const cmd of ['plan', 'deploy']) {
      const r = spawnSync(process.execPath, [entry, cmd, file, '--stack', `${stack}-cli`, '--state-dir', dir, ...(cmd === 'deploy' ? ['--yes'] : [])], { env, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /crash\.yaml:14:\d+: error\[IMAGE_NOT_LOCAL\]: ImageId '\/aws\/service\/ami-amazon-linux-latest\/amzn2-ami-hvm-x86_64-gp2' is neither a local image nor an AMI id; it looks like a Systems Manager parameter name/,
      );
      expect(r.stderr).not.toMatch(/ENOTFOUND|node:events|\n\s+at /);
    }
    expect(store.stack(`${stack}-cli`)).toBeUndefined();
    const d = await docker();
    expect(await d.listNetworks({ filters: JSON.stringify({ label: [`kiln.stack=${stack}-cli`] }) })).toEqual([]);
  }, 180_000);
});
