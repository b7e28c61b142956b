// The same amazon-ebs build written in JSON (`source_ami_filter`) and in HCL2 (`data "amazon-ami"`
// feeding `source_ami`) has the same content key, so converting the template bakes nothing: on the
// AWS API emulator, with a real sshd container standing in for the instance, the JSON build bakes
// an AMI and the HCL2 twin then reuses it (`reused ami-… (inputs unchanged)`), launching nothing.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, expect } from 'vitest';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { prepareTemplate } from '../../src/image/api.js';
import { amazonEbsKey } from '../../src/image/builders/amazon-ebs-plan.js';
import type { AmazonEbsBuilderConfig } from '../../src/image/types.js';
import { bake, census, sdk, NOTHING_LEFT, REGION } from './helpers.js';
import { bakeWorld } from './world.js';

const world = bakeWorld('ebs-twin', 'kiln-twin-{testId}-debian-12');
const prefix = () => `kiln-twin-${world.ws.testId}`;

const LINES = ['echo twin > /tmp/twin', 'uname -s >> /tmp/twin'];

const jsonTwin = () =>
  JSON.stringify(
    {
      builders: [
        {
          type: 'amazon-ebs',
          name: 'aws',
          region: REGION,
          source_ami_filter: { filters: { name: `${prefix()}-*` }, owners: ['self'], most_recent: true },
          instance_type: 't3.micro',
          ssh_username: 'admin',
          ami_name: 'twin-{{timestamp}}',
          tags: { Name: 'twin' },
        },
      ],
      provisioners: [{ type: 'shell', inline: LINES }],
    },
    null,
    2,
  );

const hclTwin = () => `data "amazon-ami" "debian" {
  filters = {
    name = "${prefix()}-*"
  }
  owners      = ["self"]
  most_recent = true
  region      = "${REGION}"
}

locals {
  stamp = formatdate("YYYYMMDDhhmmss", timestamp())
}

source "amazon-ebs" "aws" {
  region        = "${REGION}"
  source_ami    = data.amazon-ami.debian.id
  instance_type = "t3.micro"
  ssh_username  = "admin"
  ami_name      = "twin-\${local.stamp}"
  tags = {
    Name = "twin"
  }
}

build {
  sources = ["source.amazon-ebs.aws"]

  provisioner "shell" {
    inline = ${JSON.stringify(LINES)}
  }
}
`;

const instances = async () => (await sdk(world.moto).send(new DescribeInstancesCommand({ Filters: [{ Name: 'tag:kiln.test', Values: [world.ws.testId] }] }))).Reservations?.length ?? 0;

describe('an amazon-ebs build in JSON and its HCL2 twin share one content key', () => {
  it('the JSON build (source_ami_filter) bakes; the HCL2 twin (data "amazon-ami") then reuses its AMI and launches nothing', async () => {
    const { moto, ws, box, source } = world;
    const opts = { moto, testId: ws.testId, dir: ws.dir, sshAddress: () => ({ host: box.host, port: box.port }) };
    const json = await bake(ws.write('twin.json', jsonTwin()), { ...opts, only: ['aws'] });
    expect(json.code, json.out).toBe(0);
    expect(json.out).toContain(`Found Image ID: ${source}`);
    expect(json.out).toContain('Launching a source AWS instance...');
    const ami = /--> aws: AMIs were created:\neu-west-1: (ami-[0-9a-f]+)/.exec(json.out)?.[1];
    expect(ami, json.out).toBeDefined();
    expect((await box.sh('cat /tmp/twin')).trim()).toBe('twin\nLinux');

    const launched = await instances();
    const hcl = await bake(ws.write('twin.pkr.hcl', hclTwin()), { ...opts, only: ['amazon-ebs.aws'] });
    expect(hcl.code, hcl.out).toBe(0);
    expect(hcl.out).toContain(`reused ${ami} (inputs unchanged)`);
    expect(hcl.out).not.toContain('Launching a source AWS instance');
    expect(hcl.results[0]).toMatchObject({ ok: true, cached: true });
    // amazon-ami was looked up while preparing; the build itself asked EC2 one question.
    expect(hcl.calls).toEqual(['DescribeImages']);
    expect(await instances()).toBe(launched);

    // And back: the JSON template, unchanged, reuses the same AMI too.
    const again = await bake(ws.write('twin.json', jsonTwin()), { ...opts, only: ['aws'] });
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain(`reused ${ami} (inputs unchanged)`);
    expect(await census(moto, ws.testId)).toMatchObject({ ...NOTHING_LEFT, images: [ami] });
  }, 600_000);

  it('the key is the same from both templates, and a different provisioner is a different key (no reuse by accident)', async () => {
    const { moto, ws, source } = world;
    const hcl = hclTwin().replace('echo twin > /tmp/twin', 'echo other > /tmp/twin');
    const env = { ...process.env, ...moto.env };
    const a = await prepareTemplate({ templatePath: ws.write('k.json', jsonTwin()), only: ['aws'], cwd: ws.dir, env });
    const b = await prepareTemplate({ templatePath: ws.write('k.pkr.hcl', hclTwin()), only: ['amazon-ebs.aws'], cwd: ws.dir, env });
    const c = await prepareTemplate({ templatePath: ws.write('k2.pkr.hcl', hcl), only: ['amazon-ebs.aws'], cwd: ws.dir, env });
    const key = (t: typeof a) => amazonEbsKey(t.builds[0]!, t.builds[0]!.builder as AmazonEbsBuilderConfig, REGION, source);
    expect((b.builds[0]!.builder as AmazonEbsBuilderConfig).sourceAmi).toBe(source);
    expect(key(b)).toBe(key(a));
    expect(key(c)).not.toBe(key(a));
  }, 120_000);
});

describe("the seed's image (examples/seed): image.json and its HCL2 twin image.pkr.hcl", () => {
  const seed = join(import.meta.dirname, '..', '..', 'examples', 'seed');
  const SEED_AMI = 'ami-fce3c696'; // the source_ami default of both
  const ebsKey = async (file: string, only: string): Promise<string> => {
    const t = await prepareTemplate({ templatePath: join(seed, file), only: [only], cwd: seed, env: {} });
    expect(t.builds).toHaveLength(1);
    return amazonEbsKey(t.builds[0]!, t.builds[0]!.builder as AmazonEbsBuilderConfig, REGION, SEED_AMI);
  };
  /** The amazon-ebs key of the HCL2 twin with its text changed (a file beside it: path.root stays the seed's). */
  const variantKey = async (change: (text: string) => string): Promise<string> => {
    const text = readFileSync(join(seed, 'image.pkr.hcl'), 'utf8');
    const changed = change(text);
    expect(changed).not.toBe(text);
    const file = `.twin-key-${process.pid}.pkr.hcl`;
    writeFileSync(join(seed, file), changed);
    try {
      return await ebsKey(file, 'amazon-ebs.aws');
    } finally {
      rmSync(join(seed, file), { force: true });
    }
  };

  it("have one amazon-ebs key, and the shell provisioners' amazon override is part of it", async () => {
    const json = await ebsKey('image.json', 'aws');
    expect(await ebsKey('image.pkr.hcl', 'amazon-ebs.aws')).toBe(json);
    // The override matters: without it, or with another execute_command, the key is another.
    const withoutOverrides = await variantKey((t) => t.replace(/\n {4}override = \{\n[\s\S]*?\n {4}\}\n/g, '\n'));
    expect(withoutOverrides).not.toBe(json);
    const otherCommand = await variantKey((t) => t.replace('sudo -E {{ .Path }}"', 'sudo -H -E {{ .Path }}"'));
    expect(otherCommand).not.toBe(json);
    expect(otherCommand).not.toBe(withoutOverrides);
  }, 120_000);
});
