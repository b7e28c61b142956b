// HCL2's `data "amazon-ami"` on the AWS target, against the AWS API emulator: the image its
// filters, owners and most_recent select (one DescribeImages through kiln's EC2 client) is what
// `data.amazon-ami.NAME.id` and the other outputs give, so `source_ami` can use it; a look-up that
// fails, and a Docker build that uses it, are errors at the data block.
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { DiagnosticsError } from '../../src/core/diagnostics.js';
import { prepareTemplate } from '../../src/image/api.js';
import type { AmazonEbsBuilderConfig } from '../../src/image/types.js';
import type { Ec2Api } from '../../src/aws/ec2.js';
import { openEc2 } from '../../src/aws/ec2.js';
import { startMoto, type Moto } from './moto.js';
import { registerSource, sdk, tmpWorkspace, REGION } from './helpers.js';

let moto: Moto;
let ws: ReturnType<typeof tmpWorkspace>;
beforeAll(async () => {
  ws = tmpWorkspace('hcl-ami');
  moto = await startMoto();
});
afterAll(async () => {
  await moto?.stop();
  ws?.cleanup();
});

function template(filterName: string, mostRecent: boolean): string {
  return `data "amazon-ami" "debian" {
  filters = {
    name = "${filterName}"
  }
  owners      = ["self"]
  most_recent = ${mostRecent}
  region      = "${REGION}"
}

source "docker" "local" {
  image  = data.amazon-ami.debian.id
  commit = true
}

source "amazon-ebs" "aws" {
  region        = "${REGION}"
  source_ami    = data.amazon-ami.debian.id
  instance_type = "t2.micro"
  ssh_username  = "admin"
  ami_name      = "from-\${data.amazon-ami.debian.name}"
}

build {
  sources = ["source.docker.local", "source.amazon-ebs.aws"]
}
`;
}

async function prepare(file: string, only: string[], env: Record<string, string> = moto.env, ec2?: (s: Parameters<typeof openEc2>[0]) => Ec2Api) {
  return prepareTemplate({ templatePath: file, cwd: ws.dir, only, env: { PATH: process.env.PATH ?? '', ...env }, ...(ec2 ? { aws: { ec2 } } : {}) });
}

async function failure(p: Promise<unknown>): Promise<string[]> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(DiagnosticsError);
  return (e as DiagnosticsError).diagnostics.map((d) => `${d.range?.file}:${d.range?.start.line}:${d.range?.start.col}: ${d.message}`);
}

describe('data "amazon-ami" on the AWS target', () => {
  it('gives the selected image as data.amazon-ami.NAME.id in source_ami, and its name to other arguments, from one DescribeImages call', async () => {
    const prefix = `kiln-ami-${randomBytes(3).toString('hex')}`;
    const id = await registerSource(moto, `${prefix}-only`);
    const file = ws.write('one/image.pkr.hcl', template(`${prefix}-*`, false));
    const calls: string[] = [];
    const t = await prepare(file, ['amazon-ebs.aws'], moto.env, (s) => {
      const api = openEc2(s);
      return { region: api.region, call: (op, input, signal) => (calls.push(op), api.call(op, input, signal)) };
    });
    expect(t.builds.map((b) => b.name)).toEqual(['amazon-ebs.aws']);
    const cfg = t.builds[0]!.builder as AmazonEbsBuilderConfig;
    expect(cfg.sourceAmi).toBe(id);
    expect(cfg.amiName).toBe(`from-${prefix}-only`);
    expect(calls).toEqual(['DescribeImages']);
  });

  it('takes the newest of several matches when most_recent is true, and refuses several matches without it', async () => {
    const prefix = `kiln-ami-${randomBytes(3).toString('hex')}`;
    await registerSource(moto, `${prefix}-a`);
    await new Promise((r) => setTimeout(r, 1100)); // creation dates have one-second steps
    await registerSource(moto, `${prefix}-b`);
    const all = (await sdk(moto).send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [`${prefix}-*`] }] }))).Images ?? [];
    expect(all).toHaveLength(2);
    const newest = [...all].sort((x, y) => (y.CreationDate ?? '').localeCompare(x.CreationDate ?? ''))[0]!;

    const recent = ws.write('recent/image.pkr.hcl', template(`${prefix}-*`, true));
    const t = await prepare(recent, ['amazon-ebs.aws']);
    expect((t.builds[0]!.builder as AmazonEbsBuilderConfig).sourceAmi).toBe(newest.ImageId);

    const strict = ws.write('strict/image.pkr.hcl', template(`${prefix}-*`, false));
    const errs = await failure(prepare(strict, ['amazon-ebs.aws']));
    expect(errs).toEqual([expect.stringMatching(/^strict\/image\.pkr\.hcl:1:1: data\.amazon-ami\.debian: Your query returned more than one result \(2, /)]);
  });

  it('reports an image that nothing matches at the data block, with the filters it used', async () => {
    const file = ws.write('none/image.pkr.hcl', template('no-such-image-*', true));
    const errs = await failure(prepare(file, ['amazon-ebs.aws']));
    expect(errs).toEqual(['none/image.pkr.hcl:1:1: data.amazon-ami.debian: No AMI was found matching filters: filters name=no-such-image-*, owners self']);
  });

  it('says AWS cannot be reached when the endpoint does not answer (offline), at the data block', async () => {
    const file = ws.write('offline/image.pkr.hcl', template('debian-*', true));
    const errs = await failure(prepare(file, ['amazon-ebs.aws'], { ...moto.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }));
    expect(errs).toEqual([expect.stringMatching(/^offline\/image\.pkr\.hcl:1:1: data\.amazon-ami\.debian: DescribeImages: cannot reach the EC2 endpoint \(.*ECONNREFUSED/)]);
  });

  it('refuses a Docker build that uses it (amazon-ami is looked up for the AWS target only), and looks nothing up for a Docker-only selection', async () => {
    const file = ws.write('docker/image.pkr.hcl', template('debian-*', true));
    const errs = await failure(prepare(file, ['docker.local'], { ...moto.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }));
    expect(errs).toEqual([
      'docker/image.pkr.hcl:1:1: The docker build "docker.local" uses data.amazon-ami.debian; kiln looks amazon-ami up on AWS for amazon-ebs builds only (the AWS target). A build on the local Docker engine needs the value itself (a variable, for instance).',
    ]);
  });
});
